//! The dashboard: job cards, orchestrator settings, system health.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::components::{countdown, field_error, has_error, progress, status_badge, time};
use super::ids;
use crate::auth::csrf;
use crate::domain::job::{Action, JobStatus, JobType};
use crate::domain::settings::{FieldError, OrchestratorSettings};
use crate::orchestrator::events::Health;

pub struct JobCard {
    pub job_type: JobType,
    pub status: JobStatus,
    pub active: bool,
    pub progress: i32,
    pub message: Option<String>,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub retry_count: i32,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// What an admin may do now (empty for viewers).
    pub actions: Vec<Action>,
    pub pause_requested: bool,
    pub stop_requested: bool,
    /// Admins may switch the job on or off (inactive jobs are skipped by the schedule).
    pub can_toggle: bool,
}

pub struct SettingsPanel {
    pub next_run_at: Option<DateTime<Utc>>,
    pub timezone: chrono_tz::Tz,
    pub values: OrchestratorSettings,
    pub errors: Vec<FieldError>,
    pub saved: bool,
    pub editable: bool,
    pub csrf: String,
}

pub struct HealthPanel {
    pub database_ms: Option<f64>,
    /// Replicas on PostgreSQL: which one runs the orchestrator (`None` on SQLite).
    pub replica: Option<ReplicaLine>,
    pub uptime_secs: u64,
    pub orchestrator_enabled: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub integrations: Vec<IntegrationHealth>,
}

/// This replica and the leader, for the health panel.
pub struct ReplicaLine {
    pub this: String,
    pub leader: Option<String>,
}

/// One integration's state for the health panel: healthy, warning, error or inactive.
pub struct IntegrationHealth {
    pub name: String,
    pub state: Health,
    pub detail: String,
}

/// A team's headline numbers over the last [`TEAM_WINDOW_DAYS`] days, each beside the same
/// number over the days before (`None`: not computable, e.g. no deployments).
pub struct TeamHeadline {
    pub id: i64,
    pub name: String,
    pub deploys_per_week: (Option<f64>, Option<f64>),
    pub lead_time_hours: (Option<f64>, Option<f64>),
    pub failure_rate: (Option<f64>, Option<f64>),
    pub cycle_time_hours: (Option<f64>, Option<f64>),
}

/// The window whose completed items the dashboard's at-risk count compares with (the flow
/// page's default).
pub const AT_RISK_WINDOW_DAYS: u64 = 90;

/// The window of the dashboard's team headlines.
pub const TEAM_WINDOW_DAYS: u64 = 30;

pub struct Dashboard {
    pub jobs: Vec<JobCard>,
    /// Empty when there are no teams (or on the live fragment, which leaves them out).
    pub teams: Vec<TeamHeadline>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub csrf: String,
    pub settings: SettingsPanel,
    pub health: HealthPanel,
    pub timezone: chrono_tz::Tz,
    /// Statuses and issue types seen in Jira data that no flow mapping covers.
    pub flow_unmapped: (usize, usize),
    /// Items in progress now older than the p85 of the cycle times of the last
    /// [`AT_RISK_WINDOW_DAYS`] days (full page only: the live fragment leaves it out).
    pub at_risk: Option<usize>,
    pub notifications: NotificationsPanel,
}

/// The failure-notification webhook: which host is set (never the address) and how the last
/// delivery went.
pub struct NotificationsPanel {
    pub host: Option<String>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub last_ok: Option<bool>,
    pub last_message: Option<String>,
    pub editable: bool,
    pub csrf: String,
    pub notice: Option<String>,
    pub error: Option<String>,
}

pub fn page(d: &Dashboard) -> Markup {
    html! {
        div.page-head {
            h1 { "Dashboard" }
            div.toolbar {
                label for=(ids::AUTO_REFRESH) { "Auto-refresh" }
                select #(ids::AUTO_REFRESH) name="auto_refresh" {
                    option value="30" { "30 s" }
                    option value="60" selected { "1 min" }
                    option value="300" { "5 min" }
                    option value="0" { "Off" }
                }
                a.button.secondary href="/" { "Refresh" }
            }
        }
        p #(ids::CONNECTION_BANNER) .banner hidden role="status" {}
        @if let Some(n) = d.at_risk { (at_risk(n)) }
        (live(d))
        @if !d.teams.is_empty() { (teams_panel(&d.teams)) }
        (settings_panel(&d.settings))
        (notifications_panel(&d.notifications))
    }
}

