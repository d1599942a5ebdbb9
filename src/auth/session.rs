//! The session cookie carries only the backend token and a CSRF token (DESIGN §5).

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use super::csrf;

const TOKEN: &str = "token";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";

/// Name of the session cookie; `__Host-` binds it to our origin when it is `Secure`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-pulse_session"
    } else {
        "pulse_session"
    }
}

pub fn token(session: &Session) -> Option<String> {
    session.get::<String>(TOKEN).ok().flatten()
}

/// The session's CSRF token, created on first use (also before login, for the login form).
pub fn csrf_token(session: &Session) -> String {
    if let Some(t) = session.get::<String>(CSRF).ok().flatten() {
        return t;
    }
    let t = csrf::new_token();
    // An insert only fails when the value cannot be serialized, which a String always can.
    let _ = session.insert(CSRF, &t);
    t
}

pub fn stored_csrf(session: &Session) -> Option<String> {
    session.get::<String>(CSRF).ok().flatten()
}

/// Starts an authenticated session under a fresh cookie with a fresh CSRF token.
pub fn log_in(session: &Session, token: &str) {
    session.renew();
    let _ = session.insert(TOKEN, token);
    let _ = session.insert(CSRF, csrf::new_token());
}

pub fn clear(session: &Session) {
    session.purge();
}

/// A one-time notice for the next page ("Saved …"), carried in the session across the redirect
/// after a form, so no link can put its own sentence on a page as a genuine notice.
pub struct Flash(Session);

impl FromRequest for Flash {
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Flash(req.get_session())))
    }
}

impl Flash {
    pub fn set(&self, text: &str) {
        let _ = self.0.insert(FLASH, text);
    }

    /// The notice, once: it is gone from the session after this.
    pub fn take(&self) -> Option<String> {
        self.0.remove_as::<String>(FLASH).and_then(Result::ok)
    }
}
