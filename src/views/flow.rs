//! `/flow`: flow steps, status mappings, issue-type mappings, what is still unmapped, and the
//! guided delete-and-reassign dialog. Every action is a form (no JavaScript needed); htmx swaps
//! `#flow-content` and opens dialogs in `#flow-dialog`.

use maud::{Markup, html};

use super::ids;
use crate::auth::csrf;
use crate::db::flow::discovery::Discovery;
use crate::domain::flow::input::{IssueTypeMappingDraft, StatusMappingDraft, StepDraft};
use crate::domain::flow::{StepCategory, WorkCategory};
use crate::domain::settings::FieldError;

pub mod dialog;
pub mod forms;

/// Which table an action is about; also the URL segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Step,
    StatusMapping,
    IssueTypeMapping,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "steps" => Some(Kind::Step),
            "status-mappings" => Some(Kind::StatusMapping),
            "issue-type-mappings" => Some(Kind::IssueTypeMapping),
            _ => None,
        }
    }
    pub fn segment(self) -> &'static str {
        match self {
            Kind::Step => "steps",
            Kind::StatusMapping => "status-mappings",
            Kind::IssueTypeMapping => "issue-type-mappings",
        }
    }
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Step => "flow step",
            Kind::StatusMapping => "status mapping",
            Kind::IssueTypeMapping => "issue-type mapping",
        }
    }
}

pub struct StepRow {
    pub id: i64,
    pub name: String,
    pub position: i32,
    pub category: StepCategory,
    pub is_commitment_point: bool,
    pub active: bool,
    pub mappings: u64,
    pub issues: u64,
}

pub struct StatusMappingRow {
    pub id: i64,
    pub status_from: String,
    pub step: String,
    pub step_category: Option<StepCategory>,
    /// None: every issue type.
    pub issue_type: Option<String>,
    pub active: bool,
    pub issues: u64,
}

pub struct IssueTypeMappingRow {
    pub id: i64,
    pub issuetype_from: String,
    pub issuetype_to: String,
    pub work_category: WorkCategory,
    pub hierarchy_level: i32,
    pub active: bool,
    pub mappings: u64,
    pub issues: u64,
}

/// An option of a `<select>`.
pub struct Choice {
    pub id: i64,
    pub label: String,
}

/// The three "add" forms as typed, with their errors (empty when fresh).
#[derive(Default)]
pub struct Forms {
    pub step: StepDraft,
    pub step_errors: Vec<FieldError>,
    pub status_mapping: StatusMappingDraft,
    pub status_mapping_errors: Vec<FieldError>,
    pub issue_type_mapping: IssueTypeMappingDraft,
    pub issue_type_mapping_errors: Vec<FieldError>,
}

pub struct FlowPage<'a> {
    pub steps: &'a [StepRow],
    pub status_mappings: &'a [StatusMappingRow],
    pub issue_type_mappings: &'a [IssueTypeMappingRow],
    pub unmapped: &'a Discovery,
    /// Active steps and active issue-type mappings, for the selects.
    pub step_choices: &'a [Choice],
    pub issue_type_choices: &'a [Choice],
    pub is_admin: bool,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    pub forms: &'a Forms,
    /// An open dialog (edit form or removal impact), rendered over the page.
    pub dialog: Option<Markup>,
}

pub fn page(p: &FlowPage<'_>) -> Markup {
    html! {
        div.page-head {
            div {
                h1 { "Flow" }
                p.muted { "How each team's Jira workflow maps onto one flow. Changes apply to every metric at once; no re-sync needed." }
            }
            div.toolbar {
                a.button.secondary href="#steps-title" { "Steps" }
                a.button.secondary href="#statuses-title" { "Statuses" }
                a.button.secondary href="#types-title" { "Issue types" }
            }
        }
        (content(p))
    }
}

/// The swappable part of the page.
pub fn content(p: &FlowPage<'_>) -> Markup {
    html! {
        div #(ids::FLOW_CONTENT) .flow-content {
            @if let Some(n) = p.notice { p.notice role="status" { (n) } }
            @if !p.unmapped.statuses.is_empty() || !p.unmapped.issue_types.is_empty() { (unmapped(p)) }
            (steps(p))
            (statuses(p))
            (types(p))
            div #(ids::FLOW_DIALOG) { @if let Some(d) = &p.dialog { (d) } }
        }
    }
}

