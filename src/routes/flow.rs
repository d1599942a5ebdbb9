//! `/flow` pages: forms post and redirect without JavaScript; with htmx they answer with the
//! swapped `#flow-content` (or a dialog fragment). Mutations are admin-only (middleware).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use maud::Markup;
use serde::Deserialize;

use super::{Hx, PageResult, html};
use crate::auth::CurrentUser;
use crate::auth::session::Flash;
use crate::db;
use crate::db::flow::remove::RemoveError;
use crate::domain::flow::input::{StatusDraft, StepDraft, TypeDraft};
use crate::domain::flow::reassign::Removal;
use crate::domain::settings::FieldError;
use crate::error::{AppError, PageError};
use crate::startup::AppState;
use crate::views::flow::{self as view, Choice, FlowPage, Forms, Kind, dialog, forms};
use crate::views::layout::{self, Nav};

mod load;

use load::Loaded;

/// The notice after a change: "Added “In review”.", "Deleted “QA”.", …
fn notice(verb: &str, name: &str) -> String {
    let verb = match verb {
        "added" => "Added",
        "saved" => "Saved",
        "deleted" => "Deleted",
        "deactivated" => "Deactivated",
        "activated" => "Activated",
        "moved" => "Moved",
        other => other,
    };
    format!("{verb} “{name}”.")
}

pub async fn page(state: web::Data<AppState>, user: CurrentUser, hx: Hx, flash: Flash) -> PageResult {
    let loaded = load::load(&state.db).await?;
    Ok(render(
        &user,
        &hx,
        &loaded,
        Screen {
            notice: flash.take().as_deref(),
            ..Screen::default()
        },
    ))
}

/// What to show besides the tables.
#[derive(Default)]
struct Screen<'a> {
    notice: Option<&'a str>,
    forms: Forms,
    dialog: Option<Markup>,
    status: Option<StatusCode>,
}

fn render(user: &CurrentUser, hx: &Hx, l: &Loaded, s: Screen<'_>) -> HttpResponse {
    let p = FlowPage {
        steps: &l.steps,
        statuses: &l.statuses,
        types: &l.types,
        unmapped: &l.unmapped,
        step_choices: &l.step_choices,
        type_choices: &l.type_choices,
        is_admin: user.is_admin(),
        csrf: &user.csrf,
        notice: s.notice,
        forms: &s.forms,
        dialog: s.dialog,
    };
    let status = s.status.unwrap_or(StatusCode::OK);
    if hx.fragment {
        html(status, view::content(&p))
    } else {
        html(status, layout::page("Flow", user, Nav::Flow, view::page(&p)))
    }
}

/// After a change: 303 to the page without JavaScript, the refreshed content with htmx.
async fn changed(state: &AppState, user: &CurrentUser, hx: &Hx, flash: &Flash, verb: &str, name: &str) -> PageResult {
    let text = notice(verb, name);
    if !hx.fragment {
        flash.set(&text);
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/flow"))
            .finish());
    }
    let loaded = load::load(&state.db).await?;
    Ok(render(
        user,
        hx,
        &loaded,
        Screen {
            notice: Some(&text),
            ..Screen::default()
        },
    ))
}

/// Shows a dialog: alone for htmx, over the whole page without JavaScript.
async fn show_dialog(state: &AppState, user: &CurrentUser, hx: &Hx, dialog: Markup, status: StatusCode) -> PageResult {
    if hx.fragment {
        return Ok(html(status, dialog));
    }
    let loaded = load::load(&state.db).await?;
    Ok(render(
        user,
        hx,
        &loaded,
        Screen {
            dialog: Some(dialog),
            status: Some(status),
            ..Screen::default()
        },
    ))
}

