//! `/api/v1/flow/…` (DESIGN §11): steps, status mappings and issue-type mappings, their impact,
//! and guided delete-and-reassign. Mutations are admin-only (middleware).
//!
//! Each handler is written once, generic over the kind: [`ApiKind`], the JSON side of the
//! [`FlowKind`](super::flow::kinds::FlowKind) the `/flow` pages use. `kind_api!` declares a
//! kind's routes, each its OpenAPI annotation over a call of the generic handler.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::ApiResult;
use super::flow::kinds::{IssueTypeMappings, Plan, StatusMappings, Steps};
use super::openapi::ApiError;
use crate::auth::CurrentUser;
use crate::db;
use crate::db::flow::remove::RemoveError;
use crate::domain::flow::reassign::Removal;
use crate::domain::settings::FieldError;
use crate::error::AppError;
use crate::startup::AppState;

mod kinds;

use kinds::{ApiKind, IssueTypeMappingBody, StatusMappingBody, StepBody, all};

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
        "steps": all::<Steps>(&cfg),
        "status_mappings": all::<StatusMappings>(&cfg),
        "issue_type_mappings": all::<IssueTypeMappings>(&cfg),
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImpactQuery {
    /// Impact of deactivating instead of deleting (issue-type mappings differ).
    #[serde(default)]
    deactivate: bool,
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

// ---- the handlers, once for every kind ----

async fn list<K: ApiKind>(state: &AppState) -> ApiResult {
    let cfg = db::flow::config(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({ (K::LIST): all::<K>(&cfg) })))
}

async fn show<K: ApiKind>(state: &AppState, id: i64) -> ApiResult {
    let cfg = db::flow::config(&state.db).await?;
    Ok(HttpResponse::Ok().json(K::json(K::find(&cfg, id).ok_or(AppError::NotFound)?)))
}

async fn create<K: ApiKind>(state: &AppState, user: &CurrentUser, body: K::Body) -> ApiResult {
    let mut fresh = K::Draft::default();
    K::set_active(&mut fresh, true);
    let draft = K::onto(body, fresh);
    let cfg = db::flow::resolver(&state.db).await?;
    match K::validate(&draft, &cfg, None) {
        Ok(valid) => {
            let row = K::create(&state.db, &valid).await?;
            Ok(HttpResponse::Created().json(saved::<K>(user, &row, "created")))
        }
        Err(e) => Ok(invalid(&e)),
    }
}

async fn update<K: ApiKind>(state: &AppState, user: &CurrentUser, id: i64, body: K::Body) -> ApiResult {
    let cfg = db::flow::config(&state.db).await?;
    let existing = K::find(&cfg, id).cloned().ok_or(AppError::NotFound)?;
    let draft = K::onto(body, K::unchanged(&existing));
    match K::validate(&draft, &cfg.resolver(), Some(id)) {
        Ok(valid) => {
            let row = K::update(&state.db, existing, &valid).await?;
            Ok(HttpResponse::Ok().json(saved::<K>(user, &row, "updated")))
        }
        Err(e) => Ok(invalid(&e)),
    }
}

/// The row as answered, logged.
fn saved<K: ApiKind>(user: &CurrentUser, row: &K::Row, verb: &str) -> serde_json::Value {
    let answer = K::json(row);
    tracing::info!(user = %user.user.email, id = %answer["id"], name = %K::key(row), "{} {verb}", K::KIND.noun());
    answer
}

fn invalid(errors: &[FieldError]) -> HttpResponse {
    let message = errors.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; ");
    HttpResponse::UnprocessableEntity().json(json!({ "error": message, "fields": errors }))
}

async fn impact<K: ApiKind>(state: &AppState, id: i64, deactivate: bool) -> ApiResult {
    let impact = K::impact(&state.db, id, deactivate).await?;
    Ok(HttpResponse::Ok().json(impact.ok_or(AppError::NotFound)?))
}

async fn remove_one<K: ApiKind>(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    body: Option<web::Json<RemoveBody>>,
    deactivate: bool,
) -> ApiResult {
    let reassign_to = body.and_then(|b| b.reassign_to);
    if let Some(why) = K::NOTHING_TO_REASSIGN
        && reassign_to.is_some()
    {
        return Ok(HttpResponse::UnprocessableEntity().json(json!({ "error": why })));
    }
    let r = K::remove(&state.db, &[Removal { id, reassign_to }], deactivate).await;
    removed(user, K::KIND.noun(), deactivate, r)
}

async fn remove_batch<K: ApiKind>(state: &AppState, user: &CurrentUser, body: &BatchBody) -> ApiResult {
    let removals: Vec<Removal> = body
        .items
        .iter()
        .map(|i| Removal {
            id: i.id,
            reassign_to: i.reassign_to,
        })
        .collect();
    let r = K::remove(&state.db, &removals, body.deactivate).await;
    removed(user, &format!("{}s", K::KIND.noun()), body.deactivate, r)
}

