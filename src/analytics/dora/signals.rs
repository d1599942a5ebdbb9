//! What makes a deployment rework and what fails it besides incidents, read for one report
//! (DESIGN §9): the shipped pull requests' reasons, the reverts (when an integration counts
//! them) and the failed production deployments (when an integration counts them).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;

use crate::db;
use crate::domain::metrics::rework::{Merged, ReworkReason, reverted_by, reverted_title, rework_reasons};

/// A pull request in a drill-down list, with its page.
#[derive(Clone, Debug, Serialize)]
pub struct PrRef {
    pub number: i32,
    pub title: String,
    pub url: String,
}

/// Why a shipped pull request is rework, as shown.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Why {
    /// It links to this incident (key, Jira link).
    Incident {
        key: String,
        url: String,
    },
    Revert,
    Hotfix {
        branch: String,
    },
}

/// A shipped pull request that makes its deployment rework, with every reason it has.
#[derive(Clone, Debug, Serialize)]
pub struct ReworkPr {
    pub pr: PrRef,
    pub reasons: Vec<Why>,
}

/// A shipped pull request reverted after its deployment was deployed.
#[derive(Clone, Debug, Serialize)]
pub struct Reverted {
    pub pr: PrRef,
    pub by: PrRef,
    pub merged_at: DateTime<Utc>,
}

/// The signals of the deployments of one report.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    /// Deployment → the shipped pull requests that make it rework.
    pub rework: HashMap<i64, Vec<ReworkPr>>,
    /// Deployment → its reverted pull requests (integrations that count reverts).
    pub reverted: HashMap<i64, Vec<Reverted>>,
    /// Failed production deployments (integrations that count failed statuses).
    pub failed_status: Vec<entity::deployments::Model>,
    /// Whether an integration in view counts a signal besides incidents.
    pub beyond_incidents: bool,
}

impl Signals {
    pub fn rework_ids(&self) -> HashSet<i64> {
        self.rework.keys().copied().collect()
    }

    /// Deployments failed by a signal other than incidents.
    pub fn failed_ids(&self) -> HashSet<i64> {
        self.reverted
            .keys()
            .copied()
            .chain(self.failed_status.iter().map(|d| d.id))
            .collect()
    }
}

