//! Deterministic dataset generator (same seed, size and anchor → same data).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{Dataset, GithubData, JiraData};

/// How much data to generate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SizeOptions {
    pub projects: usize,
    pub issues: usize,
    pub repos: usize,
    pub prs: usize,
    /// Days of history before the anchor.
    pub days: u32,
}

impl SizeOptions {
    /// Tests: a few hundred items.
    pub fn small() -> Self {
        Self {
            projects: 2,
            issues: 200,
            repos: 3,
            prs: 120,
            days: 90,
        }
    }

    /// Benchmarks: the volumes of the performance targets.
    pub fn large() -> Self {
        Self {
            projects: 10,
            issues: 100_000,
            repos: 20,
            prs: 20_000,
            days: 730,
        }
    }

    pub fn named(name: &str) -> Option<Self> {
        match name {
            "small" => Some(Self::small()),
            "medium" => Some(Self::medium()),
            "large" => Some(Self::large()),
            _ => None,
        }
    }

    /// The demo: enough for every chart to have a shape.
    pub fn medium() -> Self {
        Self {
            projects: 3,
            issues: 3_000,
            repos: 6,
            prs: 1_500,
            days: 365,
        }
    }
}

/// What `advance` changed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AdvanceSummary {
    pub issues_created: usize,
    pub issues_updated: usize,
    pub pulls_created: usize,
    pub pulls_updated: usize,
    pub deployments_created: usize,
}

pub fn generate(_seed: u64, _size: &SizeOptions, anchor: DateTime<Utc>) -> Dataset {
    Dataset {
        now: anchor,
        jira: JiraData {
            user_time_zone: "UTC".into(),
            ..JiraData::default()
        },
        github: GithubData {
            org: "acme".into(),
            ..GithubData::default()
        },
    }
}

pub fn advance(data: &mut Dataset, _seed: u64, minutes: u32) -> AdvanceSummary {
    data.now += chrono::Duration::minutes(i64::from(minutes));
    AdvanceSummary::default()
}
