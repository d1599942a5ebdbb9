//! The cumulative flow diagram of a window (DESIGN §9, §11): at the end of each UTC day, the
//! issues the flow filters select counted by the step they stood in then; arrivals (work
//! started) and departures (first DONE entry) per week; Little's law over the window.

use std::cell::RefCell;
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use serde_json::{Value, json};

use super::FlowInputs;
use super::filters::{Filters, ids};
use super::forecast::selected;
use crate::domain::flow::StepCategory;
use crate::domain::metrics::cfd::{LittlesLaw, Sweep, littles_law};
use crate::domain::metrics::flow::Stay;
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

/// The window's cumulative flow over the selected issues.
pub fn cfd(inputs: &FlowInputs, filters: &Filters) -> Cfd {
    let projects = ids(&filters.projects, &inputs.projects);
    let chosen = selected(&inputs.snapshot.flow, filters, &projects);
    let mut steps: Vec<(String, Option<StepCategory>)> =
        inputs.steps.iter().map(|(n, c)| (n.clone(), Some(*c))).collect();
    let unmapped = steps.len();
    let w = filters.window;
    let days = w.days().max(0) as usize;
    // Names are shared between issues: each distinct one is looked up once, then by pointer.
    let seen: RefCell<Vec<(Arc<str>, Option<usize>)>> = RefCell::default();
    let band = |s: &Stay| match &s.step {
        None => Some(unmapped),
        Some(name) => {
            if let Some((_, b)) = seen.borrow().iter().find(|(n, _)| Arc::ptr_eq(n, name)) {
                return *b;
            }
            let b = steps.iter().position(|(n, _)| **n == **name);
            seen.borrow_mut().push((name.clone(), b));
            b
        }
    };
    let mut sweep = Sweep::new(w.start() + Days::new(1), days, steps.len() + 1);
    for i in &chosen {
        sweep.add_issue(i.created, &i.timeline, i.last_stay.as_ref(), band);
    }
    let counts = sweep.finish();
    let mut bands = counts.bands;
    if bands.iter().any(|day| day[unmapped] > 0) {
        steps.push((UNMAPPED.to_string(), None));
    } else {
        for day in &mut bands {
            day.truncate(unmapped);
        }
    }
    let weeks: Vec<Window> = (0..days.div_ceil(7))
        .map(|k| {
            let from = w.from + Days::new(7 * k as u64);
            Window::new(from, (from + Days::new(6)).min(w.to))
        })
        .collect();
    let mut per_week = vec![(0usize, 0usize); weeks.len()];
    let week_of = |d: chrono::DateTime<chrono::Utc>| {
        w.contains(d)
            .then(|| ((d.date_naive() - w.from).num_days() / 7) as usize)
    };
    let mut cycle = Vec::new();
    for i in &chosen {
        if let Some(k) = i.started_at.and_then(week_of) {
            per_week[k].0 += 1;
        }
        if let Some(k) = i.done_at.and_then(week_of) {
            per_week[k].1 += 1;
            cycle.extend(hours(i.started_at, i.done_at));
        }
    }
    let (arrivals, departures) = per_week.iter().fold((0, 0), |(a, d), (x, y)| (a + x, d + y));
    let law = littles_law(&counts.wip, arrivals, departures, &cycle, days);
    Cfd {
        from: w.from,
        to: w.to,
        steps,
        days: bands
            .into_iter()
            .zip(counts.wip)
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
