//! `/jobs/{job}`: run history and a run's log.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::components::time;
use crate::domain::job::{EventLevel, JobType, RunOutcome, RunTrigger};

/// One run, as the history lists it.
pub struct RunRow {
    pub id: i64,
    pub trigger: RunTrigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: RunOutcome,
    pub error: Option<String>,
    pub api_requests: i64,
    pub rate_limit_wait_ms: i64,
    /// Start to end (none while it runs).
    pub duration: Option<chrono::Duration>,
    /// Per entity: fetched, inserted, updated.
    pub counts: serde_json::Value,
}

/// One line of a run's log.
pub struct LogLine {
    pub at: DateTime<Utc>,
    pub level: EventLevel,
    pub message: String,
}

pub struct History<'a> {
    pub job: JobType,
    pub runs: &'a [RunRow],
    pub page: u64,
    pub pages: u64,
    pub selected: Option<&'a RunRow>,
    pub events: &'a [LogLine],
    pub events_page: u64,
    pub events_pages: u64,
    pub level: Option<EventLevel>,
    pub search: &'a str,
    pub timezone: chrono_tz::Tz,
}

fn outcome_badge(outcome: RunOutcome) -> Markup {
    let class = match outcome {
        RunOutcome::Success => "badge badge-ok",
        RunOutcome::Running => "badge badge-running",
        RunOutcome::Paused => "badge badge-paused",
        _ => "badge badge-error",
    };
    html! { span class=(class) data-outcome=(outcome) { (outcome) } }
}

pub fn history(v: &History<'_>) -> Markup {
    let base = format!("/jobs/{}", v.job.as_str());
    html! {
        div.page-head {
            div { h1 { (v.job.title()) " — runs" } p.muted { "Every run with its trigger, outcome, counts and log." } }
            a.button.secondary href="/" { "Back to the dashboard" }
        }
        @if v.runs.is_empty() {
            section.card.empty { p { "No runs yet." } }
        } @else {
            div.table-wrap {
                table.data #runs-table {
                    thead { tr { th { "Run" } th { "Trigger" } th { "Started" } th { "Finished" } th { "Took" } th { "Outcome" } th { "Requests" } th { "Rate-limit wait" } th { "Counts" } } }
                    tbody {
                        @for r in v.runs {
                            tr.selected[v.selected.is_some_and(|s| s.id == r.id)] data-run=(r.id) {
                                td { a href=(format!("{base}?run={}&page={}", r.id, v.page)) { "#" (r.id) } }
                                td { (r.trigger) }
                                td { (time(Some(r.started_at), v.timezone)) }
                                td { (time(r.finished_at, v.timezone)) }
                                td.took { @if let Some(d) = r.duration { (took(d)) } @else { span.muted { "running" } } }
                                td { (outcome_badge(r.outcome)) @if let Some(e) = &r.error { p.field-error { (e) } } }
                                td { (r.api_requests) }
                                td { (r.rate_limit_wait_ms / 1000) " s" }
                                td.counts { (counts(&r.counts)) }
                            }
                        }
                    }
                }
            }
            (pager(&base, "page", v.page, v.pages, ""))
            p { a.button.secondary href=(format!("/api/v1/jobs/{}/runs?format=csv", v.job.as_str())) download { "Download every run (CSV)" } }
        }
        @if let Some(run) = v.selected {
            section.card.log #run-log {
                header.card-head { h2 { "Log of run #" (run.id) } }
                form.log-filter method="get" action=(base) {
                    input type="hidden" name="run" value=(run.id);
                    label for="level" { "Level" }
                    select #level name="level" {
                        option value="" selected[v.level.is_none()] { "all" }
                        @for l in EventLevel::ALL { option value=(l) selected[v.level == Some(l)] { (l) } }
                    }
                    label for="q" { "Search" }
                    input #q type="text" name="q" value=(v.search);
                    button.button.secondary type="submit" { "Filter" }
                }
                @if v.events.is_empty() { p.muted { "No log lines match." } }
                ol.log-lines {
                    @for e in v.events {
                        li class=(format!("log-{}", e.level)) {
                            span.log-time { (e.at.with_timezone(&v.timezone).format("%H:%M:%S")) }
                            span.log-level { (e.level) }
                            span.log-message { (e.message) }
                        }
                    }
                }
                (pager(&base, "log_page", v.events_page, v.events_pages, &format!("&run={}&level={}&q={}", run.id, v.level.map_or("", EventLevel::as_str), encode(v.search))))
            }
        }
    }
}

/// `0.4 s`, `52 s`, `3 min 05 s`, `1 h 02 min`.
fn took(d: chrono::Duration) -> String {
    let ms = d.num_milliseconds().max(0);
    match ms / 1000 {
        _ if ms < 10_000 => format!("{:.1} s", ms as f64 / 1000.0),
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        s => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

fn counts(value: &serde_json::Value) -> Markup {
    html! {
        @if let Some(map) = value.as_object() {
            @for (entity, c) in map {
                span.count { (entity.replace('_', " ")) ": " (c["fetched"]) " fetched, " (c["inserted"]) " new, " (c["updated"]) " updated" } br;
            }
        }
    }
}

fn pager(base: &str, param: &str, page: u64, pages: u64, extra: &str) -> Markup {
    html! {
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if page > 0 { a href=(format!("{base}?{param}={}{extra}", page - 1)) { "← Newer" } }
                span { "page " (page + 1) " of " (pages) }
                @if page + 1 < pages { a href=(format!("{base}?{param}={}{extra}", page + 1)) { "Older →" } }
            }
        }
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
