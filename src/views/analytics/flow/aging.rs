//! The flow page's aging work in progress: the chart against the percentile bands, the form
//! that picks the instant, and the table of items (those at risk first in attention).

use maud::{Markup, html};

use super::super::{OPEN_ROWS, chart_with_table, duration, opt};
use crate::analytics::Rows;
use crate::analytics::aging::{Aging, AgingItem};
use crate::analytics::filters::Filters;
use crate::views::charts;

const AGING: &str = "Issues that stood in an IN_PROGRESS or WAITING step at the chosen instant, in that step, by how long their work had been going: from the start of their cycle (first entry into an IN_PROGRESS step, or the commitment point when one is marked; without a start yet, their first entry into a WAITING step). The bands are the percentiles of the cycle times of the issues completed in the window, as on the scatter; an item older than the p85 took longer than 85 % of those did in total, so it is at risk.";

/// Dots on the chart that link to their issue, the oldest first (as the scatter's outliers):
/// the others are plain dots, and the tables and the API list every item.
const LINKED: usize = 500;

pub fn aging(a: &Aging, as_of_given: bool, filters: &Filters) -> Markup {
    // The age from which a dot links: the LINKED-th oldest's.
    let linked_from = if a.items.len() > LINKED {
        let mut ages: Vec<f64> = a.items.iter().map(|i| i.age_hours).collect();
        let (_, nth, _) = ages.select_nth_unstable_by(LINKED - 1, |x, y| y.total_cmp(x));
        *nth
    } else {
        f64::NEG_INFINITY
    };
    let mut linked = 0;
    let items: Vec<charts::flow::Aged> = a
        .items
        .iter()
        .map(|i| {
            // Ties at the LINKED-th age: the first ones met.
            let link = !i.url.is_empty() && i.age_hours >= linked_from && linked < LINKED;
            linked += usize::from(link);
            charts::flow::Aged {
                column: a.steps.iter().position(|s| *s == i.step).unwrap_or(0),
                age: i.age_hours,
                label: format!("{} in {}: {}", i.key, i.step, duration(i.age_hours)),
                href: link.then(|| i.url.clone()),
                at_risk: i.at_risk,
            }
        })
        .collect();
    let lines: Vec<(String, f64)> = a
        .lines
        .iter()
        .filter_map(|(p, v)| v.map(|v| (format!("p{p}"), v)))
        .collect();
    let at_risk = a.at_risk();
    // Lists stay capped as the other drill-downs (the chart and the API have every item).
    let shown = Rows::Shown.limit();
    // The oldest at risk first: the ones to look at before the others.
    let (all, risky) = a.listed(shown);
    let all: Vec<&AgingItem> = all.into_iter().map(|k| &a.items[k]).collect();
    let risky: Vec<&AgingItem> = risky.into_iter().map(|k| &a.items[k]).collect();
    // The input shows the instant in UTC, as `datetime-local` takes it.
    let value = a.as_of.format("%Y-%m-%dT%H:%M").to_string();
    html! {
        section.card #aging {
            div.card-head {
                h2 { "Aging work in progress" }
                span.count { (a.items.len()) " in progress as of " (a.as_of.format("%Y-%m-%d %H:%M UTC")) " · " span.at-risk[at_risk > 0] { (at_risk) " at risk" } }
            }
            p.muted { (AGING) }
            form.filters method="get" action="/analytics/flow#aging" {
                @for (k, v) in url::form_urlencoded::parse(filters.query().as_bytes()) {
                    input type="hidden" name=(k) value=(v);
                }
                div.filter {
                    label for="f-as-of" { "As of (UTC)" }
                    input #f-as-of type="datetime-local" name="as_of" value=[as_of_given.then_some(&value)];
                }
                div.filter.filter-actions { button.button.secondary type="submit" { "Show" } }
            }
            (chart_with_table(
                charts::flow::aging("Age of each item in progress, by step", &a.steps, &items, &lines, duration),
                html! {
                    table.data #aging-lines {
                        thead { tr { th { "Percentile of completed cycle times" } th { "Cycle time" } } }
                        tbody { @for (p, v) in &a.lines { tr { td { "p" (p) } td { (opt(*v, duration)) } } } }
                    }
                },
            ))
            @if a.items.is_empty() { p.empty { "Nothing was in progress then." } } @else {
                @if at_risk > 0 {
                    h3 { "At risk (" (at_risk) ")" @if at_risk > shown { " — the " (shown) " oldest" } }
                    (table("at-risk-table", &risky))
                }
                details.drill-list open[a.items.len() <= OPEN_ROWS] {
                    summary { "Every item in progress, by step (" (a.items.len()) ")" @if a.items.len() > shown { " — the first " (shown) "; the API lists all" } }
                    (table("aging-table", &all))
                }
            }
        }
    }
}

fn table(id: &str, items: &[&AgingItem]) -> Markup {
    html! {
        div.table-wrap {
            table.data.drill id=(id) {
                thead { tr { th { "Issue" } th { "Step" } th { "Age" } th { "At risk" } } }
                tbody {
                    @for i in items {
                        tr data-issue=(i.key) data-at-risk=(i.at_risk) {
                            td { a href=(i.url) rel="noreferrer" { strong { (i.key) } } " " (i.summary) }
                            td { (i.step) }
                            td { (duration(i.age_hours)) }
                            td { @if i.at_risk { span.at-risk { "older than p85" } } }
                        }
                    }
                }
            }
        }
    }
}
