//! `/analytics/flow`.

use maud::{Markup, html};

use super::{Card, Page, card, chart_with_table, duration, head, multi, number, opt, percent, why};
use crate::analytics::Choices;
use crate::analytics::flow::{FlowNumbers, FlowReport};
use crate::domain::flow::WorkCategory;
use crate::views::charts;

const SCOPE: &str = "Issues whose first entry into a DONE flow step falls in the window. An issue counts only if the issue, its issue-type mapping, every status mapping it used and their flow steps are active. Unmapped statuses fall back to their Jira status category.";
const LEAD: &str = "Issue created → first entry into a DONE step.";
const CYCLE: &str = "First entry into an IN_PROGRESS step (or into the commitment point or a later step, when a commitment point is marked) → first entry into a DONE step.";
const EFFICIENCY: &str =
    "Time in IN_PROGRESS steps / (time in IN_PROGRESS + WAITING steps), summed over the completed issues.";
const REWORK: &str = "Moves to a step positioned earlier than the one left (backward moves).";

pub fn flow(r: &FlowReport, choices: &Choices) -> Markup {
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
