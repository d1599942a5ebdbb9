//! One middleware decides who may do what, for every route, from the route table's access
//! class (`routes::ROUTES`): public routes pass; everything else needs a valid backend token
//! (Bearer header or session cookie); cookie-authenticated mutations need the CSRF token; admin
//! routes need an administrator. A path no route matches gets the strictest rule for its
//! method (never public).

use std::future::{Ready, ready};

use actix_session::SessionExt;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::{Access, AuthError, Route, User, csrf, session};
use crate::error::{html_error, json_error};
use crate::startup::{AppState, MAX_BODY_BYTES};

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

/// The route table compiled for matching, in registration order (the first match wins, as in
/// the router).
pub struct AccessTable(Vec<(Method, ResourceDef, Access)>);

impl AccessTable {
    pub fn new(routes: &[Route]) -> Self {
        Self(
            routes
                .iter()
                .map(|r| {
                    let method = Method::from_bytes(r.method.as_bytes()).unwrap_or(Method::GET);
                    (method, ResourceDef::new(r.path), r.access)
                })
                .collect(),
        )
    }

    /// Who may call `method path`: the first route that matches, else (no such route) a logged-in
    /// user for reads and an administrator for anything else.
    pub fn access(&self, method: &Method, path: &str) -> Access {
        self.0
            .iter()
            .find(|(m, def, _)| m == method && def.is_match(path))
            .map(|(_, _, access)| *access)
            .unwrap_or(if is_safe(method) { Access::User } else { Access::Admin })
    }
}

pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

enum Denied {
    TooLarge,
    Unauthenticated,
    Unavailable,
    Csrf,
    NotAdmin,
}

pub async fn authenticate(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if declared_length(&req).is_some_and(|n| n > MAX_BODY_BYTES) {
        let res = deny(req.request(), Denied::TooLarge);
        return Ok(req.into_response(res).map_into_right_body());
    }
    // Routing matches the percent-decoded path; so does the table.
    let access = match req.app_data::<Data<AccessTable>>() {
        Some(table) => table.access(req.method(), req.match_info().unprocessed()),
        None => Access::Admin,
    };
    if access == Access::Public {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    match check(&mut req, access).await {
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

async fn check(req: &mut ServiceRequest, access: Access) -> Result<CurrentUser, Denied> {
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
    if !is_safe(req.method()) && via_cookie && !csrf_ok(req, &csrf).await? {
        return Err(Denied::Csrf);
    }
    if access == Access::Admin && !user.is_admin {
        return Err(Denied::NotAdmin);
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
/// A body too large for any handler is refused as such (413), not as a missing token.
async fn csrf_ok(req: &mut ServiceRequest, expected: &str) -> Result<bool, Denied> {
    if let Some(given) = req.headers().get(csrf::HEADER).and_then(|v| v.to_str().ok()) {
        return Ok(csrf::matches(expected, given));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok(false);
    }
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else { return Ok(false) };
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Denied::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let body: Bytes = body.freeze();
    let ok = csrf::from_form(&body).is_some_and(|given| csrf::matches(expected, &given));
    req.set_payload(Payload::from(body));
    Ok(ok)
}

/// The body size a request announces (`Content-Length`), if any.
fn declared_length(req: &ServiceRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn deny(req: &HttpRequest, denied: Denied) -> HttpResponse {
    let api = is_api(req.path());
    let (status, message) = match denied {
        Denied::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large (at most 256 KiB)",
        ),
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

/// Where to go after logging in: only a plain path on this site (visible ASCII, no backslash,
/// not `//…`, not the login page itself); anything else goes to `/`. Browsers drop tabs and
/// line breaks from URLs and read `\` as `/`, so `/\t/evil.example` would leave the site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/login")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
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
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\x0b/evil.example",
            "/\x0c/evil.example",
            "/ /evil.example",
            "/a\\b",
            "/é",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn unknown_paths_are_never_public() {
        let table = AccessTable::new(&[
            Route {
                method: "GET",
                path: "/health",
                access: Access::Public,
            },
            Route {
                method: "GET",
                path: "/static/{name}",
                access: Access::Public,
            },
            Route {
                method: "GET",
                path: "/things/{id}/edit",
                access: Access::Admin,
            },
        ]);
        assert_eq!(table.access(&Method::GET, "/health"), Access::Public);
        assert_eq!(table.access(&Method::GET, "/static/app.css"), Access::Public);
        assert_eq!(table.access(&Method::POST, "/health"), Access::Admin);
        assert_eq!(table.access(&Method::GET, "/static/a/b"), Access::User);
        assert_eq!(table.access(&Method::GET, "/healthz"), Access::User);
        assert_eq!(table.access(&Method::GET, "/things/7/edit"), Access::Admin);
        assert_eq!(table.access(&Method::DELETE, "/nowhere"), Access::Admin);
    }
}
