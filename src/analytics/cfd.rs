//! The cumulative flow diagram of a window (DESIGN §9, §11): at the end of each UTC day, the
//! issues the flow filters select counted by the step they stood in then; arrivals (work
//! started) and departures (first DONE entry) per week; Little's law over the window.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use serde_json::{Value, json};

use super::FlowInputs;
use super::filters::Filters;
use super::flow::{FlowFacts, Pick};
use crate::domain::flow::{StepCategory, WorkCategory};
use crate::domain::metrics::cfd::{LittlesLaw, Midnights, epoch_day, littles_law};
use crate::domain::metrics::{Window, hours};

/// The band of every unmapped status, whatever its Jira category.
pub const UNMAPPED: &str = "Unmapped";

/// The cumulative flow of a window.
#[derive(Clone, Debug)]
pub struct Cfd {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Band names in flow order (active steps, then [`UNMAPPED`] when any issue stood in an
    /// unmapped status), with their categories (`None` for [`UNMAPPED`]).
    pub steps: Vec<(String, Option<StepCategory>)>,
    /// Each day with its count per band (in `steps` order) and its work in progress.
    pub days: Vec<(NaiveDate, Vec<u32>, u32)>,
    /// Each week of the window (the last may be shorter): issues started, issues done.
    pub weeks: Vec<(Window, usize, usize)>,
    pub law: LittlesLaw,
}

/// The cumulative flow's inputs for every counted issue, by what the flow filters choose by
/// (project, issue type, work category): each group's counts at every midnight of history and
/// the days its issues started. Built once per snapshot ([`crate::analytics::Snapshot::days`]),
/// so a window's chart adds up a few groups' counts instead of sweeping every issue's
/// timeline on every view.
#[derive(Debug, Default)]
pub struct FlowDays {
    groups: Vec<DayGroup>,
}

#[derive(Debug)]
struct DayGroup {
    project_id: i64,
    issue_type: Arc<str>,
    work_category: WorkCategory,
    /// Each place's step (`None`: an unmapped status), by the index [`Midnights`] counts it at.
    places: Vec<Option<Arc<str>>>,
    midnights: Midnights,
    /// The UTC day each of its issues started work, ascending.
    started: Vec<NaiveDate>,
}

impl FlowDays {
    pub fn build(flow: &[FlowFacts]) -> Self {
        let counted = || flow.iter().filter(|i| i.counted);
        let (first, last) = counted()
            .filter_map(|i| Midnights::span(i.created, &i.timeline))
            .fold((i64::MAX, i64::MIN), |(a, b), (f, l)| (a.min(f), b.max(l)));
        let (first, last) = if first > last { (0, 0) } else { (first, last) };
        let mut at: HashMap<(i64, &str, WorkCategory), usize> = HashMap::new();
        let mut groups: Vec<DayGroup> = Vec::new();
        for i in counted() {
            let g = *at
                .entry((i.project_id, &i.issue_type_name, i.work_category))
                .or_insert_with(|| {
                    groups.push(DayGroup {
                        project_id: i.project_id,
                        issue_type: i.issue_type_name.clone(),
                        work_category: i.work_category,
                        places: Vec::new(),
                        midnights: Midnights::new(first, last),
                        started: Vec::new(),
                    });
                    groups.len() - 1
                });
            let DayGroup {
                places,
                midnights,
                started,
                ..
            } = &mut groups[g];
            // Names are shared between issues: mostly a pointer comparison.
            midnights.add(i.created, &i.timeline, |s| {
                let same = |p: &Option<Arc<str>>| match (p, &s.step) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                    (None, None) => true,
                    _ => false,
                };
                places.iter().position(same).unwrap_or_else(|| {
                    places.push(s.step.clone());
                    places.len() - 1
                })
            });
            started.extend(i.started_at.map(|s| s.date_naive()));
        }
        for g in &mut groups {
            g.midnights.finish();
            g.started.sort_unstable();
        }
        Self { groups }
    }
}

