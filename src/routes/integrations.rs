//! Integration pages: forms post and redirect (no JavaScript needed).

mod preview;

pub use preview::{preview_edit, preview_new};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use entity::integrations;
use serde::Deserialize;
use serde_json::json;

use super::{PageResult, html};
use crate::auth::CurrentUser;
use crate::auth::session::Flash;
use crate::db;
use crate::domain::integration::{IntegrationInput, IntegrationKind, Settings};
use crate::error::{AppError, PageError};
use crate::integrations::manage::{self, SaveFailure};
use crate::startup::AppState;
use crate::views::integrations::{self as view, DeletePage, FormPage, FormValues, ListPage, Row};
use crate::views::layout::{self, Nav};

pub async fn list(state: web::Data<AppState>, user: CurrentUser, flash: Flash) -> PageResult {
    let rows: Vec<Row> = db::integrations::list(&state.db).await?.iter().map(to_row).collect();
    let notice = flash.take();
    let page = ListPage {
        rows: &rows,
        is_admin: user.is_admin(),
        csrf: &user.csrf,
        notice: notice.as_deref(),
        timezone: state.timezone,
    };
    Ok(html(
        StatusCode::OK,
        layout::page("Integrations", &user, Nav::Integrations, view::list(&page)),
    ))
}

fn to_row(m: &integrations::Model) -> Row {
    let kind = m.kind;
    Row {
        id: m.id,
        name: m.name.clone(),
        kind,
        flavour: m.flavour,
        base_url: m.base_url.clone(),
        settings: Settings::from_json(kind, &m.settings),
        active: m.active,
        last_test_at: m.last_test_at,
        last_test_ok: m.last_test_ok,
        last_test_message: m.last_test_message.clone(),
        last_sync_at: m.last_sync_at,
        last_sync: m
            .last_sync_stats
            .as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok()),
    }
}

fn require_admin(user: &CurrentUser) -> Result<(), PageError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden("this page needs an administrator".into()).into())
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    kind: Option<String>,
}

pub async fn new_form(user: CurrentUser, q: web::Query<NewQuery>) -> PageResult {
    require_admin(&user)?;
    let kind = q
        .kind
        .as_deref()
        .and_then(IntegrationKind::parse)
        .unwrap_or(IntegrationKind::Jira);
    let values = FormValues::new_for(kind);
    Ok(render_form(
        &user,
        None,
        &values,
        &[],
        Shown::default(),
        false,
        StatusCode::OK,
    ))
}

pub async fn edit_form(state: web::Data<AppState>, user: CurrentUser, id: web::Path<i64>) -> PageResult {
    require_admin(&user)?;
    let row = find(&state, *id).await?;
    let kind = row.kind;
    let mut values = FormValues::from_settings(kind, &Settings::from_json(kind, &row.settings));
    values.name = row.name.clone();
    values.flavour = row.flavour.as_str().to_string();
    values.base_url = row.base_url.clone();
    values.username = row.username.clone().unwrap_or_default();
    values.active = row.active;
    Ok(render_form(
        &user,
        Some(row.id),
        &values,
        &[],
        Shown::default(),
        row.secret.is_some(),
        StatusCode::OK,
    ))
}

fn render_form(
    user: &CurrentUser,
    id: Option<i64>,
    values: &FormValues,
    errors: &[crate::domain::settings::FieldError],
    shown: Shown<'_>,
    has_secret: bool,
    status: StatusCode,
) -> HttpResponse {
    let title = if id.is_some() {
        "Edit integration"
    } else {
        "Add integration"
    };
    let page = FormPage {
        id,
        values,
        errors,
        report: shown.report,
        preview: shown.preview,
        preview_error: shown.preview_error,
        confirm_needed: shown.confirm_needed,
        has_secret,
        csrf: &user.csrf,
    };
    html(status, layout::page(title, user, Nav::Integrations, view::form(&page)))
}

/// What the form shows besides the fields: a connection test, a deployment-source preview.
#[derive(Default)]
struct Shown<'a> {
    report: Option<&'a crate::integrations::connection::TestReport>,
    preview: Option<&'a crate::integrations::github::preview::Preview>,
    preview_error: Option<&'a str>,
    /// The source matches nothing: saving needs the confirmation box ticked.
    confirm_needed: bool,
}

