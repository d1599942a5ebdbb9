//! Analytics pages (`/analytics/{dora,prs,flow}`) and their JSON (`/api/v1/metrics/…`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;

use super::openapi::ApiError;
use super::{ApiResult, PageResult, csv, html};
use crate::analytics::filters::Filters;
use crate::analytics::{Choices, FlowInputs, Rows, aging, cfd, dora, flow, forecast, prs};
use crate::auth::CurrentUser;
use crate::db;
use crate::error::AppError;
use crate::startup::AppState;
use crate::views::analytics as view;
use crate::views::layout::{self, Nav};

/// The query of every metrics API, as [`Filters::parse`] reads it (documentation for the
/// OpenAPI document; lists repeat the key or separate values by commas).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MetricsQuery {
    /// `30`, `90`, `180`, `365` (days up to today) or `custom` (then `from` and `to`); default 90.
    range: Option<String>,
    /// First day of the window, `YYYY-MM-DD` (UTC, inclusive).
    from: Option<String>,
    /// Last day of the window, `YYYY-MM-DD` (UTC, inclusive); at most 1,098 days after `from`.
    to: Option<String>,
    /// Repositories (`owner/name`); none means all.
    repositories: Option<String>,
    /// Jira project keys; none means all.
    projects: Option<String>,
    /// Pull-request authors (logins).
    authors: Option<String>,
    /// Jira issue types.
    issue_types: Option<String>,
    /// Work categories (`FEATURE`, `BUG`, `INCIDENT`, `TASK`, …).
    categories: Option<String>,
    /// A team's id: exactly its repositories and projects.
    team: Option<i64>,
    /// DORA benchmark edition for the tiers: `2023` (default) or `2024`.
    benchmark: Option<String>,
    /// `csv`: the page's drill-down list, every row, as a CSV download (DORA: deployments;
    /// pull requests; flow: issues).
    format: Option<String>,
}

/// The query's filters; `team=ID` becomes exactly the team's repositories and projects.
async fn filters(state: &AppState, req: &HttpRequest) -> Result<Filters, AppError> {
    let mut f = Filters::parse(req.query_string(), Utc::now().date_naive()).map_err(AppError::BadRequest)?;
    if let Some(id) = f.team {
        let team = db::teams::get(&state.db, id)
            .await?
            .ok_or_else(|| AppError::BadRequest(format!("there is no team {id}")))?;
        f.scope_to(db::teams::names(&team.repositories), db::teams::names(&team.projects));
    }
    Ok(f)
}

pub async fn index() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/analytics/dora"))
        .finish()
}

/// What the flow page's forecasting asks: "how many in `forecast_days`" (default 14), "when
/// will `forecast_items` be done" (default 10), over the 90 days up to the window's end, and
/// the aging's instant (`as_of`, default now).
struct Asks {
    how_many: forecast::ForecastQuery,
    when: forecast::ForecastQuery,
    as_of: Option<chrono::DateTime<Utc>>,
}

impl Asks {
    fn parse(f: &Filters, query: &str) -> Result<Self, AppError> {
        let mut days = "14".to_string();
        let mut items = "10".to_string();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "forecast_days" => days = v.into_owned(),
                "forecast_items" => items = v.into_owned(),
                _ => {}
            }
        }
        let ask = |q: String| forecast::ForecastQuery::parse(&q, f).map_err(AppError::BadRequest);
        Ok(Self {
            how_many: ask(format!("days={}", urlencode(&days)))?,
            when: ask(format!("items={}", urlencode(&items)))?,
            as_of: aging::parse_as_of(query).map_err(AppError::BadRequest)?,
        })
    }
}

/// The flow page's sections that read only the snapshot (no database).
struct Charts {
    cfd: cfd::Cfd,
    scatter: forecast::Scatter,
    how_many: forecast::ForecastAnswer,
    when: forecast::ForecastAnswer,
    distribution: forecast::Distribution,
}

impl Charts {
    fn compute(inputs: &FlowInputs, f: &Filters, asks: &Asks) -> Self {
        Self {
            cfd: cfd::cfd(inputs, f),
            scatter: forecast::scatter(inputs, f, forecast::Labelled::Outliers),
            how_many: forecast::forecast(inputs, f, &asks.how_many),
            when: forecast::forecast(inputs, f, &asks.when),
            distribution: forecast::distribution(inputs, f),
        }
    }
}

fn urlencode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

pub async fn dora_page(state: web::Data<AppState>, user: CurrentUser, req: HttpRequest) -> PageResult {
    let report = dora::report(&state.db, &state.analytics, filters(&state, &req).await?).await?;
    let body = view::dora(&report, &Choices::load(&state.db).await?);
    Ok(html(
        StatusCode::OK,
        layout::page("DORA metrics", &user, Nav::Analytics, body),
    ))
}

