//! Analytics pages (`/analytics/{dora,prs,flow}`) and their JSON (`/api/v1/metrics/…`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;

use super::{ApiResult, PageResult, html};
use crate::analytics::filters::Filters;
use crate::analytics::{Choices, dora, flow, prs};
use crate::auth::CurrentUser;
use crate::db;
use crate::error::AppError;
use crate::startup::AppState;
use crate::views::analytics as view;
use crate::views::layout::{self, Nav};

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

pub async fn dora_api(state: web::Data<AppState>, _user: CurrentUser, req: HttpRequest) -> ApiResult {
    let report = dora::report(&state.db, &state.analytics, filters(&state, &req).await?).await?;
    Ok(HttpResponse::Ok().json(dora::to_json(&report)))
}

pub async fn prs_api(state: web::Data<AppState>, _user: CurrentUser, req: HttpRequest) -> ApiResult {
    let report = prs::report(&state.db, &state.analytics, filters(&state, &req).await?).await?;
    Ok(HttpResponse::Ok().json(prs::to_json(&report)))
}

pub async fn flow_api(state: web::Data<AppState>, _user: CurrentUser, req: HttpRequest) -> ApiResult {
    let report = flow::report(&state.db, &state.analytics, filters(&state, &req).await?).await?;
    Ok(HttpResponse::Ok().json(flow::to_json(&report)))
}