/// The flat HTML form. Unknown fields (like `csrf_token`) are ignored.
#[derive(Deserialize)]
pub struct FormBody {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    flavour: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    projects: String,
    #[serde(default)]
    extra_jql: String,
    #[serde(default)]
    story_points_field: String,
    #[serde(default)]
    repositories: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    name_filter: String,
    #[serde(default)]
    deployment_kind: String,
    #[serde(default)]
    deployment_pattern: String,
    #[serde(default)]
    hotfix_branch: String,
    signal_revert: Option<String>,
    signal_failed_status: Option<String>,
    /// Save although the deployment source matches nothing.
    confirm_no_match: Option<String>,
    #[serde(default)]
    max_concurrency: String,
    active: Option<String>,
    skip_test: Option<String>,
}

impl FormBody {
    fn values(&self) -> FormValues {
        FormValues {
            kind: self.kind.clone(),
            name: self.name.clone(),
            flavour: self.flavour.clone(),
            base_url: self.base_url.clone(),
            username: self.username.clone(),
            projects: self.projects.clone(),
            extra_jql: self.extra_jql.clone(),
            story_points_field: self.story_points_field.clone(),
            repositories: self.repositories.clone(),
            organization: self.organization.clone(),
            group: self.group.clone(),
            name_filter: self.name_filter.clone(),
            deployment_kind: self.deployment_kind.clone(),
            deployment_pattern: self.deployment_pattern.clone(),
            hotfix_branch: self.hotfix_branch.clone(),
            signal_revert: self.signal_revert.is_some(),
            signal_failed_status: self.signal_failed_status.is_some(),
            confirm_no_match: self.confirm_no_match.is_some(),
            max_concurrency: self.max_concurrency.clone(),
            active: self.active.is_some(),
            skip_test: self.skip_test.is_some(),
        }
    }

    fn input(&self) -> IntegrationInput {
        let list = |s: &str| -> Vec<String> {
            s.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect()
        };
        // Blank: the default; not a whole number: 0, which validation refuses with the range.
        let concurrency = match self.max_concurrency.trim() {
            "" => serde_json::Value::Null,
            n => json!(n.parse::<i64>().unwrap_or(0)),
        };
        let settings = match IntegrationKind::parse(&self.kind) {
            Some(IntegrationKind::Github) => json!({
                "repositories": list(&self.repositories),
                "organization": self.organization,
                "name_filter": self.name_filter,
                "deployment_source": { "kind": self.deployment_kind, "pattern": self.deployment_pattern },
                "hotfix_branch": self.hotfix_branch,
                "failure_signals": { "revert": self.signal_revert.is_some(), "failed_status": self.signal_failed_status.is_some() },
                "max_concurrency": concurrency,
            }),
            Some(IntegrationKind::Gitlab) => json!({
                "projects": list(&self.projects),
                "group": self.group,
                "name_filter": self.name_filter,
                "deployment_source": { "kind": self.deployment_kind, "pattern": self.deployment_pattern },
                "max_concurrency": concurrency,
            }),
            _ => json!({
                "projects": list(&self.projects),
                "extra_jql": self.extra_jql,
                "story_points_field": self.story_points_field,
                "max_concurrency": concurrency,
            }),
        };
        IntegrationInput {
            kind: self.kind.clone(),
            name: self.name.clone(),
            base_url: self.base_url.clone(),
            flavour: self.flavour.clone(),
            username: Some(self.username.clone()),
            secret: Some(self.secret.clone()),
            settings,
            active: Some(self.active.is_some()),
        }
    }
}

pub async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    flash: Flash,
    form: web::Form<FormBody>,
) -> PageResult {
    save(&state, &user, &flash, None, form.into_inner()).await
}

pub async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    flash: Flash,
    id: web::Path<i64>,
    form: web::Form<FormBody>,
) -> PageResult {
    let existing = find(&state, *id).await?;
    let mut form = form.into_inner();
    form.kind = existing.kind.as_str().to_string();
    save(&state, &user, &flash, Some(existing), form).await
}

async fn save(
    state: &AppState,
    user: &CurrentUser,
    flash: &Flash,
    existing: Option<integrations::Model>,
    form: FormBody,
) -> PageResult {
    let id = existing.as_ref().map(|e| e.id);
    let has_secret = existing.as_ref().is_some_and(|e| e.secret.is_some());
    let values = form.values();
    let result = manage::save(
        &state.db,
        &state.vault,
        state.outbound,
        &form.input(),
        existing,
        match (form.skip_test.is_some(), form.confirm_no_match.is_some()) {
            (true, _) => manage::Checks::None,
            (false, true) => manage::Checks::Test,
            (false, false) => manage::Checks::TestAndPreview,
        },
    )
    .await;
    match result {
        Ok(saved) => {
            tracing::info!(user = %user.user.email, id = saved.row.id, name = %saved.row.name, "integration saved");
            flash.set(&format!("Saved {}.", saved.row.name));
            Ok(see_other("/integrations"))
        }
        Err(SaveFailure::Save(e)) => Err(AppError::Internal(anyhow::Error::new(e)).into()),
        Err(other) => Ok(form_failure(user, id, &values, has_secret, &other)),
    }
}

