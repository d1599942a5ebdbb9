//! The route table: every URL the service answers, in one place.

mod analytics;
mod api;
mod assets;
mod auth;
mod csv;
mod dashboard;
mod flow;
mod flow_api;
mod health;
mod integrations;
mod integrations_api;
mod jobs;
mod notifications;
mod openapi;
mod teams;

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use crate::auth::middleware::is_api;
pub use crate::auth::{Access, Route};
use crate::error::{AppError, json_error, json_or_html};

/// Declares the route table once: `configure` registers exactly the listed routes, and `ROUTES`
/// lists them with their access class, so no route can be added without one.
macro_rules! route_table {
    ($($method:ident $path:literal => $handler:path, $access:ident;)*) => {
        /// Every route the service answers, in registration order (the first match wins).
        pub const ROUTES: &[Route] = &[
            $(Route { method: stringify!($method), path: $path, access: Access::$access },)*
        ];

        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::method(Method::$method).to($handler));)*
        }
    };
}

route_table! {
    GET    "/health" => health::live, Public;
    GET    "/health/ready" => health::ready, Public;
    GET    "/metrics" => health::metrics, Public;
    GET    "/static/{name}" => assets::serve, Public;
    GET    "/favicon.ico" => assets::favicon, Public;
    GET    "/login" => auth::login_form, Public;
    POST   "/login" => auth::login, Public;
    GET    "/logout" => auth::logout_confirm, User;
    POST   "/logout" => auth::logout, User;
    GET    "/" => dashboard::show, User;
    GET    "/ws" => crate::realtime::ws, User;
    POST   "/orchestrator/settings" => dashboard::save_settings, Admin;
    POST   "/notifications" => notifications::save_form, Admin;
    POST   "/notifications/test" => notifications::test_form, Admin;
    GET    "/jobs/{job}" => jobs::history, User;
    POST   "/jobs/{job}/active" => jobs::set_active_form, Admin;
    POST   "/jobs/{job}/{action}" => jobs::control_form, Admin;
    GET    "/flow" => flow::page, User;
    POST   "/flow/steps/{id}/move" => flow::move_step, Admin;
    POST   "/flow/{kind}" => flow::create, Admin;
    POST   "/flow/{kind}/{id}" => flow::update, Admin;
    GET    "/flow/{kind}/{id}/edit" => flow::edit, Admin;
    POST   "/flow/{kind}/{id}/active" => flow::activate, Admin;
    GET    "/flow/{kind}/{id}/{action}" => flow::remove_confirm, Admin;
    POST   "/flow/{kind}/{id}/{action}" => flow::remove, Admin;
    GET    "/integrations" => integrations::list, User;
    POST   "/integrations" => integrations::create, Admin;
    GET    "/integrations/new" => integrations::new_form, Admin;
    POST   "/integrations/preview" => integrations::preview_new, Admin;
    POST   "/integrations/{id}" => integrations::update, Admin;
    GET    "/integrations/{id}/edit" => integrations::edit_form, Admin;
    POST   "/integrations/{id}/preview" => integrations::preview_edit, Admin;
    POST   "/integrations/{id}/test" => integrations::test, Admin;
    POST   "/integrations/{id}/active" => integrations::set_active, Admin;
    GET    "/integrations/{id}/delete" => integrations::delete_confirm, Admin;
    POST   "/integrations/{id}/delete" => integrations::delete, Admin;
    GET    "/teams" => teams::list, User;
    POST   "/teams" => teams::create, Admin;
    GET    "/teams/{id}/edit" => teams::edit, Admin;
    POST   "/teams/{id}" => teams::update, Admin;
    POST   "/teams/{id}/delete" => teams::delete, Admin;
    GET    "/analytics" => analytics::index, User;
    GET    "/analytics/dora" => analytics::dora_page, User;
    GET    "/analytics/prs" => analytics::prs_page, User;
    GET    "/analytics/flow" => analytics::flow_page, User;
    GET    "/json-api" => openapi::page, User;
    GET    "/api/v1/openapi.json" => openapi::document, Public;
    GET    "/api/v1/jobs/status" => api::jobs_status, User;
    GET    "/api/v1/jobs/{job}/runs" => jobs::runs_api, User;
    GET    "/api/v1/jobs/{job}/runs/{run}/events" => jobs::events_api, User;
    POST   "/api/v1/jobs/{job}/active" => jobs::set_active_api, Admin;
    POST   "/api/v1/jobs/{job}/{action}" => jobs::control_api, Admin;
    GET    "/api/v1/orchestrator/settings" => api::get_settings, User;
    PUT    "/api/v1/orchestrator/settings" => api::put_settings, Admin;
    GET    "/api/v1/notifications" => notifications::get_api, User;
    PUT    "/api/v1/notifications" => notifications::put_api, Admin;
    POST   "/api/v1/notifications/test" => notifications::test_api, Admin;
    GET    "/api/v1/integrations" => integrations_api::list, User;
    POST   "/api/v1/integrations" => integrations_api::create, Admin;
    POST   "/api/v1/integrations/preview" => integrations_api::preview, Admin;
    GET    "/api/v1/integrations/{id}" => integrations_api::show, User;
    PUT    "/api/v1/integrations/{id}" => integrations_api::update, Admin;
    DELETE "/api/v1/integrations/{id}" => integrations_api::delete, Admin;
    POST   "/api/v1/integrations/{id}/test" => integrations_api::test, Admin;
    POST   "/api/v1/integrations/{id}/active" => integrations_api::set_active, Admin;
    GET    "/api/v1/integrations/{id}/impact" => integrations_api::impact, User;
    GET    "/api/v1/teams" => teams::list_api, User;
    POST   "/api/v1/teams" => teams::create_api, Admin;
    GET    "/api/v1/teams/{id}" => teams::show_api, User;
    PUT    "/api/v1/teams/{id}" => teams::update_api, Admin;
    DELETE "/api/v1/teams/{id}" => teams::delete_api, Admin;
    GET    "/api/v1/metrics/dora" => analytics::dora_api, User;
    GET    "/api/v1/metrics/prs" => analytics::prs_api, User;
    GET    "/api/v1/metrics/flow" => analytics::flow_api, User;
    GET    "/api/v1/metrics/flow/scatter" => analytics::scatter_api, User;
    GET    "/api/v1/metrics/flow/forecast" => analytics::forecast_api, User;
    GET    "/api/v1/metrics/flow/aging" => analytics::aging_api, User;
    GET    "/api/v1/metrics/flow/cfd" => analytics::cfd_api, User;
    GET    "/api/v1/flow" => flow_api::overview, User;
    GET    "/api/v1/flow/unmapped" => flow_api::unmapped, User;
    GET    "/api/v1/flow/steps" => flow_api::list_steps, User;
    POST   "/api/v1/flow/steps" => flow_api::create_step, Admin;
    POST   "/api/v1/flow/steps/delete" => flow_api::remove_steps, Admin;
    GET    "/api/v1/flow/steps/{id}" => flow_api::show_step, User;
    PUT    "/api/v1/flow/steps/{id}" => flow_api::update_step, Admin;
    GET    "/api/v1/flow/steps/{id}/impact" => flow_api::step_impact, User;
    POST   "/api/v1/flow/steps/{id}/delete" => flow_api::delete_step, Admin;
    POST   "/api/v1/flow/steps/{id}/deactivate" => flow_api::deactivate_step, Admin;
    GET    "/api/v1/flow/status-mappings" => flow_api::list_status_mappings, User;
    POST   "/api/v1/flow/status-mappings" => flow_api::create_status_mapping, Admin;
    GET    "/api/v1/flow/status-mappings/{id}" => flow_api::show_status_mapping, User;
    PUT    "/api/v1/flow/status-mappings/{id}" => flow_api::update_status_mapping, Admin;
    GET    "/api/v1/flow/status-mappings/{id}/impact" => flow_api::status_mapping_impact, User;
    POST   "/api/v1/flow/status-mappings/{id}/delete" => flow_api::delete_status_mapping, Admin;
    POST   "/api/v1/flow/status-mappings/{id}/deactivate" => flow_api::deactivate_status_mapping, Admin;
    GET    "/api/v1/flow/issue-type-mappings" => flow_api::list_issue_type_mappings, User;
    POST   "/api/v1/flow/issue-type-mappings" => flow_api::create_issue_type_mapping, Admin;
    POST   "/api/v1/flow/issue-type-mappings/delete" => flow_api::remove_issue_type_mappings, Admin;
    GET    "/api/v1/flow/issue-type-mappings/{id}" => flow_api::show_issue_type_mapping, User;
    PUT    "/api/v1/flow/issue-type-mappings/{id}" => flow_api::update_issue_type_mapping, Admin;
    GET    "/api/v1/flow/issue-type-mappings/{id}/impact" => flow_api::issue_type_mapping_impact, User;
    POST   "/api/v1/flow/issue-type-mappings/{id}/delete" => flow_api::delete_issue_type_mapping, Admin;
    POST   "/api/v1/flow/issue-type-mappings/{id}/deactivate" => flow_api::deactivate_issue_type_mapping, Admin;
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let message = if is_api(req.path()) {
        "no such endpoint"
    } else {
        "There is no page at this address."
    };
    json_or_html(&req, actix_web::http::StatusCode::NOT_FOUND, message)
}

