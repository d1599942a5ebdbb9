//! Integrations: list, create/edit form, delete confirmation.

mod preview;

use maud::{Markup, html};

use super::components::{field_error, has_error, time};
use crate::auth::csrf;
use crate::domain::integration::{
    DeploymentKind, Flavour, GithubSettings, GitlabSettings, IntegrationKind, JiraSettings, Settings,
};
use crate::domain::settings::FieldError;
use crate::integrations::connection::TestReport;
use crate::integrations::github::preview::Preview;

pub struct Row {
    pub id: i64,
    pub name: String,
    pub kind: IntegrationKind,
    pub flavour: Flavour,
    pub base_url: String,
    pub settings: Settings,
    pub active: bool,
    pub last_test_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_test_ok: Option<bool>,
    pub last_test_message: Option<String>,
    pub last_sync_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What the last sync saw of the upstream, if it ran since this was recorded.
    pub last_sync: Option<SyncFigures>,
}

/// The last sync's requests in flight at most (of the setting) and refusals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct SyncFigures {
    pub max_concurrency: u32,
    pub peak_in_flight: u32,
    pub throttled: u64,
}

pub struct ListPage<'a> {
    pub rows: &'a [Row],
    pub is_admin: bool,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    pub timezone: chrono_tz::Tz,
}

pub fn list(p: &ListPage<'_>) -> Markup {
    html! {
        div.page-head {
            div {
                h1 { "Integrations" }
                p.muted { "Each integration syncs one Jira site, GitHub account or GitLab instance. Credentials are encrypted and never shown again." }
            }
            @if p.is_admin {
                div.toolbar {
                    a.button.primary href="/integrations/new?kind=jira" { "Add Jira" }
                    a.button.primary href="/integrations/new?kind=github" { "Add GitHub" }
                    a.button.primary href="/integrations/new?kind=gitlab" { "Add GitLab" }
                }
            }
        }
        @if let Some(n) = p.notice { p.notice role="status" { (n) } }
        @if p.rows.is_empty() {
            section.card.empty { p { "No integrations yet." @if p.is_admin { " Add Jira, GitHub or GitLab to start syncing." } } }
        } @else {
            div.table-wrap {
                table.data #integrations-table {
                    thead { tr { th { "Name" } th { "Server" } th { "Scope" } th { "Status" } th { "Last test" } th { "Last sync" } @if p.is_admin { th { span.visually-hidden { "Actions" } } } } }
                    tbody { @for r in p.rows { (row(r, p.is_admin, p.csrf, p.timezone)) } }
                }
            }
        }
    }
}

pub fn row(r: &Row, is_admin: bool, csrf_token: &str, tz: chrono_tz::Tz) -> Markup {
    html! {
        tr id=(format!("integration-{}", r.id)) data-integration=(r.id) {
            td { strong { (r.name) } }
            td { (r.flavour.title()) br; span.muted.url { (r.base_url) } }
            td { (scope(&r.settings)) }
            td { @if r.active { span.badge.badge-ok { "active" } } @else { span.badge.badge-idle { "inactive" } } }
            td {
                @match r.last_test_ok {
                    Some(true) => span.badge.badge-ok title=[r.last_test_message.as_deref()] { "passed" },
                    Some(false) => span.badge.badge-error title=[r.last_test_message.as_deref()] { "failed" },
                    None => span.muted { "never" },
                }
                @if r.last_test_at.is_some() { br; small { (time(r.last_test_at, tz)) } }
                @if let (Some(false), Some(m)) = (r.last_test_ok, &r.last_test_message) { p.field-error { (m) } }
            }
            td {
                (time(r.last_sync_at, tz))
                @if let Some(f) = r.last_sync {
                    br;
                    small.sync-figures data-peak=(f.peak_in_flight) data-throttled=(f.throttled)
                        title="Requests in flight at most during the last sync, of the integration's maximum, and the answers that refused a request for sending too many (429 or a secondary rate limit)" {
                        "up to " (f.peak_in_flight) " of " (f.max_concurrency) " requests in flight · "
                        (f.throttled) @if f.throttled == 1 { " refusal (429)" } @else { " refusals (429)" }
                    }
                }
            }
            @if is_admin {
                td.actions {
                    a.button.secondary.small href=(format!("/integrations/{}/edit", r.id)) { "Edit" }
                    form method="post" action=(format!("/integrations/{}/test", r.id)) {
                        input type="hidden" name=(csrf::FORM_FIELD) value=(csrf_token);
                        button.button.secondary.small type="submit" { "Test" }
                    }
                    form method="post" action=(format!("/integrations/{}/active", r.id)) {
                        input type="hidden" name=(csrf::FORM_FIELD) value=(csrf_token);
                        input type="hidden" name="active" value=(if r.active { "false" } else { "true" });
                        button.button.secondary.small type="submit" { @if r.active { "Deactivate" } @else { "Activate" } }
                    }
                    a.button.danger.small href=(format!("/integrations/{}/delete", r.id)) { "Delete" }
                }
            }
        }
    }
}

