use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{Hx, PageResult, html};
use crate::analytics::dora::{self, DoraNumbers};
use crate::analytics::filters::Filters;
use crate::analytics::{aging, flow};
use crate::auth::CurrentUser;
use crate::auth::session::Flash;
use crate::domain::settings::{FieldError, OrchestratorSettings};
use crate::orchestrator::events::{Health, allowed_actions};
use crate::startup::AppState;
use crate::views::dashboard::{
    self as view, AT_RISK_WINDOW_DAYS, Dashboard, HealthPanel, IntegrationHealth, JobCard, ReplicaLine, SettingsPanel,
    TEAM_WINDOW_DAYS, TeamHeadline,
};
use crate::views::layout::{self, Nav};
use crate::{db, error::AppError};

pub async fn show(state: web::Data<AppState>, user: CurrentUser, hx: Hx, flash: Flash) -> PageResult {
    if hx.fragment {
        return live_fragment(&state, &user).await;
    }
    let settings = settings_values(&db::settings::get(&state.db).await?);
    let mut d = load(&state, &user, settings, Vec::new(), false).await?;
    d.notifications.notice = flash.take();
    d.teams = team_headlines(&state).await?;
    d.at_risk = Some(at_risk(&state).await?);
    Ok(html(
        StatusCode::OK,
        layout::page("Dashboard", &user, Nav::Dashboard, view::page(&d)),
    ))
}

/// The part of the dashboard that refreshes (job cards and health).
pub async fn live_fragment(state: &AppState, user: &CurrentUser) -> PageResult {
    let settings = settings_values(&db::settings::get(&state.db).await?);
    let d = load(state, user, settings, Vec::new(), false).await?;
    Ok(html(StatusCode::OK, view::live(&d)))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    enabled: Option<String>,
    retry_enabled: Option<String>,
    #[serde(default)]
    interval_minutes: String,
    #[serde(default)]
    retry_interval_minutes: String,
    #[serde(default)]
    max_retry_attempts: String,
}

/// Saves the schedule; errors re-render the panel with messages next to the fields.
pub async fn save_settings(
    state: web::Data<AppState>,
    user: CurrentUser,
    hx: Hx,
    form: web::Form<SettingsForm>,
) -> PageResult {
    let (values, mut errors) = parse_settings(&form);
    if let Err(range_errors) = values.validate() {
        let unparsed: Vec<_> = errors.iter().map(|e| e.field).collect();
        errors.extend(range_errors.into_iter().filter(|e| !unparsed.contains(&e.field)));
    }
    let saved = errors.is_empty();
    if saved {
        db::settings::update(&state.db, &values).await?;
        state.orchestrator.settings_changed().await;
        tracing::info!(user = %user.user.email, ?values, "orchestrator settings changed");
        if !hx.fragment {
            return Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/")).finish());
        }
    }
    let status = if saved {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let next_run_at = db::settings::get(&state.db).await?.next_run_at;
    let panel = SettingsPanel {
        next_run_at,
        timezone: state.timezone,
        values,
        errors,
        saved,
        editable: true,
        csrf: user.csrf.clone(),
    };
    if hx.fragment {
        return Ok(html(status, view::settings_panel(&panel)));
    }
    let d = load(&state, &user, panel.values, panel.errors, false).await?;
    Ok(html(
        status,
        layout::page("Dashboard", &user, Nav::Dashboard, view::page(&d)),
    ))
}

fn parse_settings(form: &SettingsForm) -> (OrchestratorSettings, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut number = |field: &'static str, raw: &str| {
        raw.trim().parse::<i32>().unwrap_or_else(|_| {
            errors.push(FieldError {
                field,
                message: "Enter a whole number".into(),
            });
            0
        })
    };
    let values = OrchestratorSettings {
        interval_minutes: number("interval_minutes", &form.interval_minutes),
        retry_interval_minutes: number("retry_interval_minutes", &form.retry_interval_minutes),
        max_retry_attempts: number("max_retry_attempts", &form.max_retry_attempts),
        enabled: form.enabled.is_some(),
        retry_enabled: form.retry_enabled.is_some(),
    };
    (values, errors)
}

pub fn settings_values(row: &entity::orchestrator_settings::Model) -> OrchestratorSettings {
    OrchestratorSettings {
        interval_minutes: row.interval_minutes,
        enabled: row.enabled,
        retry_enabled: row.retry_enabled,
        retry_interval_minutes: row.retry_interval_minutes,
        max_retry_attempts: row.max_retry_attempts,
    }
}

