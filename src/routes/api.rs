use actix_web::{HttpResponse, web};
use serde_json::json;

use super::ApiResult;
use super::dashboard::settings_values;
use super::openapi::ApiError;
use crate::auth::CurrentUser;
use crate::db;
use crate::domain::settings::OrchestratorSettings;
use crate::error::AppError;
use crate::startup::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/jobs/status",
    tag = "jobs",
    summary = "Every job with its status, progress and allowed actions, and the schedule",
    responses((status = 200, description = "`{\"jobs\":[…],\"orchestrator\":{…}}`", body = Object)),
)]
pub async fn jobs_status(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let jobs = db::jobs::all(&state.db).await?;
    let settings = db::settings::get(&state.db).await?;
    let jobs: Vec<_> = jobs
        .iter()
        .map(|j| super::jobs::job_json(j, &jobs, settings.next_run_at))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "jobs": jobs, "orchestrator": settings_json(&settings) })))
}

#[utoipa::path(
    get,
    path = "/api/v1/orchestrator/settings",
    tag = "orchestrator",
    summary = "The schedule and retry settings",
    responses((status = 200, description = "The settings and `next_run_at`", body = Object)),
)]
pub async fn get_settings(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let settings = db::settings::get(&state.db).await?;
    Ok(HttpResponse::Ok().json(settings_json(&settings)))
}

#[utoipa::path(
    put,
    path = "/api/v1/orchestrator/settings",
    tag = "orchestrator",
    summary = "Change the schedule and retry settings",
    request_body = OrchestratorSettings,
    responses((status = 200, description = "The saved settings", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn put_settings(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<OrchestratorSettings>,
) -> ApiResult {
    if let Err(errors) = body.validate() {
        let message = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
        return Ok(HttpResponse::UnprocessableEntity().json(json!({ "error": message, "fields": errors })));
    }
    db::settings::update(&state.db, &body).await.map_err(AppError::from)?;
    state.orchestrator.settings_changed().await;
    let row = db::settings::get(&state.db).await?;
    tracing::info!(user = %user.user.email, values = ?*body, "orchestrator settings changed");
    Ok(HttpResponse::Ok().json(settings_json(&row)))
}

fn settings_json(row: &entity::orchestrator_settings::Model) -> serde_json::Value {
    let v = settings_values(row);
    json!({
        "enabled": v.enabled,
        "interval_minutes": v.interval_minutes,
        "retry_enabled": v.retry_enabled,
        "retry_interval_minutes": v.retry_interval_minutes,
        "max_retry_attempts": v.max_retry_attempts,
        "next_run_at": row.next_run_at,
    })
}