/// Malformed or oversized forms: 413 for size, 400 otherwise, with a message.
pub fn bad_form(err: UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    let status = match err {
        UrlencodedError::Overflow { .. } => actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        _ => actix_web::http::StatusCode::BAD_REQUEST,
    };
    let res = json_or_html(req, status, &format!("the form could not be read: {err}"));
    actix_web::error::InternalError::from_response(err, res).into()
}

/// A path segment that does not parse (a non-numeric id): nothing has that address, so 404,
/// as JSON under `/api` like every API error.
pub fn bad_path(err: PathError, req: &HttpRequest) -> actix_web::Error {
    let res = json_or_html(
        req,
        actix_web::http::StatusCode::NOT_FOUND,
        &format!("not found: {err}"),
    );
    actix_web::error::InternalError::from_response(err, res).into()
}

/// A query string that does not parse (a number too large, a date that is not one): 400.
pub fn bad_query(err: QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    let res = json_or_html(
        req,
        actix_web::http::StatusCode::BAD_REQUEST,
        &format!("the query string could not be read: {err}"),
    );
    actix_web::error::InternalError::from_response(err, res).into()
}

/// Malformed or oversized JSON: 413 for size, 400 for syntax, 422 for wrong fields.
pub fn bad_json(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::http::StatusCode;
    let status = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        JsonPayloadError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        JsonPayloadError::Deserialize(e) if e.is_data() => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    };
    let res = json_error(status, &format!("invalid JSON body: {err}"));
    actix_web::error::InternalError::from_response(err, res).into()
}

