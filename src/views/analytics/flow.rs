//! `/analytics/flow`.

mod aging;
mod cfd;

use maud::{Markup, html};

use super::{Card, Page, card, chart_with_table, duration, head, multi, number, opt, percent, why};
use crate::analytics::Choices;
use crate::analytics::aging::Aging;
use crate::analytics::cfd::Cfd;
use crate::analytics::filters::Filters;
use crate::analytics::flow::{FlowNumbers, FlowReport};
use crate::analytics::forecast::{Distribution, ForecastAnswer, Question, Scatter};
use crate::domain::flow::WorkCategory;
use crate::domain::metrics::forecast::LEVELS;
use crate::views::charts;
use chrono::NaiveDate;

const SCOPE: &str = "Issues whose first entry into a DONE flow step falls in the window. An issue counts only if the issue, its issue-type mapping, every status mapping it used and their flow steps are active. Unmapped statuses fall back to their Jira status category.";
const LEAD: &str = "Issue created → first entry into a DONE step.";
const CYCLE: &str = "First entry into an IN_PROGRESS step (or into the commitment point or a later step, when a commitment point is marked) → first entry into a DONE step.";
const EFFICIENCY: &str =
    "Time in IN_PROGRESS steps / (time in IN_PROGRESS + WAITING steps), summed over the completed issues.";
const REWORK: &str = "Moves to a step positioned earlier than the one left (backward moves).";

/// The forecasting part of the flow page: the scatter and two Monte Carlo forecasts.
pub struct Forecasting {
    pub scatter: Scatter,
    pub aging: Aging,
    /// Whether the page asked for an instant (else the aging is as of now).
    pub as_of_given: bool,
    pub cfd: Cfd,
    pub how_many: ForecastAnswer,
    pub when: ForecastAnswer,
    pub distribution: Distribution,
    /// The day the forecasts count from.
    pub today: NaiveDate,
}

const SCATTER: &str = "One dot per issue completed in the window: when it was done, and its cycle time. The dashed lines are percentiles of those cycle times (linear interpolation between ranks): 85 % of these items finished within the p85 line. A dot above it (an outlier) links to the issue in Jira (the 500 slowest, when there are more); hover it for its key and cycle time. The table view has the percentiles, the API every point with its link.";
const MONTE_CARLO: &str = "Monte Carlo simulation: the history is the number of issues (with these filters) that first reached a DONE step on each UTC day of the history window, days with none counting 0. Each trial draws days from that history at random, with replacement: “how many” sums D drawn days; “when” draws days until N items are done. The answer at 85 % is the number of items (or days) that at least 85 % of the trials reach (or finish within). Seeded, so the same history gives the same answer; the API takes days, items, trials, seed and the history window.";

