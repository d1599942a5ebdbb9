//! The route table: every URL the service answers, in one place.

mod analytics;
mod api;
mod assets;
mod auth;
mod dashboard;
mod flow;
mod flow_api;
mod health;
mod integrations;
mod integrations_api;
mod jobs;

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, UrlencodedError};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use crate::auth::middleware::is_api;
use crate::error::{AppError, html_error, json_error};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::live))
        .route("/health/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(health::metrics))
        .route("/static/{name}", web::get().to(assets::serve))
        .route("/favicon.ico", web::get().to(assets::favicon))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::get().to(auth::logout_confirm))
        .route("/logout", web::post().to(auth::logout))
        .route("/", web::get().to(dashboard::show))
        .route("/ws", web::get().to(crate::realtime::ws))
        .route("/orchestrator/settings", web::post().to(dashboard::save_settings))
        .route("/jobs/{job}", web::get().to(jobs::history))
        .route("/jobs/{job}/active", web::post().to(jobs::set_active_form))
        .route("/jobs/{job}/{action}", web::post().to(jobs::control_form))
        .route("/flow", web::get().to(flow::page))
        .route("/flow/steps/{id}/move", web::post().to(flow::move_step))
        .route("/flow/{kind}", web::post().to(flow::create))
        .route("/flow/{kind}/{id}", web::post().to(flow::update))
        .route("/flow/{kind}/{id}/edit", web::get().to(flow::edit))
        .route("/flow/{kind}/{id}/active", web::post().to(flow::activate))
        .route("/flow/{kind}/{id}/{action}", web::get().to(flow::remove_confirm))
        .route("/flow/{kind}/{id}/{action}", web::post().to(flow::remove))
        .route("/integrations", web::get().to(integrations::list))
        .route("/integrations", web::post().to(integrations::create))
        .route("/integrations/new", web::get().to(integrations::new_form))
        .route("/integrations/{id}", web::post().to(integrations::update))
        .route("/integrations/{id}/edit", web::get().to(integrations::edit_form))
        .route("/integrations/{id}/test", web::post().to(integrations::test))
        .route("/integrations/{id}/active", web::post().to(integrations::set_active))
        .route("/integrations/{id}/delete", web::get().to(integrations::delete_confirm))
        .route("/integrations/{id}/delete", web::post().to(integrations::delete))
        .route("/analytics", web::get().to(analytics::index))
        .route("/analytics/dora", web::get().to(analytics::dora_page))
        .route("/analytics/prs", web::get().to(analytics::prs_page))
        .route("/analytics/flow", web::get().to(analytics::flow_page))
        .service(
            web::scope("/api/v1")
                .route("/jobs/status", web::get().to(api::jobs_status))
                .route("/jobs/{job}/runs", web::get().to(jobs::runs_api))
                .route("/jobs/{job}/runs/{run}/events", web::get().to(jobs::events_api))
                .route("/jobs/{job}/active", web::post().to(jobs::set_active_api))
                .route("/jobs/{job}/{action}", web::post().to(jobs::control_api))
                .route("/orchestrator/settings", web::get().to(api::get_settings))
                .route("/orchestrator/settings", web::put().to(api::put_settings))
                .route("/integrations", web::get().to(integrations_api::list))
                .route("/integrations", web::post().to(integrations_api::create))
                .route("/integrations/{id}", web::get().to(integrations_api::show))
                .route("/integrations/{id}", web::put().to(integrations_api::update))
                .route("/integrations/{id}", web::delete().to(integrations_api::delete))
                .route("/integrations/{id}/test", web::post().to(integrations_api::test))
                .route(
                    "/integrations/{id}/active",
                    web::post().to(integrations_api::set_active),
                )
                .route("/integrations/{id}/impact", web::get().to(integrations_api::impact))
                .route("/metrics/dora", web::get().to(analytics::dora_api))
                .route("/metrics/prs", web::get().to(analytics::prs_api))
                .route("/metrics/flow", web::get().to(analytics::flow_api))
                .route("/flow", web::get().to(flow_api::overview))
                .route("/flow/unmapped", web::get().to(flow_api::unmapped))
                .route("/flow/steps", web::get().to(flow_api::list_steps))
                .route("/flow/steps", web::post().to(flow_api::create_step))
                .route("/flow/steps/delete", web::post().to(flow_api::remove_steps))
                .route("/flow/steps/{id}", web::get().to(flow_api::show_step))
                .route("/flow/steps/{id}", web::put().to(flow_api::update_step))
                .route("/flow/steps/{id}/impact", web::get().to(flow_api::step_impact))
                .route("/flow/steps/{id}/delete", web::post().to(flow_api::delete_step))
                .route("/flow/steps/{id}/deactivate", web::post().to(flow_api::deactivate_step))
                .route("/flow/status-mappings", web::get().to(flow_api::list_statuses))
                .route("/flow/status-mappings", web::post().to(flow_api::create_status))
                .route("/flow/status-mappings/{id}", web::get().to(flow_api::show_status))
                .route("/flow/status-mappings/{id}", web::put().to(flow_api::update_status))
                .route(
                    "/flow/status-mappings/{id}/impact",
                    web::get().to(flow_api::status_impact),
                )
                .route(
                    "/flow/status-mappings/{id}/delete",
                    web::post().to(flow_api::delete_status),
                )
                .route(
                    "/flow/status-mappings/{id}/deactivate",
                    web::post().to(flow_api::deactivate_status),
                )
                .route("/flow/issue-type-mappings", web::get().to(flow_api::list_types))
                .route("/flow/issue-type-mappings", web::post().to(flow_api::create_type))
                .route(
                    "/flow/issue-type-mappings/delete",
                    web::post().to(flow_api::remove_types),
                )
                .route("/flow/issue-type-mappings/{id}", web::get().to(flow_api::show_type))
                .route("/flow/issue-type-mappings/{id}", web::put().to(flow_api::update_type))
                .route(
                    "/flow/issue-type-mappings/{id}/impact",
                    web::get().to(flow_api::type_impact),
                )
                .route(
                    "/flow/issue-type-mappings/{id}/delete",
                    web::post().to(flow_api::delete_type),
                )
                .route(
                    "/flow/issue-type-mappings/{id}/deactivate",
                    web::post().to(flow_api::deactivate_type),
                ),
        );
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if is_api(req.path()) {
        json_error(actix_web::http::StatusCode::NOT_FOUND, "no such endpoint")
    } else {
        html_error(
            actix_web::http::StatusCode::NOT_FOUND,
            "There is no page at this address.",
        )
    }
}

/// Malformed or oversized forms: 413 for size, 400 otherwise, with a message.
pub fn bad_form(err: UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    let status = match err {
        UrlencodedError::Overflow { .. } => actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        _ => actix_web::http::StatusCode::BAD_REQUEST,
    };
    let message = format!("the form could not be read: {err}");
    let res = if is_api(req.path()) {
        json_error(status, &message)
    } else {
        html_error(status, &message)
    };
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