/// Whether to answer with a fragment: an htmx request that is neither boosted nor a
/// history restore. Responses that depend on it carry `Vary: HX-Request`.
pub struct Hx {
    pub fragment: bool,
}

impl FromRequest for Hx {
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let h = req.headers();
        let fragment = h.contains_key("HX-Request")
            && !h.contains_key("HX-Boosted")
            && !h.contains_key("HX-History-Restore-Request");
        ready(Ok(Hx { fragment }))
    }
}

/// An HTML response that varies on `HX-Request`.
pub fn html(status: actix_web::http::StatusCode, markup: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Vary", "HX-Request"))
        .body(markup.into_string())
}

pub type PageResult = Result<HttpResponse, crate::error::PageError>;
pub type ApiResult = Result<HttpResponse, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::middleware::AccessTable;

    /// Each route, called with every placeholder filled in, is governed by its own entry (no
    /// earlier route with another access class shadows it).
    #[test]
    fn every_route_is_governed_by_its_own_entry() {
        let table = AccessTable::new(ROUTES);
        for r in ROUTES {
            let method = Method::from_bytes(r.method.as_bytes()).expect("method");
            let path: Vec<&str> = r
                .path
                .split('/')
                .map(|s| if s.starts_with('{') { "x1" } else { s })
                .collect();
            assert_eq!(
                table.access(&method, &path.join("/")),
                r.access,
                "{} {}",
                r.method,
                r.path
            );
        }
    }

    #[test]
    fn no_route_is_listed_twice_and_only_reads_are_public() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert((r.method, r.path)), "{} {} twice", r.method, r.path);
            if r.access == Access::Public && r.method != "GET" {
                assert_eq!(r.path, "/login", "only the login form posts without a session");
            }
            if r.method != "GET" && r.path != "/login" && r.path != "/logout" {
                assert_eq!(
                    r.access,
                    Access::Admin,
                    "{} {}: every mutation is for admins",
                    r.method,
                    r.path
                );
            }
        }
    }
}