pub fn flow(r: &FlowReport, choices: &Choices, fc: &Forecasting) -> Markup {
    let (c, p) = (&r.current, &r.previous);
    let categories: Vec<String> = WorkCategory::ALL.iter().map(|c| c.to_string()).collect();
    let extra = html! {
        (multi("Issue types", "issue_types", &r.issue_types, &r.filters.issue_types))
        (multi("Work categories", "categories", &categories, &r.filters.categories))
    };
    let label = |n: &FlowNumbers| n.window.map(|w| w.from.format("%b %d").to_string()).unwrap_or_default();
    // Time in DONE and DISCARDED steps grows forever (the open interval ends now): the table
    // lists it, the chart leaves it out so the working steps stay readable.
    let finished = |k: &str| r.step_categories.iter().any(|(n, c)| n == k && c.is_closed());
    let steps: Vec<(String, f64)> = c
        .time_in_step
        .iter()
        .filter(|(k, _)| !finished(k))
        .filter_map(|(k, s)| s.median.map(|m| (k.clone(), m)))
        .collect();
    let wip: Vec<(String, f64)> = r.wip.iter().map(|(k, n)| (k.clone(), *n as f64)).collect();
    let throughput: Vec<_> = r.trend.iter().map(|n| (label(n), Some(n.issues as f64))).collect();
    let cycle: Vec<_> = r.trend.iter().map(|n| (label(n), n.cycle_time.median)).collect();
    html! {
        (head(Page::Flow, "Flow metrics", "How work moves through the flow steps configured on the Flow page.", &r.filters, choices, extra))
        (super::freshness(&r.freshness))
        @if let Some(m) = &r.missing { (why(m)) }
        @if r.excluded > 0 {
            p.notice.warn { (r.excluded) " issues are left out because they or their mappings or steps are deactivated. " a href="/flow" { "Review the flow configuration" } }
        }
        section.grid.metrics aria-label="Key metrics" {
            (card(Card { id: "lead-time", title: "Lead time", value: c.lead_time.median.map(duration),
                detail: (c.lead_time.count > 0).then(|| format!("median of {} · p75 {} · p90 {}", c.lead_time.count, opt(c.lead_time.p75, duration), opt(c.lead_time.p90, duration))),
                tier: None, previous: p.lead_time.median.map(duration), missing: None, definition: LEAD }))
            (card(Card { id: "cycle-time", title: "Cycle time", value: c.cycle_time.median.map(duration),
                detail: (c.cycle_time.count > 0).then(|| format!("median of {} · p75 {} · p90 {}", c.cycle_time.count, opt(c.cycle_time.p75, duration), opt(c.cycle_time.p90, duration))),
                tier: None, previous: p.cycle_time.median.map(duration), missing: None, definition: CYCLE }))
            (card(Card { id: "throughput", title: "Throughput", value: Some(format!("{:.1} / week", c.throughput_per_week)),
                detail: Some(format!("{} issues completed", c.issues)), tier: None,
                previous: Some(format!("{:.1} / week", p.throughput_per_week)), missing: None, definition: SCOPE }))
            (card(Card { id: "flow-efficiency", title: "Flow efficiency", value: c.flow_efficiency.map(percent), detail: None, tier: None,
                previous: p.flow_efficiency.map(percent), missing: None, definition: EFFICIENCY }))
            (card(Card { id: "rework", title: "Rework", value: (c.issues > 0).then(|| percent(c.with_rework as f64 / c.issues as f64)),
                detail: Some(format!("{} issues moved back, {} backward moves", c.with_rework, c.backward_moves)), tier: None,
                previous: (p.issues > 0).then(|| percent(p.with_rework as f64 / p.issues as f64)), missing: None, definition: REWORK }))
        }
        div.chart-grid {
            section.card {
                (chart_with_table(
                    charts::bars("Time in each working step (median)", &steps, duration),
                    html! { table.data #step-table { thead { tr { th { "Step" } th { "Issues" } th { "Median" } th { "p75" } th { "p90" } } }
                        tbody { @for (k, s) in &c.time_in_step { tr data-step=(k) { td { (k) } td { (s.count) } td { (opt(s.median, duration)) }
                            td { (opt(s.p75, duration)) } td { (opt(s.p90, duration)) } } } } } },
                ))
                p.hint { "Sum of the issue's intervals in the step; the interval it is in now ends now. The chart leaves out DONE and DISCARDED steps; the table lists every step." }
            }
            section.card {
                (chart_with_table(
                    charts::bars("Work in progress by step (now)", &wip, number),
                    html! { table.data #wip-table { thead { tr { th { "Step" } th { "Issues" } } }
                        tbody { @for (k, n) in &r.wip { tr { td { (k) } td { (n) } } } } } },
                ))
                p.hint { "Counted issues whose current step is IN_PROGRESS or WAITING, whatever the window." }
            }
            section.card {
                (chart_with_table(
                    charts::line("Issues completed per period", &throughput, number),
                    html! { table.data { thead { tr { th { "From" } th { "Completed" } th { "Cycle time (median)" } } }
                        tbody { @for n in &r.trend { tr { td { (label(n)) } td { (n.issues) } td { (opt(n.cycle_time.median, duration)) } } } } } },
                ))
            }
            section.card {
                (charts::line("Cycle time per period (median)", &cycle, duration))
            }
        }
        (forecasting(fc, &r.filters))
        (breakdown("category-table", "By work category", "Work category", &r.by_category))
        (breakdown("project-table", "By project", "Project", &r.by_project))
        section.card #issues {
            div.card-head { h2 { "Completed issues" } span.count { (r.rows.len()) " most recent of " (r.current.issues) } (super::csv_link(Page::Flow, &r.filters)) }
            @if r.rows.is_empty() { p.empty { "None in this window." } } @else {
                details.drill-list open[r.rows.len() <= super::OPEN_ROWS] {
                    summary { "List them (" (r.rows.len()) ")" }
                    div.table-wrap {
                    table.data.drill {
                        thead { tr { th { "Issue" } th { "Type" } th { "Category" } th { "Done" } th { "Lead time" } th { "Cycle time" } th { "Backward moves" } } }
                        tbody {
                            @for i in &r.rows {
                                tr data-issue=(i.key) {
                                    td { a href=(i.url) rel="noreferrer" { strong { (i.key) } } " " (i.summary) }
                                    td { (i.issue_type) } td { (i.work_category) }
                                    td { (i.done_at.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()) }
                                    td { (opt(i.lead, duration)) } td { (opt(i.cycle, duration)) } td { (i.rework) }
                                }
                            }
                        }
                    }
                }
                }
            }
        }
    }
}

