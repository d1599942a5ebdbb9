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
use crate::domain::flow::input::{IssueTypeMappingDraft, StatusMappingDraft, StepDraft};
use crate::domain::flow::reassign::Removal;
use crate::domain::settings::FieldError;
use crate::error::{AppError, PageError};
use crate::startup::AppState;
use crate::views::flow::{self as view, Choice, FlowPage, Forms, Kind, dialog};
use crate::views::layout::{self, Nav};

pub(super) mod kinds;
mod load;

use kinds::FlowKind;
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
        status_mappings: &l.status_mappings,
        issue_type_mappings: &l.issue_type_mappings,
        unmapped: &l.unmapped,
        step_choices: &l.step_choices,
        issue_type_choices: &l.issue_type_choices,
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
    fn status_mapping(&self) -> StatusMappingDraft {
        StatusMappingDraft {
            status_from: self.status_from.clone(),
            flow_step_id: self.flow_step_id.clone(),
            issue_type_mapping_id: self.issue_type_mapping_id.clone(),
            active: self.active(),
        }
    }
    fn issue_type_mapping(&self) -> IssueTypeMappingDraft {
        IssueTypeMappingDraft {
            issuetype_from: self.issuetype_from.clone(),
            issuetype_to: self.issuetype_to.clone(),
            work_category: self.work_category.clone(),
            hierarchy_level: self.hierarchy_level.clone(),
            active: self.active(),
        }
    }
}

/// Runs `$body` with `$K` the [`FlowKind`] of `$kind`.
macro_rules! with_kind {
    ($kind:expr, $K:ident => $body:expr) => {
        match $kind {
            Kind::Step => {
                type $K = kinds::Steps;
                $body
            }
            Kind::StatusMapping => {
                type $K = kinds::StatusMappings;
                $body
            }
            Kind::IssueTypeMapping => {
                type $K = kinds::IssueTypeMappings;
                $body
            }
        }
    };
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

/// What a handler needs besides its own input.
struct Ctx<'a> {
    state: &'a AppState,
    user: &'a CurrentUser,
    hx: &'a Hx,
    flash: &'a Flash,
    kind: Kind,
}

impl Ctx<'_> {
    fn log(&self, name: &str, verb: &str) {
        tracing::info!(user = %self.user.user.email, what = self.kind.noun(), %name, "flow configuration {verb}");
    }

    async fn changed(&self, verb: &str, name: &str) -> PageResult {
        self.log(name, verb);
        changed(self.state, self.user, self.hx, self.flash, verb, name).await
    }

    /// The page with `screen` over it.
    async fn page(&self, screen: Screen<'_>) -> PageResult {
        let loaded = load::load(&self.state.db).await?;
        Ok(render(self.user, self.hx, &loaded, screen))
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
    let ctx = Ctx {
        state: &state,
        user: &user,
        hx: &hx,
        flash: &flash,
        kind,
    };
    with_kind!(kind, K => create_as::<K>(&ctx, &form).await)
}

async fn create_as<K: FlowKind>(ctx: &Ctx<'_>, form: &FormBody) -> PageResult {
    let cfg = db::flow::resolver(&ctx.state.db).await?;
    let draft = K::typed(form);
    match K::validate(&draft, &cfg, None) {
        Ok(valid) => {
            let row = K::create(&ctx.state.db, &valid).await?;
            ctx.changed("added", K::key(&row)).await
        }
        Err(errors) => {
            let mut forms = Forms::default();
            K::refill(&mut forms, draft, errors);
            ctx.page(Screen {
                forms,
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                ..Screen::default()
            })
            .await
        }
    }
}

pub async fn edit(state: web::Data<AppState>, user: CurrentUser, hx: Hx, path: web::Path<(String, i64)>) -> PageResult {
    require_admin(&user)?;
    let (segment, id) = path.into_inner();
    let cfg = db::flow::config(&state.db).await?;
    let dialog = with_kind!(kind(&segment)?, K => edit_dialog::<K>(&state, &user, id, &cfg, None, &[]).await?);
    show_dialog(&state, &user, &hx, dialog, StatusCode::OK).await
}

/// The edit dialog of one row, from the stored row or from what was typed.
async fn edit_dialog<K: FlowKind>(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    cfg: &db::flow::Config,
    typed: Option<&FormBody>,
    errors: &[FieldError],
) -> Result<Markup, PageError> {
    let row = K::find(cfg, id).ok_or(AppError::NotFound)?;
    let draft = typed.map_or_else(|| K::draft(row), K::typed);
    let loaded = load::load(&state.db).await?;
    let (title, form) = K::edit_form(row, &draft, errors, &loaded, &user.csrf);
    Ok(dialog::wrap(&title, form))
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
    let ctx = Ctx {
        state: &state,
        user: &user,
        hx: &hx,
        flash: &flash,
        kind,
    };
    with_kind!(kind, K => update_as::<K>(&ctx, id, &form).await)
}

