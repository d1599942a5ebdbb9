//! Analytics: loads the precomputed rows, applies the metric formulas of `domain::metrics`
//! to the filtered window, and hands reports to the pages and the JSON API.

pub mod dora;
pub mod filters;
pub mod flow;
pub mod prs;

use std::sync::Arc;

use futures_util::StreamExt;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait};
use serde::Serialize;

/// What the reports read from the precomputed rows, kept between requests in this process and
/// reloaded when the rows are rebuilt (here or by another process: the build stamp changes).
/// Without it each request would load (and the flow report parse) every issue's flow facts and
/// two years of PR stage times and deployments again: at 100k issues and 20k PRs that was most
/// of a page's time (docs/decisions.md, "Analytics snapshot").
#[derive(Default)]
pub struct Cache {
    snapshot: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
}

/// One build of the precomputed rows, as the reports read them.
pub struct Snapshot {
    /// [`crate::db::analytics::Freshness::build`] of the rows it was read from.
    pub build: String,
    /// Every issue's flow facts, by first DONE entry (open issues first), then id.
    pub flow: Vec<flow::FlowFacts>,
    /// Every PR that was merged or deployed, ordered by merge time.
    pub prs: Vec<entity::pr_stage_times::Model>,
    /// Every successful production deployment, ordered by deployed time.
    pub deployments: Vec<entity::deployments::Model>,
}

impl Cache {
    /// Loads the snapshot of the current build now, so the first view after a sync does not
    /// wait for it (about 0.5–0.7 s at 100k issues).
    pub async fn load_current(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let build = crate::db::analytics::current_build(db).await?;
        self.snapshot(db, &build).await.map(|_| ())
    }

    /// The snapshot of build `build` (read from the database unless already held). Concurrent
    /// callers wait for one read.
    pub async fn snapshot(&self, db: &DatabaseConnection, build: &str) -> Result<Arc<Snapshot>, DbErr> {
        let mut slot = self.snapshot.lock().await;
        if let Some(s) = slot.as_ref()
            && s.build == build
        {
            return Ok(s.clone());
        }
        let started = std::time::Instant::now();
        // Streamed and converted row by row: the stored rows (with their step hours as JSON
        // values) all at once took ~10× the memory of the facts, and the allocator kept it.
        let mut flow = Vec::new();
        let mut names = flow::Names::default();
        let mut rows = entity::issue_flow_times::Entity::find().stream(db).await?;
        while let Some(row) = rows.next().await {
            flow.push(flow::FlowFacts::from_row(row?, &mut names));
        }
        drop(rows);
        flow.shrink_to_fit();
        // In completion order: a report reads a window's issues as one run of memory (read in
        // id order after sorting by completion, every fact was a cache miss: 2× slower).
        flow.sort_by_key(|f| (f.done_at, f.issue_id));
        let snapshot = Arc::new(Snapshot {
            build: build.to_string(),
            flow,
            prs: crate::db::analytics::merged_or_deployed_prs(db).await?,
            deployments: crate::db::analytics::production_deployments(db).await?,
        });
        tracing::info!(
            issues = snapshot.flow.len(),
            prs = snapshot.prs.len(),
            deployments = snapshot.deployments.len(),
            ms = started.elapsed().as_millis() as u64,
            "analytics snapshot loaded"
        );
        *slot = Some(snapshot.clone());
        Ok(snapshot)
    }
}

/// What the filter form offers: repositories (`owner/name`), projects (keys), issue types and
/// work categories.
#[derive(Clone, Debug, Default)]
pub struct Choices {
    pub repositories: Vec<String>,
    pub projects: Vec<String>,
}

impl Choices {
    pub async fn load(db: &DatabaseConnection) -> Result<Self, DbErr> {
        Ok(Self {
            repositories: crate::db::analytics::repository_choices(db)
                .await?
                .into_iter()
                .map(|r| r.1)
                .collect(),
            projects: crate::db::analytics::project_choices(db)
                .await?
                .into_iter()
                .map(|r| r.1)
                .collect(),
        })
    }
}

/// Why a number is missing and where to fix it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Missing {
    pub reason: String,
    /// Page that fixes it (`/integrations`, `/flow`), with a label for the link.
    pub fix: Option<(&'static str, &'static str)>,
}

impl Missing {
    pub fn new(reason: impl Into<String>, fix: Option<(&'static str, &'static str)>) -> Self {
        Self {
            reason: reason.into(),
            fix,
        }
    }
}

pub const FIX_INTEGRATIONS: Option<(&str, &str)> = Some(("/integrations", "Integrations"));
pub const FIX_FLOW: Option<(&str, &str)> = Some(("/flow", "Flow configuration"));

/// `Some(value)` or the reason it cannot be computed.
pub fn explained<T>(value: Option<T>, missing: impl FnOnce() -> Missing) -> (Option<T>, Option<Missing>) {
    match value {
        Some(v) => (Some(v), None),
        None => (None, Some(missing())),
    }
}