/// The form again, with what stopped the save or what the preview found.
fn form_failure(
    user: &CurrentUser,
    id: Option<i64>,
    values: &FormValues,
    has_secret: bool,
    failure: &SaveFailure,
) -> HttpResponse {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    match failure {
        SaveFailure::Invalid(errors) => render_form(user, id, values, errors, Shown::default(), has_secret, status),
        SaveFailure::TestFailed(report) => {
            let shown = Shown {
                report: Some(report),
                ..Default::default()
            };
            render_form(user, id, values, &[], shown, has_secret, status)
        }
        SaveFailure::NothingMatches(p) => {
            let shown = Shown {
                preview: Some(p),
                confirm_needed: true,
                ..Default::default()
            };
            render_form(user, id, values, &[], shown, has_secret, status)
        }
        SaveFailure::PreviewFailed(why) => {
            let shown = Shown {
                preview_error: Some(why),
                ..Default::default()
            };
            render_form(user, id, values, &[], shown, has_secret, status)
        }
        SaveFailure::Save(_) => render_form(user, id, values, &[], Shown::default(), has_secret, status),
    }
}

pub async fn test(state: web::Data<AppState>, user: CurrentUser, flash: Flash, id: web::Path<i64>) -> PageResult {
    let row = find(&state, *id).await?;
    let name = row.name.clone();
    match manage::test_stored(&state.db, &state.vault, state.outbound, row).await {
        Ok((_, report)) => {
            tracing::info!(user = %user.user.email, id = *id, ok = report.ok, "integration tested");
            flash.set(&format!("Tested {name}; the result is shown below."));
            Ok(see_other("/integrations"))
        }
        Err(SaveFailure::Save(e)) => Err(AppError::Internal(anyhow::Error::new(e)).into()),
        Err(_) => Err(AppError::BadRequest("the stored integration cannot be tested".into()).into()),
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: String,
}

pub async fn set_active(
    state: web::Data<AppState>,
    user: CurrentUser,
    flash: Flash,
    id: web::Path<i64>,
    form: web::Form<ActiveForm>,
) -> PageResult {
    let row = find(&state, *id).await?;
    let row = db::integrations::set_active(&state.db, row, form.active == "true").await?;
    tracing::info!(user = %user.user.email, id = row.id, active = row.active, "integration (de)activated");
    flash.set(&format!("Saved {}.", row.name));
    Ok(see_other("/integrations"))
}

pub async fn delete_confirm(state: web::Data<AppState>, user: CurrentUser, id: web::Path<i64>) -> PageResult {
    require_admin(&user)?;
    let row = find(&state, *id).await?;
    let impact = db::integrations::impact(&state.db, row.id).await?;
    let page = DeletePage {
        id: row.id,
        name: &row.name,
        active: row.active,
        impact: &impact,
        csrf: &user.csrf,
    };
    Ok(html(
        StatusCode::OK,
        layout::page(
            "Delete integration",
            &user,
            Nav::Integrations,
            view::delete_confirm(&page),
        ),
    ))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    confirm: Option<String>,
}

pub async fn delete(
    state: web::Data<AppState>,
    user: CurrentUser,
    flash: Flash,
    id: web::Path<i64>,
    form: web::Form<DeleteForm>,
) -> PageResult {
    let row = find(&state, *id).await?;
    if form.confirm.as_deref() != Some("true") {
        return Ok(see_other(&format!("/integrations/{}/delete", row.id)));
    }
    let impact = db::integrations::impact(&state.db, row.id).await?;
    db::integrations::delete(&state.db, row.id).await?;
    tracing::info!(user = %user.user.email, id = row.id, name = %row.name, ?impact, "integration deleted");
    flash.set(&format!("Deleted {}.", row.name));
    Ok(see_other("/integrations"))
}

async fn find(state: &AppState, id: i64) -> Result<integrations::Model, PageError> {
    Ok(db::integrations::get(&state.db, id).await?.ok_or(AppError::NotFound)?)
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
