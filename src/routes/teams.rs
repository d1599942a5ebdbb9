//! `/teams` (admins change, everyone logged in reads) and `/api/v1/teams`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use entity::teams;
use serde::Deserialize;
use serde_json::{Value, json};

use super::openapi::ApiError;
use super::{ApiResult, PageResult, html};
use crate::auth::CurrentUser;
use crate::auth::session::Flash;
use crate::db;
use crate::domain::settings::FieldError;
use crate::domain::team::{TeamInput, ValidTeam, split_list};
use crate::error::AppError;
use crate::startup::AppState;
use crate::views::layout::{self, Nav};
use crate::views::teams::{self as view, TeamForm, TeamRow, TeamsPage};

pub fn team_json(t: &teams::Model) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "repositories": db::teams::names(&t.repositories),
        "projects": db::teams::names(&t.projects),
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    })
}

fn row(t: &teams::Model) -> TeamRow {
    TeamRow {
        id: t.id,
        name: t.name.clone(),
        repositories: db::teams::names(&t.repositories),
        projects: db::teams::names(&t.projects),
    }
}

/// Validates, and checks the name is free (case-insensitive).
async fn check(
    state: &AppState,
    input: &TeamInput,
    id: Option<i64>,
) -> Result<Result<ValidTeam, Vec<FieldError>>, AppError> {
    let valid = match input.validate() {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    if db::teams::name_taken(&state.db, &valid.name, id).await? {
        return Ok(Err(vec![FieldError {
            field: "name",
            message: format!("A team named {:?} already exists", valid.name),
        }]));
    }
    Ok(Ok(valid))
}

fn invalid(errors: Vec<FieldError>) -> HttpResponse {
    let message = errors.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; ");
    HttpResponse::UnprocessableEntity().json(json!({ "error": message, "fields": errors }))
}

async fn find(state: &AppState, id: i64) -> Result<teams::Model, AppError> {
    db::teams::get(&state.db, id).await?.ok_or(AppError::NotFound)
}

// ---- API ----

#[utoipa::path(
    get,
    path = "/api/v1/teams",
    tag = "teams",
    summary = "Every team",
    responses((status = 200, description = "`{\"teams\":[…]}`", body = Object)),
)]
pub async fn list_api(state: web::Data<AppState>, _user: CurrentUser) -> ApiResult {
    let rows = db::teams::list(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({ "teams": rows.iter().map(team_json).collect::<Vec<_>>() })))
}