/// Logs and answers a removal: 409 when refused whatever the target, 422 for a bad target or a
/// loop, 404 for an unknown id.
fn removed(user: &CurrentUser, what: &str, deactivate: bool, result: Result<Plan, RemoveError>) -> ApiResult {
    let verb = if deactivate { "deactivated" } else { "deleted" };
    match result {
        Ok(plan) => {
            tracing::info!(user = %user.user.email, ?plan, "{what} {verb}");
            Ok(HttpResponse::Ok().json(json!({
                verb: plan.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                "reassigned": plan.iter().filter_map(|(id, t)| t.map(|t| json!({"id": id, "to": t}))).collect::<Vec<_>>(),
            })))
        }
        Err(RemoveError::NotFound) => Err(AppError::NotFound),
        Err(RemoveError::Refused(why)) => Ok(HttpResponse::Conflict().json(json!({ "error": why }))),
        Err(RemoveError::Invalid(e)) => {
            Ok(HttpResponse::UnprocessableEntity().json(json!({ "error": format!("{what}: {e}") })))
        }
        Err(RemoveError::Db(e)) => Err(AppError::from(e)),
    }
}

// ---- the routes of each kind ----

/// Declares a kind's route handlers (the names `routes.rs` registers and `openapi.rs` lists):
/// each is its OpenAPI annotation over a call of the generic handler. `$path` is the list's
/// path, `$id` the description of the `{id}` parameter, `$row` of the row answered; after them
/// each route as `name: operation(summary…);`.
macro_rules! kind_api {
    ($K:ident, $body:ident, $path:tt, id: $id:tt, row: $row:tt; $($name:ident: $op:ident($($text:tt),*);)*) => {
        $(kind_api!(@$op $name, $K, $body, $path, $id, $row, $($text),*);)*
    };
    (@list $name:ident, $K:ident, $body:ident, $path:tt, $id:tt, $row:tt, $summary:tt, $answer:tt) => {
        #[utoipa::path(
            get,
            path = $path,
            tag = "flow",
            summary = $summary,
            responses((status = 200, description = $answer, body = Object)),
        )]
        pub async fn $name(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
            list::<$K>(&state).await
        }
    };
    (@show $name:ident, $K:ident, $body:ident, $path:tt, $id:tt, $row:tt, $summary:tt) => {
        #[utoipa::path(
            get,
            path = concat!($path, "/{id}"),
            tag = "flow",
            summary = $summary,
            params(("id" = i64, Path, description = $id)),
            responses((status = 200, description = $row, body = Object), (status = 404, description = "No such record", body = ApiError)),
        )]
        pub async fn $name(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
            show::<$K>(&state, *id).await
        }
    };
    (@create $name:ident, $K:ident, $body:ident, $path:tt, $id:tt, $row:tt, $summary:tt) => {
        #[utoipa::path(
            post,
            path = $path,
            tag = "flow",
            summary = $summary,
            request_body = $body,
            responses((status = 201, description = $row, body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
        )]
        pub async fn $name(state: web::Data<AppState>, user: CurrentUser, body: web::Json<$body>) -> ApiResult {
            create::<$K>(&state, &user, body.into_inner()).await
        }
    };
    (@update $name:ident, $K:ident, $body:ident, $path:tt, $id:tt, $row:tt, $summary:tt) => {
        #[utoipa::path(
            put,
            path = concat!($path, "/{id}"),
            tag = "flow",
            summary = $summary,
            params(("id" = i64, Path, description = $id)),
            request_body = $body,
            responses((status = 200, description = $row, body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
        )]
        pub async fn $name(
            state: web::Data<AppState>,
            user: CurrentUser,
            id: web::Path<i64>,
            body: web::Json<$body>,
        ) -> ApiResult {
            update::<$K>(&state, &user, *id, body.into_inner()).await
        }
    };
    (@impact $name:ident, $K:ident, $body:ident, $path:tt, $id:tt, $row:tt, $summary:tt) => {
        #[utoipa::path(
            get,
            path = concat!($path, "/{id}/impact"),
            tag = "flow",
            summary = $summary,
            params(("id" = i64, Path, description = $id)),
            responses((status = 200, description = "`{\"status_mappings\":N,\"issues\":N,\"targets\":[ids]}`", body = Object), (status = 404, description = "No such record", body = ApiError)),
        )]
        pub async fn $name(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
            impact::<$K>(&state, *id, false).await
        }
    };
    // The impact of deleting or (`?deactivate=true`) deactivating, for a kind where they differ.
    (@impact_either $name:ident, $K:ident, $body:ident, $path:tt, $id:tt, $row:tt, $summary:tt) => {
        #[utoipa::path(
            get,
            path = concat!($path, "/{id}/impact"),
            tag = "flow",
            summary = $summary,
            params(("id" = i64, Path, description = $id), ImpactQuery),
            responses((status = 200, description = "`{\"status_mappings\":N,\"issues\":N,\"targets\":[ids]}`", body = Object), (status = 404, description = "No such record", body = ApiError)),
        )]
        pub async fn $name(
            state: web::Data<AppState>,
            _user: CurrentUser,
            id: web::Path<i64>,
            q: web::Query<ImpactQuery>,
        ) -> ApiResult {
            impact::<$K>(&state, *id, q.deactivate).await
        }
    };
    (@delete $name:ident, $K:ident, $body:ident, $path:tt, $id:tt, $row:tt, $summary:tt) => {
        #[utoipa::path(
            post,
            path = concat!($path, "/{id}/delete"),
            tag = "flow",
            summary = $summary,
            params(("id" = i64, Path, description = $id)),
            request_body = RemoveBody,
            responses((status = 200, description = "`{\"deleted\":[ids],\"reassigned\":[…]}`", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
        )]
        pub async fn $name(
            state: web::Data<AppState>,
            user: CurrentUser,
            id: web::Path<i64>,
            body: Option<web::Json<RemoveBody>>,
        ) -> ApiResult {
            remove_one::<$K>(&state, &user, *id, body, false).await
        }
    };
    (@deactivate $name:ident, $K:ident, $body:ident, $path:tt, $id:tt, $row:tt, $summary:tt) => {
        #[utoipa::path(
            post,
            path = concat!($path, "/{id}/deactivate"),
            tag = "flow",
            summary = $summary,
            params(("id" = i64, Path, description = $id)),
            request_body = RemoveBody,
            responses((status = 200, description = "`{\"deactivated\":[ids],\"reassigned\":[…]}`", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
        )]
        pub async fn $name(
            state: web::Data<AppState>,
            user: CurrentUser,
            id: web::Path<i64>,
            body: Option<web::Json<RemoveBody>>,
        ) -> ApiResult {
            remove_one::<$K>(&state, &user, *id, body, true).await
        }
    };
    (@batch $name:ident, $K:ident, $body:ident, $path:tt, $id:tt, $row:tt, $summary:tt) => {
        #[utoipa::path(
            post,
            path = concat!($path, "/delete"),
            tag = "flow",
            summary = $summary,
            request_body = BatchBody,
            responses((status = 200, description = "`{\"deleted\":[ids],\"reassigned\":[…]}`", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
        )]
        pub async fn $name(state: web::Data<AppState>, user: CurrentUser, body: web::Json<BatchBody>) -> ApiResult {
            remove_batch::<$K>(&state, &user, &body).await
        }
    };
}