fn scope(s: &Settings) -> Markup {
    match s {
        Settings::Jira(j) => html! {
            "Projects: " (j.projects.join(", "))
            @if let Some(jql) = &j.extra_jql { br; span.muted { "JQL: " (jql) } }
        },
        Settings::Github(g) => html! {
            @if !g.repositories.is_empty() { (g.repositories.join(", ")) br; }
            @if let Some(org) = &g.organization {
                "Organisation " (org) @if let Some(f) = &g.name_filter { " (" (f) ")" } br;
            }
            span.muted { "Deployments: " (g.deployment_source.kind.title())
                @if let Some(p) = &g.deployment_source.pattern { " · " code { (p) } } }
            br;
            span.muted {
                "Hotfix branches " code { (g.hotfix_glob()) } " · failed when: an incident follows"
                @if g.failure_signals.revert { ", a shipped PR is reverted" }
                @if g.failure_signals.failed_status { ", its status fails" }
            }
        },
        Settings::Gitlab(g) => html! {
            @if !g.projects.is_empty() { (g.projects.join(", ")) br; }
            @if let Some(group) = &g.group {
                "Group " (group) @if let Some(f) = &g.name_filter { " (" (f) ")" } br;
            }
            span.muted { "Deployments: " (g.deployment_source.kind.gitlab_title())
                @if let Some(p) = &g.deployment_source.pattern { " · " code { (p) } } }
        },
    }
}

/// The create/edit form's values, as typed (so errors re-render without losing input).
#[derive(Clone, Debug, Default)]
pub struct FormValues {
    pub kind: String,
    pub name: String,
    pub flavour: String,
    pub base_url: String,
    pub username: String,
    pub projects: String,
    pub extra_jql: String,
    pub story_points_field: String,
    pub repositories: String,
    pub organization: String,
    /// GitLab: a group's path or id.
    pub group: String,
    pub name_filter: String,
    pub deployment_kind: String,
    pub deployment_pattern: String,
    pub hotfix_branch: String,
    /// Failure signals besides incidents.
    pub signal_revert: bool,
    pub signal_failed_status: bool,
    /// Save although the deployment source matches nothing over the preview's days.
    pub confirm_no_match: bool,
    /// Blank = the default for the kind.
    pub max_concurrency: String,
    pub active: bool,
    pub skip_test: bool,
}

impl FormValues {
    pub fn new_for(kind: IntegrationKind) -> Self {
        match kind {
            IntegrationKind::Jira => Self {
                kind: "jira".into(),
                flavour: "cloud".into(),
                active: true,
                ..Default::default()
            },
            IntegrationKind::Github => Self {
                kind: "github".into(),
                flavour: "github".into(),
                base_url: "https://api.github.com".into(),
                deployment_kind: "deployments".into(),
                deployment_pattern: "prod*".into(),
                hotfix_branch: crate::domain::integration::DEFAULT_HOTFIX_BRANCH.into(),
                active: true,
                ..Default::default()
            },
            IntegrationKind::Gitlab => Self {
                kind: "gitlab".into(),
                flavour: "gitlab".into(),
                base_url: "https://gitlab.com".into(),
                deployment_kind: "deployments".into(),
                deployment_pattern: "production".into(),
                active: true,
                ..Default::default()
            },
        }
    }

