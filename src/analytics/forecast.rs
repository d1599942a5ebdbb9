//! Forecasting flow analytics over the snapshot (DESIGN §9, §11): the cycle-time scatter and
//! Monte Carlo forecasts, with the flow page's filters (projects, issue types, categories,
//! teams).

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::{Value, json};

use super::FlowInputs;
use super::filters::{Filters, date};
use super::flow::{FlowFacts, Pick};
use crate::domain::flow::WorkCategory;
use crate::domain::metrics::forecast::{self, DEFAULT_TRIALS, Forecast, MAX_DAYS, MAX_TRIALS};
use crate::domain::metrics::{Window, hours};

/// One completed issue of the scatter.
#[derive(Clone, Debug)]
pub struct ScatterPoint {
    pub key: Option<String>,
    pub url: Option<String>,
    pub completed_at: DateTime<Utc>,
    pub cycle_time_hours: f64,
}

/// The cycle-time scatter of a window.
#[derive(Clone, Debug)]
pub struct Scatter {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Oldest first.
    pub points: Vec<ScatterPoint>,
    /// p50, p70, p85 and p95 of the points' cycle times.
    pub lines: [(u32, Option<f64>); 4],
}

/// Which points of a scatter carry their issue's key and link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Labelled {
    /// Every point (the API).
    All,
    /// Only the outliers, the points above the p85 line, and of those at most
    /// [`LINKED_OUTLIERS`], the slowest (the page: a linked dot for each of 40,000 issues cost
    /// more to read than the rest of the page, and a year at 500k issues has 37,000 outliers).
    Outliers,
}

/// At most this many outliers of the page's scatter carry their link (the slowest; the API
/// links every point).
pub const LINKED_OUTLIERS: usize = 500;

/// Which of these cycle times are labelled: those above `threshold`, at most `most` of them,
/// the longest first (equal ones by position).
fn labelled_slowest(cycle: &[f64], threshold: f64, most: usize) -> Vec<bool> {
    let mut above: Vec<usize> = (0..cycle.len()).filter(|&k| cycle[k] > threshold).collect();
    if above.len() > most {
        above.sort_by(|&a, &b| cycle[b].total_cmp(&cycle[a]).then(a.cmp(&b)));
        above.truncate(most);
    }
    let mut out = vec![false; cycle.len()];
    for k in above {
        out[k] = true;
    }
    out
}

/// One point per issue completed in the window with a cycle time, and the percentile lines.
pub fn scatter(inputs: &FlowInputs, filters: &Filters, labelled: Labelled) -> Scatter {
    let w = filters.window;
    // In completion order, then by id (the snapshot's order).
    let done: Vec<(&FlowFacts, DateTime<Utc>, f64)> = (Pick::new(filters, &inputs.projects))
        .of(inputs.snapshot.done_between(w.start(), w.end()))
        .into_iter()
        .filter_map(|i| {
            let at = i.done_at?;
            hours(i.started_at, Some(at)).map(|h| (i, at, h))
        })
        .collect();
    let cycle: Vec<f64> = done.iter().map(|(_, _, h)| *h).collect();
    let lines = forecast::scatter_percentiles(&cycle);
    let linked = match labelled {
        Labelled::All => vec![true; cycle.len()],
        Labelled::Outliers => {
            let p85 = lines
                .iter()
                .find(|(p, _)| *p == 85)
                .and_then(|(_, v)| *v)
                .unwrap_or(f64::INFINITY);
            labelled_slowest(&cycle, p85, LINKED_OUTLIERS)
        }
    };
    Scatter {
        from: w.from,
        to: w.to,
        lines,
        points: done
            .iter()
            .zip(linked)
            .map(|((i, at, h), labelled)| ScatterPoint {
                key: labelled.then(|| i.key.to_string()),
                url: labelled.then(|| inputs.url(i)),
                completed_at: *at,
                cycle_time_hours: *h,
            })
            .collect(),
    }
}

