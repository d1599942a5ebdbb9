use actix_web::{HttpResponse, web};
use serde_json::json;

use super::ApiResult;
use super::dashboard::settings_values;
use crate::auth::CurrentUser;
use crate::db;
use crate::domain::settings::OrchestratorSettings;
use crate::error::AppError;
use crate::startup::AppState;

pub async fn jobs_status(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let jobs = db::jobs::all(&state.db).await?;
    let settings = db::settings::get(&state.db).await?;
    let jobs: Vec<_> = jobs
        .iter()
        .map(|j| super::jobs::job_json(j, &jobs, settings.next_run_at))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "jobs": jobs, "orchestrator": settings_json(&settings) })))
}

pub async fn get_settings(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let settings = db::settings::get(&state.db).await?;
    Ok(HttpResponse::Ok().json(settings_json(&settings)))
}

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