/// `hx-*` attributes shared by every form on the page: swap the whole content.
fn hx_post(action: &str) -> (String, String, &'static str) {
    (action.to_string(), ids::selector(ids::FLOW_CONTENT), "outerHTML")
}

pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(csrf::FORM_FIELD) value=(token); }
}

fn category_badge(c: StepCategory) -> Markup {
    let class = match c {
        StepCategory::ToDo => "badge badge-idle",
        StepCategory::InProgress => "badge badge-running",
        StepCategory::Waiting => "badge badge-warning",
        StepCategory::Done => "badge badge-ok",
        StepCategory::Discarded => "badge badge-error",
    };
    html! { span class=(class) data-category=(c.as_str()) { (c.title()) } }
}

fn state_badge(active: bool) -> Markup {
    html! { @if active { span.badge.badge-ok { "active" } } @else { span.badge.badge-idle { "inactive" } } }
}

/// A link that opens a dialog: a page of its own without JavaScript, `#flow-dialog` with htmx.
fn dialog_link(href: &str, class: &str, label: &str) -> Markup {
    html! {
        a class=(class) href=(href) hx-get=(href) hx-target=(ids::selector(ids::FLOW_DIALOG)) hx-swap="innerHTML" { (label) }
    }
}

fn post_button(
    action: &str,
    csrf_token: &str,
    fields: &[(&str, &str)],
    class: &str,
    label: &str,
    aria: &str,
) -> Markup {
    let (url, target, swap) = hx_post(action);
    html! {
        form method="post" action=(action) hx-post=(url) hx-target=(target) hx-swap=(swap) {
            (csrf_field(csrf_token))
            @for (k, v) in fields { input type="hidden" name=(k) value=(v); }
            button class=(class) type="submit" aria-label=(aria) { (label) }
        }
    }
}

fn row_actions(kind: Kind, id: i64, active: bool, name: &str, csrf_token: &str) -> Markup {
    let base = format!("/flow/{}/{id}", kind.segment());
    html! {
        (dialog_link(&format!("{base}/edit"), "button secondary small", "Edit"))
        @if active {
            (dialog_link(&format!("{base}/deactivate"), "button secondary small", "Deactivate…"))
        } @else {
            (post_button(&format!("{base}/active"), csrf_token, &[], "button secondary small", "Activate", &format!("Activate {name}")))
        }
        (dialog_link(&format!("{base}/delete"), "button danger small", "Delete…"))
    }
}

