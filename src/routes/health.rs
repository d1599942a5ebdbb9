use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::auth::csrf;
use crate::db;
use crate::startup::AppState;

/// Liveness: the process answers. No dependencies, no auth.
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// How long readiness waits for the database: probes have short timeouts (Kubernetes: 1 s by
/// default), and with the database gone each query waited for the pool's 5 s acquire timeout,
/// so a probe took ~10 s to say 503 (seen in the database-outage drill).
const READY_DB_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(900);

/// Readiness: the database answers and carries every migration this binary knows.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = match tokio::time::timeout(READY_DB_TIMEOUT, db::ping(&state.db)).await {
        Ok(Ok(latency)) => json!({ "status": "ok", "latency_ms": latency.as_secs_f64() * 1000.0 }),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            json!({ "status": "unreachable" })
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = READY_DB_TIMEOUT.as_millis() as u64,
                "readiness: database did not answer"
            );
            json!({ "status": "unreachable", "error": format!("no answer within {} ms", READY_DB_TIMEOUT.as_millis()) })
        }
    };
    let db_ok = database["status"] == "ok";
    let migrations = if db_ok {
        match db::pending_migrations(&state.db).await {
            Ok(0) => json!({ "status": "ok" }),
            Ok(n) => json!({ "status": "pending", "pending": n }),
            Err(_) => json!({ "status": "unknown" }),
        }
    } else {
        json!({ "status": "unknown" })
    };
    let ready = db_ok && migrations["status"] == "ok";
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "database": database,
        "migrations": migrations,
        "replica": replica(&state, db_ok).await,
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// This process's id and role; among replicas on PostgreSQL also the lease holder.
/// A follower is ready: it serves pages and forwards controls to the leader.
async fn replica(state: &AppState, db_ok: bool) -> serde_json::Value {
    let l = state.orchestrator.leadership();
    if !l.is_replicated() {
        return json!({ "id": l.id, "role": "single", "leader": l.id });
    }
    // The lease holder is in the database: not asked when it just failed to answer.
    let lease = if db_ok {
        tokio::time::timeout(READY_DB_TIMEOUT, db::leader::current(&state.db))
            .await
            .ok()
    } else {
        None
    };
    let holder = lease
        .and_then(Result::ok)
        .flatten()
        .filter(|lease| lease.valid)
        .and_then(|lease| lease.holder);
    json!({
        "id": l.id,
        "role": if l.is_leader() { "leader" } else { "follower" },
        "leader": holder,
    })
}

/// Prometheus text; with `METRICS_TOKEN` set it needs `Authorization: Bearer <token>`.
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(expected) = &state.metrics_token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !csrf::matches(expected.expose_secret(), given) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .json(json!({ "error": "metrics need a bearer token" }));
        }
    }
    crate::telemetry::record_heap();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