/// Every field of the three forms; each kind reads its own.
#[derive(Deserialize, Default)]
pub struct FormBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    position: String,
    is_commitment_point: Option<String>,
    active: Option<String>,
    #[serde(default)]
    status_from: String,
    #[serde(default)]
    flow_step_id: String,
    #[serde(default)]
    issue_type_mapping_id: String,
    #[serde(default)]
    issuetype_from: String,
    #[serde(default)]
    issuetype_to: String,
    #[serde(default)]
    work_category: String,
    #[serde(default)]
    hierarchy_level: String,
}

impl FormBody {
    fn active(&self) -> bool {
        self.active.as_deref() != Some("false")
    }
    fn step(&self) -> StepDraft {
        StepDraft {
            name: self.name.clone(),
            category: self.category.clone(),
            position: self.position.clone(),
            is_commitment_point: self.is_commitment_point.is_some(),
            active: self.active(),
        }
    }
    fn status(&self) -> StatusDraft {
        StatusDraft {
            status_from: self.status_from.clone(),
            flow_step_id: self.flow_step_id.clone(),
            issue_type_mapping_id: self.issue_type_mapping_id.clone(),
            active: self.active(),
        }
    }
    fn ty(&self) -> TypeDraft {
        TypeDraft {
            issuetype_from: self.issuetype_from.clone(),
            issuetype_to: self.issuetype_to.clone(),
            work_category: self.work_category.clone(),
            hierarchy_level: self.hierarchy_level.clone(),
            active: self.active(),
        }
    }
}

fn kind(segment: &str) -> Result<Kind, PageError> {
    Ok(Kind::parse(segment).ok_or(AppError::NotFound)?)
}

fn require_admin(user: &CurrentUser) -> Result<(), PageError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden("changing the flow needs an administrator".into()).into())
    }
}

pub async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    hx: Hx,
    flash: Flash,
    segment: web::Path<String>,
    form: web::Form<FormBody>,
) -> PageResult {
    let kind = kind(&segment)?;
    let cfg = db::flow::resolver(&state.db).await?;
    let mut forms = Forms::default();
    let saved = match kind {
        Kind::Step => match form.step().validate(&cfg, None) {
            Ok(v) => Ok(db::flow::save::create_step(&state.db, &v).await?.name),
            Err(e) => {
                (forms.step, forms.step_errors) = (form.step(), e);
                Err(())
            }
        },
        Kind::Status => match form.status().validate(&cfg, None) {
            Ok(v) => Ok(db::flow::save::create_status(&state.db, &v).await?.status_from),
            Err(e) => {
                (forms.status, forms.status_errors) = (form.status(), e);
                Err(())
            }
        },
        Kind::Type => match form.ty().validate(&cfg, None) {
            Ok(v) => Ok(db::flow::save::create_type(&state.db, &v).await?.issuetype_from),
            Err(e) => {
                (forms.ty, forms.type_errors) = (form.ty(), e);
                Err(())
            }
        },
    };
    match saved {
        Ok(name) => {
            tracing::info!(user = %user.user.email, what = kind.noun(), %name, "flow configuration added");
            changed(&state, &user, &hx, &flash, "added", &name).await
        }
        Err(()) => {
            let loaded = load::load(&state.db).await?;
            Ok(render(
                &user,
                &hx,
                &loaded,
                Screen {
                    forms,
                    status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                    ..Screen::default()
                },
            ))
        }
    }
}

pub async fn edit(state: web::Data<AppState>, user: CurrentUser, hx: Hx, path: web::Path<(String, i64)>) -> PageResult {
    require_admin(&user)?;
    let (segment, id) = path.into_inner();
    let kind = kind(&segment)?;
    let cfg = db::flow::config(&state.db).await?;
    let (title, form) = edit_form(&state, &user, kind, id, &cfg, None, &[]).await?;
    show_dialog(&state, &user, &hx, dialog::wrap(&title, form), StatusCode::OK).await
}

