//! `/analytics/prs`.

use maud::{Markup, html};

use super::{Card, Page, card, chart_with_table, duration, head, number, opt, percent, why};
use crate::analytics::Choices;
use crate::analytics::prs::{PrNumbers, PrReport};
use crate::domain::metrics::Summary;
use crate::views::charts;

const SCOPE: &str = "Pull requests merged in the window whose author is a human (bots: accounts of type Bot or logins ending in [bot]). \"Someone else\" = a human other than the author.";
const CODING: &str = "Earliest commit authored → PR created.";
const PICKUP: &str = "PR created → first review, conversation comment or review comment by someone else.";
const REVIEW: &str = "First review by someone else → merged; dropped when that review came after the merge.";
const DEPLOY: &str = "Merged → deployed time of the first successful production deployment of the same repository created after the merge.";
const STAGES: [&str; 4] = ["Coding", "Pickup", "Review", "Deploy"];

fn stages(n: &PrNumbers) -> [(&'static str, &Summary, &'static str); 4] {
    [
        (STAGES[0], &n.coding, CODING),
        (STAGES[1], &n.pickup, PICKUP),
        (STAGES[2], &n.review, REVIEW),
        (STAGES[3], &n.deploy, DEPLOY),
    ]
}

pub fn prs(r: &PrReport, choices: &Choices) -> Markup {
    let (c, p) = (&r.current, &r.previous);
    let authors = html! {
        div.filter {
            label for="f-authors" { "Authors" }
            input #f-authors type="text" name="authors" value=(r.filters.authors.join(", ")) placeholder="login, login";
        }
    };
    let label = |n: &PrNumbers| n.window.map(|w| w.from.format("%b %d").to_string()).unwrap_or_default();
    let stacked: Vec<(String, Vec<f64>)> = r
        .trend
        .iter()
        .map(|n| (label(n), stages(n).iter().map(|s| s.1.median.unwrap_or(0.0)).collect()))
        .collect();
    let throughput: Vec<(String, Option<f64>)> = r
        .trend
        .iter()
        .map(|n| (label(n), Some(n.pull_requests as f64)))
        .collect();
    let sizes: Vec<(String, f64)> = c.size_bins.iter().map(|(l, n)| (l.clone(), *n as f64)).collect();
    html! {
        (head(Page::Prs, "Pull requests", "Where time goes between the first commit and production.", &r.filters, choices, authors))
        (super::freshness(&r.freshness))
        @if let Some(m) = &r.missing { (why(m)) }
        section.grid.metrics aria-label="Stage times" {
            @for ((name, s, def), (_, prev, _)) in stages(c).into_iter().zip(stages(p)) {
                (card(Card {
                    id: &format!("stage-{}", name.to_lowercase()),
                    title: &format!("{name} time"),
                    value: s.median.map(duration),
                    detail: (s.count > 0).then(|| format!("median of {} · p75 {} · p90 {}", s.count, opt(s.p75, duration), opt(s.p90, duration))),
                    tier: None,
                    previous: prev.median.map(duration),
                    missing: None,
                    definition: def,
                }))
            }
        }
        section.grid.metrics aria-label="Volume and review" {
            (card(Card { id: "throughput", title: "Throughput", value: Some(format!("{:.1} / week", c.throughput_per_week)),
                detail: Some(format!("{} PRs merged ({} by bots left out)", c.pull_requests, c.bots_excluded)),
                tier: None, previous: Some(format!("{:.1} / week", p.throughput_per_week)), missing: None, definition: SCOPE }))
            (card(Card { id: "pr-size", title: "PR size", value: c.size.median.map(|v| format!("{v:.0} lines")),
                detail: c.size.p90.map(|v| format!("p90 {v:.0} lines")), tier: None, previous: p.size.median.map(|v| format!("{v:.0} lines")),
                missing: None, definition: "Lines added + lines deleted, median over the PRs." }))
            (card(Card { id: "reviews-per-pr", title: "Reviews per PR", value: c.reviews_per_pr.map(|v| format!("{v:.2}")),
                detail: None, tier: None, previous: p.reviews_per_pr.map(|v| format!("{v:.2}")), missing: None,
                definition: "Mean number of reviews submitted by someone else (any state), per PR." }))
            (card(Card { id: "merged-without-approval", title: "Merged without approval", value: c.merged_without_approval.map(percent),
                detail: None, tier: None, previous: p.merged_without_approval.map(percent), missing: None,
                definition: "Share of the PRs with no APPROVED review by someone else at or before the merge." }))
        }
        section.card {
            div.card-head { h2 { "Stage breakdown over time" } span.muted { "median of each stage" } }
            (chart_with_table(
                charts::stacked("Median stage times per period", &STAGES, &stacked, duration),
                html! {
                    table.data {
                        thead { tr { th { "From" } th { "PRs" } @for s in STAGES { th { (s) " (median)" } } } }
                        tbody { @for n in &r.trend { tr {
                            td { (label(n)) } td { (n.pull_requests) }
                            @for (_, s, _) in stages(n) { td { (opt(s.median, duration)) } }
                        } } }
                    }
                },
            ))
        }
        section.card {
            div.card-head { h2 { "Stage times" } span.muted { "median, p75 and p90" } }
            div.table-wrap {
                table.data #stage-table {
                    thead { tr { th { "Stage" } th { "PRs measured" } th { "Median" } th { "p75" } th { "p90" } th { "Previous median" } } }
                    tbody {
                        @for ((name, s, _), (_, prev, _)) in stages(c).into_iter().zip(stages(p)) {
                            tr data-stage=(name.to_lowercase()) {
                                td { (name) } td { (s.count) } td { (opt(s.median, duration)) } td { (opt(s.p75, duration)) }
                                td { (opt(s.p90, duration)) } td { (opt(prev.median, duration)) }
                            }
                        }
                    }
                }
            }
            p.hint { "p75 and p90 interpolate linearly between the closest ranks (as Excel PERCENTILE.INC); the median is p50." }
        }
        div.chart-grid {
            section.card {
                (chart_with_table(
                    charts::line("Merged PRs per period", &throughput, number),
                    html! { table.data { thead { tr { th { "From" } th { "Merged PRs" } } }
                        tbody { @for n in &r.trend { tr { td { (label(n)) } td { (n.pull_requests) } } } } } },
                ))
            }
            section.card {
                (chart_with_table(
                    charts::bars("PR size distribution", &sizes, number),
                    html! { table.data { thead { tr { th { "Size" } th { "PRs" } } }
                        tbody { @for (l, n) in &c.size_bins { tr { td { (l) } td { (n) } } } } } },
                ))
            }
        }
        section.card #pull-requests {
            div.card-head { h2 { "Merged pull requests" } span.count { (r.rows.len()) " most recent of " (r.current.pull_requests) } (super::csv_link(Page::Prs, &r.filters)) }
            @if r.rows.is_empty() { p.empty { "None in this window." } } @else {
                details.drill-list open[r.rows.len() <= super::OPEN_ROWS] {
                    summary { "List them (" (r.rows.len()) ")" }
                    div.table-wrap {
                    table.data.drill {
                        thead { tr { th { "PR" } th { "Author" } th { "Merged" } th { "Coding" } th { "Pickup" } th { "Review" } th { "Deploy" } th { "Size" } } }
                        tbody {
                            @for pr in &r.rows {
                                tr data-pr=(pr.id) {
                                    td { a.muted href=(pr.url) rel="noreferrer" { (pr.repository) " #" (pr.number) } br; (pr.title) }
                                    td { (pr.author.as_deref().unwrap_or("—")) }
                                    td { (pr.merged_at.map(|m| m.format("%Y-%m-%d").to_string()).unwrap_or_default()) }
                                    td { (opt(pr.coding, duration)) } td { (opt(pr.pickup, duration)) }
                                    td { (opt(pr.review, duration)) } td { (opt(pr.deploy, duration)) }
                                    td { (pr.size) }
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