/// `GET /api/v1/metrics/flow/scatter` (DESIGN §11).
pub fn scatter_json(s: &Scatter) -> Value {
    json!({
        "from": s.from,
        "to": s.to,
        "points": s.points.iter().map(|p| json!({
            "key": p.key,
            "url": p.url,
            "completed_at": p.completed_at,
            "cycle_time_hours": p.cycle_time_hours,
        })).collect::<Vec<_>>(),
        "percentiles_hours": s.lines.iter().map(|(p, v)| (format!("p{p}"), json!(v))).collect::<serde_json::Map<_, _>>(),
    })
}

/// Flow distribution: completed issues per work category in each period of the window (a week,
/// or 30 days for windows over 120 days, as the trends).
#[derive(Clone, Debug)]
pub struct Distribution {
    /// Work categories in their fixed order.
    pub categories: Vec<String>,
    /// Each period with its count per category (in `categories` order).
    pub periods: Vec<(Window, Vec<usize>)>,
}

pub fn distribution(inputs: &FlowInputs, filters: &Filters) -> Distribution {
    let categories: Vec<WorkCategory> = WorkCategory::ALL.to_vec();
    let mut periods: Vec<(Window, Vec<usize>)> = filters
        .window
        .buckets()
        .into_iter()
        .map(|b| (b, vec![0; categories.len()]))
        .collect();
    // One pass over the window's issues, each counted in every period that holds its completion.
    let w = filters.window;
    for i in Pick::new(filters, &inputs.projects).of(inputs.snapshot.done_between(w.start(), w.end())) {
        let Some(d) = i.done_at else {
            continue;
        };
        let Some(c) = categories.iter().position(|c| *c == i.work_category) else {
            continue;
        };
        for (b, counts) in &mut periods {
            if b.contains(d) {
                counts[c] += 1;
            }
        }
    }
    Distribution {
        categories: categories.iter().map(|c| c.to_string()).collect(),
        periods,
    }
}

/// What a forecast asks: the history window, the question and the trials.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastQuery {
    pub history_from: NaiveDate,
    pub history_to: NaiveDate,
    pub question: Question,
    pub trials: u32,
    pub seed: u64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Question {
    /// How many items in the next `days` days.
    HowMany { days: u32 },
    /// When will `items` items be done.
    When { items: u32 },
}

/// The question when none is asked: how many items in the next two weeks.
pub const DEFAULT_DAYS: u32 = 14;

/// The seed when none is given, so two people asking the same question get the same answer.
pub const DEFAULT_SEED: u64 = 1;
/// Default history: the 90 days up to the window's end.
const HISTORY_DAYS: u64 = 90;

impl ForecastQuery {
    /// Reads `history_from`, `history_to` (default: the 90 days up to `filters`' last day),
    /// `days` or `items` (at most one; default days=14), `trials` (1–100,000; default 10,000) and `seed`.
    pub fn parse(query: &str, filters: &Filters) -> Result<Self, String> {
        let (mut from, mut to, mut days, mut items, mut trials, mut seed) = (None, None, None, None, None, None);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let number = |name: &str, max: u32| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| format!("{name} must be a whole number from 1 to {max}, not {v:?}"))
            };
            match k.as_ref() {
                "history_from" => from = Some(date(v, "history_from")?),
                "history_to" => to = Some(date(v, "history_to")?),
                "days" => days = Some(number("days", MAX_DAYS)?),
                "items" => items = Some(number("items", 1_000_000)?),
                "trials" => trials = Some(number("trials", MAX_TRIALS)?),
                "seed" => {
                    seed = Some(
                        v.parse::<u64>()
                            .map_err(|_| format!("seed must be a whole number from 0 to {}, not {v:?}", u64::MAX))?,
                    )
                }
                _ => {}
            }
        }
        let question = match (days, items) {
            (Some(days), None) => Question::HowMany { days },
            (None, Some(items)) => Question::When { items },
            (None, None) => Question::HowMany { days: DEFAULT_DAYS },
            (Some(_), Some(_)) => return Err("ask one question: days=D or items=N, not both".into()),
        };
        let history_to = to.unwrap_or(filters.window.to);
        let history_from = from.unwrap_or_else(|| history_to - Days::new(HISTORY_DAYS - 1));
        if history_to < history_from {
            return Err(format!(
                "history_to ({history_to}) is before history_from ({history_from})"
            ));
        }
        if (history_to - history_from).num_days() > 3 * 366 {
            return Err("the history may span at most 1098 days".into());
        }
        Ok(Self {
            history_from,
            history_to,
            question,
            trials: trials.unwrap_or(DEFAULT_TRIALS),
            seed: seed.unwrap_or(DEFAULT_SEED),
        })
    }
}