fn forecasting(fc: &Forecasting, filters: &Filters) -> Markup {
    let s = &fc.scatter;
    let span = (s.to - s.from).num_days().max(1) as f64 + 1.0;
    let dots: Vec<charts::Dot> = s
        .points
        .iter()
        .map(|p| charts::Dot {
            x: ((p.completed_at.date_naive() - s.from).num_days() as f64 + 0.5) / span,
            y: p.cycle_time_hours,
            // Only linked dots carry a title (the chart draws the others as one path).
            label: match &p.key {
                Some(key) => format!("{key}: {}", duration(p.cycle_time_hours)),
                None => String::new(),
            },
            href: p.url.clone(),
        })
        .collect();
    let lines: Vec<(String, f64)> = s
        .lines
        .iter()
        .filter_map(|(p, v)| v.map(|v| (format!("p{p}"), v)))
        .collect();
    let days = |n: Option<u32>| n.map_or_else(|| "—".to_string(), |d| format!("{d} days"));
    let date = |n: Option<u32>| {
        n.map_or_else(
            || "not within 10 years".to_string(),
            |d| (fc.today + chrono::Days::new(u64::from(d))).to_string(),
        )
    };
    let level = |f: &ForecastAnswer, l: u32| f.forecast.levels.iter().find(|(x, _)| *x == l).and_then(|(_, a)| *a);
    let (horizon, items) = match (fc.how_many.query.question, fc.when.query.question) {
        (Question::HowMany { days }, Question::When { items }) => (days, items),
        _ => (0, 0),
    };
    let histogram = binned(&fc.how_many.forecast.histogram, fc.how_many.query.trials);
    html! {
        section.card #scatter {
            div.card-head { h2 { "Cycle-time scatter" } span.count { (s.points.len()) " completed" } }
            p.muted { (SCATTER) }
            (chart_with_table(
                charts::scatter("Cycle time of each completed issue", (&s.from.to_string(), &s.to.to_string()), &dots, &lines, duration),
                html! {
                    table.data #scatter-lines {
                        thead { tr { th { "Percentile" } th { "Cycle time" } th { "Reads" } } }
                        tbody {
                            @for (p, v) in &s.lines {
                                tr { td { "p" (p) } td { (opt(*v, duration)) }
                                     td { @if let Some(v) = v { (p) " % of items finished within " (format!("{:.1}", v / 24.0)) " days" } } }
                            }
                        }
                    }
                },
            ))
        }
        (aging::aging(&fc.aging, fc.as_of_given, filters))
        (cfd::cfd(&fc.cfd))
        (distribution(&fc.distribution))
        section.card #forecast {
            div.card-head {
                h2 { "Forecast" }
                span.count { "history " (fc.how_many.query.history_from) " to " (fc.how_many.query.history_to) " · " (number(fc.how_many.mean_per_day)) " done per day · " (fc.how_many.query.trials) " trials, seed " (fc.how_many.query.seed) }
            }
            form.filters method="get" action="/analytics/flow" {
                @for (k, v) in url::form_urlencoded::parse(filters.query().as_bytes()) {
                    input type="hidden" name=(k) value=(v);
                }
                div.filter {
                    label for="f-forecast-days" { "Days ahead" }
                    input #f-forecast-days type="number" name="forecast_days" min="1" max="3650" value=(horizon);
                }
                div.filter {
                    label for="f-forecast-items" { "Items" }
                    input #f-forecast-items type="number" name="forecast_items" min="1" value=(items);
                }
                div.filter.filter-actions { button.button.secondary type="submit" { "Forecast" } }
            }
            div.forecast-answers {
                div {
                    h3 { "How many items in the next " (horizon) " days?" }
                    table.data #forecast-how-many {
                        thead { tr { th { "Confidence" } th { "At least" } } }
                        tbody { @for l in LEVELS { tr { td { (l) " %" } td { (opt(level(&fc.how_many, l).map(f64::from), number)) " items" } } } }
                    }
                }
                div {
                    h3 { "When will " (items) " items be done?" }
                    table.data #forecast-when {
                        thead { tr { th { "Confidence" } th { "Within" } th { "By" } } }
                        tbody { @for l in LEVELS { tr { td { (l) " %" } td { (days(level(&fc.when, l))) } td { (date(level(&fc.when, l))) } } } }
                    }
                }
            }
            (chart_with_table(
                charts::bars(&format!("Items done in {horizon} days, share of trials"), &histogram, percent),
                html! {
                    table.data {
                        thead { tr { th { "Items" } th { "Trials" } } }
                        tbody { @for (v, n) in &fc.how_many.forecast.histogram { tr { td { (v) } td { (n) } } } }
                    }
                },
            ))
            details.definition { summary { "How this is computed" } p { (MONTE_CARLO) } }
        }
    }
}