    pub fn from_settings(kind: IntegrationKind, settings: &Settings) -> Self {
        let mut v = Self::new_for(kind);
        match settings {
            Settings::Jira(JiraSettings {
                projects,
                extra_jql,
                story_points_field,
                max_concurrency,
            }) => {
                v.max_concurrency = max_concurrency.map(|n| n.to_string()).unwrap_or_default();
                v.projects = projects.join(", ");
                v.extra_jql = extra_jql.clone().unwrap_or_default();
                v.story_points_field = story_points_field.clone().unwrap_or_default();
            }
            Settings::Github(GithubSettings {
                repositories,
                organization,
                name_filter,
                deployment_source,
                max_concurrency,
                hotfix_branch,
                failure_signals,
            }) => {
                v.hotfix_branch = hotfix_branch.clone().unwrap_or(v.hotfix_branch);
                v.signal_revert = failure_signals.revert;
                v.signal_failed_status = failure_signals.failed_status;
                v.max_concurrency = max_concurrency.map(|n| n.to_string()).unwrap_or_default();
                v.repositories = repositories.join("\n");
                v.organization = organization.clone().unwrap_or_default();
                v.name_filter = name_filter.clone().unwrap_or_default();
                v.deployment_kind = deployment_source.kind.as_str().into();
                v.deployment_pattern = deployment_source.pattern.clone().unwrap_or_default();
            }
            Settings::Gitlab(GitlabSettings {
                projects,
                group,
                name_filter,
                deployment_source,
                max_concurrency,
            }) => {
                v.max_concurrency = max_concurrency.map(|n| n.to_string()).unwrap_or_default();
                v.projects = projects.join("\n");
                v.group = group.clone().unwrap_or_default();
                v.name_filter = name_filter.clone().unwrap_or_default();
                v.deployment_kind = deployment_source.kind.as_str().into();
                v.deployment_pattern = deployment_source.pattern.clone().unwrap_or_default();
            }
        }
        v
    }
}

pub struct FormPage<'a> {
    /// None for a new integration.
    pub id: Option<i64>,
    pub values: &'a FormValues,
    pub errors: &'a [FieldError],
    pub report: Option<&'a TestReport>,
    pub preview: Option<&'a Preview>,
    pub preview_error: Option<&'a str>,
    /// The source matches nothing: saving needs the confirmation box ticked.
    pub confirm_needed: bool,
    pub has_secret: bool,
    pub csrf: &'a str,
}

