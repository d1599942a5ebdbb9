//! Runs one job in its own task; a second task awaits it so a panic becomes a failed run
//! instead of a dead orchestrator (the panic boundary).

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;

use super::handle::Command;
use crate::crypto::Vault;
use crate::domain::job::JobType;
use crate::integrations::control::{Interrupted, RunContext};
use crate::integrations::http::Outbound;
use crate::integrations::{github, jira};

/// What the jobs need besides their run context.
#[derive(Clone)]
pub struct JobDeps {
    pub db: DatabaseConnection,
    pub vault: Arc<Vault>,
    pub outbound: Outbound,
    /// The analytics pages' snapshot, loaded again after a sync's rebuild.
    pub analytics: Arc<crate::analytics::Cache>,
}

#[derive(Clone, Debug)]
pub enum Outcome {
    Success,
    Failed(String),
    /// Stopped cleanly because the upstream budget is spent; retry when it resets.
    RateLimited(String, chrono::DateTime<chrono::Utc>),
    Interrupted(Interrupted),
}

pub fn launch(deps: JobDeps, job: JobType, run_id: i64, ctx: RunContext, tx: mpsc::Sender<Command>) {
    tokio::spawn(async move {
        let inner = tokio::spawn(run(deps, job, ctx));
        let outcome = match inner.await {
            Ok(o) => o,
            Err(e) if e.is_panic() => Outcome::Failed(format!("the job crashed: {e}")),
            Err(e) => Outcome::Failed(format!("the job was cancelled: {e}")),
        };
        let _ = tx.send(Command::Finished { job, run_id, outcome }).await;
    });
}

async fn run(deps: JobDeps, job: JobType, ctx: RunContext) -> Outcome {
    let result = match job {
        JobType::JiraSync => {
            let d = jira::sync::Deps {
                db: &deps.db,
                vault: &deps.vault,
                outbound: deps.outbound,
            };
            jira::sync::run(&d, &ctx)
                .await
                .map_err(|e| (e.interrupted(), e.to_string()))
        }
        JobType::GithubSync => {
            let d = github::sync::Deps {
                db: &deps.db,
                vault: &deps.vault,
                outbound: deps.outbound,
            };
            match github::sync::run(&d, &ctx).await {
                Err(e) if e.reset_at().is_some() => {
                    return Outcome::RateLimited(e.to_string(), e.reset_at().unwrap_or_else(chrono::Utc::now));
                }
                other => other.map_err(|e| (e.interrupted(), e.to_string())),
            }
        }
    };
    if result.is_ok() {
        // The analytics pages would rebuild lazily anyway; doing it now keeps the first view fast.
        if let Err(e) = deps.analytics.refresh(&deps.db).await {
            tracing::warn!(error = %e, "analytics precompute failed after the sync");
        }
    }
    match result {
        Ok(()) => Outcome::Success,
        Err((Some(i), _)) => Outcome::Interrupted(i),
        Err((None, message)) => Outcome::Failed(message),
    }
}
