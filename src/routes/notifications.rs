//! Failure notifications: the webhook form on the dashboard and `/api/v1/notifications`. The
//! address is never shown again (it carries a token), only its host.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use entity::notification_settings;
use serde::Deserialize;
use serde_json::{Value, json};

use super::openapi::ApiError;
use super::{ApiResult, Hx, PageResult, html};
use crate::auth::CurrentUser;
use crate::auth::session::Flash;
use crate::db;
use crate::error::{AppError, json_error};
use crate::orchestrator::notify::{self, Notice, NoticeKind, WebhookError};
use crate::startup::AppState;
use crate::views::dashboard::{self as view, NotificationsPanel};

fn settings_json(row: &notification_settings::Model) -> Value {
    json!({
        "configured": row.webhook_url.is_some(),
        "host": row.webhook_host,
        "last_sent_at": row.last_sent_at,
        "last_ok": row.last_ok,
        "last_message": row.last_message,
    })
}

/// The panel as the dashboard shows it.
pub fn panel(row: &notification_settings::Model, user: &CurrentUser, notice: Option<String>) -> NotificationsPanel {
    NotificationsPanel {
        host: row.webhook_host.clone().filter(|_| row.webhook_url.is_some()),
        last_sent_at: row.last_sent_at,
        last_ok: row.last_ok,
        last_message: row.last_message.clone(),
        editable: user.is_admin(),
        csrf: user.csrf.clone(),
        notice,
        error: None,
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct WebhookBody {
    webhook_url: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "notifications",
    summary = "The failure-notification webhook (its host only) and the last delivery",
    responses((status = 200, description = "`{\"configured\",\"host\",\"last_sent_at\",\"last_ok\",\"last_message\"}`", body = Object)),
)]
pub async fn get_api(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    Ok(HttpResponse::Ok().json(settings_json(&db::notifications::get(&state.db).await?)))
}

#[utoipa::path(
    put,
    path = "/api/v1/notifications",
    tag = "notifications",
    summary = "Set or clear the webhook (Slack-compatible JSON is posted to it)",
    request_body = WebhookBody,
    responses((status = 200, description = "The saved settings", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn put_api(state: web::Data<AppState>, user: CurrentUser, body: web::Json<WebhookBody>) -> ApiResult {
    match notify::save_webhook(&state.db, &state.vault, state.outbound, body.webhook_url.as_deref()).await {
        Ok(row) => {
            tracing::info!(user = %user.user.email, configured = row.webhook_url.is_some(), "notification webhook saved");
            Ok(HttpResponse::Ok().json(settings_json(&row)))
        }
        Err(WebhookError::Invalid(why)) => Ok(json_error(StatusCode::UNPROCESSABLE_ENTITY, &why)),
        Err(WebhookError::Save(e)) => Err(AppError::Internal(anyhow::Error::new(e))),
    }
}

fn test_notice(user: &CurrentUser) -> Notice {
    Notice {
        kind: NoticeKind::Test,
        job: None,
        run_id: None,
        detail: format!("sent by {}", user.user.email),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/notifications/test",
    tag = "notifications",
    summary = "Send a test notification now",
    responses((status = 200, description = "`{\"delivered\":true}`", body = Object), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 502, description = "The webhook refused or did not answer", body = ApiError)),
)]
pub async fn test_api(state: web::Data<AppState>, user: CurrentUser) -> ApiResult {
    match notify::deliver(&state.db, &state.vault, state.outbound, &test_notice(&user)).await {
        Ok(true) => Ok(HttpResponse::Ok().json(json!({ "delivered": true }))),
        Ok(false) => Ok(json_error(StatusCode::CONFLICT, "no webhook is set")),
        Err(why) => Ok(json_error(StatusCode::BAD_GATEWAY, &why)),
    }
}

#[derive(Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    webhook_url: String,
    /// `remove` clears the webhook; anything else saves what was typed.
    #[serde(default)]
    action: String,
}

pub async fn save_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    hx: Hx,
    flash: Flash,
    form: web::Form<WebhookForm>,
) -> PageResult {
    let raw = (form.action != "remove").then_some(form.webhook_url.as_str());
    let current = db::notifications::get(&state.db).await?;
    if raw.is_some_and(|r| r.trim().is_empty()) && current.webhook_url.is_some() {
        return answer(
            &hx,
            &flash,
            panel(&current, &user, Some("Nothing changed.".into())),
            StatusCode::OK,
        );
    }
    match notify::save_webhook(&state.db, &state.vault, state.outbound, raw).await {
        Ok(row) => {
            tracing::info!(user = %user.user.email, configured = row.webhook_url.is_some(), "notification webhook saved");
            let notice = if row.webhook_url.is_some() {
                "Notifications saved."
            } else {
                "Notifications switched off."
            };
            answer(&hx, &flash, panel(&row, &user, Some(notice.into())), StatusCode::OK)
        }
        Err(WebhookError::Invalid(why)) => {
            let row = db::notifications::get(&state.db).await?;
            let mut p = panel(&row, &user, None);
            p.error = Some(why);
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, view::notifications_panel(&p)))
        }
        Err(WebhookError::Save(e)) => Err(AppError::Internal(anyhow::Error::new(e)).into()),
    }
}

pub async fn test_form(state: web::Data<AppState>, user: CurrentUser, hx: Hx, flash: Flash) -> PageResult {
    let result = notify::deliver(&state.db, &state.vault, state.outbound, &test_notice(&user)).await;
    let notice = match result {
        Ok(true) => "Test notification delivered.".to_string(),
        Ok(false) => "No webhook is set.".to_string(),
        Err(why) => format!("Test notification not delivered: {why}"),
    };
    let row = db::notifications::get(&state.db).await?;
    answer(&hx, &flash, panel(&row, &user, Some(notice)), StatusCode::OK)
}

/// htmx: the panel; without JavaScript: back to the dashboard with the notice.
fn answer(hx: &Hx, flash: &Flash, p: NotificationsPanel, status: StatusCode) -> PageResult {
    if hx.fragment {
        return Ok(html(status, view::notifications_panel(&p)));
    }
    if let Some(n) = &p.notice {
        flash.set(n);
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/#notifications-panel"))
        .finish())
}
