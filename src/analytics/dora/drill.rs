//! The DORA report's drill-down lists: the deployments in the window with what failed them and
//! what makes them rework, and the incidents created in it with the deployment each follows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use serde::Serialize;

use super::Incident;
use super::signals::{Reverted, ReworkPr, Signals};
use crate::db;
use crate::domain::metrics::Window;
use crate::domain::metrics::dora::{Deploy, deployment_before};

/// A deployment in the window, for the drill-down list.
#[derive(Clone, Debug, Serialize)]
pub struct DeploymentRow {
    pub id: i64,
    pub repository: String,
    pub environment: Option<String>,
    pub deployed_at: DateTime<Utc>,
    pub pull_requests: usize,
    /// `success`, or the failed status of a failed deployment (counted when its integration
    /// counts failed statuses).
    pub status: String,
    /// Incidents linked to the deployment: key and Jira link.
    pub incidents: Vec<(String, String)>,
    /// Pull requests it shipped that were reverted after it was deployed (integrations that
    /// count reverts).
    pub reverted: Vec<Reverted>,
    /// Pull requests it shipped that make it rework, each with its reasons.
    pub rework: Vec<ReworkPr>,
}

impl DeploymentRow {
    /// Whether something failed it: an incident, a revert or its status.
    pub fn failed(&self) -> bool {
        !self.incidents.is_empty() || !self.reverted.is_empty() || self.status != "success"
    }
}

/// An incident created in the window and the deployment it was attributed to, with why.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentRow {
    pub key: String,
    pub url: String,
    pub created: DateTime<Utc>,
    /// Id, repository and deployed time of the deployment it follows.
    pub deployment: Option<(i64, String, DateTime<Utc>)>,
    pub why: String,
}

/// What the drill-down lists are made of.
pub(super) struct Listed<'a> {
    pub rows: &'a [&'a entity::deployments::Model],
    pub deploys: &'a [Deploy],
    pub incidents: &'a [Incident],
    pub prs: &'a [&'a entity::pr_stage_times::Model],
    pub repos: &'a [(i64, String)],
    pub signals: &'a Signals,
    /// Every incident's key and link.
    pub labels: &'a HashMap<i64, db::analytics::IssueLabel>,
}

/// The deployments in the window (newest first, the first `limit`) with what failed them and
/// what makes them rework, and the incidents created in the window with the deployment each
/// follows.
pub(super) fn drill_down(l: &Listed<'_>, w: &Window, limit: usize) -> (Vec<DeploymentRow>, Vec<IncidentRow>) {
    let mut by_deployed = l.deploys.to_vec();
    by_deployed.sort_by_key(|d| (d.deployed_at, d.id));
    let mut linked: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut attributed: Vec<(i64, DateTime<Utc>, Option<&Deploy>)> = Vec::new();
    for (created, _, issue) in l.incidents {
        let d = deployment_before(&by_deployed, *created);
        if let Some(d) = d {
            linked.entry(d.id).or_default().push(*issue);
        }
        if w.contains(*created) {
            attributed.push((*issue, *created, d));
        }
    }
    let labels = l.labels;
    let mut shipped: HashMap<i64, usize> = HashMap::new();
    for d in l.prs.iter().filter_map(|p| p.deployment_id) {
        *shipped.entry(d).or_default() += 1;
    }
    let repository = |id: i64| {
        l.repos
            .iter()
            .find(|r| r.0 == id)
            .map_or_else(|| format!("#{id}"), |r| r.1.clone())
    };
    let failed_status = l.signals.failed_status.iter();
    let mut listed: Vec<(&entity::deployments::Model, DateTime<Utc>)> = l
        .rows
        .iter()
        .copied()
        .chain(failed_status)
        .filter_map(|d| d.finished_at.filter(|at| w.contains(*at)).map(|at| (d, at)))
        .collect();
    // Only the rows listed are built (a year at 100k pull requests has thousands).
    listed.sort_by_key(|(d, at)| (std::cmp::Reverse(*at), std::cmp::Reverse(d.id)));
    listed.truncate(limit);
    let out: Vec<DeploymentRow> = listed
        .into_iter()
        .map(|(d, at)| DeploymentRow {
            id: d.id,
            repository: repository(d.repository_id),
            environment: d.environment.clone(),
            deployed_at: at,
            pull_requests: shipped.get(&d.id).copied().unwrap_or(0),
            status: d.status.clone(),
            incidents: linked
                .get(&d.id)
                .map(|l| {
                    l.iter()
                        .filter_map(|i| labels.get(i).map(|x| (x.key.clone(), x.url.clone())))
                        .collect()
                })
                .unwrap_or_default(),
            reverted: l.signals.reverted.get(&d.id).cloned().unwrap_or_default(),
            rework: l.signals.rework.get(&d.id).cloned().unwrap_or_default(),
        })
        .collect();
    let incidents = attributed
        .into_iter()
        .rev()
        .map(|(issue, created, d)| {
            let label = labels.get(&issue).cloned().unwrap_or_default();
            let why = match d {
                None => "none: it was created before any successful production deployment (of the repositories in view) was deployed".to_string(),
                Some(d) => {
                    // Sorted by deployed time: those deployed at that second are one run.
                    let same = by_deployed.partition_point(|o| o.deployed_at <= d.deployed_at)
                        - by_deployed.partition_point(|o| o.deployed_at < d.deployed_at);
                    let mut why = "the last successful production deployment deployed before it was created".to_string();
                    if same > 1 {
                        why.push_str(&format!(
                            " ({same} were deployed at that same second; the one recorded last is taken)"
                        ));
                    }
                    why
                }
            };
            IncidentRow {
                key: label.key,
                url: label.url,
                created,
                deployment: d.map(|d| (d.id, repository(d.repository_id), d.deployed_at)),
                why,
            }
        })
        .collect();
    (out, incidents)
}
