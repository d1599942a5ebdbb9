//! `/analytics/dora`.

use maud::{Markup, html};

use super::{Card, Page, card, chart_with_table, duration, head, number, opt, percent};
use crate::analytics::Choices;
use crate::analytics::dora::signals::Why;
use crate::analytics::dora::{DeploymentRow, DoraNumbers, DoraReport};
use crate::domain::metrics::tiers::{BENCHMARKS, Benchmark};
use crate::views::charts;

const DEPLOY_FREQ: &str = "Successful production deployments (production environment per the integration's deployment source, status success) deployed in the window, per week and per day; deployment days = distinct UTC days with one. Deployed time = when its status first became success.";
const LEAD_TIME: &str = "Median over merged pull requests (bots included) whose deployment is deployed in the window, of earliest commit authored → deployed time. A PR's deployment is the first successful production deployment of the same repository created after the merge. Median = mean of the two middle values for an even count; negative spans are dropped.";
const CFR: &str = "Deployments in the window that failed / deployments in the window. A deployment failed when an incident follows it: an incident is a Jira issue whose type maps to the INCIDENT work category, linked to the latest successful production deployment deployed strictly before the incident was created. Where a GitHub integration counts them, also when a pull request it shipped is reverted by one merged after it was deployed, and failed production deployments (status failure or error) count as deployments and as failures.";
const REWORK: &str = "Successful production deployments in the window that are rework / all of them. A deployment is rework when a pull request it shipped (the PRs whose deployment it is, as for lead time) links to an INCIDENT-category issue, reverts another PR (title Revert \"…\"), or comes from a branch matching the integration's hotfix glob (default hotfix*, case-insensitive).";
const RESTORE: &str = "Median, over incidents created in the window and resolved, of incident created → its first entry into a DONE flow step.";

fn bucket_label(n: &DoraNumbers) -> String {
    n.window.map(|w| w.from.format("%b %d").to_string()).unwrap_or_default()
}