kind_api! {
    Steps, StepBody, "/api/v1/flow/steps", id: "The step's id", row: "The step";
    list_steps: list("Every flow step in flow order", "`{\"steps\":[…]}`");
    show_step: show("One flow step");
    create_step: create("Add a flow step");
    update_step: update("Change a flow step");
    step_impact: impact("What deleting the step touches");
    delete_step: delete("Delete a step, reassigning what uses it");
    deactivate_step: deactivate("Deactivate a step, reassigning what uses it");
    remove_steps: batch("Delete several steps at once, each reassigned to a target");
}

kind_api! {
    StatusMappings, StatusMappingBody, "/api/v1/flow/status-mappings",
    id: "The status mapping's id", row: "The status mapping";
    list_status_mappings: list("Every status mapping", "`{\"status_mappings\":[…]}`");
    show_status_mapping: show("One status mapping");
    create_status_mapping: create("Map a Jira status to a flow step");
    update_status_mapping: update("Change a status mapping");
    status_mapping_impact: impact("What deleting the status mapping touches");
    delete_status_mapping: delete("Delete a status mapping");
    deactivate_status_mapping: deactivate("Deactivate a status mapping");
}

kind_api! {
    IssueTypeMappings, IssueTypeMappingBody, "/api/v1/flow/issue-type-mappings",
    id: "The issue-type mapping's id", row: "The issue-type mapping";
    list_issue_type_mappings: list("Every issue-type mapping", "`{\"issue_type_mappings\":[…]}`");
    show_issue_type_mapping: show("One issue-type mapping");
    create_issue_type_mapping: create("Map a Jira issue type to a work category");
    update_issue_type_mapping: update("Change an issue-type mapping");
    issue_type_mapping_impact: impact_either("What deleting (or with `deactivate=true`, deactivating) the mapping touches");
    delete_issue_type_mapping: delete("Delete an issue-type mapping");
    deactivate_issue_type_mapping: deactivate("Deactivate an issue-type mapping");
    remove_issue_type_mappings: batch("Delete several issue-type mappings at once");
}