/// How many items in progress are older than most completed ones took, linked to the list.
fn at_risk(n: usize) -> Markup {
    let link = format!("/analytics/flow?range={AT_RISK_WINDOW_DAYS}#aging");
    html! {
        a #(ids::AT_RISK) .notice.headline-notice .warn[n > 0] href=(link) data-count=(n) {
            @match n {
                0 => { "No item in progress is at risk" }
                1 => { strong { "1 item" } " in progress is at risk" }
                _ => { strong { (n) " items" } " in progress are at risk" }
            }
            " (older than 85 % of the items completed in the last " (AT_RISK_WINDOW_DAYS) " days took) — " span.underline { "see aging work in progress" } "."
        }
    }
}

/// Which way is better for a number.
#[derive(Clone, Copy)]
enum Better {
    Higher,
    Lower,
}

/// A headline number with its change since the window before: an arrow, and whether that
/// change is good news.
fn headline(value: (Option<f64>, Option<f64>), better: Better, show: fn(f64) -> String) -> Markup {
    let (now, before) = value;
    let Some(now) = now else {
        return html! { td.muted { "—" } };
    };
    let trend = before.map(|b| {
        let (arrow, word) = if (now - b).abs() < 1e-9 {
            ("→", "same as")
        } else if now > b {
            ("▲", "up from")
        } else {
            ("▼", "down from")
        };
        let good = match better {
            _ if (now - b).abs() < 1e-9 => "flat",
            Better::Higher if now > b => "good",
            Better::Lower if now < b => "good",
            _ => "bad",
        };
        (
            arrow,
            format!("{word} {} in the {TEAM_WINDOW_DAYS} days before", show(b)),
            good,
        )
    });
    html! {
        td {
            (show(now))
            @if let Some((arrow, title, good)) = trend {
                " " span.(format!("trend trend-{good}")) title=(title) aria-label=(title) { (arrow) }
            } @else {
                " " span.trend.trend-flat title="nothing to compare with in the days before" { "" }
            }
        }
    }
}

