//! The flow page and API: lead and cycle time, time in each step, throughput, WIP by step,
//! flow efficiency and rework of issues completed in the window.

use std::collections::{BTreeMap, HashMap, HashSet};
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
    pub step_hours: Run<(Arc<str>, f64)>,
    pub in_progress_hours: f64,
    pub waiting_hours: f64,
    pub rework: i32,
    pub current_step: Option<Arc<str>>,
    pub current_category: Option<StepCategory>,
    pub current_since: Option<DateTime<Utc>>,
    /// Each entry into a place since creation (aging as of any instant, cumulative flow).
    pub timeline: Run<Stay>,
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

/// Converts stored rows into facts whose step hours and timelines lie in buffers shared by the
/// issues converted one after another (a few thousand issues per buffer). Rows read in
/// completion order give a window's issues as runs of memory (at 500k issues, step hours
/// allocated one by one left the flow page waiting on a cache miss per issue), and no issue
/// holds allocations of its own (half a million small ones per pass, freed among others still in
/// use, kept hundreds of MB resident). Step hours or a timeline that are not what the
/// precompute pass writes (a hand edit, another version's format, a category no `StepCategory`
/// knows) are an error naming the issue, not an issue read with less history; a layout that
/// returned one is dropped.
pub struct Layout<'n> {
    names: &'n mut Names,
    facts: Vec<FlowFacts>,
    /// `facts[..sealed]` read their entries from sealed buffers, the rest from `hours` and
    /// `stays` once [`Layout::seal`] hands them over.
    sealed: usize,
    hours: Vec<StepHours>,
    stays: Vec<Stay>,
    /// Where the runs of facts not yet sealed point meanwhile.
    unsealed: (Arc<Vec<StepHours>>, Arc<Vec<Stay>>),
}

/// Hours in one step (closed intervals), its name shared.
type StepHours = (Arc<str>, f64);

/// Entries per shared buffer: 2 MB of timeline entries, about 8,000 issues at 500k.
const BUFFER_ENTRIES: usize = 1 << 16;

impl<'n> Layout<'n> {
    pub fn new(names: &'n mut Names) -> Self {
        Self {
            names,
            facts: Vec::new(),
            sealed: 0,
            hours: Vec::new(),
            stays: Vec::new(),
            unsealed: Default::default(),
        }
    }

    /// Adds the stored row of the issue keyed `key`.
    pub fn push(&mut self, r: issue_flow_times::Model, key: &str) -> Result<(), DbErr> {
        let issue = r.issue_id;
        let stored = |what: String| DbErr::Type(format!("issue_flow_times of issue {issue}: the stored {what}"));
        let hours = match r.step_hours {
            Value::Object(hours) => hours,
            other => {
                return Err(stored(format!(
                    "step hours are not an object of hours by step: {other}"
                )));
            }
        };
        let entries = match &r.timeline {
            // Not computed yet (rows from before the first pass that computed timelines).
            None => &[][..],
            Some(Value::Array(entries)) => entries.as_slice(),
            Some(other) => return Err(stored(format!("timeline is not a list of entries: {other}"))),
        };
        if self.hours.len() + hours.len() > BUFFER_ENTRIES || self.stays.len() + entries.len() > BUFFER_ENTRIES {
            self.seal();
        }
        if self.stays.capacity() == 0 {
            self.hours.reserve(BUFFER_ENTRIES);
            self.stays.reserve(BUFFER_ENTRIES);
        }
        let first_hour = self.hours.len();
        for (step, h) in hours {
            let Some(h) = h.as_f64() else {
                return Err(stored(format!(
                    "step hours are not an object of hours by step: {step:?} has {h}"
                )));
            };
            self.hours.push((self.names.get(step), h));
        }
        // In name order, whatever order the database kept the object's keys in.
        self.hours[first_hour..].sort_by(|a, b| a.0.cmp(&b.0));
        let first_stay = self.stays.len();
        for (n, e) in entries.iter().enumerate() {
            let stay = self::stay(n, e, self.names).map_err(|e| stored(format!("timeline {e}")))?;
            self.stays.push(stay);
        }
        let fact = FlowFacts {
            issue_id: r.issue_id,
            project_id: r.project_id,
            issue_type_name: self.names.get(r.issue_type_name),
            work_category: r.work_category,
            counted: r.counted,
            created: r.created,
            started_at: r.started_at,
            done_at: r.done_at,
            step_hours: Run::part(self.unsealed.0.clone(), first_hour, self.hours.len()),
            in_progress_hours: r.in_progress_hours,
            waiting_hours: r.waiting_hours,
            rework: r.rework,
            current_step: r.current_step.map(|s| self.names.get(s)),
            current_category: r.current_category,
            current_since: r.current_since,
            timeline: Run::part(self.unsealed.1.clone(), first_stay, self.stays.len()),
            key: IssueKey::new(key, self.names),
        };
        self.facts.push(fact);
        Ok(())
    }