pub fn form(p: &FormPage<'_>) -> Markup {
    let v = p.values;
    let kind = IntegrationKind::parse(&v.kind).unwrap_or(IntegrationKind::Jira);
    let action = match p.id {
        Some(id) => format!("/integrations/{id}"),
        None => "/integrations".to_string(),
    };
    let flavours: &[Flavour] = match kind {
        IntegrationKind::Jira => &[Flavour::Cloud, Flavour::DataCenter],
        IntegrationKind::Github => &[Flavour::Github, Flavour::Enterprise],
        IntegrationKind::Gitlab => &[Flavour::Gitlab, Flavour::SelfManaged],
    };
    html! {
        div.page-head {
            h1 { @if p.id.is_some() { "Edit " (v.name) } @else { "Add " (kind.title()) } }
            a.button.secondary href="/integrations" { "Back to integrations" }
        }
        @if !p.errors.is_empty() {
            div.form-error role="alert" #form-errors {
                "Nothing was saved. " (p.errors.len()) @if p.errors.len() == 1 { " field needs" } @else { " fields need" } " attention."
            }
        }
        @if let Some(r) = p.report { (report(r)) }
        @if let Some(why) = p.preview_error {
            section.card.test-report #deployment-preview data-ok="false" {
                h2 { "Preview failed" }
                p { (why) }
            }
        }
        @if let Some(pv) = p.preview { (preview::preview(pv, p.confirm_needed)) }
        section.card {
            form.integration-form method="post" action=(action) {
                input type="hidden" name=(csrf::FORM_FIELD) value=(p.csrf);
                input type="hidden" name="kind" value=(v.kind);
                (text_field("name", "Name", &v.name, "text", p.errors, Some(&format!("e.g. Acme {}", kind.title()))))
                div.field.invalid[has_error(p.errors, "flavour")] {
                    label for="flavour" { "Server" }
                    select #flavour name="flavour" {
                        @for f in flavours { option value=(f.as_str()) selected[v.flavour == f.as_str()] { (f.title()) } }
                    }
                    (field_error(p.errors, "flavour"))
                }
                @match kind {
                    IntegrationKind::Jira => {
                        (text_field("base_url", "Base URL", &v.base_url, "url", p.errors,
                            Some("https://your-site.atlassian.net, https://api.atlassian.com/ex/jira/<cloudId> or https://host/jira")))
                        (text_field("username", "Email (Jira Cloud only)", &v.username, "email", p.errors, Some("the Atlassian account the API token belongs to")))
                        (secret_field(p, "API token (Cloud) or personal access token (Data Center)"))
                        (text_field("projects", "Project keys", &v.projects, "text", p.errors, Some("comma-separated, e.g. PAY, WEB")))
                        (text_field("extra_jql", "Extra JQL (optional)", &v.extra_jql, "text", p.errors, Some("ANDed with the sync's own query, e.g. labels != ignore")))
                        (text_field("story_points_field", "Story points field (optional)", &v.story_points_field, "text", p.errors, Some("e.g. customfield_10016")))
                    }
                    IntegrationKind::Github => {
                        (text_field("base_url", "API URL", &v.base_url, "url", p.errors,
                            Some("https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server")))
                        (secret_field(p, "Token"))
                        div.field.invalid[has_error(p.errors, "repositories")] {
                            label for="repositories" { "Repositories (optional if an organisation is given)" }
                            textarea #repositories name="repositories" rows="3" placeholder="owner/name, one per line" { (v.repositories) }
                            (field_error(p.errors, "repositories"))
                        }
                        (text_field("organization", "Organisation (optional)", &v.organization, "text", p.errors, None))
                        (text_field("name_filter", "Repository name filter (optional)", &v.name_filter, "text", p.errors, Some("e.g. api-* (applies to the organisation's repositories)")))
                        div.field {
                            label for="deployment_kind" { "Deployments come from" }
                            select #deployment_kind name="deployment_kind" {
                                @for k in DeploymentKind::ALL { option value=(k.as_str()) selected[v.deployment_kind == k.as_str()] { (k.title()) } }
                            }
                        }
                        (text_field("deployment_pattern", "Pattern (environment or workflow name)", &v.deployment_pattern, "text", p.errors, Some("* matches anything, e.g. prod* or *deploy*")))
                        (text_field("hotfix_branch", "Hotfix branches", &v.hotfix_branch, "text", p.errors, Some("a glob, case-insensitive; a deployment that ships a PR from such a branch is rework (default hotfix*)")))
                        fieldset.field {
                            legend { "A deployment failed when" }
                            div.field.check {
                                input #signal_incident type="checkbox" checked disabled;
                                label for="signal_incident" { "an incident follows it (always)" }
                            }
                            div.field.check {
                                input #signal_revert type="checkbox" name="signal_revert" value="true" checked[v.signal_revert];
                                label for="signal_revert" { "a pull request it shipped is reverted by a pull request merged after it was deployed" }
                            }
                            div.field.check {
                                input #signal_failed_status type="checkbox" name="signal_failed_status" value="true" checked[v.signal_failed_status];
                                label for="signal_failed_status" { "its status is failure or error (failed production deployments then count as deployments and as failures)" }
                            }
                        }
                    }
                    IntegrationKind::Gitlab => {
                        (text_field("base_url", "GitLab URL", &v.base_url, "url", p.errors,
                            Some("https://gitlab.com, or your self-managed instance, e.g. https://gitlab.example.com")))
                        (secret_field(p, "Access token (personal, project or group; read_api scope)"))
                        div.field.invalid[has_error(p.errors, "projects")] {
                            label for="projects" { "Projects (optional if a group is given)" }
                            textarea #projects name="projects" rows="3" placeholder="group/sub/name, one per line" { (v.projects) }
                            (field_error(p.errors, "projects"))
                        }
                        (text_field("group", "Group (optional)", &v.group, "text", p.errors, Some("full path or id, e.g. acme or acme/platform; subgroups are included")))
                        (text_field("name_filter", "Project name filter (optional)", &v.name_filter, "text", p.errors, Some("e.g. api-* (applies to the group's projects)")))
                        div.field.invalid[has_error(p.errors, "deployment_kind")] {
                            label for="deployment_kind" { "Deployments come from" }
                            select #deployment_kind name="deployment_kind" {
                                @for k in DeploymentKind::GITLAB { option value=(k.as_str()) selected[v.deployment_kind == k.as_str()] { (k.gitlab_title()) } }
                            }
                            (field_error(p.errors, "deployment_kind"))
                        }
                        (text_field("deployment_pattern", "Environment pattern (deployments only)", &v.deployment_pattern, "text", p.errors, Some("* matches anything; blank = production")))
                    }
                }
                (text_field("max_concurrency", "Requests in flight at most (optional)", &v.max_concurrency, "number", p.errors,
                    Some(match kind {
                        IntegrationKind::Jira => "1–32; blank = 8. Halved automatically while Jira answers 429",
                        IntegrationKind::Github => "1–32; blank = 4. Halved automatically while GitHub answers with a secondary rate limit",
                        IntegrationKind::Gitlab => "1–32; blank = 8. Halved automatically while GitLab answers 429",
                    })))
                div.field.check {
                    input #active type="checkbox" name="active" value="true" checked[v.active];
                    label for="active" { "Active (included in syncs)" }
                }
                div.field.check {
                    input #skip_test type="checkbox" name="skip_test" value="true" checked[v.skip_test];
                    label for="skip_test" { "Save without testing the connection" }
                }
                (field_error(p.errors, "settings"))
                (field_error(p.errors, "kind"))
                @if p.confirm_needed || v.confirm_no_match {
                    div.field.check {
                        input #confirm_no_match type="checkbox" name="confirm_no_match" value="true" checked[v.confirm_no_match];
                        label for="confirm_no_match" { "Save anyway: the deployment source matches nothing in the last 90 days" }
                    }
                }
                div.actions {
                    button.button.primary type="submit" { "Test and save" }
                    @if kind == IntegrationKind::Github {
                        " "
                        button.button.secondary type="submit" formaction=(format!("{}/preview", action.trim_end_matches('/'))) {
                            "Preview deployments"
                        }
                    }
                }
            }
        }
    }
}

