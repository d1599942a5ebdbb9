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
use super::{Cache, FIX_FLOW, FIX_INTEGRATIONS, FlowInputs, Missing, Rows};
use crate::db;
use crate::domain::flow::{StepCategory, WorkCategory};
use crate::domain::metrics::flow::Stay;
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
pub struct IssueDrillDown {
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
    pub rows: Vec<IssueDrillDown>,
    pub missing: Option<Missing>,
    pub projects: Vec<String>,
    pub issue_types: Vec<String>,
    /// Step name (or unmapped key) → category, for every key in `time_in_step`.
    pub step_categories: Vec<(String, StepCategory)>,
    pub freshness: db::analytics::Freshness,
}

/// One issue's precomputed flow (`issue_flow_times`) as the report reads it: step hours parsed
/// once, names shared between issues.
#[derive(Clone, Debug)]
pub struct FlowFacts {
    pub issue_id: i64,
    pub project_id: i64,
    pub issue_type_name: Arc<str>,
    pub work_category: WorkCategory,
    pub counted: bool,
    pub created: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    /// Hours per step over closed intervals (shared, so a snapshot patch copies facts cheaply).
    pub step_hours: Arc<[(Arc<str>, f64)]>,
    pub in_progress_hours: f64,
    pub waiting_hours: f64,
    pub rework: i32,
    pub current_step: Option<Arc<str>>,
    pub current_category: Option<StepCategory>,
    pub current_since: Option<DateTime<Utc>>,
    /// Each entry into a place since creation (aging as of any instant, cumulative flow).
    pub timeline: Arc<[Stay]>,
    /// The timeline's last entry, held inline: a chart over a window that starts after it
    /// reads it without reading the timeline (most issues of a year's cumulative flow).
    pub last_stay: Option<Stay>,
    /// The issue's key, so charts label and link their points without a read per page.
    pub key: IssueKey,
}

/// A Jira issue key held compactly: the project part shared between issues (`PAY`), the number
/// inline (`PAY-1234` is 20 bytes in a snapshot, not a string of its own per issue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueKey {
    /// The part before the last `-`, or the whole key when it is not `PREFIX-NUMBER`.
    prefix: Arc<str>,
    /// The number after it; 0 when `prefix` is the whole key (Jira numbers start at 1).
    number: u32,
}

impl Default for IssueKey {
    fn default() -> Self {
        Self {
            prefix: Arc::from(""),
            number: 0,
        }
    }
}

impl IssueKey {
    pub fn new(key: &str, names: &mut Names) -> Self {
        match key.rsplit_once('-') {
            // Only a number that reads back the same (`PAY-007` stays whole).
            Some((prefix, digits))
                if !prefix.is_empty()
                    && let Ok(number) = digits.parse::<u32>()
                    && number > 0
                    && number.to_string() == digits =>
            {
                Self {
                    prefix: names.get_str(prefix),
                    number,
                }
            }
            _ => Self {
                prefix: names.get_str(key),
                number: 0,
            },
        }
    }

    /// The issue's page in Jira, under the Jira at `base`.
    pub fn url(&self, base: &str) -> String {
        crate::domain::links::jira_browse_url(base, &self.to_string())
    }
}

impl std::fmt::Display for IssueKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.number == 0 {
            f.write_str(&self.prefix)
        } else {
            write!(f, "{}-{}", self.prefix, self.number)
        }
    }
}