const DISTRIBUTION: &str = "The share of the issues completed in each period that belongs to each work category (by the issue type's mapping): how much of the capacity went to features, bugs, incidents and other work.";

fn distribution(d: &Distribution) -> Markup {
    let label = |w: &crate::domain::metrics::Window| w.from.format("%b %d").to_string();
    let rows: Vec<(String, Vec<f64>)> = d
        .periods
        .iter()
        .map(|(w, counts)| {
            let total: usize = counts.iter().sum();
            let shares = counts
                .iter()
                .map(|n| if total == 0 { 0.0 } else { *n as f64 / total as f64 })
                .collect();
            (label(w), shares)
        })
        .collect();
    let series: Vec<&str> = d.categories.iter().map(String::as_str).collect();
    html! {
        section.card #distribution {
            div.card-head { h2 { "Flow distribution" } span.count { "share of completed issues per period" } }
            p.muted { (DISTRIBUTION) }
            (chart_with_table(
                charts::stacked("Completed issues by work category", &series, &rows, percent),
                html! {
                    table.data #distribution-table {
                        thead { tr { th { "From" } @for c in &d.categories { th { (c) } } th { "Completed" } } }
                        tbody {
                            @for (w, counts) in &d.periods {
                                @let total: usize = counts.iter().sum();
                                tr {
                                    td { (w.from) }
                                    @for n in counts {
                                        td { (n) @if total > 0 { " (" (percent(*n as f64 / total as f64)) ")" } }
                                    }
                                    td { (total) }
                                }
                            }
                        }
                    }
                },
            ))
        }
    }
}

/// The outcomes in at most 12 bins of equal width, as shares of the trials.
fn binned(histogram: &[(u32, u32)], trials: u32) -> Vec<(String, f64)> {
    let (Some(lo), Some(hi)) = (histogram.first().map(|h| h.0), histogram.last().map(|h| h.0)) else {
        return Vec::new();
    };
    let width = (hi - lo) / 12 + 1;
    let mut bins: Vec<(String, f64)> = Vec::new();
    let mut start = lo;
    while start <= hi {
        let end = start + width - 1;
        let n: u32 = histogram
            .iter()
            .filter(|(v, _)| (start..=end).contains(v))
            .map(|(_, n)| n)
            .sum();
        let label = if width == 1 {
            format!("{start} items")
        } else {
            format!("{start}–{end} items")
        };
        bins.push((label, f64::from(n) / f64::from(trials.max(1))));
        start = end + 1;
    }
    bins
}

/// Completed issues per group (work category, project): count, medians, efficiency, rework.
fn breakdown(id: &str, heading: &str, label: &str, groups: &[(String, FlowNumbers)]) -> Markup {
    html! {
        section.card {
            div.card-head { h2 { (heading) } }
            @if groups.is_empty() { p.empty { "None in this window." } } @else {
                div.table-wrap {
                    table.data id=(id) {
                        thead { tr { th { (label) } th { "Completed" } th { "Lead time (median)" } th { "Cycle time (median)" } th { "Flow efficiency" } th { "With rework" } } }
                        tbody {
                            @for (g, n) in groups {
                                tr data-group=(g) { td { (g) } td { (n.issues) } td { (opt(n.lead_time.median, duration)) }
                                    td { (opt(n.cycle_time.median, duration)) } td { (opt(n.flow_efficiency, percent)) } td { (n.with_rework) } }
                            }
                        }
                    }
                }
            }
        }
    }
}
