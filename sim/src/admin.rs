//! Simulator controls (DESIGN §11): ground truth, time travel, request log, knobs.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::backend::BackendState;
use super::generate;
use super::server::Stats;
use super::state::{SimConfig, SimState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sim/stats", web::get().to(stats))
        .route("/sim/stats/reset", web::post().to(reset_stats))
        .route("/sim/dataset", web::get().to(dataset))
        .route("/sim/advance", web::post().to(advance))
        .route("/sim/config", web::get().to(get_config))
        .route("/sim/config", web::post().to(set_config))
        .route("/sim/reset-limits", web::post().to(reset_limits));
}

async fn stats(stats: web::Data<Stats>, backend: web::Data<BackendState>, state: web::Data<SimState>) -> HttpResponse {
    let requests = stats.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let total: u64 = requests
        .iter()
        .filter(|(route, _)| !route.contains(" /admin"))
        .flat_map(|(_, by_status)| by_status.values())
        .sum();
    HttpResponse::Ok().json(
        json!({ "requests": requests, "total": total, "backend_sessions": backend.live_sessions(),
                      "max_in_flight": state.max_in_flight() }),
    )
}

async fn reset_stats(stats: web::Data<Stats>, state: web::Data<SimState>) -> HttpResponse {
    stats.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    state.reset_max_in_flight();
    HttpResponse::NoContent().finish()
}

/// The whole dataset as JSON: what a complete sync must end up with.
async fn dataset(state: web::Data<SimState>) -> HttpResponse {
    let data = state.data();
    match serde_json::to_vec(&*data) {
        Ok(body) => HttpResponse::Ok().content_type("application/json").body(body),
        Err(e) => HttpResponse::InternalServerError().json(json!({ "error": e.to_string() })),
    }
}

#[derive(Deserialize)]
struct AdvanceQuery {
    minutes: u32,
}

/// Moves the simulated clock forward, creating and updating issues and pull requests.
async fn advance(state: web::Data<SimState>, q: web::Query<AdvanceQuery>) -> HttpResponse {
    let seed = state.seed;
    let summary = {
        let mut data = state.data_mut();
        generate::advance(&mut data, seed, q.minutes)
    };
    let now = state.data().now;
    HttpResponse::Ok().json(json!({ "now": now, "changes": summary }))
}

async fn get_config(state: web::Data<SimState>) -> HttpResponse {
    HttpResponse::Ok().json(state.config())
}

/// Replaces the knobs; fields left out keep their defaults.
async fn set_config(state: web::Data<SimState>, body: web::Json<SimConfig>) -> HttpResponse {
    let cfg = body.into_inner();
    if !(0.0..=1.0).contains(&cfg.fault_rate)
        || !(0.0..=1.0).contains(&cfg.malformed_rate)
        || !(0.0..=1.0).contains(&cfg.reset_rate)
    {
        return HttpResponse::BadRequest().json(json!({ "error": "rates must be between 0 and 1" }));
    }
    state.set_config(cfg.clone());
    HttpResponse::Ok().json(cfg)
}

async fn reset_limits(state: web::Data<SimState>) -> HttpResponse {
    state.reset_limits();
    HttpResponse::NoContent().finish()
}