impl FlowFacts {
    /// Converts one stored row of the issue keyed `key`, sharing names through `names`. Step
    /// hours or a timeline that are not what the precompute pass writes (a hand edit, another
    /// version's format, a category no `StepCategory` knows) are an error, not an issue read
    /// with less history.
    pub fn from_row(r: issue_flow_times::Model, key: &str, names: &mut Names) -> Result<Self, DbErr> {
        let issue = r.issue_id;
        let closed: BTreeMap<String, f64> = serde_json::from_value(r.step_hours).map_err(|e| {
            DbErr::Type(format!(
                "issue_flow_times of issue {issue}: the stored step hours are not an object of hours by step ({e})"
            ))
        })?;
        let step_hours: Arc<[(Arc<str>, f64)]> = closed.into_iter().map(|(k, h)| (names.get(k), h)).collect();
        let timeline = match &r.timeline {
            // Not computed yet (rows from before the first pass that computed timelines).
            None => Arc::from([]),
            Some(t) => timeline(t, names)
                .map_err(|e| DbErr::Type(format!("issue_flow_times of issue {issue}: the stored timeline {e}")))?,
        };
        let last_stay = timeline.last().cloned();
        Ok(Self {
            last_stay,
            issue_id: r.issue_id,
            project_id: r.project_id,
            issue_type_name: names.get(r.issue_type_name),
            work_category: r.work_category,
            counted: r.counted,
            created: r.created,
            started_at: r.started_at,
            done_at: r.done_at,
            step_hours,
            in_progress_hours: r.in_progress_hours,
            waiting_hours: r.waiting_hours,
            rework: r.rework,
            current_step: r.current_step.map(|s| names.get(s)),
            current_category: r.current_category,
            current_since: r.current_since,
            timeline,
            key: IssueKey::new(key, names),
        })
    }
}

/// Copies each issue's step hours and timeline to new memory in the order of `facts`: read in
/// id order, they lay scattered relative to the completion order the reports read them in, and
/// each issue's step hours cost a cache miss (the flow page at 500k issues spent most of its
/// time waiting for them). Allocated in order, one issue's follow the last one's.
pub fn lay_out_in_order(facts: &mut [FlowFacts]) {
    for f in facts.iter_mut() {
        f.step_hours = Arc::from(&f.step_hours[..]);
    }
    for f in facts.iter_mut() {
        f.timeline = Arc::from(&f.timeline[..]);
    }
}

/// A stored timeline (`[[epoch ms, step name or null, category], …]`), names shared. The error
/// says what is wrong with it, completing "the stored timeline …".
fn timeline(v: &Value, names: &mut Names) -> Result<Arc<[Stay]>, String> {
    let Some(entries) = v.as_array() else {
        return Err(format!("is not a list of entries: {v}"));
    };
    entries
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let bad = |what: &str| format!("entry {n} {what}: {e}");
            let [at, step, category] = e.as_array().map(Vec::as_slice).unwrap_or_default() else {
                return Err(bad("is not [epoch ms, step name or null, category]"));
            };
            let at_ms = at.as_i64().ok_or_else(|| bad("has no epoch milliseconds"))?;
            let step = match step {
                Value::Null => None,
                Value::String(name) => Some(names.get_str(name)),
                _ => return Err(bad("has a step that is neither a name nor null")),
            };
            let category = category
                .as_str()
                .and_then(StepCategory::parse)
                .ok_or_else(|| bad("has an unknown step category"))?;
            Ok(Stay { at_ms, step, category })
        })
        .collect()
}

/// Each distinct name once, shared by every issue that uses it.
#[derive(Default)]
pub struct Names(HashSet<Arc<str>>);

impl Names {
    fn get_str(&mut self, s: &str) -> Arc<str> {
        if let Some(n) = self.0.get(s) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(s);
        self.0.insert(n.clone());
        n
    }

    fn get(&mut self, s: String) -> Arc<str> {
        if let Some(n) = self.0.get(s.as_str()) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(s);
        self.0.insert(n.clone());
        n
    }
}

/// Hours per step, the open interval (current step since `current_since`) ending `now`.
/// Hours per step, the open interval's `open` hours (up to now) added to its step.
fn step_hours(i: &FlowFacts, open: f64) -> impl Iterator<Item = (&Arc<str>, f64)> {
    let open = i
        .current_step
        .as_ref()
        .filter(|_| i.current_since.is_some())
        .map(|step| (step, open));
    // Names are shared (`Names`): equal pointers are the common case of equal names.
    let same = |a: &Arc<str>, b: &Arc<str>| Arc::ptr_eq(a, b) || a == b;
    let closed = i.step_hours.iter().map(move |(k, h)| match open {
        Some((step, extra)) if same(step, k) => (k, h + extra),
        _ => (k, *h),
    });
    let open_only = open.filter(|(step, _)| !i.step_hours.iter().any(|(k, _)| same(k, step)));
    closed.chain(open_only)
}

