//! One middleware decides who may do what, for every route:
//! public routes pass; everything else needs a valid backend token (Bearer header or session
//! cookie); cookie-authenticated mutations need the CSRF token; every mutation except logout
//! needs an administrator. A new route cannot escape these rules.

use std::future::{Ready, ready};

use actix_session::SessionExt;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::{AuthError, User, csrf, session};
use crate::error::{html_error, json_error};
use crate::startup::AppState;

/// Largest form body read to look for the CSRF field.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The authenticated caller, available to handlers as an extractor.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    /// The session's CSRF token, for forms and `hx-headers` (empty for Bearer callers).
    pub csrf: String,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.user.is_admin
    }
}

impl FromRequest for CurrentUser {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<CurrentUser>()
                .cloned()
                .ok_or_else(|| actix_web::error::ErrorUnauthorized("authentication required")),
        )
    }
}

pub fn is_public(method: &Method, path: &str) -> bool {
    let _ = method;
    matches!(
        path,
        "/login" | "/health" | "/health/ready" | "/metrics" | "/favicon.ico"
    ) || path.starts_with("/static/")
}

pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

enum Denied {
    Unauthenticated,
    Unavailable,
    Csrf,
    NotAdmin,
}

pub async fn authenticate(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if is_public(req.method(), req.path()) {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    match check(&mut req).await {
        Ok(user) => {
            req.extensions_mut().insert(user);
            next.call(req).await.map(ServiceResponse::map_into_left_body)
        }
        Err(denied) => {
            let res = deny(req.request(), denied);
            Ok(req.into_response(res).map_into_right_body())
        }
    }
}

async fn check(req: &mut ServiceRequest) -> Result<CurrentUser, Denied> {
    let state = req.app_data::<Data<AppState>>().cloned().ok_or(Denied::Unavailable)?;
    let session = req.get_session();
    let bearer = bearer_token(req);
    let (token, via_cookie) = match bearer {
        Some(t) => (t, false),
        None => (session::token(&session).ok_or(Denied::Unauthenticated)?, true),
    };
    let user = match state.auth.validate(&token).await {
        Ok(user) => user,
        Err(AuthError::Unavailable(e)) => {
            tracing::warn!(error = format!("{e:#}"), "backend service unreachable");
            return Err(Denied::Unavailable);
        }
        Err(_) => {
            if via_cookie {
                session::clear(&session);
            }
            return Err(Denied::Unauthenticated);
        }
    };
    let csrf = if via_cookie {
        session::csrf_token(&session)
    } else {
        String::new()
    };
    if !is_safe(req.method()) {
        if via_cookie && !csrf_ok(req, &csrf).await {
            return Err(Denied::Csrf);
        }
        if !user.is_admin && req.path() != "/logout" {
            return Err(Denied::NotAdmin);
        }
    }
    Ok(CurrentUser { user, csrf })
}

fn bearer_token(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The token comes in the `X-CSRF-Token` header (htmx, API) or the form field (plain forms);
/// a form body read here is put back for the handler.
async fn csrf_ok(req: &mut ServiceRequest, expected: &str) -> bool {
    if let Some(given) = req.headers().get(csrf::HEADER).and_then(|v| v.to_str().ok()) {
        return csrf::matches(expected, given);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return false;
    }
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else { return false };
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return false;
        }
        body.extend_from_slice(&chunk);
    }
    let body: Bytes = body.freeze();
    let ok = csrf::from_form(&body).is_some_and(|given| csrf::matches(expected, &given));
    req.set_payload(Payload::from(body));
    ok
}

fn deny(req: &HttpRequest, denied: Denied) -> HttpResponse {
    let api = is_api(req.path());
    let (status, message) = match denied {
        Denied::Unauthenticated => (StatusCode::UNAUTHORIZED, "authentication required"),
        Denied::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the authentication service is unavailable; try again in a moment",
        ),
        Denied::Csrf => (
            StatusCode::FORBIDDEN,
            "missing or invalid CSRF token; reload the page and try again",
        ),
        Denied::NotAdmin => (StatusCode::FORBIDDEN, "this action needs an administrator"),
    };
    if api {
        return json_error(status, message);
    }
    if status == StatusCode::UNAUTHORIZED {
        let location = login_location(req);
        if req.headers().contains_key("HX-Request") {
            return HttpResponse::Unauthorized()
                .insert_header(("HX-Redirect", location))
                .finish();
        }
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish();
    }
    html_error(status, message)
}

/// `/login?next=<where the user was going>`; only GET targets are worth returning to.
fn login_location(req: &HttpRequest) -> String {
    let target = if req.method() == Method::GET && !req.headers().contains_key("HX-Request") {
        match req.uri().query() {
            Some(q) => format!("{}?{q}", req.path()),
            None => req.path().to_string(),
        }
    } else {
        "/".to_string()
    };
    let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
    format!("/login?next={encoded}")
}

/// Only same-site relative paths are followed after login (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.starts_with("/login") => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_only_accepts_local_paths() {
        assert_eq!(safe_next(Some("/jobs/jira_sync?x=1")), "/jobs/jira_sync?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/login?next=/")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn public_routes_are_few() {
        assert!(is_public(&Method::GET, "/health"));
        assert!(is_public(&Method::GET, "/static/app.css"));
        assert!(!is_public(&Method::GET, "/"));
        assert!(!is_public(&Method::GET, "/api/v1/jobs/status"));
        assert!(!is_public(&Method::GET, "/healthz"));
    }
}
