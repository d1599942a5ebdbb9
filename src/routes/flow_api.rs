//! `/api/v1/flow/…` (DESIGN §11): steps, status mappings and issue-type mappings, their impact,
//! and guided delete-and-reassign. Mutations are admin-only (middleware).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::ApiResult;
use super::openapi::ApiError;
use crate::auth::CurrentUser;
use crate::db;
use crate::db::flow::remove::{Impact, RemoveError};
use crate::domain::flow::input::{IssueTypeMappingDraft, StatusMappingDraft, StepDraft};
use crate::domain::flow::reassign::Removal;
use crate::domain::settings::FieldError;
use crate::error::AppError;
use crate::startup::AppState;

pub fn step_json(m: &entity::flow_steps::Model) -> Value {
    json!({"id": m.id, "name": m.name, "category": m.category, "position": m.position,
           "is_commitment_point": m.is_commitment_point, "active": m.active,
           "created_at": m.created_at, "updated_at": m.updated_at})
}

pub fn status_json(m: &entity::status_mappings::Model) -> Value {
    json!({"id": m.id, "status_from": m.status_from, "flow_step_id": m.flow_step_id,
           "issue_type_mapping_id": m.issue_type_mapping_id, "active": m.active,
           "created_at": m.created_at, "updated_at": m.updated_at})
}

pub fn type_json(m: &entity::issue_type_mappings::Model) -> Value {
    json!({"id": m.id, "issuetype_from": m.issuetype_from, "issuetype_to": m.issuetype_to,
           "work_category": m.work_category, "hierarchy_level": m.hierarchy_level, "active": m.active,
           "created_at": m.created_at, "updated_at": m.updated_at})
}

fn invalid(errors: &[FieldError]) -> HttpResponse {
    let message = errors.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; ");
    HttpResponse::UnprocessableEntity().json(json!({ "error": message, "fields": errors }))
}