/// The hours of the open interval up to `now` (epoch ms).
fn open_hours(i: &FlowFacts, now_ms: i64) -> f64 {
    i.current_since
        .map(|s| (now_ms - s.timestamp_millis()).max(0) as f64 / 3_600_000.0)
        .unwrap_or(0.0)
}

/// Which of a report's numbers to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Everything (the API).
    Full,
    /// Time in each step for the window only (the page shows it for no other period or group).
    Page,
}

/// The numbers over `w` for counted issues whose first DONE entry falls in it (pure).
pub fn numbers(issues: &[&FlowFacts], w: &Window, order: &[String], now: DateTime<Utc>) -> FlowNumbers {
    numbers_of(issues, w, order, now, true)
}

/// [`numbers`], with the time in each step only when `steps`.
fn numbers_of(issues: &[&FlowFacts], w: &Window, order: &[String], now: DateTime<Utc>, steps: bool) -> FlowNumbers {
    let now_ms = now.timestamp_millis();
    let (from, to) = (w.start(), w.end());
    let done: Vec<_> = issues
        .iter()
        .filter(|i| i.done_at.is_some_and(|d| d >= from && d < to))
        .collect();
    // A handful of steps, their names shared between issues (`Names`): a linear
    // search that mostly compares pointers beats a map keyed by the names.
    let mut per_step: Vec<(&Arc<str>, Vec<f64>)> = Vec::new();
    let (mut active, mut waiting) = (0.0, 0.0);
    for i in &done {
        let open = open_hours(i, now_ms);
        let in_open = |c: StepCategory| if i.current_category == Some(c) { open } else { 0.0 };
        active += i.in_progress_hours + in_open(StepCategory::InProgress);
        waiting += i.waiting_hours + in_open(StepCategory::Waiting);
        if !steps {
            continue;
        }
        for (step, h) in step_hours(i, open) {
            let slot = (per_step.iter().position(|(k, _)| Arc::ptr_eq(k, step)))
                .or_else(|| per_step.iter().position(|(k, _)| **k == *step));
            match slot {
                Some(at) => per_step[at].1.push(h),
                None => per_step.push((step, vec![h])),
            }
        }
    }
    let mut time_in_step: Vec<(String, Summary)> = per_step
        .into_iter()
        .map(|(k, v)| (k.to_string(), Summary::of(v)))
        .collect();
    // Configured order; steps not configured (unmapped fallbacks) last, by name.
    time_in_step.sort_by(|(a, _), (b, _)| {
        let at = |k: &String| order.iter().position(|o| o == k).unwrap_or(usize::MAX);
        at(a).cmp(&at(b)).then_with(|| a.cmp(b))
    });
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
    report_rows(db, cache, filters, Rows::Shown).await
}

/// The report with `rows` of its drill-down list.
pub async fn report_rows(
    db: &DatabaseConnection,
    cache: &Cache,
    filters: Filters,
    rows_wanted: Rows,
) -> Result<FlowReport, DbErr> {
    report_at(db, cache, filters, rows_wanted, Utc::now()).await
}

/// The report with open intervals ending at `now` (tests compare two reports at one instant).
pub async fn report_at(
    db: &DatabaseConnection,
    cache: &Cache,
    filters: Filters,
    rows_wanted: Rows,
    now: DateTime<Utc>,
) -> Result<FlowReport, DbErr> {
    let inputs = FlowInputs::load(db, cache).await?;
    report_of(db, &inputs, filters, (rows_wanted, Detail::Full), now).await
}

