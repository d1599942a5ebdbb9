//! The flow page and API: lead and cycle time, time in each step, throughput, WIP by step,
//! flow efficiency and rework of issues completed in the window.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::issue_flow_times;
use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;
use serde_json::{Value, json};

use super::filters::{Filters, ids};
use super::{Cache, FIX_FLOW, FIX_INTEGRATIONS, Missing};
use crate::db;
use crate::domain::metrics::{Summary, Window, hours, per_week};

#[derive(Clone, Debug, Default, Serialize)]
pub struct FlowNumbers {
    pub window: Option<Window>,
    pub issues: usize,
    pub lead_time: Summary,
    pub cycle_time: Summary,
    pub throughput_per_week: f64,
    /// Step name → hours spent there by the completed issues that visited it.
    pub time_in_step: Vec<(String, Summary)>,
    pub flow_efficiency: Option<f64>,
    pub with_rework: usize,
    pub backward_moves: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct IssueRow {
    pub key: String,
    pub summary: String,
    /// The issue's page in Jira.
    pub url: String,
    pub issue_type: String,
    pub work_category: String,
    pub done_at: Option<DateTime<Utc>>,
    pub lead: Option<f64>,
    pub cycle: Option<f64>,
    pub rework: i32,
}

#[derive(Debug, Serialize)]
pub struct FlowReport {
    pub filters: Filters,
    pub current: FlowNumbers,
    pub previous: FlowNumbers,
    pub trend: Vec<FlowNumbers>,
    /// By work category: count, lead and cycle medians.
    pub by_category: Vec<(String, FlowNumbers)>,
    /// By project (key), the same numbers.
    pub by_project: Vec<(String, FlowNumbers)>,
    /// Current work in progress per step (IN_PROGRESS and WAITING steps).
    pub wip: Vec<(String, usize)>,
    /// Issues left out because they, their type mapping, a status mapping or a step is inactive.
    pub excluded: usize,
    pub rows: Vec<IssueRow>,
    pub missing: Option<Missing>,
    pub projects: Vec<String>,
    pub issue_types: Vec<String>,
    /// Step name (or unmapped key) → category, for every key in `time_in_step`.
    pub step_categories: Vec<(String, String)>,
    pub freshness: db::analytics::Freshness,
}

const DRILL_DOWN_ROWS: usize = 200;

/// One issue's precomputed flow (`issue_flow_times`) as the report reads it: step hours parsed
/// once, names shared between issues.
#[derive(Clone, Debug)]
pub struct FlowFacts {
    pub issue_id: i64,
    pub project_id: i64,
    pub issue_type_name: Arc<str>,
    pub work_category: Arc<str>,
    pub counted: bool,
    pub created: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    /// Hours per step over closed intervals.
    pub step_hours: Vec<(Arc<str>, f64)>,
    pub in_progress_hours: f64,
    pub waiting_hours: f64,
    pub rework: i32,
    pub current_step: Option<Arc<str>>,
    pub current_category: Option<Arc<str>>,
    pub current_since: Option<DateTime<Utc>>,
}

impl FlowFacts {
    /// Converts stored rows, sharing each distinct name.
    pub fn from_rows(rows: Vec<issue_flow_times::Model>) -> Vec<Self> {
        let mut names: HashSet<Arc<str>> = HashSet::new();
        let mut name = |s: String| -> Arc<str> {
            if let Some(n) = names.get(s.as_str()) {
                return n.clone();
            }
            let n: Arc<str> = Arc::from(s);
            names.insert(n.clone());
            n
        };
        rows.into_iter()
            .map(|r| {
                let closed: BTreeMap<String, f64> = serde_json::from_value(r.step_hours).unwrap_or_default();
                Self {
                    issue_id: r.issue_id,
                    project_id: r.project_id,
                    issue_type_name: name(r.issue_type_name),
                    work_category: name(r.work_category),
                    counted: r.counted,
                    created: r.created,
                    started_at: r.started_at,
                    done_at: r.done_at,
                    step_hours: closed.into_iter().map(|(k, h)| (name(k), h)).collect(),
                    in_progress_hours: r.in_progress_hours,
                    waiting_hours: r.waiting_hours,
                    rework: r.rework,
                    current_step: r.current_step.map(&mut name),
                    current_category: r.current_category.map(&mut name),
                    current_since: r.current_since,
                }
            })
            .collect()
    }
}

/// Hours per step, the open interval (current step since `current_since`) ending `now`.
fn step_hours(i: &FlowFacts, now: DateTime<Utc>) -> impl Iterator<Item = (&Arc<str>, f64)> {
    let open = match (&i.current_step, i.current_since) {
        (Some(step), Some(since)) => Some((step, hours(Some(since), Some(now)).unwrap_or(0.0))),
        _ => None,
    };
    let closed = i.step_hours.iter().map(move |(k, h)| match open {
        Some((step, extra)) if step == k => (k, h + extra),
        _ => (k, *h),
    });
    let open_only = open.filter(|(step, _)| !i.step_hours.iter().any(|(k, _)| k == *step));
    closed.chain(open_only)
}

fn open_hours(i: &FlowFacts, category: &str, now: DateTime<Utc>) -> f64 {
    if i.current_category.as_deref() == Some(category) {
        hours(i.current_since, Some(now)).unwrap_or(0.0)
    } else {
        0.0
    }
}

/// The numbers over `w` for counted issues whose first DONE entry falls in it (pure).
pub fn numbers(issues: &[&FlowFacts], w: &Window, order: &[String], now: DateTime<Utc>) -> FlowNumbers {
    let done: Vec<_> = issues
        .iter()
        .filter(|i| i.done_at.is_some_and(|d| w.contains(d)))
        .collect();
    let mut per_step: BTreeMap<Arc<str>, Vec<f64>> = BTreeMap::new();
    let (mut active, mut waiting) = (0.0, 0.0);
    for i in &done {
        for (step, h) in step_hours(i, now) {
            match per_step.get_mut(step) {
                Some(v) => v.push(h),
                None => {
                    per_step.insert(step.clone(), vec![h]);
                }
            }
        }
        active += i.in_progress_hours + open_hours(i, "IN_PROGRESS", now);
        waiting += i.waiting_hours + open_hours(i, "WAITING", now);
    }
    let mut time_in_step: Vec<(String, Summary)> = per_step
        .into_iter()
        .map(|(k, v)| (k.to_string(), Summary::of(v)))
        .collect();
    time_in_step.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
    FlowNumbers {
        window: Some(*w),
        issues: done.len(),
        lead_time: Summary::of(done.iter().filter_map(|i| hours(Some(i.created), i.done_at))),
        cycle_time: Summary::of(done.iter().filter_map(|i| hours(i.started_at, i.done_at))),
        throughput_per_week: per_week(done.len(), w),
        time_in_step,
        flow_efficiency: (active + waiting > 0.0).then(|| active / (active + waiting)),
        with_rework: done.iter().filter(|i| i.rework > 0).count(),
        backward_moves: done.iter().map(|i| i64::from(i.rework)).sum(),
    }
}

pub async fn report(db: &DatabaseConnection, cache: &Cache, filters: Filters) -> Result<FlowReport, DbErr> {
    let freshness = db::analytics::ensure_fresh(db).await?;
    let project_choices = db::analytics::project_choices(db).await?;
    let projects = ids(&filters.projects, &project_choices);
    let facts = cache.flow_facts(db).await?;
    let all: Vec<&FlowFacts> = facts
        .iter()
        .filter(|i| projects.is_empty() || projects.contains(&i.project_id))
        .collect();
    let mut issue_types: Vec<String> = all.iter().map(|i| i.issue_type_name.to_string()).collect();
    issue_types.sort();
    issue_types.dedup();
    let chosen = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x.eq_ignore_ascii_case(v));
    let selected: Vec<&FlowFacts> = all
        .iter()
        .copied()
        .filter(|i| chosen(&filters.issue_types, &i.issue_type_name) && chosen(&filters.categories, &i.work_category))
        .collect();
    let excluded = selected.iter().filter(|i| !i.counted).count();
    let counted: Vec<&FlowFacts> = selected.into_iter().filter(|i| i.counted).collect();
    let steps = db::analytics::step_order(db).await?;
    let order: Vec<String> = steps.iter().map(|s| s.0.clone()).collect();
    let mut step_categories = steps.clone();
    for c in ["TO_DO", "IN_PROGRESS", "WAITING", "DONE", "DISCARDED"] {
        step_categories.push((format!("(unmapped {c})"), c.to_string()));
    }
    let now = Utc::now();
    let w = filters.window;
    let buckets = w.buckets();
    // Issues completed in the window, the previous period or a trend bucket: what the numbers read.
    let earliest = buckets.iter().map(Window::start).chain([w.previous().start()]).min();
    let completed: Vec<&FlowFacts> = counted
        .iter()
        .copied()
        .filter(|i| {
            i.done_at
                .is_some_and(|d| d < w.end() && earliest.is_none_or(|e| d >= e))
        })
        .collect();
    let current = numbers(&completed, &w, &order, now);
    let previous = numbers(&completed, &w.previous(), &order, now);
    let trend = buckets.iter().map(|b| numbers(&completed, b, &order, now)).collect();
    let breakdown = |label: &dyn Fn(&FlowFacts) -> Option<String>| {
        let mut groups: BTreeMap<String, Vec<&FlowFacts>> = BTreeMap::new();
        for i in completed.iter().filter(|i| i.done_at.is_some_and(|d| w.contains(d))) {
            if let Some(l) = label(i) {
                groups.entry(l).or_default().push(i);
            }
        }
        groups
            .into_iter()
            .map(|(l, of)| {
                let n = numbers(&of, &w, &order, now);
                (l, n)
            })
            .collect::<Vec<_>>()
    };
    let by_category = breakdown(&|i| Some(i.work_category.to_string()));
    let by_project = breakdown(&|i| {
        project_choices
            .iter()
            .find(|p| p.0 == i.project_id)
            .map(|p| p.1.clone())
    });
    let mut wip: BTreeMap<String, usize> = BTreeMap::new();
    for i in &counted {
        if matches!(i.current_category.as_deref(), Some("IN_PROGRESS" | "WAITING"))
            && let Some(step) = &i.current_step
        {
            *wip.entry(step.to_string()).or_default() += 1;
        }
    }
    let mut wip: Vec<(String, usize)> = wip.into_iter().collect();
    wip.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
    let missing = (current.issues == 0).then(|| {
        if all.is_empty() {
            Missing::new(
                "No Jira issues have been synced yet: add a Jira integration and run its sync.",
                FIX_INTEGRATIONS,
            )
        } else if steps.is_empty() {
            Missing::new(
                "No flow steps are configured, and no issue reached a done status in the window: configure the flow steps and map your statuses to them.",
                FIX_FLOW,
            )
        } else {
            Missing::new(
                format!(
                    "No counted issue first entered a DONE step between {} and {} with these filters.",
                    w.from, w.to
                ),
                FIX_FLOW,
            )
        }
    });
    let mut done: Vec<_> = completed
        .iter()
        .filter(|i| i.done_at.is_some_and(|d| w.contains(d)))
        .collect();
    done.sort_by_key(|i| std::cmp::Reverse(i.done_at));
    done.truncate(DRILL_DOWN_ROWS);
    let ids: Vec<i64> = done.iter().map(|i| i.issue_id).collect();
    let labels = db::analytics::issue_labels(db, &ids).await?;
    let rows = done
        .iter()
        .map(|i| {
            let label = labels.get(&i.issue_id).cloned().unwrap_or_default();
            IssueRow {
                key: label.key,
                summary: label.summary,
                url: label.url,
                issue_type: i.issue_type_name.to_string(),
                work_category: i.work_category.to_string(),
                done_at: i.done_at,
                lead: hours(Some(i.created), i.done_at),
                cycle: hours(i.started_at, i.done_at),
                rework: i.rework,
            }
        })
        .collect();
    Ok(FlowReport {
        filters,
        current,
        previous,
        trend,
        by_category,
        by_project,
        wip,
        excluded,
        rows,
        missing,
        projects: project_choices.into_iter().map(|p| p.1).collect(),
        issue_types,
        step_categories,
        freshness,
    })
}

