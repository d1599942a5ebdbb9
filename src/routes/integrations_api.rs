//! `/api/v1/integrations` (DESIGN §11). Responses never contain the secret.

use actix_web::{HttpResponse, web};
use entity::integrations;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiResult;
use super::openapi::ApiError;
use crate::auth::CurrentUser;
use crate::db;
use crate::domain::integration::IntegrationInput;
use crate::error::AppError;
use crate::integrations::manage::{self, SaveFailure};
use crate::startup::AppState;

pub fn integration_json(row: &integrations::Model) -> Value {
    json!({
        "id": row.id,
        "kind": row.kind,
        "name": row.name,
        "base_url": row.base_url,
        "flavour": row.flavour,
        "auth_kind": row.auth_kind,
        "username": row.username,
        "has_secret": row.secret.is_some(),
        "settings": row.settings,
        "active": row.active,
        "last_test_at": row.last_test_at,
        "last_test_ok": row.last_test_ok,
        "last_test_message": row.last_test_message,
        "last_sync_at": row.last_sync_at,
        "last_sync_stats": row.last_sync_stats,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/integrations",
    tag = "integrations",
    summary = "Every integration (never its secret)",
    responses((status = 200, description = "`{\"integrations\":[…]}`", body = Object)),
)]
pub async fn list(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let rows = db::integrations::list(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({ "integrations": rows.iter().map(integration_json).collect::<Vec<_>>() })))
}

