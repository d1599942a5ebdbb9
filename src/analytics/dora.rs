//! The DORA page and API: deployment frequency, change lead time, change failure rate, time
//! to restore and deployment rework rate, with tiers, the previous period and a trend.

mod drill;
pub mod signals;

pub use drill::{DeploymentRow, IncidentRow};

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;
use serde_json::{Value, json};

use super::filters::{Filters, ids};
use super::{Cache, FIX_FLOW, FIX_INTEGRATIONS, Missing, Rows, explained};
use crate::db;
use crate::domain::flow::WorkCategory;
use crate::domain::metrics::dora::{Deploy, Frequency, frequency, incident_failures, time_to_restore};
use crate::domain::metrics::rework::share;
use crate::domain::metrics::tiers::{Benchmark, Tier, benchmark};
use crate::domain::metrics::{Summary, Window, hours};
use signals::Signals;

/// The four numbers over one window, each with the reason when it cannot be computed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DoraNumbers {
    pub window: Option<Window>,
    pub frequency: Frequency,
    pub frequency_missing: Option<Missing>,
    pub lead_time: Summary,
    pub lead_time_missing: Option<Missing>,
    pub failed: usize,
    pub failure_rate: Option<f64>,
    pub failure_rate_missing: Option<Missing>,
    pub restored: usize,
    pub restore_median: Option<f64>,
    pub restore_missing: Option<Missing>,
    /// Failed production deployments counted (integrations that count failed statuses).
    pub failed_status: usize,
    pub rework: usize,
    pub rework_rate: Option<f64>,
    pub rework_missing: Option<Missing>,
}

/// Deployments marked by the signals besides incidents, for [`numbers`].
#[derive(Clone, Debug, Default)]
pub struct Marks {
    pub rework: HashSet<i64>,
    /// Failed by a revert or a failed status.
    pub failed: HashSet<i64>,
    /// Failed production deployments counted: id and failed time.
    pub failed_status: Vec<(i64, DateTime<Utc>)>,
    /// Whether an integration in view counts a signal besides incidents.
    pub beyond_incidents: bool,
}

