//! Analytics: loads the precomputed rows, applies the metric formulas of `domain::metrics`
//! to the filtered window, and hands reports to the pages and the JSON API.

pub mod dora;
pub mod filters;
pub mod flow;
pub mod prs;

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;

/// What the reports read from the precomputed rows, kept between requests in this process and
/// reloaded when the rows are rebuilt (here or by another process: the build stamp changes).
/// The flow report reads every issue's flow facts; without this each request would load and
/// parse them all again.
#[derive(Default)]
pub struct Cache {
    flow: tokio::sync::Mutex<Option<(String, Arc<Vec<flow::FlowFacts>>)>>,
}

impl Cache {
    /// Every issue's flow facts from the current build.
    pub async fn flow_facts(&self, db: &DatabaseConnection) -> Result<Arc<Vec<flow::FlowFacts>>, DbErr> {
        let stamp = crate::db::analytics::build_stamp(db).await?;
        let mut slot = self.flow.lock().await;
        if let Some((s, facts)) = slot.as_ref()
            && *s == stamp
        {
            return Ok(facts.clone());
        }
        let rows = crate::db::analytics::issue_flows(db, &[]).await?;
        let facts = Arc::new(flow::FlowFacts::from_rows(rows));
        *slot = Some((stamp, facts.clone()));
        Ok(facts)
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