    /// Hands the buffers being filled, fitted to what they hold, to the facts that use them.
    fn seal(&mut self) {
        if self.sealed == self.facts.len() {
            return;
        }
        let mut hours = std::mem::take(&mut self.hours);
        let mut stays = std::mem::take(&mut self.stays);
        hours.shrink_to_fit();
        stays.shrink_to_fit();
        let (hours, stays) = (Arc::new(hours), Arc::new(stays));
        for f in &mut self.facts[self.sealed..] {
            f.step_hours.all = hours.clone();
            f.timeline.all = stays.clone();
        }
        self.sealed = self.facts.len();
    }

    /// The facts, in the order added.
    pub fn finish(mut self) -> Vec<FlowFacts> {
        self.seal();
        self.facts.shrink_to_fit();
        self.facts
    }
}

/// The flow filters as a test per issue: projects (by id, empty for all), issue types and
/// work categories (any case, empty for all).
pub struct Pick<'a> {
    projects: Vec<i64>,
    types: &'a [String],
    categories: &'a [String],
}

impl<'a> Pick<'a> {
    pub fn new(filters: &'a Filters, project_choices: &[(i64, String)]) -> Self {
        Self {
            projects: ids(&filters.projects, project_choices),
            types: &filters.issue_types,
            categories: &filters.categories,
        }
    }

    pub fn project(&self, id: i64) -> bool {
        self.projects.is_empty() || self.projects.contains(&id)
    }

    /// Whether the type and category filters choose this kind of issue.
    pub fn kind(&self, issue_type: &str, category: WorkCategory) -> bool {
        let chosen = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x.eq_ignore_ascii_case(v));
        chosen(self.types, issue_type) && chosen(self.categories, category.as_str())
    }

    /// A counted issue the filters choose: what every flow report and chart reads.
    pub fn counted(&self, i: &FlowFacts) -> bool {
        i.counted && self.project(i.project_id) && self.kind(&i.issue_type_name, i.work_category)
    }

    /// The counted issues of `issues` the filters choose, in their order.
    pub fn of<'f>(&self, issues: &'f [FlowFacts]) -> Vec<&'f FlowFacts> {
        issues.iter().filter(|i| self.counted(i)).collect()
    }
}

/// Issues counted together by what the flow filters choose by, whether the flow counts them
/// and the step they are in progress in ([`crate::analytics::Snapshot::groups`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub project_id: i64,
    pub issue_type: Arc<str>,
    pub work_category: WorkCategory,
    pub counted: bool,
    /// The step of an issue in progress or waiting now (work in progress), else `None`.
    pub wip_step: Option<Arc<str>>,
    pub issues: usize,
}

impl Group {
    /// The groups of `flow`, in a stable order (project, type, category, counted, step).
    pub fn count(flow: &[FlowFacts]) -> Vec<Group> {
        type Key<'f> = (i64, &'f str, WorkCategory, bool, Option<&'f str>);
        let mut at: std::collections::HashMap<Key<'_>, (usize, &FlowFacts)> = Default::default();
        for i in flow {
            let step = wip_step(i).map(|s| &**s);
            at.entry((i.project_id, &i.issue_type_name, i.work_category, i.counted, step))
                .or_insert((0, i))
                .0 += 1;
        }
        let mut groups: Vec<Group> = at
            .into_values()
            .map(|(issues, i)| Group {
                project_id: i.project_id,
                issue_type: i.issue_type_name.clone(),
                work_category: i.work_category,
                counted: i.counted,
                wip_step: wip_step(i).cloned(),
                issues,
            })
            .collect();
        groups.sort_by(|a, b| {
            (a.project_id, &a.issue_type, a.work_category, a.counted, &a.wip_step).cmp(&(
                b.project_id,
                &b.issue_type,
                b.work_category,
                b.counted,
                &b.wip_step,
            ))
        });
        groups
    }
}

