//! The flow page's cumulative flow diagram, arrivals and departures per week, and Little's law.

use maud::{Markup, html};

use super::super::{chart_with_table, number};
use crate::analytics::cfd::Cfd;
use crate::views::charts;

const CFD: &str = "At the end of each UTC day of the window, every issue (with these filters) created before then, counted by the flow step its status stood in then (its history replayed from the first status, with today's mappings). Done and discarded steps are included, so the top edge is every issue created; unmapped statuses are one band of their own. Issues left out of the flow metrics (deactivated issues, mappings or steps) are left out here too.";
const LITTLE: &str = "Little's law: in a stable system, the average work in progress equals throughput × average cycle time. Arrivals are issues whose cycle started in the week, departures those that first reached a DONE step. When arrivals outpace departures, or the two sides of Little's law disagree, work is piling up (or draining) and averages over this window describe it poorly.";

pub fn cfd(c: &Cfd) -> Markup {
    let bands: Vec<String> = c.steps.iter().map(|(n, _)| n.clone()).collect();
    let days: Vec<(String, Vec<u32>)> = c
        .days
        .iter()
        .map(|(d, v, _)| (d.format("%b %d").to_string(), v.clone()))
        .collect();
    let day_labels: Vec<String> = days.iter().map(|d| d.0.clone()).collect();
    let wip: Vec<f64> = c.days.iter().map(|d| f64::from(d.2)).collect();
    let l = &c.law;
    let mut refs = vec![("average WIP".to_string(), l.average_wip)];
    if let Some(e) = l.expected_wip {
        refs.push(("throughput × cycle".to_string(), e));
    }
    let weeks: Vec<String> = c
        .weeks
        .iter()
        .map(|(w, _, _)| w.from.format("%b %d").to_string())
        .collect();
    let arrivals: Vec<f64> = c.weeks.iter().map(|w| w.1 as f64).collect();
    let departures: Vec<f64> = c.weeks.iter().map(|w| w.2 as f64).collect();
    html! {
        section.card #cfd {
            div.card-head { h2 { "Cumulative flow" } span.count { (c.from) " to " (c.to) } }
            p.muted { (CFD) }
            (chart_with_table(
                charts::flow::stacked_area("Issues by step at the end of each day", &bands, &days),
                html! {
                    table.data #cfd-table {
                        thead { tr { th { "Day" } @for b in &bands { th { (b) } } th { "WIP" } } }
                        tbody {
                            @for (d, counts, w) in &c.days {
                                tr data-date=(d) { td { (d) } @for n in counts { td { (n) } } td { (w) } }
                            }
                        }
                    }
                },
            ))
        }
        section.card #littles-law {
            div.card-head { h2 { "Arrivals, departures and Little's law" } }
            p #stability .notice.warn[l.stable == Some(false)] .notice[l.stable == Some(true)] { (l.sentence()) }
            div.chart-grid {
                (chart_with_table(
                    charts::flow::series("Work in progress per day and Little's law", &day_labels, &[("WIP (IN_PROGRESS + WAITING)", wip)], &refs, number),
                    html! {
                        table.data #littles-law-table {
                            thead { tr { th { "" } th { "Value" } } }
                            tbody {
                                tr { td { "Average WIP" } td { (number(l.average_wip)) } }
                                tr { td { "Throughput per day" } td { (number(l.throughput_per_day)) } }
                                tr { td { "Average cycle time (days)" } td { (l.average_cycle_days.map_or("—".into(), number)) } }
                                tr { td { "Throughput × average cycle time" } td { (l.expected_wip.map_or("—".into(), number)) } }
                                tr { td { "Arrivals per week" } td { (number(l.arrivals_per_week)) } }
                                tr { td { "Departures per week" } td { (number(l.departures_per_week)) } }
                            }
                        }
                    },
                ))
                (chart_with_table(
                    charts::flow::series("Arrivals and departures per week", &weeks, &[("arrivals (started)", arrivals), ("departures (done)", departures)], &[], number),
                    html! {
                        table.data #arrivals-table {
                            thead { tr { th { "Week from" } th { "Arrivals" } th { "Departures" } } }
                            tbody { @for (w, a, d) in &c.weeks { tr { td { (w.from) } td { (a) } td { (d) } } } }
                        }
                    },
                ))
            }
            details.definition { summary { "How this is computed" } p { (LITTLE) } }
        }
    }
}
