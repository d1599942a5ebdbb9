//! The flow page and API: lead and cycle time, time in each step, throughput, WIP by step,
//! flow efficiency and rework of issues completed in the window.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::issue_flow_times;
use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;
use serde_json::{Value, json};

use super::filters::{Filters, ids};
use super::{FIX_FLOW, FIX_INTEGRATIONS, Missing};
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
}

const DRILL_DOWN_ROWS: usize = 200;

fn step_hours(i: &issue_flow_times::Model, now: DateTime<Utc>) -> BTreeMap<String, f64> {
    let mut m: BTreeMap<String, f64> = serde_json::from_value(i.step_hours.clone()).unwrap_or_default();
    if let (Some(step), Some(since)) = (&i.current_step, i.current_since) {
        *m.entry(step.clone()).or_default() += hours(Some(since), Some(now)).unwrap_or(0.0);
    }
    m
}

fn open_hours(i: &issue_flow_times::Model, category: &str, now: DateTime<Utc>) -> f64 {
    if i.current_category.as_deref() == Some(category) {
        hours(i.current_since, Some(now)).unwrap_or(0.0)
    } else {
        0.0
    }
}

/// The numbers over `w` for counted issues whose first DONE entry falls in it (pure).
pub fn numbers(issues: &[&issue_flow_times::Model], w: &Window, order: &[String], now: DateTime<Utc>) -> FlowNumbers {
    let done: Vec<_> = issues
        .iter()
        .filter(|i| i.done_at.is_some_and(|d| w.contains(d)))
        .collect();
    let mut per_step: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let (mut active, mut waiting) = (0.0, 0.0);
    for i in &done {
        for (step, h) in step_hours(i, now) {
            per_step.entry(step).or_default().push(h);
        }
        active += i.in_progress_hours + open_hours(i, "IN_PROGRESS", now);
        waiting += i.waiting_hours + open_hours(i, "WAITING", now);
    }
    let mut time_in_step: Vec<(String, Summary)> = per_step.into_iter().map(|(k, v)| (k, Summary::of(v))).collect();
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

pub async fn report(db: &DatabaseConnection, filters: Filters) -> Result<FlowReport, DbErr> {
    db::analytics::ensure_fresh(db).await?;
    let project_choices = db::analytics::project_choices(db).await?;
    let projects = ids(&filters.projects, &project_choices);
    let all = db::analytics::issue_flows(db, &projects).await?;
    let mut issue_types: Vec<String> = all.iter().map(|i| i.issue_type_name.clone()).collect();
    issue_types.sort();
    issue_types.dedup();
    let chosen = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x.eq_ignore_ascii_case(v));
    let selected: Vec<&issue_flow_times::Model> = all
        .iter()
        .filter(|i| chosen(&filters.issue_types, &i.issue_type_name) && chosen(&filters.categories, &i.work_category))
        .collect();
    let excluded = selected.iter().filter(|i| !i.counted).count();
    let counted: Vec<&issue_flow_times::Model> = selected.into_iter().filter(|i| i.counted).collect();
    let steps = db::analytics::step_order(db).await?;
    let order: Vec<String> = steps.iter().map(|s| s.0.clone()).collect();
    let mut step_categories = steps.clone();
    for c in ["TO_DO", "IN_PROGRESS", "WAITING", "DONE", "DISCARDED"] {
        step_categories.push((format!("(unmapped {c})"), c.to_string()));
    }
    let now = Utc::now();
    let w = filters.window;
    let current = numbers(&counted, &w, &order, now);
    let previous = numbers(&counted, &w.previous(), &order, now);
    let trend = w.buckets().iter().map(|b| numbers(&counted, b, &order, now)).collect();
    let mut categories: Vec<String> = counted.iter().map(|i| i.work_category.clone()).collect();
    categories.sort();
    categories.dedup();
    let by_category = categories
        .into_iter()
        .map(|c| {
            let of: Vec<_> = counted.iter().copied().filter(|i| i.work_category == c).collect();
            let n = numbers(&of, &w, &order, now);
            (c, n)
        })
        .filter(|(_, n)| n.issues > 0)
        .collect();
    let mut wip: BTreeMap<String, usize> = BTreeMap::new();
    for i in &counted {
        if matches!(i.current_category.as_deref(), Some("IN_PROGRESS" | "WAITING"))
            && let Some(step) = &i.current_step
        {
            *wip.entry(step.clone()).or_default() += 1;
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
    let mut done: Vec<_> = counted
        .iter()
        .filter(|i| i.done_at.is_some_and(|d| w.contains(d)))
        .collect();
    done.sort_by_key(|i| std::cmp::Reverse(i.done_at));
    done.truncate(DRILL_DOWN_ROWS);
    let ids: Vec<i64> = done.iter().map(|i| i.issue_id).collect();
    let labels: std::collections::HashMap<i64, (String, String)> = db::analytics::issue_labels(db, &ids)
        .await?
        .into_iter()
        .map(|(id, key, summary)| (id, (key, summary)))
        .collect();
    let rows = done
        .iter()
        .map(|i| {
            let (key, summary) = labels.get(&i.issue_id).cloned().unwrap_or_default();
            IssueRow {
                key,
                summary,
                issue_type: i.issue_type_name.clone(),
                work_category: i.work_category.clone(),
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
        wip,
        excluded,
        rows,
        missing,
        projects: project_choices.into_iter().map(|p| p.1).collect(),
        issue_types,
        step_categories,
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
    doc["previous"] = n(&r.previous);
    doc["trend"] = Value::Array(r.trend.iter().map(n).collect());
    doc["filters"] = json!(r.filters);
    doc
}