fn text_field(name: &str, label: &str, value: &str, kind: &str, errors: &[FieldError], hint: Option<&str>) -> Markup {
    let invalid = has_error(errors, name);
    html! {
        div.field.invalid[invalid] {
            label for=(name) { (label) }
            input id=(name) type=(kind) name=(name) value=(value)
                aria-invalid=(if invalid { "true" } else { "false" })
                aria-describedby=[hint.map(|_| format!("{name}-hint"))];
            @if let Some(h) = hint { p.hint id=(format!("{name}-hint")) { (h) } }
            (field_error(errors, name))
        }
    }
}

fn secret_field(p: &FormPage<'_>, label: &str) -> Markup {
    let invalid = has_error(p.errors, "secret");
    html! {
        div.field.invalid[invalid] {
            label for="secret" { (label) }
            input #secret type="password" name="secret" value="" autocomplete="new-password"
                placeholder=(if p.has_secret { "•••••••• stored — leave blank to keep" } else { "" })
                aria-invalid=(if invalid { "true" } else { "false" });
            @if p.has_secret { p.hint { "A secret is stored. It is never shown; type a new one to replace it." } }
            (field_error(p.errors, "secret"))
        }
    }
}

pub fn report(r: &TestReport) -> Markup {
    html! {
        section.card.test-report #test-report data-ok=(r.ok) {
            h2 { @if r.ok { "Connection test passed" } @else { "Connection test failed" } }
            ul.checks {
                @for c in &r.checks {
                    li.check-ok[c.ok].check-fail[!c.ok] {
                        span.badge.badge-ok[c.ok].badge-error[!c.ok] { @if c.ok { "ok" } @else { "failed" } }
                        " " (c.message)
                    }
                }
            }
        }
    }
}

pub struct DeletePage<'a> {
    pub id: i64,
    pub name: &'a str,
    pub active: bool,
    pub impact: &'a crate::db::integrations::Impact,
    pub csrf: &'a str,
}

pub fn delete_confirm(p: &DeletePage<'_>) -> Markup {
    let i = p.impact;
    html! {
        div.page-head { h1 { "Delete " (p.name) "?" } }
        section.card.danger-zone #delete-impact {
            @if i.is_empty() {
                p { "This integration has no synced data. Deleting it removes only its configuration." }
            } @else {
                p { strong { "Deleting it also deletes everything synced through it:" } }
                ul.impact {
                    @if i.jira_projects > 0 { li { (i.jira_projects) " Jira projects" } }
                    @if i.jira_issues > 0 { li data-count="jira_issues" { (i.jira_issues) " Jira issues with their status history" } }
                    @if i.repositories > 0 { li { (i.repositories) " repositories" } }
                    @if i.pull_requests > 0 { li data-count="pull_requests" { (i.pull_requests) " pull requests with reviews, commits and comments" } }
                    @if i.deployments > 0 { li { (i.deployments) " deployments" } }
                }
                @if p.active {
                    p { "To stop syncing but keep the data (and the metrics built on it), deactivate it instead." }
                    form method="post" action=(format!("/integrations/{}/active", p.id)) {
                        input type="hidden" name=(csrf::FORM_FIELD) value=(p.csrf);
                        input type="hidden" name="active" value="false";
                        button.button.secondary type="submit" { "Deactivate instead" }
                    }
                }
            }
            form method="post" action=(format!("/integrations/{}/delete", p.id)) {
                input type="hidden" name=(csrf::FORM_FIELD) value=(p.csrf);
                input type="hidden" name="confirm" value="true";
                button.button.danger type="submit" { "Delete " (p.name) @if !i.is_empty() { " and its data" } }
                " "
                a.button.secondary href="/integrations" { "Cancel" }
            }
        }
    }
}