fn summary(s: &Summary) -> Value {
    json!({"median": s.median, "p75": s.p75, "p90": s.p90, "count": s.count})
}

pub fn to_json(r: &FlowReport) -> Value {
    let n = |x: &FlowNumbers| {
        let steps: serde_json::Map<String, Value> =
            x.time_in_step.iter().map(|(k, s)| (k.clone(), summary(s))).collect();
        json!({
            "from": x.window.map(|w| w.from), "to": x.window.map(|w| w.to),
            "issues": x.issues,
            "lead_time_hours": summary(&x.lead_time),
            "cycle_time_hours": summary(&x.cycle_time),
            "throughput_per_week": x.throughput_per_week,
            "time_in_step_hours": steps,
            "flow_efficiency": x.flow_efficiency,
            "issues_with_rework": x.with_rework,
            "backward_moves": x.backward_moves,
        })
    };
    let mut doc = n(&r.current);
    doc["reason"] = json!(r.missing.as_ref().map(|m| &m.reason));
    doc["wip"] = Value::Object(r.wip.iter().map(|(k, v)| (k.clone(), json!(v))).collect());
    doc["excluded_issues"] = json!(r.excluded);
    doc["by_work_category"] = Value::Object(r.by_category.iter().map(|(k, v)| (k.clone(), n(v))).collect());
    doc["by_project"] = Value::Object(r.by_project.iter().map(|(k, v)| (k.clone(), n(v))).collect());
    doc["precomputed_at"] = json!(r.freshness.built_at);
    doc["sync_running"] = json!(r.freshness.syncing);
    doc["previous"] = n(&r.previous);
    doc["trend"] = Value::Array(r.trend.iter().map(n).collect());
    doc["filters"] = json!(r.filters);
    doc
}