pub async fn prs_page(state: web::Data<AppState>, user: CurrentUser, req: HttpRequest) -> PageResult {
    let report = prs::report(&state.db, &state.analytics, filters(&state, &req).await?).await?;
    let body = view::prs(&report, &Choices::load(&state.db).await?);
    Ok(html(
        StatusCode::OK,
        layout::page("Pull requests", &user, Nav::Analytics, body),
    ))
}

pub async fn flow_page(state: web::Data<AppState>, user: CurrentUser, req: HttpRequest) -> PageResult {
    let f = filters(&state, &req).await?;
    let asks = Asks::parse(&f, req.query_string())?;
    // One snapshot, project list and step order for every section of the page.
    let inputs = std::sync::Arc::new(FlowInputs::load(&state.db, &state.analytics).await?);
    // The page's two halves take about as long each: the charts and the aging items, which
    // read only the snapshot, on a blocking thread; the report (which reads its rows' summaries
    // from the database) on this one. At 500k issues a year's page took 85 ms for the report
    // and 60 ms for the charts; the aging (40 ms) ran after the report until it moved here.
    let (as_of, now) = (asks.as_of, Utc::now());
    let charts = {
        let (inputs, f) = (inputs.clone(), f.clone());
        web::block(move || {
            let aging = aging::items(&inputs, &f, as_of.unwrap_or(now));
            (Charts::compute(&inputs, &f, &asks), aging)
        })
    };
    let report = flow::report_of(&state.db, &inputs, f.clone(), (Rows::Shown, flow::Detail::Page), now);
    let (charts, report) = futures_util::join!(charts, report);
    let ((charts, mut aging), report) = (charts.map_err(|e| AppError::Internal(e.into()))?, report?);
    aging::add_summaries(&state.db, &mut aging, Rows::Shown.limit()).await?;
    let fc = view::Forecasting {
        aging,
        as_of_given: as_of.is_some(),
        cfd: charts.cfd,
        scatter: charts.scatter,
        how_many: charts.how_many,
        when: charts.when,
        distribution: charts.distribution,
        today: Utc::now().date_naive(),
    };
    let body = view::flow(&report, &Choices::load(&state.db).await?, &fc);
    Ok(html(
        StatusCode::OK,
        layout::page("Flow metrics", &user, Nav::Analytics, body),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/metrics/dora",
    tag = "metrics",
    summary = "DORA metrics for the window, with the previous window, the trend and the tiers",
    params(MetricsQuery),
    responses((status = 200, description = "The DORA report", body = Object), (status = 400, description = "A malformed body or query", body = ApiError)),
)]
pub async fn dora_api(state: web::Data<AppState>, _user: CurrentUser, req: HttpRequest) -> ApiResult {
    let f = filters(&state, &req).await?;
    if csv::wanted_in(req.query_string()) {
        let report = dora::report_rows(&state.db, &state.analytics, f, Rows::All).await?;
        return Ok(deployments_csv(&report));
    }
    let report = dora::report(&state.db, &state.analytics, f).await?;
    Ok(HttpResponse::Ok().json(dora::to_json(&report)))
}

/// Every deployment of the window (the DORA page's list), newest first.
fn deployments_csv(r: &dora::DoraReport) -> HttpResponse {
    const HEADER: &[&str] = &[
        "deployed_at",
        "repository",
        "environment",
        "pull_requests",
        "incidents",
        "incident_links",
        "status",
        "reverted_prs",
        "rework",
        "rework_reasons",
    ];
    let rows = r
        .deployments
        .iter()
        .map(|d| {
            vec![
                d.deployed_at.to_rfc3339(),
                d.repository.clone(),
                csv::opt(d.environment.as_ref()),
                d.pull_requests.to_string(),
                d.incidents
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                d.incidents
                    .iter()
                    .map(|(_, u)| u.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                d.status.clone(),
                d.reverted
                    .iter()
                    .map(|rv| format!("#{} reverted by #{}", rv.pr.number, rv.by.number))
                    .collect::<Vec<_>>()
                    .join("; "),
                (!d.rework.is_empty()).to_string(),
                d.rework
                    .iter()
                    .map(|x| format!("#{}: {}", x.pr.number, rework_reasons(&x.reasons)))
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect();
    csv::rows(&format!("deployments-{}.csv", r.filters.window.from), HEADER, rows)
}

/// A pull request's rework reasons in a CSV cell: `incident OPS-1, revert, hotfix hotfix/x`.
fn rework_reasons(reasons: &[dora::signals::Why]) -> String {
    use dora::signals::Why;
    reasons
        .iter()
        .map(|w| match w {
            Why::Incident { key, .. } => format!("incident {key}"),
            Why::Revert => "revert".into(),
            Why::Hotfix { branch } => format!("hotfix {branch}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[utoipa::path(
    get,
    path = "/api/v1/metrics/prs",
    tag = "metrics",
    summary = "Pull-request stage times for PRs merged in the window",
    params(MetricsQuery),
    responses((status = 200, description = "The pull-request report", body = Object), (status = 400, description = "A malformed body or query", body = ApiError)),
)]
pub async fn prs_api(state: web::Data<AppState>, _user: CurrentUser, req: HttpRequest) -> ApiResult {
    let f = filters(&state, &req).await?;
    if csv::wanted_in(req.query_string()) {
        let report = prs::report_rows(&state.db, &state.analytics, f, Rows::All).await?;
        return Ok(pull_requests_csv(&report));
    }
    let report = prs::report(&state.db, &state.analytics, f).await?;
    Ok(HttpResponse::Ok().json(prs::to_json(&report)))
}

/// Every pull request merged in the window (the page's list), newest first.
fn pull_requests_csv(r: &prs::PrReport) -> HttpResponse {
    const HEADER: &[&str] = &[
        "repository",
        "number",
        "title",
        "url",
        "author",
        "merged_at",
        "coding_hours",
        "pickup_hours",
        "review_hours",
        "deploy_hours",
        "size",
    ];
    let rows = r
        .rows
        .iter()
        .map(|p| {
            vec![
                p.repository.clone(),
                p.number.to_string(),
                p.title.clone(),
                p.url.clone(),
                csv::opt(p.author.as_ref()),
                csv::opt(p.merged_at.map(|t| t.to_rfc3339())),
                csv::hours(p.coding),
                csv::hours(p.pickup),
                csv::hours(p.review),
                csv::hours(p.deploy),
                p.size.to_string(),
            ]
        })
        .collect();
    csv::rows(&format!("pull-requests-{}.csv", r.filters.window.from), HEADER, rows)
}

#[utoipa::path(
    get,
    path = "/api/v1/metrics/flow",
    tag = "metrics",
    summary = "Flow metrics for issues completed in the window",
    params(MetricsQuery),
    responses((status = 200, description = "The flow report", body = Object), (status = 400, description = "A malformed body or query", body = ApiError)),
)]
pub async fn flow_api(state: web::Data<AppState>, _user: CurrentUser, req: HttpRequest) -> ApiResult {
    let f = filters(&state, &req).await?;
    if csv::wanted_in(req.query_string()) {
        let report = flow::report_rows(&state.db, &state.analytics, f, Rows::All).await?;
        return Ok(issues_csv(&report));
    }
    let report = flow::report(&state.db, &state.analytics, f).await?;
    Ok(HttpResponse::Ok().json(flow::to_json(&report)))
}

/// Every issue completed in the window (the page's list), newest first.
fn issues_csv(r: &flow::FlowReport) -> HttpResponse {
    const HEADER: &[&str] = &[
        "key",
        "summary",
        "url",
        "issue_type",
        "work_category",
        "done_at",
        "lead_time_hours",
        "cycle_time_hours",
        "backward_moves",
    ];
    let rows = r
        .rows
        .iter()
        .map(|i| {
            vec![
                i.key.clone(),
                i.summary.clone(),
                i.url.clone(),
                i.issue_type.clone(),
                i.work_category.clone(),
                csv::opt(i.done_at.map(|t| t.to_rfc3339())),
                csv::hours(i.lead),
                csv::hours(i.cycle),
                i.rework.to_string(),
            ]
        })
        .collect();
    csv::rows(&format!("issues-{}.csv", r.filters.window.from), HEADER, rows)
}

#[utoipa::path(
    get,
    path = "/api/v1/metrics/flow/scatter",
    tag = "metrics",
    summary = "Cycle-time scatter: a point per issue completed in the window, and the p50/p70/p85/p95 lines",
    params(MetricsQuery),
    responses((status = 200, description = "`{\"points\":[{\"key\",\"url\",\"completed_at\",\"cycle_time_hours\"}…],\"percentiles_hours\":{\"p50\",\"p70\",\"p85\",\"p95\"}}`", body = Object), (status = 400, description = "A malformed query", body = ApiError)),
)]
pub async fn scatter_api(state: web::Data<AppState>, _user: CurrentUser, req: HttpRequest) -> ApiResult {
    let f = filters(&state, &req).await?;
    let inputs = FlowInputs::load(&state.db, &state.analytics).await?;
    let s = forecast::scatter(&inputs, &f, forecast::Labelled::All);
    Ok(HttpResponse::Ok().json(forecast::scatter_json(&s)))
}

/// The forecast's own parameters, beside the filters (documentation for the OpenAPI document).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ForecastParams {
    /// First day of the throughput history (default: 89 days before `history_to`).
    history_from: Option<String>,
    /// Last day of the throughput history (default: the window's last day).
    history_to: Option<String>,
    /// Ask "how many items in the next D days" (1–3650; the question when none is asked, D = 14).
    days: Option<u32>,
    /// Ask "when will N items be done" (in days from now).
    items: Option<u32>,
    /// Trials (1–100,000; default 10,000).
    trials: Option<u32>,
    /// The generator's seed (default 1): the same seed and history give the same answer.
    seed: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/metrics/flow/forecast",
    tag = "metrics",
    summary = "Monte Carlo forecast from daily throughput: how many items in D days, or when N items are done, at 50/85/95 %",
    params(MetricsQuery, ForecastParams),
    responses((status = 200, description = "`{\"trials\",\"seed\",\"history_days\",\"throughput_per_day\":{\"mean\"},\"how_many\":{\"days\",\"p50\",\"p85\",\"p95\",\"histogram\"}}` (or `\"when\":{\"items\",…}`, in days)", body = Object), (status = 400, description = "A malformed query", body = ApiError)),
)]
pub async fn forecast_api(state: web::Data<AppState>, _user: CurrentUser, req: HttpRequest) -> ApiResult {
    let f = filters(&state, &req).await?;
    let q = forecast::ForecastQuery::parse(req.query_string(), &f).map_err(AppError::BadRequest)?;
    let inputs = FlowInputs::load(&state.db, &state.analytics).await?;
    let a = forecast::forecast(&inputs, &f, &q);
    Ok(HttpResponse::Ok().json(forecast::forecast_json(&a)))
}

/// The instant of the aging view (documentation for the OpenAPI document).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AgingParams {
    /// The instant, RFC 3339 (`2026-03-05T12:00:00Z`); a date-time without offset is UTC; a
    /// date `YYYY-MM-DD` means the end of that UTC day. Default: now.
    as_of: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/metrics/flow/aging",
    tag = "metrics",
    summary = "Aging work in progress as of an instant: each issue in an IN_PROGRESS or WAITING step then, its age, and whether it is past the p85 of the window's cycle times",
    params(MetricsQuery, AgingParams),
    responses((status = 200, description = "`{\"as_of\",\"items\":[{\"key\",\"url\",\"step\",\"age_hours\",\"at_risk\"}…],\"percentiles_hours\":{\"p50\",\"p70\",\"p85\",\"p95\"}}` (items by step in flow order, oldest first)", body = Object), (status = 400, description = "A malformed query (`as_of` included)", body = ApiError)),
)]
pub async fn aging_api(state: web::Data<AppState>, _user: CurrentUser, req: HttpRequest) -> ApiResult {
    let f = filters(&state, &req).await?;
    let as_of = aging::parse_as_of(req.query_string()).map_err(AppError::BadRequest)?;
    let inputs = FlowInputs::load(&state.db, &state.analytics).await?;
    let a = aging::aging(&state.db, &inputs, &f, as_of.unwrap_or_else(Utc::now), None).await?;
    Ok(HttpResponse::Ok().json(aging::aging_json(&a)))
}

#[utoipa::path(
    get,
    path = "/api/v1/metrics/flow/cfd",
    tag = "metrics",
    summary = "Cumulative flow: at the end of each UTC day of the window, the issues counted by the step they stood in; arrivals and departures per week; Little's law",
    params(MetricsQuery),
    responses((status = 200, description = "`{\"steps\":[step names in flow order],\"days\":[{\"date\",\"counts\":{\"<step>\":N,…},\"wip\"}…],\"weeks\":[{\"from\",\"to\",\"arrivals\",\"departures\"}…],\"littles_law\":{…}}`", body = Object), (status = 400, description = "A malformed query", body = ApiError)),
)]
pub async fn cfd_api(state: web::Data<AppState>, _user: CurrentUser, req: HttpRequest) -> ApiResult {
    let f = filters(&state, &req).await?;
    let inputs = FlowInputs::load(&state.db, &state.analytics).await?;
    let c = cfd::cfd(&inputs, &f);
    Ok(HttpResponse::Ok().json(cfd::cfd_json(&c)))
}