pub fn teams_panel(teams: &[TeamHeadline]) -> Markup {
    use super::analytics::{duration, number, percent};
    html! {
        section.card #teams-panel {
            div.card-head {
                h2 { "Teams" }
                span.count { "last " (TEAM_WINDOW_DAYS) " days, arrows against the " (TEAM_WINDOW_DAYS) " days before" }
            }
            div.table-wrap {
                table.data {
                    thead { tr { th { "Team" } th { "Deployments / week" } th { "Change lead time" } th { "Change failure rate" } th { "Cycle time" } } }
                    tbody {
                        @for t in teams {
                            tr data-team=(t.id) {
                                td { a href=(format!("/analytics/dora?range={TEAM_WINDOW_DAYS}&team={}", t.id)) { (t.name) } }
                                (headline(t.deploys_per_week, Better::Higher, number))
                                (headline(t.lead_time_hours, Better::Lower, duration))
                                (headline(t.failure_rate, Better::Lower, percent))
                                (headline(t.cycle_time_hours, Better::Lower, duration))
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn notifications_panel(n: &NotificationsPanel) -> Markup {
    let target = ids::selector(ids::NOTIFICATIONS_PANEL);
    html! {
        section.card #(ids::NOTIFICATIONS_PANEL) aria-labelledby="notifications-title" {
            header.card-head {
                h2 #notifications-title { "Notifications" }
                @match &n.host {
                    Some(h) => span.badge.badge-ok data-webhook-host=(h) { "to " (h) },
                    None => span.badge.badge-idle { "off" },
                }
            }
            p.muted { "A webhook (Slack's incoming-webhook format) is called when a job fails, succeeds again after failing, or stops at a rate limit. A webhook that fails never affects a job." }
            @if let Some(t) = &n.notice { p.notice role="status" { (t) } }
            @if let (Some(at), Some(ok)) = (n.last_sent_at, n.last_ok) {
                p #last-notification {
                    @if ok { span.badge.badge-ok { "delivered" } } @else { span.badge.badge-error { "failed" } }
                    " " (at.format("%Y-%m-%d %H:%M UTC"))
                    @if let Some(m) = &n.last_message { " · " (m) }
                }
            }
            @if n.editable {
                form.settings-form method="post" action="/notifications" hx-post="/notifications" hx-target=(target) hx-swap="outerHTML" {
                    input type="hidden" name=(csrf::FORM_FIELD) value=(n.csrf);
                    div.field.invalid[n.error.is_some()] {
                        label for="webhook_url" { "Webhook URL" @if n.host.is_some() { " (leave blank to keep the current one)" } }
                        input #webhook_url type="url" name="webhook_url" placeholder="https://hooks.slack.com/services/…" autocomplete="off"
                            aria-invalid=(if n.error.is_some() { "true" } else { "false" })
                            aria-describedby=[n.error.as_ref().map(|_| "webhook_url-error")];
                        @if let Some(e) = &n.error { p.field-error #webhook_url-error { (e) } }
                    }
                    div.toolbar {
                        button.button.primary type="submit" name="action" value="save" { "Save" }
                        @if n.host.is_some() {
                            button.button.secondary type="submit" name="action" value="remove" { "Switch off" }
                        }
                    }
                }
                @if n.host.is_some() {
                    form method="post" action="/notifications/test" hx-post="/notifications/test" hx-target=(target) hx-swap="outerHTML" {
                        input type="hidden" name=(csrf::FORM_FIELD) value=(n.csrf);
                        button.button.secondary type="submit" { "Send a test" }
                    }
                }
            } @else {
                p.muted { "Only administrators can change notifications." }
            }
        }
    }
}

/// The part of the dashboard that auto-refresh and live updates replace.
pub fn live(d: &Dashboard) -> Markup {
    html! {
        div #(ids::DASHBOARD_LIVE) .grid {
            @let (statuses, types) = d.flow_unmapped;
            @if statuses + types > 0 {
                a #(ids::FLOW_UNMAPPED) .notice.warn.wide href="/flow#unmapped" data-statuses=(statuses) data-types=(types) {
                    strong { (statuses) @if statuses == 1 { " status" } @else { " statuses" } " unmapped" }
                    @if types > 0 { " and " (types) @if types == 1 { " issue type" } @else { " issue types" } }
                    @if statuses + types == 1 { " — map it on the Flow page so it counts in the right flow step." }
                    @else { " — map them on the Flow page so they count in the right flow step." }
                }
            }
            @for job in &d.jobs { (job_card(job, d.timezone, &d.csrf)) }
            (health_panel(&d.health, d.timezone))
        }
    }
}

fn job_card(job: &JobCard, tz: chrono_tz::Tz, csrf_token: &str) -> Markup {
    let title = job.job_type.title();
    html! {
        section.card.job-card #(ids::job_card(job.job_type.as_str())) data-job=(job.job_type.as_str()) aria-labelledby=(format!("{}-title", job.job_type)) {
            header.card-head {
                h2 id=(format!("{}-title", job.job_type)) { (title) }
                (status_badge(job.status))
            }
            (progress(job.progress, &format!("{title} progress")))
            p.job-message data-role="message" { @if let Some(m) = &job.message { (m) } @else { span.muted { "No run yet." } } }
            @if job.stop_requested { p.notice.warn { "Force stop requested…" } }
            @else if job.pause_requested { p.notice.warn { "Pausing at the next request…" } }
            dl.facts {
                dt { "Last started" } dd { (time(job.last_started_at, tz)) }
                dt { "Last finished" } dd { (time(job.last_finished_at, tz)) }
                dt { "Last success" } dd { (time(job.last_success_at, tz)) }
                dt { "Retries" } dd { (job.retry_count) }
                @if job.next_retry_at.is_some() { dt { "Next retry" } dd { (countdown(job.next_retry_at, tz)) } }
                dt { "Active" } dd { @if job.active { "yes" } @else { "no" } }
            }
            @if let Some(err) = &job.last_error {
                p.job-error role="alert" { strong { "Last error: " } (err) }
            }
            div.job-controls data-role="controls" {
                @for action in &job.actions {
                    form method="post" action=(format!("/jobs/{}/{}", job.job_type, action.as_str()))
                        hx-post=(format!("/jobs/{}/{}", job.job_type, action.as_str()))
                        hx-target=(ids::selector(ids::DASHBOARD_LIVE)) hx-swap="outerHTML" {
                        input type="hidden" name=(csrf::FORM_FIELD) value=(csrf_token);
                        button type="submit" data-action=(action.as_str())
                            class=(if *action == Action::ForceStop { "button danger small" } else { "button secondary small" }) { (action.label()) }
                    }
                }
                a.button.secondary.small href=(format!("/jobs/{}", job.job_type)) { "History" }
                @if !job.actions.is_empty() || job.can_toggle {
                    form method="post" action=(format!("/jobs/{}/active", job.job_type)) {
                        input type="hidden" name=(csrf::FORM_FIELD) value=(csrf_token);
                        input type="hidden" name="active" value=(if job.active { "false" } else { "true" });
                        button.button.secondary.small type="submit" data-action="toggle-active" {
                            @if job.active { "Deactivate" } @else { "Activate" }
                        }
                    }
                }
            }
        }
    }
}

fn health_panel(h: &HealthPanel, tz: chrono_tz::Tz) -> Markup {
    html! {
        section.card #(ids::HEALTH_PANEL) aria-labelledby="health-title" {
            header.card-head { h2 #health-title { "System health" } }
            ul.health {
                li {
                    span { "Database" }
                    @match h.database_ms {
                        Some(ms) => span.badge.badge-ok data-health="database" { "healthy · " (format!("{ms:.1}")) " ms" },
                        None => span.badge.badge-error data-health="database" { "unreachable" },
                    }
                }
                li {
                    span { "Orchestrator" }
                    @if h.orchestrator_enabled {
                        span.badge.badge-ok data-health="orchestrator" { "enabled" }
                    } @else {
                        span.badge.badge-paused data-health="orchestrator" { "disabled" }
                    }
                }
                @if let Some(r) = &h.replica {
                    li data-replica=(r.this) {
                        span { "Replica" br; small.muted { (r.this) } }
                        @match &r.leader {
                            Some(l) if *l == r.this => span.badge.badge-ok data-leader=(l) { "leader" },
                            Some(l) => span.badge.badge-idle data-leader=(l) title=(format!("leader: {l}")) { "follower" },
                            None => span.badge.badge-warning { "no leader (failover)" },
                        }
                    }
                }
                @if let Some(at) = h.next_run_at { li { span { "Next run" } span { (countdown(Some(at), tz)) } } }
                @for i in &h.integrations {
                    li data-integration-health=(i.state.as_str()) {
                        span { (i.name) br; small.muted { (i.detail) } }
                        span class=(i.state.badge()) { (i.state.as_str()) }
                    }
                }
                @if h.integrations.is_empty() { li { span.muted { "No integrations yet" } } }
                li { span { "Uptime" } span { (uptime(h.uptime_secs)) } }
            }
        }
    }
}

pub fn settings_panel(s: &SettingsPanel) -> Markup {
    let v = &s.values;
    let disabled = !s.editable;
    html! {
        section.card #(ids::ORCHESTRATOR_PANEL) aria-labelledby="orchestrator-title" {
            header.card-head {
                h2 #orchestrator-title { "Schedule" }
                @if let Some(at) = s.next_run_at { span.muted #next-run { "next run " (time(Some(at), s.timezone)) } }
                @if v.enabled { span.badge.badge-ok { "enabled" } } @else { span.badge.badge-paused { "disabled" } }
            }
            @if s.saved { p.notice role="status" { "Settings saved." } }
            form.settings-form method="post" action="/orchestrator/settings"
                hx-post="/orchestrator/settings" hx-target=(ids::selector(ids::ORCHESTRATOR_PANEL)) hx-swap="outerHTML" {
                input type="hidden" name=(csrf::FORM_FIELD) value=(s.csrf);
                fieldset disabled[disabled] {
                    legend.visually-hidden { "Orchestrator settings" }
                    div.field.check {
                        input #enabled type="checkbox" name="enabled" value="true" checked[v.enabled];
                        label for="enabled" { "Run the main cycle" }
                    }
                    (number_field("interval_minutes", "Every (minutes)", v.interval_minutes, &s.errors))
                    div.field.check {
                        input #retry_enabled type="checkbox" name="retry_enabled" value="true" checked[v.retry_enabled];
                        label for="retry_enabled" { "Retry failed jobs sooner" }
                    }
                    (number_field("retry_interval_minutes", "Retry every (minutes, 5–30)", v.retry_interval_minutes, &s.errors))
                    (number_field("max_retry_attempts", "Retry attempts (1–10)", v.max_retry_attempts, &s.errors))
                    @if s.editable { button.button.primary type="submit" { "Save" } }
                }
                @if !s.editable { p.muted { "Only administrators can change the schedule." } }
            }
        }
    }
}

fn number_field(name: &str, label: &str, value: i32, errors: &[FieldError]) -> Markup {
    let invalid = has_error(errors, name);
    html! {
        div.field.invalid[invalid] {
            label for=(name) { (label) }
            input id=(name) type="number" name=(name) value=(value) required
                aria-invalid=(if invalid { "true" } else { "false" })
                aria-describedby=[invalid.then(|| format!("{name}-error"))];
            (field_error(errors, name))
        }
    }
}

fn uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}
