//! Job controls (admin), run history and logs.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::openapi::ApiError;
use super::{ApiResult, Hx, PageResult, csv, html};
use crate::auth::CurrentUser;
use crate::db;
use crate::domain::job::{Action, EventLevel, JobType};
use crate::error::{AppError, html_error, json_error};
use crate::orchestrator::ControlError;
use crate::orchestrator::events::allowed_actions;
use crate::startup::AppState;
use crate::views::jobs as view;
use crate::views::layout::{self, Nav};

fn parse(job: &str, action: Option<&str>) -> Result<(JobType, Option<Action>), AppError> {
    let job = JobType::parse(job).ok_or(AppError::NotFound)?;
    match action {
        None => Ok((job, None)),
        Some(a) => Ok((job, Some(Action::parse(a).ok_or(AppError::NotFound)?))),
    }
}

/// JSON for one job, with the actions allowed now.
pub fn job_json(
    row: &entity::jobs::Model,
    all: &[entity::jobs::Model],
    next_run_at: Option<chrono::DateTime<chrono::Utc>>,
) -> serde_json::Value {
    json!({
        "job_type": row.job_type,
        "status": row.status,
        "active": row.active,
        "progress": row.progress,
        "message": row.progress_message,
        "last_error": row.last_error,
        "last_started_at": row.last_started_at,
        "last_finished_at": row.last_finished_at,
        "last_success_at": row.last_success_at,
        "retry_count": row.retry_count,
        "next_retry_at": row.next_retry_at,
        "next_run_at": next_run_at,
        "pause_requested": row.pause_requested,
        "stop_requested": row.stop_requested,
        "actions": allowed_actions(row, all).iter().map(|a| a.as_str()).collect::<Vec<_>>(),
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/jobs/{job}/{action}",
    tag = "jobs",
    summary = "Start, pause, resume, stop or force-stop a job",
    params(("job" = String, Path, description = "`jira_sync` or `github_sync`"), ("action" = String, Path, description = "`start`, `pause`, `resume`, `stop` or `force_stop`")),
    responses((status = 200, description = "The job after the action", body = Object), (status = 404, description = "No such record", body = ApiError), (status = 409, description = "Refused in the current state (the answer says why)", body = ApiError), (status = 503, description = "No orchestrator leader to act", body = ApiError)),
)]
pub async fn control_api(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (job, action) = parse(&path.0, Some(&path.1))?;
    let action = action.ok_or(AppError::NotFound)?;
    match state.orchestrator.act(job, action, &user.user.email).await {
        Ok(_) => {
            let all = db::jobs::all(&state.db).await?;
            let next = db::settings::get(&state.db).await?.next_run_at;
            let row = all.iter().find(|r| r.job_type == job).ok_or(AppError::NotFound)?;
            Ok(HttpResponse::Ok().json(job_json(row, &all, next)))
        }
        Err(ControlError::Refused(why)) => Ok(json_error(StatusCode::CONFLICT, &why)),
        Err(ControlError::Db(e)) => Err(e.into()),
        Err(e @ (ControlError::Gone | ControlError::NoLeader)) => {
            Ok(json_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))
        }
    }
}