fn unmapped(p: &FlowPage<'_>) -> Markup {
    let u = p.unmapped;
    html! {
        section.card.flow-card.attention #unmapped aria-labelledby="unmapped-title" {
            header.card-head {
                h2 #unmapped-title { "Needs mapping" }
                span.badge.badge-warning { (u.statuses.len()) " statuses · " (u.issue_types.len()) " issue types" }
            }
            p.muted { "Seen in synced Jira data but not mapped. Until mapped, statuses count by their Jira category and issue types as “other”." }
            div.table-wrap {
                table.data #unmapped-table {
                    thead { tr { th { "Jira name" } th { "Kind" } th.num { "Issues" } @if p.is_admin { th { "Map to…" } } } }
                    tbody {
                        @for s in &u.statuses {
                            tr data-unmapped-status=(s.name) {
                                td { strong { (s.name) } }
                                td { "status" @if let Some(k) = &s.category_key { br; small.muted { "Jira category: " (k) } } }
                                td.num { (s.issues) }
                                @if p.is_admin { td { (forms::map_status(p, s)) } }
                            }
                        }
                        @for t in &u.issue_types {
                            tr data-unmapped-type=(t.name) {
                                td { strong { (t.name) } }
                                td { "issue type" }
                                td.num { (t.issues) }
                                @if p.is_admin { td { (forms::map_type(p, t)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn steps(p: &FlowPage<'_>) -> Markup {
    let last = p.steps.len().saturating_sub(1);
    html! {
        section.card.flow-card aria-labelledby="steps-title" {
            header.card-head {
                h2 #steps-title { "Flow steps" }
                span.count { (p.steps.len()) " steps" }
            }
            p.muted { "In order. Metrics use the category; the commitment point (if marked) starts cycle time." }
            div.table-wrap {
                table.data #flow-steps {
                    thead { tr {
                        th { "#" } th { "Step" } th { "Category" } th.num { "Mappings" } th.num { "Issues now" } th { "State" }
                        @if p.is_admin { th { span.visually-hidden { "Actions" } } }
                    } }
                    tbody {
                        @for (i, s) in p.steps.iter().enumerate() {
                            tr id=(format!("step-{}", s.id)) data-step=(s.name) .inactive[!s.active] {
                                td.muted { (i + 1) }
                                td {
                                    strong { (s.name) }
                                    @if s.is_commitment_point { " " span.badge.badge-running title="Cycle time starts here" { "commitment point" } }
                                }
                                td { (category_badge(s.category)) }
                                td.num { (s.mappings) }
                                td.num { (s.issues) }
                                td { (state_badge(s.active)) }
                                @if p.is_admin {
                                    td.actions {
                                        @let moved = format!("/flow/steps/{}/move", s.id);
                                        @if i > 0 { (post_button(&moved, p.csrf, &[("direction", "up")], "button secondary small", "↑", &format!("Move {} up", s.name))) }
                                        @else { button.button.secondary.small type="button" disabled aria-hidden="true" { "↑" } }
                                        @if i < last { (post_button(&moved, p.csrf, &[("direction", "down")], "button secondary small", "↓", &format!("Move {} down", s.name))) }
                                        @else { button.button.secondary.small type="button" disabled aria-hidden="true" { "↓" } }
                                        (row_actions(Kind::Step, s.id, s.active, &s.name, p.csrf))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if p.is_admin { (forms::add_step(p)) }
        }
    }
}

fn statuses(p: &FlowPage<'_>) -> Markup {
    html! {
        section.card.flow-card aria-labelledby="statuses-title" {
            header.card-head {
                h2 #statuses-title { "Status mappings" }
                span.count { (p.status_mappings.len()) " mappings" }
            }
            p.muted { "Jira status → flow step, matched case-insensitively. A mapping for one issue type wins over the one for all types." }
            div.table-wrap {
                table.data #status-mappings {
                    thead { tr {
                        th { "Jira status" } th { "Issue type" } th { "Flow step" } th.num { "Issues now" } th { "State" }
                        @if p.is_admin { th { span.visually-hidden { "Actions" } } }
                    } }
                    tbody {
                        @for m in p.status_mappings {
                            tr id=(format!("status-mapping-{}", m.id)) data-status=(m.status_from) .inactive[!m.active] {
                                td { strong { (m.status_from) } }
                                td { @match &m.issue_type { Some(t) => span.badge.badge-pending { (t) }, None => span.muted { "all types" } } }
                                td { (m.step) @if let Some(c) = m.step_category { " " (category_badge(c)) } }
                                td.num { (m.issues) }
                                td { (state_badge(m.active)) }
                                @if p.is_admin { td.actions { (row_actions(Kind::StatusMapping, m.id, m.active, &m.status_from, p.csrf)) } }
                            }
                        }
                    }
                }
            }
            @if p.is_admin { (forms::add_status_mapping(p)) }
        }
    }
}

fn types(p: &FlowPage<'_>) -> Markup {
    html! {
        section.card.flow-card aria-labelledby="types-title" {
            header.card-head {
                h2 #types-title { "Issue-type mappings" }
                span.count { (p.issue_type_mappings.len()) " mappings" }
            }
            p.muted { "Jira issue type → normalized type and work category (INCIDENT feeds the DORA failure metrics)." }
            div.table-wrap {
                table.data #issue-type-mappings {
                    thead { tr {
                        th { "Jira type" } th { "Normalized" } th { "Work category" } th.num { "Level" } th.num { "Own mappings" } th.num { "Issues" } th { "State" }
                        @if p.is_admin { th { span.visually-hidden { "Actions" } } }
                    } }
                    tbody {
                        @for t in p.issue_type_mappings {
                            tr id=(format!("issue-type-mapping-{}", t.id)) data-type=(t.issuetype_from) .inactive[!t.active] {
                                td { strong { (t.issuetype_from) } }
                                td { (t.issuetype_to) }
                                td { span.badge.badge-idle { (t.work_category.title()) } }
                                td.num { (t.hierarchy_level) }
                                td.num { (t.mappings) }
                                td.num { (t.issues) }
                                td { (state_badge(t.active)) }
                                @if p.is_admin { td.actions { (row_actions(Kind::IssueTypeMapping, t.id, t.active, &t.issuetype_from, p.csrf)) } }
                            }
                        }
                    }
                }
            }
            @if p.is_admin { (forms::add_issue_type_mapping(p)) }
        }
    }
}
