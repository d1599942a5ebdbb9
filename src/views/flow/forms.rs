//! The add, edit and one-click "map to…" forms of `/flow`.

use maud::{Markup, html};

use super::{Choice, FlowPage, csrf_field, hx_post};
use crate::db::flow::discovery::Unmapped;
use crate::domain::flow::input::{IssueTypeMappingDraft, StatusMappingDraft, StepDraft};
use crate::domain::flow::{StepCategory, WorkCategory};
use crate::domain::settings::FieldError;

fn error(errors: &[FieldError], prefix: &str, field: &str) -> Markup {
    html! {
        @for e in errors.iter().filter(|e| e.field == field) {
            p.field-error id=(format!("{prefix}{field}-error")) { (e.message) }
        }
    }
}

fn invalid(errors: &[FieldError], field: &str) -> bool {
    errors.iter().any(|e| e.field == field)
}

fn aria(errors: &[FieldError], prefix: &str, field: &str) -> (&'static str, Option<String>) {
    if invalid(errors, field) {
        ("true", Some(format!("{prefix}{field}-error")))
    } else {
        ("false", None)
    }
}

fn text(prefix: &str, name: &str, label: &str, value: &str, errors: &[FieldError], kind: &str) -> Markup {
    let (inv, described) = aria(errors, prefix, name);
    html! {
        div.field.invalid[invalid(errors, name)] {
            label for=(format!("{prefix}{name}")) { (label) }
            input id=(format!("{prefix}{name}")) type=(kind) name=(name) value=(value)
                aria-invalid=(inv) aria-describedby=[described];
            (error(errors, prefix, name))
        }
    }
}

fn select(
    prefix: &str,
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &[FieldError],
) -> Markup {
    let (inv, described) = aria(errors, prefix, name);
    html! {
        div.field.invalid[invalid(errors, name)] {
            label for=(format!("{prefix}{name}")) { (label) }
            select id=(format!("{prefix}{name}")) name=(name) aria-invalid=(inv) aria-describedby=[described] {
                @for (v, l) in options { option value=(v) selected[v == selected] { (l) } }
            }
            (error(errors, prefix, name))
        }
    }
}

fn check(prefix: &str, name: &str, label: &str, checked: bool, errors: &[FieldError]) -> Markup {
    html! {
        div.field.check.invalid[invalid(errors, name)] {
            input id=(format!("{prefix}{name}")) type="checkbox" name=(name) value="true" checked[checked];
            label for=(format!("{prefix}{name}")) { (label) }
            (error(errors, prefix, name))
        }
    }
}

fn categories() -> Vec<(String, String)> {
    StepCategory::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.title().to_string()))
        .collect()
}

fn work_categories() -> Vec<(String, String)> {
    WorkCategory::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.title().to_string()))
        .collect()
}

fn choices(c: &[Choice]) -> Vec<(String, String)> {
    c.iter().map(|c| (c.id.to_string(), c.label.clone())).collect()
}

fn all_types(c: &[Choice]) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), "All issue types".to_string())];
    v.extend(choices(c));
    v
}

fn form_errors(errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            p.form-error role="alert" { "Nothing was saved. " (errors.len()) @if errors.len() == 1 { " field needs" } @else { " fields need" } " attention." }
        }
    }
}

/// A form that posts without JavaScript and swaps `#flow-content` with htmx.
fn post_form(action: &str, class: &str, body: Markup) -> Markup {
    let (url, target, swap) = hx_post(action);
    html! {
        form class=(class) method="post" action=(action) hx-post=(url) hx-target=(target) hx-swap=(swap) { (body) }
    }
}

pub fn add_step(p: &FlowPage<'_>) -> Markup {
    let d = &p.forms.step;
    let e = &p.forms.step_errors;
    post_form(
        "/flow/steps",
        "flow-form inline-form",
        html! {
            h3 { "Add a step" }
            (form_errors(e))
            (csrf_field(p.csrf))
            input type="hidden" name="active" value="true";
            (text("new-step-", "name", "Name", &d.name, e, "text"))
            (select("new-step-", "category", "Category", &categories(), &d.category, e))
            (check("new-step-", "is_commitment_point", "Commitment point", d.is_commitment_point, e))
            div.field.submit { button.button.primary type="submit" { "Add step" } }
        },
    )
}

pub fn add_status_mapping(p: &FlowPage<'_>) -> Markup {
    let d = &p.forms.status_mapping;
    let e = &p.forms.status_mapping_errors;
    post_form(
        "/flow/status-mappings",
        "flow-form inline-form",
        html! {
            h3 { "Add a status mapping" }
            (form_errors(e))
            (csrf_field(p.csrf))
            input type="hidden" name="active" value="true";
            (text("new-status-", "status_from", "Jira status", &d.status_from, e, "text"))
            (select("new-status-", "issue_type_mapping_id", "For", &all_types(p.issue_type_choices), &d.issue_type_mapping_id, e))
            (select("new-status-", "flow_step_id", "Flow step", &choices(p.step_choices), &d.flow_step_id, e))
            div.field.submit { button.button.primary type="submit" { "Add mapping" } }
        },
    )
}