/// The same controls as plain forms: redirect back to the dashboard (htmx gets the live part).
pub async fn control_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    hx: Hx,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (job, action) = parse(&path.0, Some(&path.1))?;
    let action = action.ok_or(AppError::NotFound)?;
    match state.orchestrator.act(job, action, &user.user.email).await {
        Ok(_) if hx.fragment => super::dashboard::live_fragment(&state, &user).await,
        Ok(_) => Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/")).finish()),
        Err(ControlError::Refused(why)) => Ok(html_error(StatusCode::CONFLICT, &why)),
        Err(ControlError::Db(e)) => Err(AppError::from(e).into()),
        Err(e @ (ControlError::Gone | ControlError::NoLeader)) => {
            Ok(html_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ActiveBody {
    active: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/jobs/{job}/active",
    tag = "jobs",
    summary = "Turn a job on or off for the schedule",
    params(("job" = String, Path, description = "`jira_sync` or `github_sync`")),
    request_body = ActiveBody,
    responses((status = 200, description = "The job as `GET /api/v1/jobs/status` lists it", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn set_active_api(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Json<ActiveBody>,
) -> ApiResult {
    let (job, _) = parse(&path, None)?;
    db::jobs::set_active(&state.db, job, body.active).await?;
    tracing::info!(user = %user.user.email, job = job.as_str(), active = body.active, "job (de)activated");
    let all = db::jobs::all(&state.db).await?;
    let row = all.iter().find(|r| r.job_type == job).ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(job_json(row, &all, None)))
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: String,
}

pub async fn set_active_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    form: web::Form<ActiveForm>,
) -> PageResult {
    let (job, _) = parse(&path, None)?;
    db::jobs::set_active(&state.db, job, form.active == "true").await?;
    tracing::info!(user = %user.user.email, job = job.as_str(), active = %form.active, "job (de)activated");
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/")).finish())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    page: Option<u64>,
    run: Option<i64>,
    level: Option<String>,
    q: Option<String>,
    log_page: Option<u64>,
    /// `csv`: every run as a CSV download.
    format: Option<String>,
}

/// Runs shown per page, and log lines per page.
const RUNS_PER_PAGE: u64 = 20;
const EVENTS_PER_PAGE: u64 = 100;
/// The highest page number asked for (0-based): 2 million runs or 10 million log lines, far
/// beyond any history, and small enough that the row offset cannot overflow.
const MAX_PAGE: u64 = 100_000;

impl HistoryQuery {
    /// The run page and the log page, each checked against [`MAX_PAGE`].
    fn pages(&self) -> Result<(u64, u64), AppError> {
        let check = |name: &str, v: Option<u64>| match v.unwrap_or(0) {
            p if p <= MAX_PAGE => Ok(p),
            _ => Err(AppError::BadRequest(format!(
                "{name} must be a number from 0 to {MAX_PAGE}"
            ))),
        };
        Ok((check("page", self.page)?, check("log_page", self.log_page)?))
    }
}

pub async fn history(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    q: web::Query<HistoryQuery>,
) -> PageResult {
    let (job, _) = parse(&path, None)?;
    let (page, log_page) = q.pages()?;
    let (runs, total) = db::runs::list(&state.db, job, page, RUNS_PER_PAGE).await?;
    let runs: Vec<view::RunRow> = runs.iter().map(run_row).collect();
    let selected = match q.run.or_else(|| runs.first().map(|r| r.id)) {
        Some(id) => Some(run_row(
            &db::runs::get(&state.db, job, id).await?.ok_or(AppError::NotFound)?,
        )),
        None => None,
    };
    let level = q.level.as_deref().and_then(EventLevel::parse);
    let (events, events_total) = match &selected {
        Some(r) => db::runs::events(&state.db, r.id, level, q.q.as_deref(), log_page, EVENTS_PER_PAGE).await?,
        None => (Vec::new(), 0),
    };
    let events: Vec<view::LogLine> = events
        .into_iter()
        .map(|e| view::LogLine {
            at: e.at,
            level: e.level,
            message: e.message,
        })
        .collect();
    let v = view::History {
        job,
        runs: &runs,
        page,
        pages: total.div_ceil(RUNS_PER_PAGE).max(1),
        selected: selected.as_ref(),
        events: &events,
        events_page: log_page,
        events_pages: events_total.div_ceil(EVENTS_PER_PAGE).max(1),
        level,
        search: q.q.as_deref().unwrap_or(""),
        timezone: state.timezone,
    };
    Ok(html(
        StatusCode::OK,
        layout::page(
            &format!("{} history", job.title()),
            &user,
            Nav::Dashboard,
            view::history(&v),
        ),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{job}/runs",
    tag = "jobs",
    summary = "A job's run history, newest first (`format=csv`: every run as CSV)",
    params(("job" = String, Path, description = "`jira_sync` or `github_sync`"), HistoryQuery),
    responses((status = 200, description = "`{\"runs\":[…],\"total\":N}`; with `format=csv` a `text/csv` download", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn runs_api(
    state: web::Data<AppState>,
    _user: CurrentUser,
    path: web::Path<String>,
    q: web::Query<HistoryQuery>,
) -> ApiResult {
    let (job, _) = parse(&path, None)?;
    if csv::wanted(q.format.as_deref()) {
        return Ok(runs_csv(state, job));
    }
    let (page, _) = q.pages()?;
    let (runs, total) = db::runs::list(&state.db, job, page, RUNS_PER_PAGE).await?;
    Ok(HttpResponse::Ok().json(json!({ "runs": runs, "total": total })))
}

/// Every run of `job`, newest first, as CSV (counts as their JSON).
fn runs_csv(state: web::Data<AppState>, job: JobType) -> HttpResponse {
    const HEADER: &[&str] = &[
        "id",
        "trigger",
        "started_at",
        "finished_at",
        "duration_seconds",
        "outcome",
        "api_requests",
        "rate_limit_wait_ms",
        "error",
        "counts",
    ];
    csv::download(&format!("{job}-runs.csv"), HEADER, move |page| {
        let state = state.clone();
        async move {
            let (runs, _) = db::runs::list(&state.db, job, page, csv::PAGE_ROWS).await?;
            Ok(runs
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.trigger.to_string(),
                        r.started_at.to_rfc3339(),
                        csv::opt(r.finished_at.map(|t| t.to_rfc3339())),
                        csv::opt(duration(r).map(|d| format!("{:.3}", d.num_milliseconds() as f64 / 1000.0))),
                        r.outcome.to_string(),
                        r.api_requests.to_string(),
                        r.rate_limit_wait_ms.to_string(),
                        csv::opt(r.error.as_ref()),
                        r.counts.to_string(),
                    ]
                })
                .collect())
        }
    })
}

/// How long a finished run took.
fn duration(r: &entity::job_runs::Model) -> Option<chrono::Duration> {
    r.finished_at.map(|f| f - r.started_at)
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{job}/runs/{run}/events",
    tag = "jobs",
    summary = "A run's log lines, oldest first, filtered by level and text",
    params(("job" = String, Path, description = "`jira_sync` or `github_sync`"), ("run" = i64, Path, description = "The run's id"), HistoryQuery),
    responses((status = 200, description = "`{\"events\":[…],\"total\":N}`", body = Object), (status = 400, description = "A malformed body or query", body = ApiError), (status = 404, description = "No such record", body = ApiError)),
)]
pub async fn events_api(
    state: web::Data<AppState>,
    _user: CurrentUser,
    path: web::Path<(String, i64)>,
    q: web::Query<HistoryQuery>,
) -> ApiResult {
    let (job, _) = parse(&path.0, None)?;
    let (_, log_page) = q.pages()?;
    let run = db::runs::get(&state.db, job, path.1).await?.ok_or(AppError::NotFound)?;
    let level = match q.level.as_deref().filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => Some(
            EventLevel::parse(l)
                .ok_or_else(|| AppError::BadRequest(format!("level must be info, warn or error, not {l:?}")))?,
        ),
    };
    let (events, total) = db::runs::events(&state.db, run.id, level, q.q.as_deref(), log_page, EVENTS_PER_PAGE).await?;
    Ok(HttpResponse::Ok().json(json!({ "events": events, "total": total })))
}

fn run_row(r: &entity::job_runs::Model) -> view::RunRow {
    view::RunRow {
        id: r.id,
        trigger: r.trigger,
        started_at: r.started_at,
        finished_at: r.finished_at,
        outcome: r.outcome,
        error: r.error.clone(),
        api_requests: r.api_requests,
        rate_limit_wait_ms: r.rate_limit_wait_ms,
        duration: duration(r),
        counts: r.counts.clone(),
    }
}