#[utoipa::path(
    get,
    path = "/api/v1/integrations/{id}",
    tag = "integrations",
    summary = "One integration",
    params(("id" = i64, Path, description = "The integration's id")),
    responses((status = 200, description = "The integration", body = Object), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn show(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
    let row = find(&state, *id).await?;
    Ok(HttpResponse::Ok().json(integration_json(&row)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SaveQuery {
    /// `?test=false` saves without testing the connection first.
    test: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/api/v1/integrations",
    tag = "integrations",
    summary = "Add an integration (its connection is tested first unless `test=false`)",
    params(SaveQuery),
    request_body = IntegrationInput,
    responses((status = 201, description = "The integration saved", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<SaveQuery>,
    body: web::Json<IntegrationInput>,
) -> ApiResult {
    let saved = manage::save(&state.db, &state.vault, state.outbound, &body, None, checks(&q)).await;
    respond(saved, &user, "created", actix_web::http::StatusCode::CREATED)
}

#[utoipa::path(
    put,
    path = "/api/v1/integrations/{id}",
    tag = "integrations",
    summary = "Change an integration (a new scheme, host or port needs the secret again)",
    params(("id" = i64, Path, description = "The integration's id"), SaveQuery),
    request_body = IntegrationInput,
    responses((status = 200, description = "The integration saved", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    q: web::Query<SaveQuery>,
    body: web::Json<IntegrationInput>,
) -> ApiResult {
    let existing = find(&state, *id).await?;
    let mut input = body.into_inner();
    input.kind = existing.kind.as_str().to_string();
    let saved = manage::save(
        &state.db,
        &state.vault,
        state.outbound,
        &input,
        Some(existing),
        checks(&q),
    )
    .await;
    respond(saved, &user, "updated", actix_web::http::StatusCode::OK)
}

fn checks(q: &SaveQuery) -> manage::Checks {
    if q.test.unwrap_or(true) {
        manage::Checks::Test
    } else {
        manage::Checks::None
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/integrations/preview",
    tag = "integrations",
    summary = "Preview a GitHub integration's deployment source over the last 90 days, without saving",
    description = "What the repositories have (environments with deployment counts, workflow names with run counts on the default branch, releases) and what the submitted source and pattern would count (`matched`; `null` for merges). With `?id=` the stored secret is used when none is submitted.",
    params(PreviewQuery),
    request_body = IntegrationInput,
    responses((status = 200, description = "The preview", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which), or the upstream could not be read", body = ApiError)),
)]
pub async fn preview(
    state: web::Data<AppState>,
    _user: CurrentUser,
    q: web::Query<PreviewQuery>,
    body: web::Json<IntegrationInput>,
) -> ApiResult {
    let existing = match q.id {
        Some(id) => Some(find(&state, id).await?),
        None => None,
    };
    let mut input = body.into_inner();
    if let Some(e) = &existing {
        input.kind = e.kind.as_str().to_string();
    }
    match manage::preview(&state.vault, state.outbound, &input, existing.as_ref()).await {
        Ok(p) => Ok(HttpResponse::Ok().json(p)),
        Err(SaveFailure::PreviewFailed(why)) => {
            Ok(HttpResponse::UnprocessableEntity().json(json!({ "error": format!("preview failed: {why}") })))
        }
        Err(other) => respond(Err(other), &_user, "previewed", actix_web::http::StatusCode::OK),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// A stored integration whose secret is used when the body has none.
    id: Option<i64>,
}

fn respond(
    saved: Result<manage::Saved, SaveFailure>,
    user: &CurrentUser,
    verb: &str,
    status: actix_web::http::StatusCode,
) -> ApiResult {
    match saved {
        Ok(s) => {
            tracing::info!(user = %user.user.email, id = s.row.id, name = %s.row.name, "integration {verb}");
            let mut body = integration_json(&s.row);
            body["test"] = json!(s.report);
            Ok(HttpResponse::build(status).json(body))
        }
        Err(SaveFailure::Invalid(fields)) => {
            let message = fields.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; ");
            Ok(HttpResponse::UnprocessableEntity().json(json!({ "error": message, "fields": fields })))
        }
        Err(SaveFailure::TestFailed(report)) => Ok(HttpResponse::UnprocessableEntity().json(json!({
            "error": format!("connection test failed: {}", report.summary),
            "test": report,
        }))),
        Err(SaveFailure::NothingMatches(p)) => Ok(HttpResponse::UnprocessableEntity().json(json!({
            "error": "the deployment source matches nothing over the last 90 days",
            "preview": p,
        }))),
        Err(SaveFailure::PreviewFailed(why)) => {
            Ok(HttpResponse::UnprocessableEntity().json(json!({ "error": format!("preview failed: {why}") })))
        }
        Err(SaveFailure::Save(e)) => Err(AppError::Internal(anyhow::Error::new(e))),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/integrations/{id}/test",
    tag = "integrations",
    summary = "Test the stored connection now",
    params(("id" = i64, Path, description = "The integration's id")),
    responses((status = 200, description = "`{\"integration\":{…},\"test\":{…}}`", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn test(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
    let row = find(&state, *id).await?;
    match manage::test_stored(&state.db, &state.vault, state.outbound, row).await {
        Ok((row, report)) => {
            Ok(HttpResponse::Ok().json(json!({ "integration": integration_json(&row), "test": report })))
        }
        Err(SaveFailure::Invalid(f)) => Err(AppError::Validation(
            f.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; "),
        )),
        Err(SaveFailure::TestFailed(_) | SaveFailure::NothingMatches(_) | SaveFailure::PreviewFailed(_)) => {
            Err(AppError::Internal(anyhow::anyhow!("unexpected test failure")))
        }
        Err(SaveFailure::Save(e)) => Err(AppError::Internal(anyhow::Error::new(e))),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = IntegrationActiveBody)]
pub struct ActiveBody {
    active: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/integrations/{id}/active",
    tag = "integrations",
    summary = "Turn an integration on or off",
    params(("id" = i64, Path, description = "The integration's id")),
    request_body = ActiveBody,
    responses((status = 200, description = "The integration", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn set_active(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<ActiveBody>,
) -> ApiResult {
    let row = find(&state, *id).await?;
    let row = db::integrations::set_active(&state.db, row, body.active).await?;
    tracing::info!(user = %user.user.email, id = row.id, active = row.active, "integration (de)activated");
    Ok(HttpResponse::Ok().json(integration_json(&row)))
}

#[utoipa::path(
    get,
    path = "/api/v1/integrations/{id}/impact",
    tag = "integrations",
    summary = "What deleting the integration would delete",
    params(("id" = i64, Path, description = "The integration's id")),
    responses((status = 200, description = "Counts of the synced rows it owns", body = Object), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn impact(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
    find(&state, *id).await?;
    Ok(HttpResponse::Ok().json(db::integrations::impact(&state.db, *id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `true` deletes the integration with the synced data it owns.
    confirm: Option<bool>,
}

/// Deleting an integration that owns synced data needs `?confirm=true` (else 409 with the impact).
#[utoipa::path(
    delete,
    path = "/api/v1/integrations/{id}",
    tag = "integrations",
    summary = "Delete an integration (one that owns synced data needs `confirm=true`)",
    params(("id" = i64, Path, description = "The integration's id"), DeleteQuery),
    responses((status = 200, description = "`{\"deleted\":id,\"impact\":{…}}`", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "It owns synced data: `impact` says what would go", body = ApiError)),
)]
pub async fn delete(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    q: web::Query<DeleteQuery>,
) -> ApiResult {
    let row = find(&state, *id).await?;
    let impact = db::integrations::impact(&state.db, row.id).await?;
    if !impact.is_empty() && q.confirm != Some(true) {
        return Ok(HttpResponse::Conflict().json(json!({
            "error": "this integration owns synced data; deactivate it instead, or delete with ?confirm=true to delete that data too",
            "impact": impact,
        })));
    }
    db::integrations::delete(&state.db, row.id).await?;
    tracing::info!(user = %user.user.email, id = row.id, name = %row.name, ?impact, "integration deleted");
    Ok(HttpResponse::Ok().json(json!({ "deleted": row.id, "impact": impact })))
}

async fn find(state: &AppState, id: i64) -> Result<integrations::Model, AppError> {
    db::integrations::get(&state.db, id).await?.ok_or(AppError::NotFound)
}