/// A forecast's answer with what it was computed from.
#[derive(Clone, Debug)]
pub struct ForecastAnswer {
    pub query: ForecastQuery,
    /// Items done per day of the history.
    pub history: Vec<u32>,
    pub mean_per_day: f64,
    pub forecast: Forecast,
}

/// Runs the forecast `q` over the issues the filters select.
pub fn forecast(inputs: &FlowInputs, filters: &Filters, q: &ForecastQuery) -> ForecastAnswer {
    // Completions outside the history count on no day.
    let history_window = Window::new(q.history_from, q.history_to);
    let done = Pick::new(filters, &inputs.projects)
        .of(inputs
            .snapshot
            .done_between(history_window.start(), history_window.end()))
        .into_iter()
        .filter_map(|i| i.done_at);
    let history = forecast::daily_throughput(done, q.history_from, q.history_to);
    let mean_per_day = history.iter().map(|&d| f64::from(d)).sum::<f64>() / history.len().max(1) as f64;
    let forecast = match q.question {
        Question::HowMany { days } => forecast::how_many(&history, days, q.trials, q.seed),
        Question::When { items } => forecast::when(&history, items, q.trials, q.seed),
    };
    ForecastAnswer {
        query: q.clone(),
        history,
        mean_per_day,
        forecast,
    }
}

/// `GET /api/v1/metrics/flow/forecast` (DESIGN §11).
pub fn forecast_json(a: &ForecastAnswer) -> Value {
    let q = &a.query;
    let f = &a.forecast;
    let answer = |key: &str, value: u32| {
        let mut out = serde_json::Map::new();
        out.insert(key.into(), json!(value));
        for (level, v) in &f.levels {
            out.insert(format!("p{level}"), json!(v));
        }
        out.insert(
            "histogram".into(),
            json!(
                f.histogram
                    .iter()
                    .map(|(v, n)| json!({"value": v, "trials": n}))
                    .collect::<Vec<_>>()
            ),
        );
        Value::Object(out)
    };
    let mut out = json!({
        "trials": q.trials,
        "seed": q.seed,
        "history_from": q.history_from,
        "history_to": q.history_to,
        "history_days": a.history.len(),
        "throughput_per_day": {"mean": a.mean_per_day},
    });
    match q.question {
        Question::HowMany { days } => out["how_many"] = answer("days", days),
        Question::When { items } => {
            let mut w = answer("items", items);
            w["unfinished_trials"] = json!(f.unfinished);
            out["when"] = w;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_slowest_outliers_are_labelled_when_there_are_many() {
        let cycle = [5.0, 50.0, 7.0, 90.0, 50.0, 60.0, 1.0];
        // Under the cap: every point above the threshold.
        assert_eq!(
            labelled_slowest(&cycle, 6.0, 10),
            [false, true, true, true, true, true, false]
        );
        // Over it: the slowest, equal ones by position.
        assert_eq!(
            labelled_slowest(&cycle, 6.0, 3),
            [false, true, false, true, false, true, false]
        );
        assert_eq!(labelled_slowest(&cycle, f64::INFINITY, 3), [false; 7]);
    }
}