/// The window's cumulative flow over the selected issues.
pub fn cfd(inputs: &FlowInputs, filters: &Filters) -> Cfd {
    let pick = Pick::new(filters, &inputs.projects);
    let mut steps: Vec<(String, Option<StepCategory>)> =
        inputs.steps.iter().map(|(n, c)| (n.clone(), Some(*c))).collect();
    let unmapped = steps.len();
    let w = filters.window;
    let days = w.days().max(0) as usize;
    let weeks: Vec<Window> = (0..days.div_ceil(7))
        .map(|k| {
            let from = w.from + Days::new(7 * k as u64);
            Window::new(from, (from + Days::new(6)).min(w.to))
        })
        .collect();
    let mut per_week = vec![(0usize, 0usize); weeks.len()];
    // Each day's count at its end: the midnight that begins the next day.
    let first = epoch_day(w.start() + Days::new(1));
    let mut bands = vec![vec![0u32; steps.len() + 1]; days];
    let mut wip = vec![0u32; days];
    let chosen = (inputs.snapshot.days().groups.iter())
        .filter(|g| pick.project(g.project_id) && pick.kind(&g.issue_type, g.work_category));
    for g in chosen {
        let band: Vec<(usize, usize)> = (g.places.iter().enumerate())
            .filter_map(|(p, step)| match step {
                None => Some((p, unmapped)),
                Some(name) => steps.iter().position(|(n, _)| **n == **name).map(|b| (p, b)),
            })
            .collect();
        for (d, (counts, wip)) in bands.iter_mut().zip(&mut wip).enumerate() {
            let day = first + d as i64;
            for &(p, b) in &band {
                counts[b] += g.midnights.count(p, day);
            }
            *wip += g.midnights.wip(day);
        }
        for (wk, n) in weeks.iter().zip(&mut per_week) {
            n.0 += g.started.partition_point(|d| *d <= wk.to) - g.started.partition_point(|d| *d < wk.from);
        }
    }
    if bands.iter().any(|day| day[unmapped] > 0) {
        steps.push((UNMAPPED.to_string(), None));
    } else {
        for day in &mut bands {
            day.truncate(unmapped);
        }
    }
    let mut cycle = Vec::new();
    for i in pick.of(inputs.snapshot.done_between(w.start(), w.end())) {
        if let Some(d) = i.done_at {
            per_week[((d.date_naive() - w.from).num_days() / 7) as usize].1 += 1;
            cycle.extend(hours(i.started_at, i.done_at));
        }
    }
    let (arrivals, departures) = per_week.iter().fold((0, 0), |(a, d), (x, y)| (a + x, d + y));
    let law = littles_law(&wip, arrivals, departures, &cycle, days);
    Cfd {
        from: w.from,
        to: w.to,
        steps,
        days: bands
            .into_iter()
            .zip(wip)
            .enumerate()
            .map(|(d, (b, wip))| (w.from + Days::new(d as u64), b, wip))
            .collect(),
        weeks: weeks.into_iter().zip(per_week).map(|(wk, (a, d))| (wk, a, d)).collect(),
        law,
    }
}

/// `GET /api/v1/metrics/flow/cfd` (DESIGN §11).
pub fn cfd_json(c: &Cfd) -> Value {
    let l = &c.law;
    json!({
        "from": c.from,
        "to": c.to,
        "steps": c.steps.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "days": c.days.iter().map(|(date, counts, wip)| json!({
            "date": date,
            "counts": c.steps.iter().zip(counts).map(|((n, _), v)| (n.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "wip": wip,
        })).collect::<Vec<_>>(),
        "weeks": c.weeks.iter().map(|(wk, a, d)| json!({"from": wk.from, "to": wk.to, "arrivals": a, "departures": d})).collect::<Vec<_>>(),
        "littles_law": {
            "average_wip": l.average_wip,
            "throughput_per_day": l.throughput_per_day,
            "average_cycle_time_days": l.average_cycle_days,
            "expected_wip": l.expected_wip,
            "arrivals_per_week": l.arrivals_per_week,
            "departures_per_week": l.departures_per_week,
            "stable": l.stable,
            "summary": l.sentence(),
        },
    })
}