/// The whole configuration with its version (changes on every mapping change).
#[utoipa::path(
    get,
    path = "/api/v1/flow",
    tag = "flow",
    summary = "The whole flow configuration with its version",
    responses((status = 200, description = "`{\"version\",\"steps\",\"status_mappings\",\"issue_type_mappings\"}`", body = Object)),
)]
pub async fn overview(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let cfg = db::flow::config(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({
        "version": cfg.fingerprint(),
        "steps": cfg.steps.iter().map(step_json).collect::<Vec<_>>(),
        "status_mappings": cfg.status_mappings.iter().map(status_json).collect::<Vec<_>>(),
        "issue_type_mappings": cfg.issue_type_mappings.iter().map(type_json).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/flow/unmapped",
    tag = "flow",
    summary = "Jira statuses and issue types seen in synced data that no mapping covers",
    responses((status = 200, description = "The unmapped statuses and issue types with counts", body = Object)),
)]
pub async fn unmapped(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let cfg = db::flow::resolver(&state.db).await?;
    Ok(HttpResponse::Ok().json(db::flow::discovery::unmapped(&state.db, &cfg).await?))
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    name: Option<String>,
    category: Option<String>,
    position: Option<i32>,
    is_commitment_point: Option<bool>,
    active: Option<bool>,
    /// A row as `GET` returns it may be sent back: these are read-only and ignored.
    #[serde(default, rename = "id")]
    #[schema(read_only)]
    _id: Option<i64>,
    #[serde(default, rename = "created_at")]
    #[schema(value_type = Option<String>, read_only)]
    _created_at: Option<Value>,
    #[serde(default, rename = "updated_at")]
    #[schema(value_type = Option<String>, read_only)]
    _updated_at: Option<Value>,
}

impl StepBody {
    fn onto(self, mut d: StepDraft) -> StepDraft {
        if let Some(v) = self.name {
            d.name = v;
        }
        if let Some(v) = self.category {
            d.category = v;
        }
        if let Some(v) = self.position {
            d.position = v.to_string();
        }
        if let Some(v) = self.is_commitment_point {
            d.is_commitment_point = v;
        }
        if let Some(v) = self.active {
            d.active = v;
            // Switching a step off also takes the commitment mark off, unless asked otherwise.
            if !v && self.is_commitment_point.is_none() {
                d.is_commitment_point = false;
            }
        }
        d
    }
}

pub fn step_draft(m: &entity::flow_steps::Model) -> StepDraft {
    StepDraft {
        name: m.name.clone(),
        category: m.category.as_str().to_string(),
        position: String::new(),
        is_commitment_point: m.is_commitment_point,
        active: m.active,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/flow/steps",
    tag = "flow",
    summary = "Every flow step in flow order",
    responses((status = 200, description = "`{\"steps\":[…]}`", body = Object)),
)]
pub async fn list_steps(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let cfg = db::flow::config(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({ "steps": cfg.steps.iter().map(step_json).collect::<Vec<_>>() })))
}

#[utoipa::path(
    get,
    path = "/api/v1/flow/steps/{id}",
    tag = "flow",
    summary = "One flow step",
    params(("id" = i64, Path, description = "The step's id")),
    responses((status = 200, description = "The step", body = Object), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn show_step(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
    Ok(HttpResponse::Ok().json(step_json(&find_step(&state, *id).await?)))
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/steps",
    tag = "flow",
    summary = "Add a flow step",
    request_body = StepBody,
    responses((status = 201, description = "The step", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn create_step(state: web::Data<AppState>, user: CurrentUser, body: web::Json<StepBody>) -> ApiResult {
    let draft = body.into_inner().onto(StepDraft {
        active: true,
        ..Default::default()
    });
    let cfg = db::flow::resolver(&state.db).await?;
    match draft.validate(&cfg, None) {
        Ok(v) => {
            let row = db::flow::save::create_step(&state.db, &v).await?;
            tracing::info!(user = %user.user.email, id = row.id, name = %row.name, "flow step created");
            Ok(HttpResponse::Created().json(step_json(&row)))
        }
        Err(e) => Ok(invalid(&e)),
    }
}

#[utoipa::path(
    put,
    path = "/api/v1/flow/steps/{id}",
    tag = "flow",
    summary = "Change a flow step",
    params(("id" = i64, Path, description = "The step's id")),
    request_body = StepBody,
    responses((status = 200, description = "The step", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn update_step(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<StepBody>,
) -> ApiResult {
    let existing = find_step(&state, *id).await?;
    let draft = body.into_inner().onto(step_draft(&existing));
    let cfg = db::flow::resolver(&state.db).await?;
    match draft.validate(&cfg, Some(existing.id)) {
        Ok(v) => {
            let row = db::flow::save::update_step(&state.db, existing, &v).await?;
            tracing::info!(user = %user.user.email, id = row.id, name = %row.name, "flow step updated");
            Ok(HttpResponse::Ok().json(step_json(&row)))
        }
        Err(e) => Ok(invalid(&e)),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImpactQuery {
    /// Impact of deactivating instead of deleting (issue-type mappings differ).
    #[serde(default)]
    deactivate: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/flow/steps/{id}/impact",
    tag = "flow",
    summary = "What deleting the step touches",
    params(("id" = i64, Path, description = "The step's id")),
    responses((status = 200, description = "`{\"status_mappings\":N,\"issues\":N,\"targets\":[ids]}`", body = Object), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn step_impact(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
    impact_json(db::flow::remove::step_impact(&state.db, *id).await?)
}

fn impact_json(impact: Option<Impact>) -> ApiResult {
    Ok(HttpResponse::Ok().json(impact.ok_or(AppError::NotFound)?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveBody {
    #[serde(default)]
    reassign_to: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    id: i64,
    #[serde(default)]
    reassign_to: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    items: Vec<BatchItem>,
    #[serde(default)]
    deactivate: bool,
}

/// 409 when refused whatever the target, 422 for a bad target or a loop, 404 for an unknown id.
pub fn remove_answer(result: Result<Vec<(i64, Option<i64>)>, RemoveError>, what: &str, verb: &str) -> ApiResult {
    match result {
        Ok(plan) => Ok(HttpResponse::Ok().json(json!({
            verb: plan.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            "reassigned": plan.iter().filter_map(|(id, t)| t.map(|t| json!({"id": id, "to": t}))).collect::<Vec<_>>(),
        }))),
        Err(RemoveError::NotFound) => Err(AppError::NotFound),
        Err(RemoveError::Refused(why)) => Ok(HttpResponse::Conflict().json(json!({ "error": why }))),
        Err(RemoveError::Invalid(e)) => {
            Ok(HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY).json(json!({ "error": format!("{what}: {e}") })))
        }
        Err(RemoveError::Db(e)) => Err(AppError::from(e)),
    }
}

fn one(id: i64, body: Option<web::Json<RemoveBody>>) -> [Removal; 1] {
    [Removal {
        id,
        reassign_to: body.and_then(|b| b.reassign_to),
    }]
}

fn batch(body: &BatchBody) -> Vec<Removal> {
    body.items
        .iter()
        .map(|i| Removal {
            id: i.id,
            reassign_to: i.reassign_to,
        })
        .collect()
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/steps/{id}/delete",
    tag = "flow",
    summary = "Delete a step, reassigning what uses it",
    params(("id" = i64, Path, description = "The step's id")),
    request_body = RemoveBody,
    responses((status = 200, description = "`{\"deleted\":[ids],\"reassigned\":[…]}`", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn delete_step(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: Option<web::Json<RemoveBody>>,
) -> ApiResult {
    let r = db::flow::remove::remove_steps(&state.db, &one(*id, body), false).await;
    log_removal(&user, "flow step", "deleted", &r);
    remove_answer(r, "flow step", "deleted")
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/steps/{id}/deactivate",
    tag = "flow",
    summary = "Deactivate a step, reassigning what uses it",
    params(("id" = i64, Path, description = "The step's id")),
    request_body = RemoveBody,
    responses((status = 200, description = "`{\"deactivated\":[ids],\"reassigned\":[…]}`", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn deactivate_step(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: Option<web::Json<RemoveBody>>,
) -> ApiResult {
    let r = db::flow::remove::remove_steps(&state.db, &one(*id, body), true).await;
    log_removal(&user, "flow step", "deactivated", &r);
    remove_answer(r, "flow step", "deactivated")
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/steps/delete",
    tag = "flow",
    summary = "Delete several steps at once, each reassigned to a target",
    request_body = BatchBody,
    responses((status = 200, description = "`{\"deleted\":[ids],\"reassigned\":[…]}`", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn remove_steps(state: web::Data<AppState>, user: CurrentUser, body: web::Json<BatchBody>) -> ApiResult {
    let verb = if body.deactivate { "deactivated" } else { "deleted" };
    let r = db::flow::remove::remove_steps(&state.db, &batch(&body), body.deactivate).await;
    log_removal(&user, "flow steps", verb, &r);
    remove_answer(r, "flow steps", verb)
}

pub fn log_removal(user: &CurrentUser, what: &str, verb: &str, r: &Result<Vec<(i64, Option<i64>)>, RemoveError>) {
    if let Ok(plan) = r {
        tracing::info!(user = %user.user.email, ?plan, "{what} {verb}");
    }
}

async fn find_step(state: &AppState, id: i64) -> Result<entity::flow_steps::Model, AppError> {
    db::flow::find_step(&state.db, id).await?.ok_or(AppError::NotFound)
}

// ---- issue-type mappings ----

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeBody {
    issuetype_from: Option<String>,
    issuetype_to: Option<String>,
    work_category: Option<String>,
    hierarchy_level: Option<i32>,
    active: Option<bool>,
    /// A row as `GET` returns it may be sent back: these are read-only and ignored.
    #[serde(default, rename = "id")]
    #[schema(read_only)]
    _id: Option<i64>,
    #[serde(default, rename = "created_at")]
    #[schema(value_type = Option<String>, read_only)]
    _created_at: Option<Value>,
    #[serde(default, rename = "updated_at")]
    #[schema(value_type = Option<String>, read_only)]
    _updated_at: Option<Value>,
}

impl TypeBody {
    fn onto(self, mut d: IssueTypeMappingDraft) -> IssueTypeMappingDraft {
        if let Some(v) = self.issuetype_from {
            d.issuetype_from = v;
        }
        if let Some(v) = self.issuetype_to {
            d.issuetype_to = v;
        }
        if let Some(v) = self.work_category {
            d.work_category = v;
        }
        if let Some(v) = self.hierarchy_level {
            d.hierarchy_level = v.to_string();
        }
        if let Some(v) = self.active {
            d.active = v;
        }
        d
    }
}

pub fn issue_type_mapping_draft(m: &entity::issue_type_mappings::Model) -> IssueTypeMappingDraft {
    IssueTypeMappingDraft {
        issuetype_from: m.issuetype_from.clone(),
        issuetype_to: m.issuetype_to.clone(),
        work_category: m.work_category.as_str().to_string(),
        hierarchy_level: m.hierarchy_level.to_string(),
        active: m.active,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/flow/issue-type-mappings",
    tag = "flow",
    summary = "Every issue-type mapping",
    responses((status = 200, description = "`{\"issue_type_mappings\":[…]}`", body = Object)),
)]
pub async fn list_issue_type_mappings(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let cfg = db::flow::config(&state.db).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "issue_type_mappings": cfg.issue_type_mappings.iter().map(type_json).collect::<Vec<_>>() })))
}

#[utoipa::path(
    get,
    path = "/api/v1/flow/issue-type-mappings/{id}",
    tag = "flow",
    summary = "One issue-type mapping",
    params(("id" = i64, Path, description = "The issue-type mapping's id")),
    responses((status = 200, description = "The issue-type mapping", body = Object), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn show_issue_type_mapping(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
    Ok(HttpResponse::Ok().json(type_json(&find_issue_type_mapping_row(&state, *id).await?)))
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/issue-type-mappings",
    tag = "flow",
    summary = "Map a Jira issue type to a work category",
    request_body = TypeBody,
    responses((status = 201, description = "The issue-type mapping", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn create_issue_type_mapping(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<TypeBody>,
) -> ApiResult {
    let draft = body.into_inner().onto(IssueTypeMappingDraft {
        active: true,
        ..Default::default()
    });
    let cfg = db::flow::resolver(&state.db).await?;
    match draft.validate(&cfg, None) {
        Ok(v) => {
            let row = db::flow::save::create_issue_type_mapping(&state.db, &v).await?;
            tracing::info!(user = %user.user.email, id = row.id, from = %row.issuetype_from, "issue type mapping created");
            Ok(HttpResponse::Created().json(type_json(&row)))
        }
        Err(e) => Ok(invalid(&e)),
    }
}

#[utoipa::path(
    put,
    path = "/api/v1/flow/issue-type-mappings/{id}",
    tag = "flow",
    summary = "Change an issue-type mapping",
    params(("id" = i64, Path, description = "The issue-type mapping's id")),
    request_body = TypeBody,
    responses((status = 200, description = "The issue-type mapping", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn update_issue_type_mapping(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<TypeBody>,
) -> ApiResult {
    let existing = find_issue_type_mapping_row(&state, *id).await?;
    let draft = body.into_inner().onto(issue_type_mapping_draft(&existing));
    let cfg = db::flow::resolver(&state.db).await?;
    match draft.validate(&cfg, Some(existing.id)) {
        Ok(v) => {
            let row = db::flow::save::update_issue_type_mapping(&state.db, existing, &v).await?;
            tracing::info!(user = %user.user.email, id = row.id, from = %row.issuetype_from, "issue type mapping updated");
            Ok(HttpResponse::Ok().json(type_json(&row)))
        }
        Err(e) => Ok(invalid(&e)),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/flow/issue-type-mappings/{id}/impact",
    tag = "flow",
    summary = "What deleting (or with `deactivate=true`, deactivating) the mapping touches",
    params(("id" = i64, Path, description = "The issue-type mapping's id"), ImpactQuery),
    responses((status = 200, description = "`{\"status_mappings\":N,\"issues\":N,\"targets\":[ids]}`", body = Object), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn issue_type_mapping_impact(
    state: web::Data<AppState>,
    _user: CurrentUser,
    id: web::Path<i64>,
    q: web::Query<ImpactQuery>,
) -> ApiResult {
    impact_json(db::flow::remove::issue_type_mapping_impact(&state.db, *id, q.deactivate).await?)
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/issue-type-mappings/{id}/delete",
    tag = "flow",
    summary = "Delete an issue-type mapping",
    params(("id" = i64, Path, description = "The issue-type mapping's id")),
    request_body = RemoveBody,
    responses((status = 200, description = "`{\"deleted\":[ids],\"reassigned\":[…]}`", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn delete_issue_type_mapping(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: Option<web::Json<RemoveBody>>,
) -> ApiResult {
    let r = db::flow::remove::remove_issue_type_mappings(&state.db, &one(*id, body), false).await;
    log_removal(&user, "issue type mapping", "deleted", &r);
    remove_answer(r, "issue type mapping", "deleted")
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/issue-type-mappings/{id}/deactivate",
    tag = "flow",
    summary = "Deactivate an issue-type mapping",
    params(("id" = i64, Path, description = "The issue-type mapping's id")),
    request_body = RemoveBody,
    responses((status = 200, description = "`{\"deactivated\":[ids],\"reassigned\":[…]}`", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn deactivate_issue_type_mapping(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: Option<web::Json<RemoveBody>>,
) -> ApiResult {
    let r = db::flow::remove::remove_issue_type_mappings(&state.db, &one(*id, body), true).await;
    log_removal(&user, "issue type mapping", "deactivated", &r);
    remove_answer(r, "issue type mapping", "deactivated")
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/issue-type-mappings/delete",
    tag = "flow",
    summary = "Delete several issue-type mappings at once",
    request_body = BatchBody,
    responses((status = 200, description = "`{\"deleted\":[ids],\"reassigned\":[…]}`", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn remove_issue_type_mappings(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<BatchBody>,
) -> ApiResult {
    let verb = if body.deactivate { "deactivated" } else { "deleted" };
    let r = db::flow::remove::remove_issue_type_mappings(&state.db, &batch(&body), body.deactivate).await;
    log_removal(&user, "issue type mappings", verb, &r);
    remove_answer(r, "issue type mappings", verb)
}

async fn find_issue_type_mapping_row(
    state: &AppState,
    id: i64,
) -> Result<entity::issue_type_mappings::Model, AppError> {
    db::flow::find_issue_type_mapping(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)
}

// ---- status mappings ----

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status_from: Option<String>,
    flow_step_id: Option<i64>,
    /// `null` maps the status for every issue type.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    issue_type_mapping_id: Option<Option<i64>>,
    active: Option<bool>,
    /// A row as `GET` returns it may be sent back: these are read-only and ignored.
    #[serde(default, rename = "id")]
    #[schema(read_only)]
    _id: Option<i64>,
    #[serde(default, rename = "created_at")]
    #[schema(value_type = Option<String>, read_only)]
    _created_at: Option<Value>,
    #[serde(default, rename = "updated_at")]
    #[schema(value_type = Option<String>, read_only)]
    _updated_at: Option<Value>,
}

impl StatusBody {
    fn onto(self, mut d: StatusMappingDraft) -> StatusMappingDraft {
        if let Some(v) = self.status_from {
            d.status_from = v;
        }
        if let Some(v) = self.flow_step_id {
            d.flow_step_id = v.to_string();
        }
        if let Some(v) = self.issue_type_mapping_id {
            d.issue_type_mapping_id = v.map(|i| i.to_string()).unwrap_or_default();
        }
        if let Some(v) = self.active {
            d.active = v;
        }
        d
    }
}

pub fn status_mapping_draft(m: &entity::status_mappings::Model) -> StatusMappingDraft {
    StatusMappingDraft {
        status_from: m.status_from.clone(),
        flow_step_id: m.flow_step_id.to_string(),
        issue_type_mapping_id: m.issue_type_mapping_id.map(|i| i.to_string()).unwrap_or_default(),
        active: m.active,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/flow/status-mappings",
    tag = "flow",
    summary = "Every status mapping",
    responses((status = 200, description = "`{\"status_mappings\":[…]}`", body = Object)),
)]
pub async fn list_status_mappings(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let cfg = db::flow::config(&state.db).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "status_mappings": cfg.status_mappings.iter().map(status_json).collect::<Vec<_>>() })))
}

#[utoipa::path(
    get,
    path = "/api/v1/flow/status-mappings/{id}",
    tag = "flow",
    summary = "One status mapping",
    params(("id" = i64, Path, description = "The status mapping's id")),
    responses((status = 200, description = "The status mapping", body = Object), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn show_status_mapping(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
    Ok(HttpResponse::Ok().json(status_json(&find_status_mapping_row(&state, *id).await?)))
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/status-mappings",
    tag = "flow",
    summary = "Map a Jira status to a flow step",
    request_body = StatusBody,
    responses((status = 201, description = "The status mapping", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn create_status_mapping(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<StatusBody>,
) -> ApiResult {
    let draft = body.into_inner().onto(StatusMappingDraft {
        active: true,
        ..Default::default()
    });
    let cfg = db::flow::resolver(&state.db).await?;
    match draft.validate(&cfg, None) {
        Ok(v) => {
            let row = db::flow::save::create_status_mapping(&state.db, &v).await?;
            tracing::info!(user = %user.user.email, id = row.id, status = %row.status_from, "status mapping created");
            Ok(HttpResponse::Created().json(status_json(&row)))
        }
        Err(e) => Ok(invalid(&e)),
    }
}

#[utoipa::path(
    put,
    path = "/api/v1/flow/status-mappings/{id}",
    tag = "flow",
    summary = "Change a status mapping",
    params(("id" = i64, Path, description = "The status mapping's id")),
    request_body = StatusBody,
    responses((status = 200, description = "The status mapping", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn update_status_mapping(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<StatusBody>,
) -> ApiResult {
    let existing = find_status_mapping_row(&state, *id).await?;
    let draft = body.into_inner().onto(status_mapping_draft(&existing));
    let cfg = db::flow::resolver(&state.db).await?;
    match draft.validate(&cfg, Some(existing.id)) {
        Ok(v) => {
            let row = db::flow::save::update_status_mapping(&state.db, existing, &v).await?;
            tracing::info!(user = %user.user.email, id = row.id, status = %row.status_from, "status mapping updated");
            Ok(HttpResponse::Ok().json(status_json(&row)))
        }
        Err(e) => Ok(invalid(&e)),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/flow/status-mappings/{id}/impact",
    tag = "flow",
    summary = "What deleting the status mapping touches",
    params(("id" = i64, Path, description = "The status mapping's id")),
    responses((status = 200, description = "`{\"status_mappings\":N,\"issues\":N,\"targets\":[ids]}`", body = Object), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn status_mapping_impact(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
    impact_json(db::flow::remove::status_mapping_impact(&state.db, *id).await?)
}

/// A status mapping has no dependents to move: `reassign_to` is refused rather than ignored.
async fn remove_status_mapping(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    body: Option<web::Json<RemoveBody>>,
    deactivate: bool,
) -> ApiResult {
    if body.and_then(|b| b.reassign_to).is_some() {
        return Ok(HttpResponse::UnprocessableEntity().json(json!({
            "error": "nothing references a status mapping, so there is nothing to reassign: its issues re-resolve by themselves (see the impact)"
        })));
    }
    let verb = if deactivate { "deactivated" } else { "deleted" };
    let r = db::flow::remove::remove_status_mapping(&state.db, id, deactivate)
        .await
        .map(|()| vec![(id, None)]);
    log_removal(user, "status mapping", verb, &r);
    remove_answer(r, "status mapping", verb)
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/status-mappings/{id}/delete",
    tag = "flow",
    summary = "Delete a status mapping",
    params(("id" = i64, Path, description = "The status mapping's id")),
    request_body = RemoveBody,
    responses((status = 200, description = "`{\"deleted\":[ids],\"reassigned\":[…]}`", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn delete_status_mapping(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: Option<web::Json<RemoveBody>>,
) -> ApiResult {
    remove_status_mapping(&state, &user, *id, body, false).await
}

#[utoipa::path(
    post,
    path = "/api/v1/flow/status-mappings/{id}/deactivate",
    tag = "flow",
    summary = "Deactivate a status mapping",
    params(("id" = i64, Path, description = "The status mapping's id")),
    request_body = RemoveBody,
    responses((status = 200, description = "`{\"deactivated\":[ids],\"reassigned\":[…]}`", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn deactivate_status_mapping(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: Option<web::Json<RemoveBody>>,
) -> ApiResult {
    remove_status_mapping(&state, &user, *id, body, true).await
}

async fn find_status_mapping_row(state: &AppState, id: i64) -> Result<entity::status_mappings::Model, AppError> {
    db::flow::find_status_mapping(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)
}