/// The step an issue is in progress or waiting in now.
fn wip_step(i: &FlowFacts) -> Option<&Arc<str>> {
    i.current_step.as_ref().filter(|_| {
        matches!(
            i.current_category,
            Some(StepCategory::InProgress | StepCategory::Waiting)
        )
    })
}

/// A run of a buffer shared between issues: those converted together ([`Layout`]) hold their
/// step hours (and timelines) in one buffer each, in the order they were read.
#[derive(Clone)]
pub struct Run<T> {
    all: Arc<Vec<T>>,
    start: u32,
    len: u32,
}

impl<T> Run<T> {
    /// Entries `start..end` of `all`.
    fn part(all: Arc<Vec<T>>, start: usize, end: usize) -> Self {
        Self {
            all,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(end - start).unwrap_or(u32::MAX),
        }
    }

    /// A buffer of its own.
    pub fn new(v: Vec<T>) -> Self {
        let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
        Self {
            all: Arc::new(v),
            start: 0,
            len,
        }
    }
}

impl<T> std::ops::Deref for Run<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.all[self.start as usize..][..self.len as usize]
    }
}

/// As the slice: two runs with the same entries read the same, whichever buffer holds them.
impl<T: std::fmt::Debug> std::fmt::Debug for Run<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> Default for Run<T> {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

/// Entry `n` of a stored timeline (`[epoch ms, step name or null, category]`), its name shared.
/// The error says what is wrong with it, completing "the stored timeline …".
fn stay(n: usize, e: &Value, names: &mut Names) -> Result<Stay, String> {
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

/// What a report's numbers read of one issue completed in its window, its period or a trend
/// bucket: read from the issue's facts once per report, then added to every tally that counts
/// it (the window's, its bucket's, its category's and its project's).
#[derive(Clone, Copy, Debug)]
struct Done<'a> {
    facts: &'a FlowFacts,
    lead: Option<f64>,
    cycle: Option<f64>,
    /// Hours in progress and waiting, the open interval's (up to now) included.
    active: f64,
    waiting: f64,
    /// The open interval's hours up to now.
    open: f64,
}

impl<'a> Done<'a> {
    fn of(i: &'a FlowFacts, now_ms: i64) -> Self {
        let open = open_hours(i, now_ms);
        let in_open = |c: StepCategory| if i.current_category == Some(c) { open } else { 0.0 };
        Self {
            facts: i,
            lead: hours(Some(i.created), i.done_at),
            cycle: hours(i.started_at, i.done_at),
            active: i.in_progress_hours + in_open(StepCategory::InProgress),
            waiting: i.waiting_hours + in_open(StepCategory::Waiting),
            open,
        }
    }
}

/// The numbers over some completed issues, added one at a time: a report reads each issue once
/// and adds it to each tally it counts in, instead of a list of issues per tally.
struct Tally<'a> {
    issues: usize,
    lead: Vec<f64>,
    cycle: Vec<f64>,
    active: f64,
    waiting: f64,
    with_rework: usize,
    backward_moves: i64,
    /// Hours per step, by step name, when the time in each step is wanted.
    steps: Option<Vec<(&'a Arc<str>, Vec<f64>)>>,
}

impl<'a> Tally<'a> {
    /// With the time in each step only when `steps`.
    fn new(steps: bool) -> Self {
        Self {
            issues: 0,
            lead: Vec::new(),
            cycle: Vec::new(),
            active: 0.0,
            waiting: 0.0,
            with_rework: 0,
            backward_moves: 0,
            steps: steps.then(Vec::new),
        }
    }