pub fn add_issue_type_mapping(p: &FlowPage<'_>) -> Markup {
    let d = &p.forms.issue_type_mapping;
    let e = &p.forms.issue_type_mapping_errors;
    post_form(
        "/flow/issue-type-mappings",
        "flow-form inline-form",
        html! {
            h3 { "Add an issue-type mapping" }
            (form_errors(e))
            (csrf_field(p.csrf))
            input type="hidden" name="active" value="true";
            (text("new-type-", "issuetype_from", "Jira issue type", &d.issuetype_from, e, "text"))
            (text("new-type-", "issuetype_to", "Normalized type (optional)", &d.issuetype_to, e, "text"))
            (select("new-type-", "work_category", "Work category", &work_categories(), &d.work_category, e))
            (text("new-type-", "hierarchy_level", "Level", &d.hierarchy_level, e, "number"))
            div.field.submit { button.button.primary type="submit" { "Add mapping" } }
        },
    )
}

/// One click: the status with a step preselected from its Jira category.
pub fn map_status(p: &FlowPage<'_>, s: &Unmapped) -> Markup {
    let guess = s
        .category_key
        .as_deref()
        .and_then(StepCategory::from_jira_category)
        .and_then(|c| {
            p.step_choices
                .iter()
                .find(|ch| ch.label.ends_with(&format!("({})", c.title())))
        })
        .map(|c| c.id.to_string())
        .unwrap_or_default();
    let label = format!("Flow step for {}", s.name);
    post_form(
        "/flow/status-mappings",
        "map-to",
        html! {
            (csrf_field(p.csrf))
            input type="hidden" name="status_from" value=(s.name);
            input type="hidden" name="active" value="true";
            select name="flow_step_id" aria-label=(label) {
                @for c in p.step_choices { option value=(c.id) selected[c.id.to_string() == guess] { (c.label) } }
            }
            button.button.primary.small type="submit" { "Map" }
        },
    )
}

pub fn map_type(p: &FlowPage<'_>, t: &Unmapped) -> Markup {
    let label = format!("Work category for {}", t.name);
    let level = t.hierarchy_level.unwrap_or(0);
    let guess = if level >= 1 { "EPIC" } else { "OTHER" };
    post_form(
        "/flow/issue-type-mappings",
        "map-to",
        html! {
            (csrf_field(p.csrf))
            input type="hidden" name="issuetype_from" value=(t.name);
            input type="hidden" name="hierarchy_level" value=(level);
            input type="hidden" name="active" value="true";
            select name="work_category" aria-label=(label) {
                @for (v, l) in work_categories() { option value=(v) selected[v == guess] { (l) } }
            }
            button.button.primary.small type="submit" { "Map" }
        },
    )
}

pub fn edit_step(id: i64, d: &StepDraft, errors: &[FieldError], csrf: &str) -> Markup {
    post_form(
        &format!("/flow/steps/{id}"),
        "flow-form",
        html! {
            (form_errors(errors))
            (csrf_field(csrf))
            input type="hidden" name="active" value=(d.active);
            (text("edit-", "name", "Name", &d.name, errors, "text"))
            (select("edit-", "category", "Category", &categories(), &d.category, errors))
            (text("edit-", "position", "Position (lower comes first)", &d.position, errors, "number"))
            (check("edit-", "is_commitment_point", "Commitment point (cycle time starts here)", d.is_commitment_point, errors))
            (error(errors, "edit-", "active"))
            (buttons("Save step"))
        },
    )
}

pub fn edit_status_mapping(
    id: i64,
    d: &StatusMappingDraft,
    errors: &[FieldError],
    p: (&[Choice], &[Choice]),
    csrf: &str,
) -> Markup {
    let (steps, types) = p;
    post_form(
        &format!("/flow/status-mappings/{id}"),
        "flow-form",
        html! {
            (form_errors(errors))
            (csrf_field(csrf))
            input type="hidden" name="active" value=(d.active);
            (text("edit-", "status_from", "Jira status", &d.status_from, errors, "text"))
            (select("edit-", "issue_type_mapping_id", "For", &all_types(types), &d.issue_type_mapping_id, errors))
            (select("edit-", "flow_step_id", "Flow step", &choices(steps), &d.flow_step_id, errors))
            (buttons("Save mapping"))
        },
    )
}

pub fn edit_issue_type_mapping(id: i64, d: &IssueTypeMappingDraft, errors: &[FieldError], csrf: &str) -> Markup {
    post_form(
        &format!("/flow/issue-type-mappings/{id}"),
        "flow-form",
        html! {
            (form_errors(errors))
            (csrf_field(csrf))
            input type="hidden" name="active" value=(d.active);
            (text("edit-", "issuetype_from", "Jira issue type", &d.issuetype_from, errors, "text"))
            (text("edit-", "issuetype_to", "Normalized type", &d.issuetype_to, errors, "text"))
            (select("edit-", "work_category", "Work category", &work_categories(), &d.work_category, errors))
            (text("edit-", "hierarchy_level", "Hierarchy level (-1 sub-task, 0 standard, 1 epic)", &d.hierarchy_level, errors, "number"))
            (buttons("Save mapping"))
        },
    )
}

fn buttons(label: &str) -> Markup {
    html! {
        div.dialog-actions {
            button.button.primary type="submit" { (label) }
            (super::dialog::cancel())
        }
    }
}
