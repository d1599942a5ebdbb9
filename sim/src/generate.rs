//! Deterministic dataset generator (same seed, size and anchor → same data).
//!
//! * `generate` builds a whole dataset: GitHub first (pull requests, merges, deploy trains),
//!   then Jira (issues with lifecycles, plus incidents opened after production deployments),
//!   then the GitHub texts that mention Jira keys and the workflow runs.
//! * `advance` moves the simulated clock and makes things happen in the new window.
//! * `check_invariants` lists every broken promise of a dataset (tests use it; so can others).
//!
//! Jira timestamps have millisecond precision, GitHub timestamps whole seconds; nothing is later
//! than `Dataset::now`. Each part draws from its own random stream, seeded from the seed.

mod advance;
mod check;
mod github;
mod jira;
mod text;
mod util;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::Dataset;

pub use check::check_invariants;

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

pub fn generate(seed: u64, size: &SizeOptions, anchor: DateTime<Utc>) -> Dataset {
    let now = util::ms_of(anchor);
    let n_projects = jira::number_of_projects(size);
    let timeline = github::timeline(seed, size, now, n_projects);
    let jira = jira::generate(seed, size, now, &timeline.incidents);
    let mut github = timeline.data;
    github::finish(seed, &mut github, &jira, now);
    Dataset {
        now: anchor,
        jira,
        github,
    }
}

/// Moves `data.now` forward by `minutes` and lets the teams work in that window: new and
/// progressing issues, new and updated pull requests, merges, deployments (and the incidents
/// some of them cause). Deterministic in (seed, old `now`, minutes).
pub fn advance(data: &mut Dataset, seed: u64, minutes: u32) -> AdvanceSummary {
    advance::advance(data, seed, minutes)
}