/// The signals of the deployments `shipped` pull requests went out with (their deployment
/// deployed at or after `since`), in the repositories in view (`repositories`, empty = all);
/// `hints` are the snapshot's branches and revert titles of merged pull requests, `incidents`
/// the INCIDENT-category issues with their keys and links.
pub async fn load(
    db: &impl ConnectionTrait,
    shipped: &[&entity::pr_stage_times::Model],
    hints: &HashMap<i64, db::analytics::PullHint>,
    repositories: &[i64],
    incidents: &[(i64, db::analytics::IssueLabel)],
    since: DateTime<Utc>,
) -> Result<Signals, DbErr> {
    let settings = db::analytics::dora::github_settings(db).await?;
    let in_view = |id: &i64| repositories.is_empty() || repositories.contains(id);
    let urls = db::analytics::repository_urls(db).await?;
    let pr_ref = |repository: i64, number: i32, title: &str| PrRef {
        number,
        title: title.to_string(),
        url: urls
            .get(&repository)
            .map(|u| format!("{u}/{number}"))
            .unwrap_or_default(),
    };
    let glob_of = |repository: i64| {
        settings
            .get(&repository)
            .map_or(crate::domain::integration::DEFAULT_HOTFIX_BRANCH, |s| s.hotfix_glob())
    };
    // Candidates found by what makes them rework, in the snapshot (few are); only their facts
    // are read, not every shipped pull request's.
    let candidates: Vec<i64> = shipped
        .iter()
        .filter(|p| {
            hints.get(&p.pull_request_id).is_some_and(|h| {
                h.reverts || crate::domain::integration::glob_match(glob_of(p.repository_id), &h.head_ref)
            })
        })
        .map(|p| p.pull_request_id)
        .collect();
    let incident_keys: Vec<String> = incidents.iter().map(|(_, l)| l.key.clone()).collect();
    let (facts, keys) = db::analytics::dora::rework_candidates(db, since, &candidates, &incident_keys).await?;
    let labels: HashMap<i64, &db::analytics::IssueLabel> = incidents.iter().map(|(id, l)| (*id, l)).collect();
    let mut by_key: HashMap<&str, Vec<i64>> = HashMap::new();
    for (id, l) in &labels {
        by_key.entry(l.key.as_str()).or_default().push(*id);
    }
    let mut linked: HashMap<i64, Vec<i64>> = HashMap::new();
    for (pr, key) in keys {
        if let Some(issues) = by_key.get(key.as_str()) {
            let list = linked.entry(pr).or_default();
            list.extend(issues);
            list.sort_unstable();
            list.dedup();
        }
    }
    // The shipped stage rows of these pull requests (few: a map of every shipped one cost more
    // than the rest of the signals).
    let stage_of = |ids: HashSet<i64>| -> HashMap<i64, &&entity::pr_stage_times::Model> {
        shipped
            .iter()
            .filter(|p| ids.contains(&p.pull_request_id))
            .map(|p| (p.pull_request_id, p))
            .collect()
    };
    let stage = stage_of(facts.iter().map(|f| f.id).collect());
    let mut out = Signals::default();
    for f in &facts {
        let Some(deployment) = stage.get(&f.id).and_then(|s| s.deployment_id) else {
            continue;
        };
        let glob = glob_of(f.repository_id);
        let issues = linked.get(&f.id).map_or(&[][..], Vec::as_slice);
        let reasons: Vec<Why> = rework_reasons(&f.title, &f.head_ref, issues, glob)
            .into_iter()
            .map(|r| match r {
                ReworkReason::Incident { issue_id } => {
                    let l = labels.get(&issue_id).map(|l| (*l).clone()).unwrap_or_default();
                    Why::Incident { key: l.key, url: l.url }
                }
                ReworkReason::Revert => Why::Revert,
                ReworkReason::Hotfix { branch } => Why::Hotfix { branch },
            })
            .collect();
        if !reasons.is_empty() {
            out.rework.entry(deployment).or_default().push(ReworkPr {
                pr: pr_ref(f.repository_id, f.number, &f.title),
                reasons,
            });
        }
    }
    let counting = |on: fn(&crate::domain::integration::FailureSignals) -> bool| -> Vec<i64> {
        settings
            .iter()
            .filter(|(id, s)| in_view(id) && on(&s.failure_signals))
            .map(|(id, _)| *id)
            .collect()
    };
    let revert_repos = counting(|s| s.revert);
    let status_repos = counting(|s| s.failed_status);
    out.beyond_incidents = !revert_repos.is_empty() || !status_repos.is_empty();
    if !revert_repos.is_empty() {
        let merged = |p: &db::analytics::dora::PullFacts| {
            p.merged_at.map(|at| Merged {
                id: p.id,
                repository_id: p.repository_id,
                title: p.title.clone(),
                merged_at: at,
            })
        };
        let reverts = db::analytics::dora::reverts(db, &revert_repos, since).await?;
        let revert_merges: Vec<Merged> = reverts.iter().filter_map(merged).collect();
        // Every merged PR with a reverted title, shipped in the window or not: the one a revert
        // undid is the latest before it, which may not be one of this report's.
        let mut titles: Vec<String> = reverts
            .iter()
            .filter_map(|r| reverted_title(&r.title).map(String::from))
            .collect();
        titles.sort_unstable();
        titles.dedup();
        let originals = db::analytics::dora::titled(db, &revert_repos, &titles).await?;
        let candidates: Vec<Merged> = originals.iter().filter_map(merged).collect();
        let by_id: HashMap<i64, &db::analytics::dora::PullFacts> =
            originals.iter().chain(&reverts).map(|p| (p.id, p)).collect();
        let pairs = reverted_by(&candidates, &revert_merges);
        let stage = stage_of(pairs.iter().map(|(original, _)| *original).collect());
        for (original, revert) in pairs {
            let (Some(s), Some(o), Some(r)) = (stage.get(&original), by_id.get(&original), by_id.get(&revert)) else {
                continue;
            };
            let (Some(deployment), Some(deployed_at), Some(merged_at)) = (s.deployment_id, s.deployed_at, r.merged_at)
            else {
                continue;
            };
            // Reverted before it went out, the change never reached production with it.
            if merged_at > deployed_at && revert_repos.contains(&o.repository_id) {
                out.reverted.entry(deployment).or_default().push(Reverted {
                    pr: pr_ref(o.repository_id, o.number, &o.title),
                    by: pr_ref(r.repository_id, r.number, &r.title),
                    merged_at,
                });
            }
        }
    }
    if !status_repos.is_empty() {
        out.failed_status = db::analytics::dora::failed_production(db, &status_repos, since).await?;
    }
    Ok(out)
}