/// The edit form of one row, from the stored row or from what was typed.
async fn edit_form(
    state: &AppState,
    user: &CurrentUser,
    kind: Kind,
    id: i64,
    cfg: &db::flow::Config,
    typed: Option<&FormBody>,
    errors: &[FieldError],
) -> Result<(String, Markup), PageError> {
    let loaded = load::load(&state.db).await?;
    let csrf = &user.csrf;
    let found = match kind {
        Kind::Step => cfg.steps.iter().find(|s| s.id == id).map(|s| {
            let mut d = typed.map_or_else(|| crate::routes::flow_api::step_draft(s), FormBody::step);
            if typed.is_none() {
                d.position = s.position.to_string();
            }
            (
                format!("Edit step “{}”", s.name),
                forms::edit_step(id, &d, errors, csrf),
            )
        }),
        Kind::Status => cfg.status_mappings.iter().find(|m| m.id == id).map(|m| {
            let d = typed.map_or_else(|| crate::routes::flow_api::status_draft(m), FormBody::status);
            let choices = (&loaded.step_choices[..], &loaded.type_choices[..]);
            (
                format!("Edit mapping of “{}”", m.status_from),
                forms::edit_status(id, &d, errors, choices, csrf),
            )
        }),
        Kind::Type => cfg.types.iter().find(|t| t.id == id).map(|t| {
            let d = typed.map_or_else(|| crate::routes::flow_api::type_draft(t), FormBody::ty);
            (
                format!("Edit issue type “{}”", t.issuetype_from),
                forms::edit_type(id, &d, errors, csrf),
            )
        }),
    };
    Ok(found.ok_or(AppError::NotFound)?)
}

