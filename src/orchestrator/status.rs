//! What live views are told on connecting and when health changes: every job's status and the
//! system health, read from the job rows and the integrations.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use super::OrchestratorHandle;
use super::events::{self, Event, Health};
use crate::db;

/// How often system health is re-checked; a change is pushed to every listener.
pub const HEALTH_EVERY: Duration = Duration::from_secs(5);

/// Every job's status and the system health, as events (what a new listener needs).
pub async fn snapshot(db: &DatabaseConnection) -> Vec<Event> {
    let mut out = Vec::new();
    if let Ok(rows) = db::jobs::all(db).await {
        out.extend(rows.iter().map(|row| events::job_status(row, &rows)));
    }
    out.push(health(db).await);
    out
}

/// Database reachable; integrations healthy (every active one's last test passed), warning
/// (one never tested), error (one failed), or none to check.
pub async fn health(db: &DatabaseConnection) -> Event {
    let database = if db::ping(db).await.is_ok() {
        Health::Healthy
    } else {
        Health::Error
    };
    let integrations = match db::integrations::list(db).await {
        Ok(rows) => {
            let active: Vec<_> = rows.iter().filter(|r| r.active).collect();
            if active.is_empty() {
                Health::None
            } else if active.iter().any(|r| r.last_test_ok == Some(false)) {
                Health::Error
            } else if active.iter().any(|r| r.last_test_ok.is_none()) {
                Health::Warning
            } else {
                Health::Healthy
            }
        }
        Err(_) => Health::Error,
    };
    Event::SystemHealth { database, integrations }
}

/// Re-checks system health every [`HEALTH_EVERY`] and broadcasts it when it changed, until
/// shutdown.
pub async fn push_health(handle: OrchestratorHandle, shutdown: CancellationToken) {
    let mut last: Option<Event> = None;
    let mut every = tokio::time::interval(HEALTH_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let now = handle.system_health().await;
        if last.as_ref() != Some(&now) {
            handle.publish(now.clone());
            last = Some(now);
        }
    }
}