#[utoipa::path(
    get,
    path = "/api/v1/teams/{id}",
    tag = "teams",
    summary = "One team",
    params(("id" = i64, Path, description = "The team's id")),
    responses((status = 200, description = "The team", body = Object), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn show_api(state: web::Data<AppState>, _user: CurrentUser, id: web::Path<i64>) -> ApiResult {
    Ok(HttpResponse::Ok().json(team_json(&find(&state, *id).await?)))
}

#[utoipa::path(
    post,
    path = "/api/v1/teams",
    tag = "teams",
    summary = "Add a team: a name plus repositories and Jira projects",
    request_body = TeamInput,
    responses((status = 201, description = "The team with its `id`", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn create_api(state: web::Data<AppState>, user: CurrentUser, body: web::Json<TeamInput>) -> ApiResult {
    match check(&state, &body, None).await? {
        Ok(v) => {
            let t = db::teams::create(&state.db, &v).await?;
            tracing::info!(user = %user.user.email, team = %t.name, "team created");
            Ok(HttpResponse::Created().json(team_json(&t)))
        }
        Err(e) => Ok(invalid(e)),
    }
}

#[utoipa::path(
    put,
    path = "/api/v1/teams/{id}",
    tag = "teams",
    summary = "Change a team",
    params(("id" = i64, Path, description = "The team's id")),
    request_body = TeamInput,
    responses((status = 200, description = "The team", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError), (status = 422, description = "A field failed validation (`fields` says which)", body = ApiError)),
)]
pub async fn update_api(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<TeamInput>,
) -> ApiResult {
    let existing = find(&state, *id).await?;
    match check(&state, &body, Some(existing.id)).await? {
        Ok(v) => {
            let t = db::teams::update(&state.db, existing, &v).await?;
            tracing::info!(user = %user.user.email, team = %t.name, "team saved");
            Ok(HttpResponse::Ok().json(team_json(&t)))
        }
        Err(e) => Ok(invalid(e)),
    }
}

#[utoipa::path(
    delete,
    path = "/api/v1/teams/{id}",
    tag = "teams",
    summary = "Delete a team",
    params(("id" = i64, Path, description = "The team's id")),
    responses((status = 200, description = "`{\"deleted\":id}`", body = Object), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn delete_api(state: web::Data<AppState>, user: CurrentUser, id: web::Path<i64>) -> ApiResult {
    let t = find(&state, *id).await?;
    db::teams::delete(&state.db, t.id).await?;
    tracing::info!(user = %user.user.email, team = %t.name, "team deleted");
    Ok(HttpResponse::Ok().json(json!({ "deleted": t.id })))
}

// ---- pages ----

#[derive(Deserialize, Default)]
pub struct FormBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    repositories: String,
    #[serde(default)]
    projects: String,
}

impl FormBody {
    fn input(&self) -> TeamInput {
        TeamInput {
            name: self.name.clone(),
            repositories: split_list(&self.repositories),
            projects: split_list(&self.projects),
        }
    }
    fn typed(&self) -> TeamForm {
        TeamForm {
            name: self.name.clone(),
            repositories: self.repositories.clone(),
            projects: self.projects.clone(),
        }
    }
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    notice: Option<String>,
    form: TeamForm,
    errors: Vec<FieldError>,
) -> PageResult {
    let rows: Vec<TeamRow> = db::teams::list(&state.db).await?.iter().map(row).collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let p = TeamsPage {
        rows: &rows,
        is_admin: user.is_admin(),
        csrf: &user.csrf,
        notice: notice.as_deref(),
        form: &form,
        errors: &errors,
    };
    Ok(html(status, layout::page("Teams", user, Nav::Teams, view::list(&p))))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

pub async fn list(state: web::Data<AppState>, user: CurrentUser, flash: Flash) -> PageResult {
    page(&state, &user, flash.take(), TeamForm::default(), Vec::new()).await
}

pub async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    flash: Flash,
    form: web::Form<FormBody>,
) -> PageResult {
    match check(&state, &form.input(), None).await? {
        Ok(v) => {
            let t = db::teams::create(&state.db, &v).await?;
            tracing::info!(user = %user.user.email, team = %t.name, "team created");
            flash.set(&format!("Added team {}.", t.name));
            Ok(see_other("/teams"))
        }
        Err(errors) => page(&state, &user, None, form.typed(), errors).await,
    }
}

pub async fn edit(state: web::Data<AppState>, user: CurrentUser, id: web::Path<i64>) -> PageResult {
    let t = find(&state, *id).await?;
    let form = TeamForm {
        name: t.name.clone(),
        repositories: db::teams::names(&t.repositories).join("\n"),
        projects: db::teams::names(&t.projects).join("\n"),
    };
    Ok(html(
        StatusCode::OK,
        layout::page("Edit team", &user, Nav::Teams, view::edit(t.id, &form, &[], &user.csrf)),
    ))
}

pub async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    flash: Flash,
    id: web::Path<i64>,
    form: web::Form<FormBody>,
) -> PageResult {
    let existing = find(&state, *id).await?;
    let id = existing.id;
    match check(&state, &form.input(), Some(id)).await? {
        Ok(v) => {
            let t = db::teams::update(&state.db, existing, &v).await?;
            tracing::info!(user = %user.user.email, team = %t.name, "team saved");
            flash.set(&format!("Saved team {}.", t.name));
            Ok(see_other("/teams"))
        }
        Err(errors) => Ok(html(
            StatusCode::UNPROCESSABLE_ENTITY,
            layout::page(
                "Edit team",
                &user,
                Nav::Teams,
                view::edit(id, &form.typed(), &errors, &user.csrf),
            ),
        )),
    }
}

pub async fn delete(state: web::Data<AppState>, user: CurrentUser, flash: Flash, id: web::Path<i64>) -> PageResult {
    let t = find(&state, *id).await?;
    db::teams::delete(&state.db, t.id).await?;
    tracing::info!(user = %user.user.email, team = %t.name, "team deleted");
    flash.set(&format!("Deleted team {}.", t.name));
    Ok(see_other("/teams"))
}