impl Marks {
    fn of(s: &Signals) -> Self {
        Self {
            rework: s.rework_ids(),
            failed: s.failed_ids(),
            failed_status: s
                .failed_status
                .iter()
                .filter_map(|d| d.finished_at.map(|at| (d.id, at)))
                .collect(),
            beyond_incidents: s.beyond_incidents,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DoraReport {
    pub filters: Filters,
    #[serde(skip)]
    pub benchmark: &'static Benchmark,
    pub current: DoraNumbers,
    pub previous: DoraNumbers,
    pub trend: Vec<DoraNumbers>,
    pub tiers: [Option<Tier>; 4],
    pub deployments: Vec<DeploymentRow>,
    /// Incidents created in the window, each with the deployment it was attributed to.
    pub incidents: Vec<IncidentRow>,
    pub freshness: db::analytics::Freshness,
}

/// What the whole database offers, to tell "nothing configured" from "nothing in range".
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub has_deployments: bool,
    pub has_incident_mapping: bool,
}

/// An incident: created, first DONE entry, issue id.
pub(crate) type Incident = (DateTime<Utc>, Option<DateTime<Utc>>, i64);

/// The numbers over `w` (pure; inputs cover at least `w` and everything deployed after it).
pub fn numbers(
    deploys: &[Deploy],
    incidents: &[Incident],
    leads: &[(DateTime<Utc>, Option<f64>)],
    w: &Window,
    setup: Setup,
    marks: &Marks,
) -> DoraNumbers {
    let span = format!("between {} and {}", w.from, w.to);
    let freq = frequency(deploys, w);
    let (_, frequency_missing) = explained((setup.has_deployments).then_some(()), || {
        Missing::new(
            "No production deployments have been synced: set the deployment source (and its production environment pattern) of a GitHub or GitLab integration.",
            FIX_INTEGRATIONS,
        )
    });
    let lead_time = Summary::of(leads.iter().filter(|(at, _)| w.contains(*at)).filter_map(|(_, h)| *h));
    let lead_time_missing = (lead_time.count == 0).then(|| match &frequency_missing {
        Some(m) => m.clone(),
        None => Missing::new(
            format!("No merged pull request with a known first commit was shipped by a production deployment deployed {span}."),
            None,
        ),
    });
    let created: Vec<DateTime<Utc>> = incidents.iter().map(|i| i.0).collect();
    let mut failed = incident_failures(deploys, &created);
    failed.extend(&marks.failed);
    let population = deploys
        .iter()
        .map(|d| (d.id, d.deployed_at))
        .chain(marks.failed_status.iter().copied());
    let rate = share(population, &failed, w);
    let failed_status = marks.failed_status.iter().filter(|(_, at)| w.contains(*at)).count();
    let no_deployment = || match &frequency_missing {
        Some(m) => m.clone(),
        None => Missing::new(
            format!("No successful production deployment was deployed {span}."),
            None,
        ),
    };
    let rework = share(deploys.iter().map(|d| (d.id, d.deployed_at)), &marks.rework, w);
    let (rework_rate, rework_missing) = explained(rework.map(|(r, n)| r as f64 / n as f64), no_deployment);
    let (failure_rate, failure_rate_missing) = if !setup.has_incident_mapping && !marks.beyond_incidents {
        (None, Some(no_incidents()))
    } else {
        explained(rate.map(|(f, n)| f as f64 / n as f64), no_deployment)
    };
    let pairs: Vec<_> = incidents.iter().map(|i| (i.0, i.1)).collect();
    let (restored, median) = time_to_restore(&pairs, w);
    let (restore_median, restore_missing) = if !setup.has_incident_mapping {
        (None, Some(no_incidents()))
    } else {
        explained(median, || {
            Missing::new(
                format!("No incident created {span} has reached a DONE step yet (or DONE steps are not mapped)."),
                FIX_FLOW,
            )
        })
    };
    DoraNumbers {
        window: Some(*w),
        frequency: freq,
        frequency_missing,
        lead_time,
        lead_time_missing,
        failed: rate.map_or(0, |r| r.0),
        failure_rate,
        failure_rate_missing,
        restored,
        restore_median,
        restore_missing,
        failed_status,
        rework: rework.map_or(0, |r| r.0),
        rework_rate,
        rework_missing,
    }
}

fn no_incidents() -> Missing {
    Missing::new(
        "No active issue type is mapped to the INCIDENT work category, so no incidents are known: map your incident issue type on the Flow page.",
        FIX_FLOW,
    )
}

pub async fn report(db: &DatabaseConnection, cache: &Cache, filters: Filters) -> Result<DoraReport, DbErr> {
    report_rows(db, cache, filters, Rows::Shown).await
}

/// The report with `rows` of its drill-down list.
pub async fn report_rows(
    db: &DatabaseConnection,
    cache: &Cache,
    filters: Filters,
    rows_wanted: Rows,
) -> Result<DoraReport, DbErr> {
    let (freshness, snapshot) = cache.current(db).await?;
    let repo_choices = db::analytics::repository_choices(db).await?;
    let repos = ids(&filters.repositories, &repo_choices);
    let projects = ids(&filters.projects, &db::analytics::project_choices(db).await?);
    let w = filters.window;
    let prev = w.previous();
    // Everything deployed after the window too: a later incident may follow a later deployment;
    // and the last one before the previous window, which an incident early in it follows.
    let in_view = |d: &&entity::deployments::Model| repos.is_empty() || repos.contains(&d.repository_id);
    let cut = snapshot
        .deployments
        .partition_point(|d| d.finished_at.is_none_or(|at| at < prev.start()));
    let rows: Vec<&entity::deployments::Model> = snapshot.deployments[..cut]
        .iter()
        .rev()
        .find(in_view)
        .into_iter()
        .chain(snapshot.deployments[cut..].iter().filter(in_view))
        .collect();
    let deploys: Vec<Deploy> = rows
        .iter()
        .filter_map(|d| {
            d.finished_at.map(|at| Deploy {
                id: d.id,
                repository_id: d.repository_id,
                created: d.created,
                deployed_at: at,
            })
        })
        .collect();
    // Every incident with its key and link (from the snapshot: no read per issue).
    let bases = db::analytics::jira_bases(db).await?;
    let incident_issues: Vec<(i64, db::analytics::IssueLabel)> = snapshot
        .flow
        .iter()
        .filter(|i| i.counted && i.work_category == WorkCategory::Incident)
        .map(|i| {
            let label = db::analytics::IssueLabel {
                key: i.key.to_string(),
                summary: String::new(),
                url: bases.get(&i.project_id).map(|b| i.key.url(b)).unwrap_or_default(),
            };
            (i.issue_id, label)
        })
        .collect();
    let mut incidents: Vec<Incident> = snapshot
        .flow
        .iter()
        .filter(|i| i.counted && i.work_category == WorkCategory::Incident)
        .filter(|i| projects.is_empty() || projects.contains(&i.project_id))
        .map(|i| (i.created, i.done_at, i.issue_id))
        .collect();
    incidents.sort();
    let prs = super::prs::merged_or_deployed(&snapshot.prs, &repos, prev.start(), w.end());
    let leads: Vec<_> = prs
        .iter()
        .filter_map(|p| p.deployed_at.map(|at| (at, hours(p.first_commit_at, Some(at)))))
        .collect();
    let shipped: Vec<&entity::pr_stage_times::Model> = prs
        .iter()
        .filter(|p| p.deployed_at.is_some_and(|at| at >= prev.start() && at < w.end()))
        .copied()
        .collect();
    let signals = signals::load(db, &shipped, &snapshot.pulls, &repos, &incident_issues, prev.start()).await?;
    let labels: HashMap<i64, db::analytics::IssueLabel> = incident_issues.into_iter().collect();
    let marks = Marks::of(&signals);
    let setup = Setup {
        has_deployments: db::analytics::has_production_deployments(db).await?,
        has_incident_mapping: db::analytics::has_incident_mapping(db).await?,
    };
    let current = numbers(&deploys, &incidents, &leads, &w, setup, &marks);
    let previous = numbers(&deploys, &incidents, &leads, &prev, setup, &marks);
    let trend = w
        .buckets()
        .iter()
        .map(|b| numbers(&deploys, &incidents, &leads, b, setup, &marks))
        .collect();
    let bench = benchmark(filters.benchmark.as_deref());
    let tiers = [
        current
            .frequency_missing
            .is_none()
            .then(|| bench.deployment_frequency(current.frequency.per_week)),
        current.lead_time.median.map(|h| bench.lead_time(h)),
        current.failure_rate.map(|r| bench.change_failure_rate(r)),
        current.restore_median.map(|h| bench.time_to_restore(h)),
    ];
    let listed = drill::Listed {
        rows: &rows,
        deploys: &deploys,
        incidents: &incidents,
        prs: &prs,
        repos: &repo_choices,
        signals: &signals,
        labels: &labels,
    };
    let (deployments, incidents) = drill::drill_down(&listed, &w, rows_wanted.limit());
    Ok(DoraReport {
        filters,
        benchmark: bench,
        current,
        previous,
        trend,
        tiers,
        deployments,
        incidents,
        freshness,
    })
}

fn opt(missing: &Option<Missing>) -> Value {
    missing.as_ref().map_or(Value::Null, |m| json!(m.reason))
}

/// The API document (DESIGN §11 keys, plus the previous period and the trend).
pub fn to_json(r: &DoraReport) -> Value {
    let n = |x: &DoraNumbers| {
        let freq = |v: f64| {
            if x.frequency_missing.is_some() {
                Value::Null
            } else {
                json!(v)
            }
        };
        json!({
            "from": x.window.map(|w| w.from), "to": x.window.map(|w| w.to),
            "deployments": x.frequency.deployments,
            "deployment_frequency_per_week": freq(x.frequency.per_week),
            "deployment_frequency_per_day": freq(x.frequency.per_day),
            "deployment_days_per_week": freq(x.frequency.deployment_days_per_week),
            "deployment_frequency_reason": opt(&x.frequency_missing),
            "change_lead_time_hours": {"median": x.lead_time.median, "p75": x.lead_time.p75, "p90": x.lead_time.p90,
                "count": x.lead_time.count, "reason": opt(&x.lead_time_missing)},
            "change_failure_rate": x.failure_rate,
            "failed_deployments": x.failed,
            "change_failure_rate_reason": opt(&x.failure_rate_missing),
            "time_to_restore_hours": {"median": x.restore_median, "count": x.restored, "reason": opt(&x.restore_missing)},
            "failed_status_deployments": x.failed_status,
            "deployment_rework_rate": x.rework_rate,
            "rework_deployments": x.rework,
            "deployment_rework_rate_reason": opt(&x.rework_missing),
        })
    };
    let mut doc = n(&r.current);
    let tier = |t: &Option<Tier>| json!(t);
    doc["tiers"] = json!({
        "benchmark": r.benchmark.version,
        "source": r.benchmark.source,
        "deployment_frequency": tier(&r.tiers[0]),
        "change_lead_time": tier(&r.tiers[1]),
        "change_failure_rate": tier(&r.tiers[2]),
        "time_to_restore": tier(&r.tiers[3]),
    });
    doc["previous"] = n(&r.previous);
    doc["trend"] = Value::Array(r.trend.iter().map(n).collect());
    doc["filters"] = json!(r.filters);
    r.freshness.annotate(&mut doc);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    #[test]
    fn missing_configuration_is_explained_before_an_empty_window() {
        let w = Window::new(
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(),
        );
        let none = Setup {
            has_deployments: false,
            has_incident_mapping: false,
        };
        let n = numbers(&[], &[], &[], &w, none, &Marks::default());
        assert!(n.frequency_missing.as_ref().unwrap().fix == FIX_INTEGRATIONS);
        assert!(n.failure_rate_missing.as_ref().unwrap().fix == FIX_FLOW);
        assert!(n.restore_missing.as_ref().unwrap().reason.contains("INCIDENT"));
        let some = Setup {
            has_deployments: true,
            has_incident_mapping: true,
        };
        let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 12, 0, 0).unwrap();
        let ds = [Deploy {
            id: 1,
            repository_id: 1,
            created: t(2),
            deployed_at: t(2),
        }];
        let n = numbers(
            &ds,
            &[(t(3), Some(t(4)), 9)],
            &[(t(2), Some(5.0))],
            &w,
            some,
            &Marks::default(),
        );
        assert_eq!(
            (n.failure_rate, n.restore_median, n.lead_time.median),
            (Some(1.0), Some(24.0), Some(5.0))
        );
        assert!(n.frequency_missing.is_none() && n.restore_missing.is_none());
    }
}