    fn add(&mut self, d: &Done<'a>) {
        self.issues += 1;
        self.lead.extend(d.lead);
        self.cycle.extend(d.cycle);
        self.active += d.active;
        self.waiting += d.waiting;
        self.with_rework += usize::from(d.facts.rework > 0);
        self.backward_moves += i64::from(d.facts.rework);
        let Some(per_step) = &mut self.steps else {
            return;
        };
        // A handful of steps by name, their names shared between issues (`Names`). Each
        // issue's closed steps come in name order too, so its next step is mostly the next
        // slot: one pointer comparison, not a search.
        let mut next = 0;
        for (step, h) in step_hours(d.facts, d.open) {
            let at = match per_step.get(next) {
                Some((k, _)) if Arc::ptr_eq(k, step) => next,
                _ => match per_step.iter().position(|(k, _)| Arc::ptr_eq(k, step) || **k == *step) {
                    Some(at) => at,
                    None => {
                        let at = per_step.partition_point(|(k, _)| **k < *step);
                        per_step.insert(at, (step, Vec::new()));
                        at
                    }
                },
            };
            per_step[at].1.push(h);
            next = at + 1;
        }
    }

    /// The numbers over `w`, steps in the configured `order`.
    fn finish(self, w: &Window, order: &[String]) -> FlowNumbers {
        let mut time_in_step: Vec<(String, Summary)> = (self.steps.into_iter().flatten())
            .map(|(k, v)| (k.to_string(), Summary::of(v)))
            .collect();
        // Configured order; steps not configured (unmapped fallbacks) last, by name.
        time_in_step.sort_by(|(a, _), (b, _)| {
            let at = |k: &String| order.iter().position(|o| o == k).unwrap_or(usize::MAX);
            at(a).cmp(&at(b)).then_with(|| a.cmp(b))
        });
        let (active, waiting) = (self.active, self.waiting);
        FlowNumbers {
            window: Some(*w),
            issues: self.issues,
            lead_time: Summary::of(self.lead),
            cycle_time: Summary::of(self.cycle),
            throughput_per_week: per_week(self.issues, w),
            time_in_step,
            flow_efficiency: (active + waiting > 0.0).then(|| active / (active + waiting)),
            with_rework: self.with_rework,
            backward_moves: self.backward_moves,
        }
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
    let pick = Pick::new(&filters, &project_choices);
    // What the window's issues do not tell, from the snapshot's groups: the type choices, the
    // excluded count, work in progress.
    let groups: Vec<&Group> = snapshot
        .groups()
        .iter()
        .filter(|g| pick.project(g.project_id))
        .collect();
    let issue_types: std::collections::BTreeSet<&str> = groups.iter().map(|g| &*g.issue_type).collect();
    let issue_types: Vec<String> = issue_types.into_iter().map(String::from).collect();
    let chosen: Vec<&Group> = (groups.iter().copied())
        .filter(|g| pick.kind(&g.issue_type, g.work_category))
        .collect();
    let excluded = chosen.iter().filter(|g| !g.counted).map(|g| g.issues).sum();
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
    let all_steps = detail == Detail::Full;
    let (previous_w, now_ms) = (w.previous(), now.timestamp_millis());
    let mut current = Tally::new(true);
    let mut previous = Tally::new(all_steps);
    let mut trend: Vec<Tally> = buckets.iter().map(|_| Tally::new(all_steps)).collect();
    let mut categories: HashMap<WorkCategory, Tally> = HashMap::new();
    let mut projects: HashMap<i64, Tally> = HashMap::new();
    let mut in_window: Vec<&FlowFacts> = Vec::new();
    let (bounds, mut bucket) = (buckets.iter().map(|b| (b.start(), b.end())).collect::<Vec<_>>(), 0);
    // In completion order (the snapshot's): each issue read once, added to every tally it
    // counts in, the trend's buckets met in order.
    for i in snapshot.done_between(earliest, end).iter().filter(|i| pick.counted(i)) {
        let Some(at) = i.done_at else { continue };
        let d = Done::of(i, now_ms);
        if previous_w.contains(at) {
            previous.add(&d);
        }
        while bounds.get(bucket).is_some_and(|b| at >= b.1) {
            bucket += 1;
        }
        if let (Some(b), Some(t)) = (bounds.get(bucket), trend.get_mut(bucket))
            && at >= b.0
        {
            t.add(&d);
        }
        if w.contains(at) {
            current.add(&d);
            (categories.entry(i.work_category))
                .or_insert_with(|| Tally::new(all_steps))
                .add(&d);
            (projects.entry(i.project_id))
                .or_insert_with(|| Tally::new(all_steps))
                .add(&d);
            in_window.push(i);
        }
    }
    let current = current.finish(&w, &order);
    let previous = previous.finish(&previous_w, &order);
    let trend = trend
        .into_iter()
        .zip(&buckets)
        .map(|(t, b)| t.finish(b, &order))
        .collect();
    let breakdown = |groups: BTreeMap<String, Tally>| {
        groups
            .into_iter()
            .map(|(l, t)| (l, t.finish(&w, &order)))
            .collect::<Vec<_>>()
    };
    let by_category = breakdown(categories.into_iter().map(|(c, t)| (c.to_string(), t)).collect());
    let by_project = breakdown(
        projects
            .into_iter()
            .filter_map(|(id, t)| project_choices.iter().find(|p| p.0 == id).map(|p| (p.1.clone(), t)))
            .collect(),
    );
    let mut wip: BTreeMap<String, usize> = BTreeMap::new();
    for g in chosen.iter().filter(|g| g.counted) {
        if let Some(step) = &g.wip_step {
            *wip.entry(step.to_string()).or_default() += g.issues;
        }
    }
    let mut wip: Vec<(String, usize)> = wip.into_iter().collect();
    wip.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
    let missing = (current.issues == 0).then(|| {
        if groups.is_empty() {
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
    let done = latest_first(&in_window, rows_wanted.limit());
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

/// The `limit` issues of `done` (in completion order, then by id) completed last, the latest
/// first and those completed together by id: reads only those, not the whole window.
fn latest_first<'a>(done: &[&'a FlowFacts], limit: usize) -> Vec<&'a FlowFacts> {
    let mut out = Vec::new();
    let mut end = done.len();
    while end > 0 && out.len() < limit {
        let at = done[end - 1].done_at;
        let start = done[..end].partition_point(|i| i.done_at < at);
        out.extend_from_slice(&done[start..end]);
        end = start;
    }
    out.truncate(limit);
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
    }

    fn fact(issue_id: i64, done: Option<u32>, current: Option<(&str, StepCategory)>) -> FlowFacts {
        let name = |s: &str| Arc::<str>::from(s);
        FlowFacts {
            issue_id,
            project_id: 1,
            issue_type_name: name("Story"),
            work_category: WorkCategory::Feature,
            counted: true,
            created: at(1),
            started_at: Some(at(2)),
            done_at: done.map(at),
            step_hours: Run::new(vec![(name("Dev"), issue_id as f64), (name("Review"), 1.0)]),
            in_progress_hours: 1.0,
            waiting_hours: 0.0,
            rework: 0,
            current_step: current.map(|c| name(c.0)),
            current_category: current.map(|c| c.1),
            current_since: current.map(|_| at(3)),
            timeline: Run::new(vec![Stay {
                at_ms: at(1).timestamp_millis() + issue_id,
                step: None,
                category: StepCategory::ToDo,
            }]),
            key: IssueKey::default(),
        }
    }

    /// A stored row of issue `id` with `stays` timeline entries and two steps' hours, the keys
    /// out of name order.
    fn row(id: i64, stays: usize) -> issue_flow_times::Model {
        let timeline: Vec<Value> = (0..stays)
            .map(|n| {
                json!([
                    at(1).timestamp_millis() + n as i64,
                    if n % 2 == 0 { Value::Null } else { json!("Dev") },
                    "TO_DO"
                ])
            })
            .collect();
        issue_flow_times::Model {
            id,
            issue_id: id,
            project_id: 1,
            issue_type_name: "Story".into(),
            work_category: WorkCategory::Feature,
            counted: true,
            created: at(1),
            started_at: None,
            done_at: None,
            step_hours: json!({"Review": id as f64, "Dev": 1}),
            in_progress_hours: 0.0,
            waiting_hours: 0.0,
            rework: 0,
            current_step: Some("Dev".into()),
            current_category: Some(StepCategory::InProgress),
            current_since: None,
            timeline: Some(Value::Array(timeline)),
            created_at: at(1),
            updated_at: at(1),
        }
    }

    #[test]
    fn a_layout_keeps_each_issues_entries_in_buffers_shared_by_issues_read_together() {
        // Enough entries for several buffers, one issue with more than a buffer holds.
        let sizes: Vec<usize> = (0..40)
            .map(|n| if n == 17 { BUFFER_ENTRIES + 5 } else { 3_000 + n })
            .collect();
        let mut names = Names::default();
        let mut layout = Layout::new(&mut names);
        for (id, n) in sizes.iter().enumerate() {
            layout.push(row(id as i64, *n), &format!("PAY-{id}")).unwrap();
        }
        let facts = layout.finish();
        assert_eq!(facts.len(), sizes.len());
        for (f, n) in facts.iter().zip(&sizes) {
            assert_eq!(f.timeline.len(), *n);
            assert!(
                f.timeline
                    .iter()
                    .enumerate()
                    .all(|(k, s)| s.at_ms == at(1).timestamp_millis() + k as i64
                        && s.step.as_deref() == (k % 2 == 1).then_some("Dev"))
            );
            let hours: Vec<(&str, f64)> = f.step_hours.iter().map(|(k, h)| (&**k, *h)).collect();
            assert_eq!(hours, [("Dev", 1.0), ("Review", f.issue_id as f64)], "in name order");
            assert_eq!(f.key.to_string(), format!("PAY-{}", f.issue_id));
        }
        let buffers: Vec<*const Vec<Stay>> = facts.iter().map(|f| Arc::as_ptr(&f.timeline.all)).collect();
        let mut distinct = buffers.clone();
        distinct.dedup();
        assert!(
            distinct.len() > 2 && distinct.len() < facts.len(),
            "shared, a few buffers: {}",
            distinct.len()
        );
        for f in &facts {
            assert!(
                f.timeline.all.len() <= BUFFER_ENTRIES.max(f.timeline.len()),
                "no buffer over its size but for one issue's own"
            );
            assert_eq!(f.timeline.all.capacity(), f.timeline.all.len(), "fitted");
        }
        // Names are shared between issues.
        assert!(Arc::ptr_eq(&facts[0].issue_type_name, &facts[39].issue_type_name));
    }

    #[test]
    fn a_stored_value_not_as_the_pass_writes_it_is_an_error_naming_the_issue() {
        let mut names = Names::default();
        let mut bad = row(7, 2);
        bad.step_hours = json!({"Dev": "two"});
        let err = Layout::new(&mut names).push(bad, "PAY-7").unwrap_err().to_string();
        assert!(
            err.contains("issue 7") && err.contains("step hours are not an object of hours by step"),
            "{err}"
        );
        let mut bad = row(8, 2);
        bad.timeline = Some(json!([[0, null, "NOWHERE"]]));
        let err = Layout::new(&mut names).push(bad, "PAY-8").unwrap_err().to_string();
        assert!(
            err.contains("issue 8") && err.contains("unknown step category"),
            "{err}"
        );
    }

    #[test]
    fn the_drill_down_lists_the_latest_completed_first_those_completed_together_by_id() {
        let facts = [
            fact(1, Some(4), None),
            fact(2, Some(5), None),
            fact(3, Some(5), None),
            fact(4, Some(6), None),
        ];
        let done: Vec<&FlowFacts> = facts.iter().collect();
        let ids = |limit| -> Vec<i64> { latest_first(&done, limit).iter().map(|i| i.issue_id).collect() };
        assert_eq!(ids(10), [4, 2, 3, 1]);
        assert_eq!(ids(2), [4, 2]);
        assert_eq!(ids(0), Vec::<i64>::new());
    }

    #[test]
    fn groups_count_issues_by_kind_and_the_step_they_are_in_progress_in() {
        let mut facts = vec![
            fact(1, None, Some(("Dev", StepCategory::InProgress))),
            fact(2, None, Some(("Dev", StepCategory::InProgress))),
            fact(3, None, Some(("Blocked", StepCategory::Waiting))),
            fact(4, Some(5), Some(("Done", StepCategory::Done))),
            fact(5, None, Some(("Dev", StepCategory::InProgress))),
        ];
        facts[4].counted = false;
        let groups = Group::count(&facts);
        let seen: Vec<(bool, Option<&str>, usize)> = groups
            .iter()
            .map(|g| (g.counted, g.wip_step.as_deref(), g.issues))
            .collect();
        assert_eq!(
            seen,
            [
                (false, Some("Dev"), 1),
                (true, None, 1),
                (true, Some("Blocked"), 1),
                (true, Some("Dev"), 2)
            ]
        );
        assert_eq!(groups.iter().map(|g| g.issues).sum::<usize>(), facts.len());
    }
}