async fn update_as<K: FlowKind>(ctx: &Ctx<'_>, id: i64, form: &FormBody) -> PageResult {
    let cfg = db::flow::config(&ctx.state.db).await?;
    let row = K::find(&cfg, id).cloned().ok_or(AppError::NotFound)?;
    match K::validate(&K::typed(form), &cfg.resolver(), Some(id)) {
        Ok(valid) => {
            let row = K::update(&ctx.state.db, row, &valid).await?;
            ctx.changed("saved", K::key(&row)).await
        }
        Err(errors) => {
            let dialog = edit_dialog::<K>(ctx.state, ctx.user, id, &cfg, Some(form), &errors).await?;
            ctx.page(Screen {
                dialog: Some(dialog),
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                ..Screen::default()
            })
            .await
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
    let (segment, id) = path.into_inner();
    let kind = kind(&segment)?;
    let ctx = Ctx {
        state: &state,
        user: &user,
        hx: &hx,
        flash: &flash,
        kind,
    };
    with_kind!(kind, K => activate_as::<K>(&ctx, id).await)
}

async fn activate_as<K: FlowKind>(ctx: &Ctx<'_>, id: i64) -> PageResult {
    let cfg = db::flow::config(&ctx.state.db).await?;
    let row = K::find(&cfg, id).cloned().ok_or(AppError::NotFound)?;
    let mut draft = K::draft(&row);
    K::set_active(&mut draft, true);
    match K::validate(&draft, &cfg.resolver(), Some(id)) {
        Ok(valid) => {
            let row = K::update(&ctx.state.db, row, &valid).await?;
            ctx.changed("activated", K::key(&row)).await
        }
        Err(errors) => {
            let message = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
            let text = format!("Not activated: {message}");
            ctx.page(Screen {
                notice: Some(&text),
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                ..Screen::default()
            })
            .await
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

/// What the removal dialog is about: the row, delete or deactivate, and the last attempt.
struct RemovalAsk<'a> {
    id: i64,
    deactivate: bool,
    selected: Option<i64>,
    error: Option<&'a str>,
}

/// The removal dialog: impact, refusal or choice of target.
async fn removal_dialog<K: FlowKind>(
    state: &AppState,
    user: &CurrentUser,
    ask: RemovalAsk<'_>,
) -> Result<Markup, PageError> {
    let cfg = db::flow::config(&state.db).await?;
    let resolver = cfg.resolver();
    let impact = K::impact(&state.db, ask.id, ask.deactivate).await?;
    let name = K::find(&cfg, ask.id).map(|row| K::name(row, &resolver));
    let (Some(impact), Some(name)) = (impact, name) else {
        return Err(AppError::NotFound.into());
    };
    let targets: Vec<Choice> = impact
        .targets
        .iter()
        .filter_map(|t| K::target(&cfg, &resolver, *t))
        .collect();
    let selected = ask.selected.or_else(|| K::preselect(&resolver, ask.id, &targets));
    Ok(dialog::removal(&dialog::Removal {
        kind: K::KIND,
        id: ask.id,
        name: &name,
        deactivate: ask.deactivate,
        impact: &impact,
        targets: &targets,
        selected,
        error: ask.error,
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
    let ask = RemovalAsk {
        id,
        deactivate,
        selected: None,
        error: None,
    };
    let dialog = with_kind!(kind, K => removal_dialog::<K>(&state, &user, ask).await?);
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
    let ctx = Ctx {
        state: &state,
        user: &user,
        hx: &hx,
        flash: &flash,
        kind,
    };
    let removal = Removal {
        id,
        reassign_to: form.reassign_to.trim().parse::<i64>().ok(),
    };
    with_kind!(kind, K => remove_as::<K>(&ctx, removal, deactivate).await)
}

async fn remove_as<K: FlowKind>(ctx: &Ctx<'_>, removal: Removal, deactivate: bool) -> PageResult {
    let (id, reassign_to) = (removal.id, removal.reassign_to);
    let name = {
        let cfg = db::flow::config(&ctx.state.db).await?;
        let row = K::find(&cfg, id).ok_or(AppError::NotFound)?;
        K::name(row, &cfg.resolver())
    };
    let verb = if deactivate { "deactivated" } else { "deleted" };
    match K::remove(&ctx.state.db, &[removal], deactivate).await {
        Ok(_) => ctx.changed(verb, &name).await,
        Err(RemoveError::NotFound) => Err(AppError::NotFound.into()),
        Err(RemoveError::Db(e)) => Err(e.into()),
        Err(e @ (RemoveError::Refused(_) | RemoveError::Invalid(_))) => {
            let status = if matches!(e, RemoveError::Refused(_)) && !ctx.hx.fragment {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let message = e.to_string();
            let ask = RemovalAsk {
                id,
                deactivate,
                selected: reassign_to,
                error: Some(&message),
            };
            let dialog = removal_dialog::<K>(ctx.state, ctx.user, ask).await?;
            if ctx.hx.fragment {
                return ctx
                    .page(Screen {
                        dialog: Some(dialog),
                        status: Some(status),
                        ..Screen::default()
                    })
                    .await;
            }
            show_dialog(ctx.state, ctx.user, ctx.hx, dialog, status).await
        }
    }
}
