//! Dialogs over `/flow`: an edit form, or the impact of a removal with the choice of target.
//! Without JavaScript the dialog is part of a full page; with htmx it lands in `#flow-dialog`.

use maud::{Markup, html};

use super::{Choice, Kind, csrf_field, hx_post};
use crate::db::flow::remove::Impact;
use crate::views::ids;

/// Closes the dialog: back to `/flow` (htmx re-renders the content instead of navigating).
pub fn cancel() -> Markup {
    html! {
        a.button.secondary href="/flow" hx-get="/flow" hx-target=(ids::selector(ids::FLOW_CONTENT)) hx-swap="outerHTML" { "Cancel" }
    }
}

/// `1 issue`, `3 issues`, with the number in bold.
fn count(n: u64, one: &str, many: &str) -> Markup {
    html! { strong { (n) } " " @if n == 1 { (one) } @else { (many) } }
}

pub fn wrap(title: &str, body: Markup) -> Markup {
    html! {
        div.dialog-backdrop {
            dialog.flow-dialog open aria-modal="true" aria-labelledby="flow-dialog-title" {
                h2 #flow-dialog-title { (title) }
                (body)
            }
        }
    }
}

pub struct Removal<'a> {
    pub kind: Kind,
    pub id: i64,
    pub name: &'a str,
    pub deactivate: bool,
    pub impact: &'a Impact,
    /// Candidates for the dependents, labelled.
    pub targets: &'a [Choice],
    pub selected: Option<i64>,
    /// Why the last attempt was refused.
    pub error: Option<&'a str>,
    pub csrf: &'a str,
}

pub fn removal(r: &Removal<'_>) -> Markup {
    let verb = if r.deactivate { "Deactivate" } else { "Delete" };
    let action = format!(
        "/flow/{}/{}/{}",
        r.kind.segment(),
        r.id,
        if r.deactivate { "deactivate" } else { "delete" }
    );
    let i = r.impact;
    let needs_target = i.status_mappings > 0;
    let title = format!("{verb} {} “{}”?", r.kind.noun(), r.name);
    let (url, target, swap) = hx_post(&action);
    wrap(
        &title,
        html! {
            div.removal #flow-removal data-kind=(r.kind.segment()) data-id=(r.id) {
                ul.impact {
                    @match r.kind {
                        Kind::Step => {
                            li data-impact="status_mappings" data-count=(i.status_mappings) {
                                (count(i.status_mappings, "status mapping points", "status mappings point")) " here" @if needs_target { " and move to the step you choose" } "."
                            }
                            li data-impact="issues" data-count=(i.issues) {
                                (count(i.issues, "issue is", "issues are")) " in this step now" @if needs_target { " and move with them" } "."
                            }
                        }
                        Kind::IssueTypeMapping => {
                            @if needs_target {
                                li data-impact="status_mappings" data-count=(i.status_mappings) {
                                    (count(i.status_mappings, "status mapping", "status mappings")) " for this type move to the type you choose (a status it already maps keeps its own)."
                                }
                            }
                            li data-impact="issues" data-count=(i.issues) {
                                (count(i.issues, "issue", "issues")) " of this type"
                                @if let Some(f) = &i.fallback { ": " (f) } "."
                            }
                        }
                        Kind::StatusMapping => {
                            li data-impact="issues" data-count=(i.issues) {
                                (count(i.issues, "issue resolves", "issues resolve")) " through this mapping now"
                                @if let Some(f) = &i.fallback { "; " (f) } "."
                            }
                        }
                    }
                }
                @if let Some(why) = &i.refused {
                    p.form-error role="alert" data-refused="true" { "Not possible: " (why) }
                    div.dialog-actions { (cancel()) }
                } @else {
                    @if let Some(e) = r.error { p.form-error role="alert" { (e) } }
                    form method="post" action=(action) hx-post=(url) hx-target=(target) hx-swap=(swap) {
                        (csrf_field(r.csrf))
                        @if needs_target {
                            @if r.targets.is_empty() {
                                p.form-error { "There is no active " (r.kind.noun()) " to move them to; add or activate one first." }
                            } @else {
                                div.field {
                                    label for="reassign_to" { "Move them to" }
                                    select #reassign_to name="reassign_to" {
                                        @for t in r.targets { option value=(t.id) selected[Some(t.id) == r.selected] { (t.label) } }
                                    }
                                }
                            }
                        } @else {
                            p.muted { "Nothing else needs to move." }
                        }
                        div.dialog-actions {
                            button.button.danger type="submit" disabled[needs_target && r.targets.is_empty()] {
                                (verb) @if needs_target { " and move" }
                            }
                            (cancel())
                        }
                    }
                }
            }
        },
    )
}