pub fn dora(r: &DoraReport, choices: &Choices) -> Markup {
    let (c, p) = (&r.current, &r.previous);
    let freq_value = c
        .frequency_missing
        .is_none()
        .then(|| format!("{} / week", number_2(c.frequency.per_week)));
    let trend_deploys: Vec<(String, Option<f64>)> = r
        .trend
        .iter()
        .map(|n| (bucket_label(n), Some(n.frequency.deployments as f64)))
        .collect();
    let trend_lead: Vec<_> = r.trend.iter().map(|n| (bucket_label(n), n.lead_time.median)).collect();
    let trend_cfr: Vec<_> = r.trend.iter().map(|n| (bucket_label(n), n.failure_rate)).collect();
    let trend_restore: Vec<_> = r.trend.iter().map(|n| (bucket_label(n), n.restore_median)).collect();
    let trend_rework: Vec<_> = r.trend.iter().map(|n| (bucket_label(n), n.rework_rate)).collect();
    html! {
        (head(Page::Dora, "DORA metrics", "Delivery speed and stability, defined as below and shown beside the DORA benchmark tier.", &r.filters, choices, benchmark_filter(r)))
        (super::freshness(&r.freshness))
        section.grid.metrics.five aria-label="Key metrics" {
            (card(Card {
                id: "deployment-frequency",
                title: "Deployment frequency",
                value: freq_value,
                detail: c.frequency_missing.is_none().then(|| format!(
                    "{} deployments · {} / day · {} deployment days / week",
                    c.frequency.deployments, number_2(c.frequency.per_day), number_2(c.frequency.deployment_days_per_week))),
                tier: r.tiers[0],
                previous: p.frequency_missing.is_none().then(|| format!("{} / week ({} deployments)", number_2(p.frequency.per_week), p.frequency.deployments)),
                missing: c.frequency_missing.as_ref(),
                definition: DEPLOY_FREQ,
            }))
            (card(Card {
                id: "change-lead-time",
                title: "Change lead time",
                value: c.lead_time.median.map(duration),
                detail: (c.lead_time.count > 0).then(|| format!("median of {} PRs · p75 {} · p90 {}", c.lead_time.count, opt(c.lead_time.p75, duration), opt(c.lead_time.p90, duration))),
                tier: r.tiers[1],
                previous: p.lead_time.median.map(duration),
                missing: c.lead_time_missing.as_ref(),
                definition: LEAD_TIME,
            }))
            (card(Card {
                id: "change-failure-rate",
                title: "Change failure rate",
                value: c.failure_rate.map(percent),
                detail: c.failure_rate.map(|_| if c.failed_status > 0 {
                    format!("{} of {} deployments failed ({} with a failed status)", c.failed, c.frequency.deployments + c.failed_status, c.failed_status)
                } else {
                    format!("{} of {} deployments failed", c.failed, c.frequency.deployments)
                }),
                tier: r.tiers[2],
                previous: p.failure_rate.map(percent),
                missing: c.failure_rate_missing.as_ref(),
                definition: CFR,
            }))
            (card(Card {
                id: "time-to-restore",
                title: "Time to restore",
                value: c.restore_median.map(duration),
                detail: (c.restored > 0).then(|| format!("median of {} resolved incidents", c.restored)),
                tier: r.tiers[3],
                previous: p.restore_median.map(duration),
                missing: c.restore_missing.as_ref(),
                definition: RESTORE,
            }))
            (card(Card {
                id: "deployment-rework-rate",
                title: "Deployment rework rate",
                value: c.rework_rate.map(percent),
                detail: c.rework_rate.map(|_| format!("{} of {} deployments were rework", c.rework, c.frequency.deployments)),
                tier: None,
                previous: p.rework_rate.map(percent),
                missing: c.rework_missing.as_ref(),
                definition: REWORK,
            }))
        }
        section.card {
            div.card-head { h2 { "Trend" } span.muted { "per " (if r.trend.len() > 1 && r.filters.window.days() > 120 { "30 days" } else { "week" }) } }
            div.chart-grid {
                (charts::line("Deployments", &trend_deploys, number))
                (charts::line("Change lead time (median)", &trend_lead, duration))
                (charts::line("Change failure rate", &trend_cfr, percent))
                (charts::line("Time to restore (median)", &trend_restore, duration))
                (charts::line("Deployment rework rate", &trend_rework, percent))
            }
            details.table-view {
                summary { "Table view" }
                div.table-wrap {
                    table.data {
                        thead { tr { th { "From" } th { "To" } th { "Deployments" } th { "Lead time (median)" } th { "Change failure rate" } th { "Time to restore (median)" } th { "Rework rate" } } }
                        tbody {
                            @for n in &r.trend {
                                tr {
                                    td { (n.window.map(|w| w.from.to_string()).unwrap_or_default()) }
                                    td { (n.window.map(|w| w.to.to_string()).unwrap_or_default()) }
                                    td { (n.frequency.deployments) }
                                    td { (opt(n.lead_time.median, duration)) }
                                    td { (opt(n.failure_rate, percent)) }
                                    td { (opt(n.restore_median, duration)) }
                                    td { (opt(n.rework_rate, percent)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #deployments {
            div.card-head { h2 { "Deployments in the window" } span.count { (r.deployments.len()) " most recent of " (r.current.frequency.deployments + r.current.failed_status) } (super::csv_link(Page::Dora, &r.filters)) }
            (chart_with_table(
                charts::bars("Deployments per repository", &per_repo(r), number),
                html! {
                    table.data {
                        thead { tr { th { "Repository" } th { "Deployments" } } }
                        tbody { @for (repo, n) in per_repo(r) { tr { td { (repo) } td { (n) } } } }
                    }
                },
            ))
            @if r.deployments.is_empty() {
                p.empty { "No successful production deployment in this window." }
            } @else {
                details.drill-list open[r.deployments.len() <= super::OPEN_ROWS] {
                    summary { "List them (" (r.deployments.len()) ")" }
                    div.table-wrap {
                    table.data.drill {
                        thead { tr { th { "Deployed" } th { "Repository" } th { "Environment" } th { "PRs shipped" } th { "Failed by" } th { "Rework" } } }
                        tbody {
                            @for d in &r.deployments {
                                tr #(format!("deployment-{}", d.id)) data-deployment=(d.id) data-failed=(d.failed()) data-rework=(!d.rework.is_empty()) {
                                    td { time datetime=(d.deployed_at.to_rfc3339()) { (d.deployed_at.format("%Y-%m-%d %H:%M UTC")) } }
                                    td { (d.repository) }
                                    td { (d.environment.as_deref().unwrap_or("—")) }
                                    td { (d.pull_requests) }
                                    td { (failed_by(d)) }
                                    td { (rework(d)) }
                                }
                            }
                        }
                    }
                }
                }
            }
        }
        (incidents(r))
        section.card.sources {
            h2 { "Sources" }
            p {
                "The definitions are the ones shown beside each number above. Tiers: benchmark " strong { (r.benchmark.version) } " — " (r.benchmark.source) "."
            }
            (cut_offs(r.benchmark))
        }
    }
}

/// What failed a deployment: its incidents, its reverted pull requests, its status.
fn failed_by(d: &DeploymentRow) -> Markup {
    html! {
        @if !d.failed() { span.muted { "nothing" } }
        ul.reasons {
            @if d.status != "success" { li.failed-status { "deployment status " strong { (d.status) } } }
            @for (key, url) in &d.incidents {
                li.incident { "incident " a href=(url) rel="noreferrer" { (key) } " followed it" }
            }
            @for rv in &d.reverted {
                li.revert {
                    a href=(rv.pr.url) rel="noreferrer" { "#" (rv.pr.number) } " " (rv.pr.title) " reverted by "
                    a href=(rv.by.url) rel="noreferrer" { "#" (rv.by.number) } " (merged " (rv.merged_at.format("%Y-%m-%d %H:%M UTC")) ")"
                }
            }
        }
    }
}

/// Why a deployment is rework: each shipped pull request with its reasons.
fn rework(d: &DeploymentRow) -> Markup {
    html! {
        @if d.rework.is_empty() { span.muted { "no" } }
        ul.reasons {
            @for x in &d.rework {
                li {
                    a href=(x.pr.url) rel="noreferrer" { "#" (x.pr.number) } " " (x.pr.title) ": "
                    @for (n, why) in x.reasons.iter().enumerate() {
                        @if n > 0 { ", " }
                        @match why {
                            Why::Incident { key, url } => span.reason data-reason="incident" { "links incident " a href=(url) rel="noreferrer" { (key) } },
                            Why::Revert => span.reason data-reason="revert" { "reverts a pull request" },
                            Why::Hotfix { branch } => span.reason data-reason="hotfix" { "hotfix branch " code { (branch) } },
                        }
                    }
                }
            }
        }
    }
}

/// Incidents created in the window and the deployment each was attributed to, with why.
fn incidents(r: &DoraReport) -> Markup {
    html! {
        section.card #incidents {
            div.card-head { h2 { "Incidents in the window" } span.count { (r.incidents.len()) } }
            @if r.incidents.is_empty() {
                p.empty { "No incident was created in this window." }
            } @else {
                details.drill-list open[r.incidents.len() <= super::OPEN_ROWS] {
                    summary { "Which deployment each was attributed to (" (r.incidents.len()) ")" }
                    div.table-wrap {
                        table.data.drill {
                            thead { tr { th { "Incident" } th { "Created" } th { "Attributed to" } th { "Why" } } }
                            tbody {
                                @for i in &r.incidents {
                                    tr data-incident=(i.key) data-deployment=[i.deployment.as_ref().map(|d| d.0)] {
                                        td { a href=(i.url) rel="noreferrer" { (i.key) } }
                                        td { time datetime=(i.created.to_rfc3339()) { (i.created.format("%Y-%m-%d %H:%M UTC")) } }
                                        td {
                                            @match &i.deployment {
                                                Some((id, repo, at)) => a href=(format!("#deployment-{id}")) { (repo) " deployed " (at.format("%Y-%m-%d %H:%M:%S UTC")) },
                                                None => span.muted { "none" },
                                            }
                                        }
                                        td { (i.why) }
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

/// The benchmark edition to place the numbers in (the filter form's extra field).
fn benchmark_filter(r: &DoraReport) -> Markup {
    html! {
        div.filter {
            label for="f-benchmark" { "Benchmark" }
            select #f-benchmark name="benchmark" {
                @for b in BENCHMARKS {
                    option value=(b.version) selected[b.version == r.benchmark.version] { "DORA " (b.version) }
                }
            }
        }
    }
}

/// The chosen edition's cut-offs, from the same numbers that place the tiers.
fn cut_offs(b: &Benchmark) -> Markup {
    let per_week = |x: f64| {
        if x >= 7.0 {
            "≥ daily".to_string()
        } else if x >= 1.0 {
            "≥ weekly".to_string()
        } else {
            "≥ monthly".to_string()
        }
    };
    let under = |h: f64| format!("< {}", duration(h));
    let at_most = |x: f64| format!("≤ {}", percent(x));
    let rows: [(&str, [String; 3]); 4] = [
        ("Deployment frequency", b.deploys_per_week.map(per_week)),
        ("Change lead time", b.lead_time_hours.map(under)),
        ("Change failure rate", b.failure_rate.map(at_most)),
        ("Time to restore", b.restore_hours.map(under)),
    ];
    html! {
        div.table-wrap {
            table.data.cut-offs {
                caption { "DORA " (b.version) " cut-offs (a value past the medium one is low; the first level whose figure a value meets wins)" }
                thead { tr { th { "Metric" } th { "Elite" } th { "High" } th { "Medium" } } }
                tbody {
                    @for (name, cuts) in rows {
                        tr { td { (name) } @for c in cuts { td { (c) } } }
                    }
                }
            }
        }
    }
}

fn per_repo(r: &DoraReport) -> Vec<(String, f64)> {
    let mut m: std::collections::BTreeMap<&str, f64> = Default::default();
    for d in r.deployments.iter().filter(|d| d.status == "success") {
        *m.entry(&d.repository).or_default() += 1.0;
    }
    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn number_2(x: f64) -> String {
    format!("{x:.2}")
}
