//! `/teams`: the teams, the form to add one, and each team's edit form.

use maud::{Markup, html};

use super::components::field_error;
use crate::auth::csrf;
use crate::domain::settings::FieldError;

/// One team as the list shows it.
pub struct TeamRow {
    pub id: i64,
    pub name: String,
    pub repositories: Vec<String>,
    pub projects: Vec<String>,
}

/// The team form as typed (lists one per line).
#[derive(Default)]
pub struct TeamForm {
    pub name: String,
    pub repositories: String,
    pub projects: String,
}

pub struct TeamsPage<'a> {
    pub rows: &'a [TeamRow],
    pub is_admin: bool,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    pub form: &'a TeamForm,
    pub errors: &'a [FieldError],
}

pub fn list(p: &TeamsPage<'_>) -> Markup {
    html! {
        div.page-head {
            div {
                h1 { "Teams" }
                p.muted { "A team is a name plus its repositories and Jira projects. Every analytics page and metrics API takes " code { "team=" } " and then counts exactly those." }
            }
        }
        @if let Some(n) = p.notice { p.notice role="status" { (n) } }
        @if p.rows.is_empty() {
            section.card.empty { p { "No teams yet." @if p.is_admin { " Add one below." } } }
        } @else {
            div.table-wrap {
                table.data #teams-table {
                    thead { tr { th { "Team" } th { "Repositories" } th { "Jira projects" } th { "Analytics" } @if p.is_admin { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for t in p.rows {
                            tr data-team=(t.id) {
                                td { strong { (t.name) } }
                                td { @for r in &t.repositories { code { (r) } " " } }
                                td { @for k in &t.projects { code { (k) } " " } }
                                td.links {
                                    a href=(format!("/analytics/dora?team={}", t.id)) { "DORA" } " · "
                                    a href=(format!("/analytics/prs?team={}", t.id)) { "PRs" } " · "
                                    a href=(format!("/analytics/flow?team={}", t.id)) { "Flow" }
                                }
                                @if p.is_admin {
                                    td.actions {
                                        a.button.secondary.small href=(format!("/teams/{}/edit", t.id)) { "Edit" }
                                        form.inline method="post" action=(format!("/teams/{}/delete", t.id)) {
                                            input type="hidden" name=(csrf::FORM_FIELD) value=(p.csrf);
                                            button.button.secondary.small type="submit" aria-label=(format!("Delete team {}", t.name)) { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.muted.small { "Deleting a team removes only its definition: no synced data belongs to a team." }
        }
        @if p.is_admin {
            section.card #add-team aria-labelledby="add-team-title" {
                h2 #add-team-title { "Add a team" }
                (form("/teams", "Add team", p.form, p.errors, p.csrf))
            }
        }
    }
}

pub fn edit(id: i64, form_values: &TeamForm, errors: &[FieldError], csrf: &str) -> Markup {
    html! {
        div.page-head { h1 { "Edit team" } a.button.secondary href="/teams" { "Back to the teams" } }
        section.card { (form(&format!("/teams/{id}"), "Save team", form_values, errors, csrf)) }
    }
}

fn form(action: &str, submit: &str, v: &TeamForm, errors: &[FieldError], csrf_token: &str) -> Markup {
    let invalid = |f: &str| errors.iter().any(|e| e.field == f);
    html! {
        form.settings-form method="post" action=(action) {
            input type="hidden" name=(csrf::FORM_FIELD) value=(csrf_token);
            div.field.invalid[invalid("name")] {
                label for="team-name" { "Name" }
                input #team-name type="text" name="name" value=(v.name) required;
                (field_error(errors, "name"))
            }
            div.field.invalid[invalid("repositories")] {
                label for="team-repositories" { "Repositories (owner/name, one per line)" }
                textarea #team-repositories name="repositories" rows="4" { (v.repositories) }
                (field_error(errors, "repositories"))
            }
            div.field.invalid[invalid("projects")] {
                label for="team-projects" { "Jira project keys (one per line)" }
                textarea #team-projects name="projects" rows="3" { (v.projects) }
                (field_error(errors, "projects"))
            }
            div.field.submit { button.button.primary type="submit" { (submit) } }
        }
    }
}