pub async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    hx: Hx,
    flash: Flash,
    path: web::Path<(String, i64)>,
    form: web::Form<FormBody>,
) -> PageResult {
    let (segment, id) = path.into_inner();
    let kind = kind(&segment)?;
    let cfg = db::flow::config(&state.db).await?;
    let resolver = cfg.resolver();
    let result = match kind {
        Kind::Step => {
            let row = cfg
                .steps
                .iter()
                .find(|s| s.id == id)
                .cloned()
                .ok_or(AppError::NotFound)?;
            match form.step().validate(&resolver, Some(id)) {
                Ok(v) => Ok(db::flow::save::update_step(&state.db, row, &v).await?.name),
                Err(e) => Err(e),
            }
        }
        Kind::Status => {
            let row = cfg
                .status_mappings
                .iter()
                .find(|m| m.id == id)
                .cloned()
                .ok_or(AppError::NotFound)?;
            match form.status().validate(&resolver, Some(id)) {
                Ok(v) => Ok(db::flow::save::update_status(&state.db, row, &v).await?.status_from),
                Err(e) => Err(e),
            }
        }
        Kind::Type => {
            let row = cfg
                .types
                .iter()
                .find(|t| t.id == id)
                .cloned()
                .ok_or(AppError::NotFound)?;
            match form.ty().validate(&resolver, Some(id)) {
                Ok(v) => Ok(db::flow::save::update_type(&state.db, row, &v).await?.issuetype_from),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(name) => {
            tracing::info!(user = %user.user.email, what = kind.noun(), id, %name, "flow configuration saved");
            changed(&state, &user, &hx, &flash, "saved", &name).await
        }
        Err(errors) => {
            let (title, markup) = edit_form(&state, &user, kind, id, &cfg, Some(&form), &errors).await?;
            let dialog = dialog::wrap(&title, markup);
            let loaded = load::load(&state.db).await?;
            Ok(render(
                &user,
                &hx,
                &loaded,
                Screen {
                    dialog: Some(dialog),
                    status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                    ..Screen::default()
                },
            ))
        }
    }
}

/// Switching a row on needs no reassignment; validation still applies (e.g. a mapping whose
/// step is inactive stays off).
pub async fn activate(
    state: web::Data<AppState>,
    user: CurrentUser,
    hx: Hx,
    flash: Flash,
    path: web::Path<(String, i64)>,
) -> PageResult {
    use crate::routes::flow_api::{status_draft, step_draft, type_draft};
    let (segment, id) = path.into_inner();
    let kind = kind(&segment)?;
    let cfg = db::flow::config(&state.db).await?;
    let resolver = cfg.resolver();
    let result = match kind {
        Kind::Step => {
            let row = cfg
                .steps
                .iter()
                .find(|s| s.id == id)
                .cloned()
                .ok_or(AppError::NotFound)?;
            let d = StepDraft {
                active: true,
                ..step_draft(&row)
            };
            match d.validate(&resolver, Some(id)) {
                Ok(v) => Ok(db::flow::save::update_step(&state.db, row, &v).await?.name),
                Err(e) => Err(e),
            }
        }
        Kind::Status => {
            let row = cfg
                .status_mappings
                .iter()
                .find(|m| m.id == id)
                .cloned()
                .ok_or(AppError::NotFound)?;
            let d = StatusDraft {
                active: true,
                ..status_draft(&row)
            };
            match d.validate(&resolver, Some(id)) {
                Ok(v) => Ok(db::flow::save::update_status(&state.db, row, &v).await?.status_from),
                Err(e) => Err(e),
            }
        }
        Kind::Type => {
            let row = cfg
                .types
                .iter()
                .find(|t| t.id == id)
                .cloned()
                .ok_or(AppError::NotFound)?;
            let d = TypeDraft {
                active: true,
                ..type_draft(&row)
            };
            match d.validate(&resolver, Some(id)) {
                Ok(v) => Ok(db::flow::save::update_type(&state.db, row, &v).await?.issuetype_from),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(name) => {
            tracing::info!(user = %user.user.email, what = kind.noun(), %name, "flow configuration activated");
            changed(&state, &user, &hx, &flash, "activated", &name).await
        }
        Err(errors) => {
            let message = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
            let loaded = load::load(&state.db).await?;
            let text = format!("Not activated: {message}");
            Ok(render(
                &user,
                &hx,
                &loaded,
                Screen {
                    notice: Some(&text),
                    status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                    ..Screen::default()
                },
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    direction: String,
}

pub async fn move_step(
    state: web::Data<AppState>,
    user: CurrentUser,
    hx: Hx,
    flash: Flash,
    id: web::Path<i64>,
    form: web::Form<MoveForm>,
) -> PageResult {
    let cfg = db::flow::resolver(&state.db).await?;
    let name = cfg.step(*id).ok_or(AppError::NotFound)?.name.clone();
    db::flow::save::move_step(&state.db, *id, form.direction == "up").await?;
    tracing::info!(user = %user.user.email, step = %name, direction = %form.direction, "flow step moved");
    changed(&state, &user, &hx, &flash, "moved", &name).await
}

fn action(a: &str) -> Result<bool, PageError> {
    match a {
        "delete" => Ok(false),
        "deactivate" => Ok(true),
        _ => Err(AppError::NotFound.into()),
    }
}

/// The removal dialog: impact, refusal or choice of target.
async fn removal_dialog(
    state: &AppState,
    user: &CurrentUser,
    kind: Kind,
    id: i64,
    deactivate: bool,
    selected: Option<i64>,
    error: Option<&str>,
) -> Result<Markup, PageError> {
    let cfg = db::flow::config(&state.db).await?;
    let resolver = cfg.resolver();
    let (impact, name) = match kind {
        Kind::Step => (
            db::flow::remove::step_impact(&state.db, id).await?,
            resolver.step(id).map(|s| s.name.clone()),
        ),
        Kind::Type => (
            db::flow::remove::type_impact(&state.db, id, deactivate).await?,
            cfg.types.iter().find(|t| t.id == id).map(|t| t.issuetype_from.clone()),
        ),
        Kind::Status => (
            db::flow::remove::status_impact(&state.db, id).await?,
            resolver
                .status_mappings()
                .iter()
                .find(|m| m.id == id)
                .map(|m| load::status_label(&resolver, m)),
        ),
    };
    let (Some(impact), Some(name)) = (impact, name) else {
        return Err(AppError::NotFound.into());
    };
    let targets: Vec<Choice> = impact
        .targets
        .iter()
        .filter_map(|t| match kind {
            Kind::Step => resolver.step(*t).map(load::step_choice),
            _ => cfg.types.iter().find(|x| x.id == *t).map(|x| Choice {
                id: x.id,
                label: x.issuetype_from.clone(),
            }),
        })
        .collect();
    // Preselect a step of the same category: the usual intent when merging steps.
    let selected = selected.or_else(|| match kind {
        Kind::Step => {
            let category = resolver.step(id).map(|s| s.category);
            targets
                .iter()
                .find(|t| resolver.step(t.id).map(|s| s.category) == category)
                .map(|t| t.id)
        }
        _ => None,
    });
    Ok(dialog::removal(&dialog::Removal {
        kind,
        id,
        name: &name,
        deactivate,
        impact: &impact,
        targets: &targets,
        selected,
        error,
        csrf: &user.csrf,
    }))
}

pub async fn remove_confirm(
    state: web::Data<AppState>,
    user: CurrentUser,
    hx: Hx,
    path: web::Path<(String, i64, String)>,
) -> PageResult {
    require_admin(&user)?;
    let (segment, id, a) = path.into_inner();
    let (kind, deactivate) = (kind(&segment)?, action(&a)?);
    let dialog = removal_dialog(&state, &user, kind, id, deactivate, None, None).await?;
    show_dialog(&state, &user, &hx, dialog, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    reassign_to: String,
}

pub async fn remove(
    state: web::Data<AppState>,
    user: CurrentUser,
    hx: Hx,
    flash: Flash,
    path: web::Path<(String, i64, String)>,
    form: web::Form<RemoveForm>,
) -> PageResult {
    let (segment, id, a) = path.into_inner();
    let (kind, deactivate) = (kind(&segment)?, action(&a)?);
    let reassign_to = form.reassign_to.trim().parse::<i64>().ok();
    let name = {
        let cfg = db::flow::config(&state.db).await?;
        let resolver = cfg.resolver();
        match kind {
            Kind::Step => resolver.step(id).map(|s| s.name.clone()),
            Kind::Type => cfg.types.iter().find(|t| t.id == id).map(|t| t.issuetype_from.clone()),
            Kind::Status => resolver
                .status_mappings()
                .iter()
                .find(|m| m.id == id)
                .map(|m| load::status_label(&resolver, m)),
        }
        .ok_or(AppError::NotFound)?
    };
    let removal = [Removal { id, reassign_to }];
    let result = match kind {
        Kind::Step => db::flow::remove::remove_steps(&state.db, &removal, deactivate).await,
        Kind::Type => db::flow::remove::remove_types(&state.db, &removal, deactivate).await,
        Kind::Status => db::flow::remove::remove_status(&state.db, id, deactivate)
            .await
            .map(|()| vec![(id, None)]),
    };
    let verb = if deactivate { "deactivated" } else { "deleted" };
    match result {
        Ok(plan) => {
            tracing::info!(user = %user.user.email, what = kind.noun(), %name, ?plan, "flow configuration {verb}");
            changed(&state, &user, &hx, &flash, verb, &name).await
        }
        Err(RemoveError::NotFound) => Err(AppError::NotFound.into()),
        Err(RemoveError::Db(e)) => Err(e.into()),
        Err(e @ (RemoveError::Refused(_) | RemoveError::Invalid(_))) => {
            let status = if matches!(e, RemoveError::Refused(_)) && !hx.fragment {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let message = e.to_string();
            let dialog = removal_dialog(&state, &user, kind, id, deactivate, reassign_to, Some(&message)).await?;
            if hx.fragment {
                let loaded = load::load(&state.db).await?;
                return Ok(render(
                    &user,
                    &hx,
                    &loaded,
                    Screen {
                        dialog: Some(dialog),
                        status: Some(status),
                        ..Screen::default()
                    },
                ));
            }
            show_dialog(&state, &user, &hx, dialog, status).await
        }
    }
}
