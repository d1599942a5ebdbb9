//! Analytics pages (`/analytics/{dora,prs,flow}`) and their JSON (`/api/v1/metrics/…`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;

use super::openapi::ApiError;
use super::{ApiResult, PageResult, html};
use crate::analytics::filters::Filters;
use crate::analytics::{Choices, dora, flow, prs};
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
    let report = flow::report(&state.db, &state.analytics, filters(&state, &req).await?).await?;
    let body = view::flow(&report, &Choices::load(&state.db).await?);
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
    let report = dora::report(&state.db, &state.analytics, filters(&state, &req).await?).await?;
    Ok(HttpResponse::Ok().json(dora::to_json(&report)))
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
    let report = prs::report(&state.db, &state.analytics, filters(&state, &req).await?).await?;
    Ok(HttpResponse::Ok().json(prs::to_json(&report)))
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
    let report = flow::report(&state.db, &state.analytics, filters(&state, &req).await?).await?;
    Ok(HttpResponse::Ok().json(flow::to_json(&report)))
}