async fn load(
    state: &AppState,
    user: &CurrentUser,
    values: OrchestratorSettings,
    errors: Vec<FieldError>,
    saved: bool,
) -> Result<Dashboard, AppError> {
    let rows = db::jobs::all(&state.db).await?;
    let jobs = rows
        .iter()
        .map(|j| JobCard {
            job_type: j.job_type,
            status: j.status,
            active: j.active,
            progress: j.progress,
            message: j.progress_message.clone(),
            last_started_at: j.last_started_at,
            last_finished_at: j.last_finished_at,
            last_success_at: j.last_success_at,
            last_error: j.last_error.clone(),
            retry_count: j.retry_count,
            next_retry_at: j.next_retry_at,
            actions: if user.is_admin() {
                allowed_actions(j, &rows)
            } else {
                Vec::new()
            },
            pause_requested: j.pause_requested,
            stop_requested: j.stop_requested,
            can_toggle: user.is_admin(),
        })
        .collect();
    let database_ms = db::ping(&state.db).await.ok().map(|d| d.as_secs_f64() * 1000.0);
    let next_run_at = db::settings::get(&state.db).await?.next_run_at;
    let values_enabled = values.enabled;
    let flow = db::flow::resolver(&state.db).await?;
    let unmapped = db::flow::discovery::unmapped(&state.db, &flow).await?;
    Ok(Dashboard {
        flow_unmapped: (unmapped.statuses.len(), unmapped.issue_types.len()),
        jobs,
        teams: Vec::new(),
        at_risk: None,
        next_run_at,
        csrf: user.csrf.clone(),
        settings: SettingsPanel {
            next_run_at,
            timezone: state.timezone,
            values,
            errors,
            saved,
            editable: user.is_admin(),
            csrf: user.csrf.clone(),
        },
        health: HealthPanel {
            database_ms,
            replica: replica_line(state).await,
            uptime_secs: state.started_at.elapsed().as_secs(),
            orchestrator_enabled: values_enabled,
            next_run_at,
            integrations: integration_health(&db::integrations::list(&state.db).await?, state.timezone),
        },
        timezone: state.timezone,
        notifications: super::notifications::panel(&db::notifications::get(&state.db).await?, user, None),
    })
}

/// Most teams the dashboard shows (each costs a DORA and a flow report).
const MAX_TEAMS_SHOWN: usize = 20;

/// Each team's headline numbers: the DORA and flow reports of its repositories and projects
/// over the last days, against the days before.
async fn team_headlines(state: &AppState) -> Result<Vec<TeamHeadline>, AppError> {
    let today = chrono::Utc::now().date_naive();
    let mut out = Vec::new();
    for team in db::teams::list(&state.db).await?.into_iter().take(MAX_TEAMS_SHOWN) {
        let mut f = Filters::parse(&format!("range={TEAM_WINDOW_DAYS}"), today).map_err(AppError::BadRequest)?;
        f.scope_to(db::teams::names(&team.repositories), db::teams::names(&team.projects));
        let d = dora::report(&state.db, &state.analytics, f.clone()).await?;
        let fl = flow::report(&state.db, &state.analytics, f).await?;
        let per_week = |n: &DoraNumbers| n.frequency_missing.is_none().then_some(n.frequency.per_week);
        out.push(TeamHeadline {
            id: team.id,
            name: team.name,
            deploys_per_week: (per_week(&d.current), per_week(&d.previous)),
            lead_time_hours: (d.current.lead_time.median, d.previous.lead_time.median),
            failure_rate: (d.current.failure_rate, d.previous.failure_rate),
            cycle_time_hours: (fl.current.cycle_time.median, fl.previous.cycle_time.median),
        });
    }
    Ok(out)
}

/// Items in progress now past the p85 of the default window's cycle times: one pass over the
/// snapshot the analytics pages hold anyway.
async fn at_risk(state: &AppState) -> Result<usize, AppError> {
    let today = chrono::Utc::now().date_naive();
    let f = Filters::parse(&format!("range={AT_RISK_WINDOW_DAYS}"), today).map_err(AppError::BadRequest)?;
    let inputs = crate::analytics::FlowInputs::load(&state.db, &state.analytics).await?;
    Ok(aging::at_risk_count(&inputs, &f, chrono::Utc::now()))
}

async fn replica_line(state: &AppState) -> Option<ReplicaLine> {
    let l = state.orchestrator.leadership();
    if !l.is_replicated() {
        return None;
    }
    let lease = db::leader::current(&state.db).await.ok().flatten();
    Some(ReplicaLine {
        this: l.id.clone(),
        leader: lease.filter(|x| x.valid).and_then(|x| x.holder),
    })
}

/// Healthy when the last test passed; warning when never tested; error when it failed.
fn integration_health(rows: &[entity::integrations::Model], tz: chrono_tz::Tz) -> Vec<IntegrationHealth> {
    rows.iter()
        .map(|r| {
            let synced = r
                .last_sync_at
                .map(|t| format!("last sync {}", t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z")))
                .unwrap_or_else(|| "not synced yet".into());
            let (state, detail) = match (r.active, r.last_test_ok) {
                (false, _) => (Health::Inactive, "skipped by syncs".to_string()),
                (true, Some(false)) => (
                    Health::Error,
                    r.last_test_message.clone().unwrap_or_else(|| "last test failed".into()),
                ),
                (true, None) => (Health::Warning, format!("never tested; {synced}")),
                (true, Some(true)) => (Health::Healthy, synced),
            };
            IntegrationHealth {
                name: r.name.clone(),
                state,
                detail,
            }
        })
        .collect()
}