/// The report over `inputs` (the flow page reads them once for every section), its numbers to
/// `detail`.
pub async fn report_of(
    db: &DatabaseConnection,
    inputs: &FlowInputs,
    filters: Filters,
    (rows_wanted, detail): (Rows, Detail),
    now: DateTime<Utc>,
) -> Result<FlowReport, DbErr> {
    let (freshness, snapshot) = (inputs.freshness.clone(), &inputs.snapshot);
    let project_choices = inputs.projects.clone();
    let projects = ids(&filters.projects, &project_choices);
    let all: Vec<&FlowFacts> = snapshot
        .flow
        .iter()
        .filter(|i| projects.is_empty() || projects.contains(&i.project_id))
        .collect();
    let issue_types: std::collections::BTreeSet<&str> = all.iter().map(|i| &*i.issue_type_name).collect();
    let issue_types: Vec<String> = issue_types.into_iter().map(String::from).collect();
    let chosen = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x.eq_ignore_ascii_case(v));
    let selected: Vec<&FlowFacts> = all
        .iter()
        .copied()
        .filter(|i| {
            chosen(&filters.issue_types, &i.issue_type_name) && chosen(&filters.categories, i.work_category.as_str())
        })
        .collect();
    let excluded = selected.iter().filter(|i| !i.counted).count();
    let counted: Vec<&FlowFacts> = selected.into_iter().filter(|i| i.counted).collect();
    let steps = inputs.steps.clone();
    let order: Vec<String> = steps.iter().map(|s| s.0.clone()).collect();
    let mut step_categories = steps.clone();
    for c in StepCategory::ALL {
        step_categories.push((format!("(unmapped {c})"), c));
    }
    let w = filters.window;
    let buckets = w.buckets();
    // Issues completed in the window, the previous period or a trend bucket: what the numbers read.
    let earliest = buckets.iter().map(Window::start).chain([w.previous().start()]).min();
    let (end, earliest) = (w.end(), earliest.unwrap_or_else(|| w.start()));
    let mut completed: Vec<&FlowFacts> = counted
        .iter()
        .copied()
        .filter(|i| i.done_at.is_some_and(|d| d < end && d >= earliest))
        .collect();
    // By completion, so each window's issues are one slice.
    completed.sort_by_key(|i| i.done_at);
    let within = |w: &Window| {
        let (from, to) = (Some(w.start()), Some(w.end()));
        &completed[completed.partition_point(|i| i.done_at < from)..completed.partition_point(|i| i.done_at < to)]
    };
    let in_window = within(&w);
    let all_steps = detail == Detail::Full;
    let current = numbers(in_window, &w, &order, now);
    let previous = numbers_of(within(&w.previous()), &w.previous(), &order, now, all_steps);
    let trend = buckets
        .iter()
        .map(|b| numbers_of(within(b), b, &order, now, all_steps))
        .collect();
    let breakdown = |groups: BTreeMap<String, Vec<&FlowFacts>>| {
        groups
            .into_iter()
            .map(|(l, of)| {
                let n = numbers_of(&of, &w, &order, now, all_steps);
                (l, n)
            })
            .collect::<Vec<_>>()
    };
    let mut categories: BTreeMap<String, Vec<&FlowFacts>> = BTreeMap::new();
    let mut projects: std::collections::HashMap<i64, Vec<&FlowFacts>> = Default::default();
    for i in in_window {
        categories.entry(i.work_category.to_string()).or_default().push(i);
        projects.entry(i.project_id).or_default().push(i);
    }
    let by_category = breakdown(categories);
    let by_project = breakdown(
        projects
            .into_iter()
            .filter_map(|(id, of)| project_choices.iter().find(|p| p.0 == id).map(|p| (p.1.clone(), of)))
            .collect(),
    );
    let mut wip: BTreeMap<String, usize> = BTreeMap::new();
    for i in &counted {
        if matches!(
            i.current_category,
            Some(StepCategory::InProgress | StepCategory::Waiting)
        ) && let Some(step) = &i.current_step
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
    let mut done: Vec<_> = in_window.iter().collect();
    done.sort_by_key(|i| std::cmp::Reverse(i.done_at));
    done.truncate(rows_wanted.limit());
    let ids: Vec<i64> = done.iter().map(|i| i.issue_id).collect();
    let mut summaries = db::analytics::issue_summaries(db, &ids).await?;
    let rows = done
        .iter()
        .map(|i| IssueDrillDown {
            key: i.key.to_string(),
            summary: summaries.remove(&i.issue_id).unwrap_or_default(),
            url: inputs.url(i),
            issue_type: i.issue_type_name.to_string(),
            work_category: i.work_category.to_string(),
            done_at: i.done_at,
            lead: hours(Some(i.created), i.done_at),
            cycle: hours(i.started_at, i.done_at),
            rework: i.rework,
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
    r.freshness.annotate(&mut doc);
    doc["previous"] = n(&r.previous);
    doc["trend"] = Value::Array(r.trend.iter().map(n).collect());
    doc["filters"] = json!(r.filters);
    doc
}
