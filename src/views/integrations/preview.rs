//! The deployment-source preview on the GitHub integration form.

use maud::{Markup, html};

use crate::domain::integration::{DeploymentKind, glob_match};
use crate::integrations::github::preview::Preview;

/// What the repositories have over the last 90 days and what the source and pattern count.
pub fn preview(pv: &Preview, confirm_needed: bool) -> Markup {
    let matches = |name: &str| pv.pattern.as_deref().is_some_and(|pat| glob_match(pat, name));
    let by_pattern = matches!(pv.kind, DeploymentKind::Deployments | DeploymentKind::WorkflowRuns);
    html! {
        section.card.test-report #deployment-preview data-ok=(!pv.matches_nothing()) data-matched=[pv.matched] {
            h2 { "Deployment source preview" }
            p {
                "Since " (pv.since.format("%Y-%m-%d")) ", " (pv.kind.title())
                @if let Some(pat) = &pv.pattern { @if by_pattern { " matching " code { (pat) } } }
                ": "
                @match pv.matched {
                    Some(0) => strong.warning { "nothing would count as a production deployment." },
                    Some(n) => strong { (n) " production deployments" },
                    None => "every merge to the default branch counts.",
                }
                @if !pv.matching_names.is_empty() { " (" (pv.matching_names.join(", ")) ")" }
            }
            @if confirm_needed {
                p.form-error role="alert" {
                    "Nothing was saved: the deployment source matches nothing in the last 90 days, so DORA would show no deployments. Change the source or pattern, or tick \"Save anyway\"."
                }
            }
            @if pv.more_repositories { p.muted { "Only the first " (pv.repositories.len()) " repositories were read." } }
            div.table-wrap {
                table.data {
                    thead { tr { th { "Repository" } th { "Environments (deployments)" } th { "Workflows on the default branch (runs)" } th { "Releases" } } }
                    tbody {
                        @for r in &pv.repositories {
                            tr data-repository=(r.repository) {
                                td { (r.repository) }
                                td { @for (i, (name, n)) in r.environments.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    span.env data-match=(pv.kind == DeploymentKind::Deployments && matches(name)) { (if name.is_empty() { "(none)" } else { name }) " (" (n) ")" }
                                } }
                                td { @for (i, (name, n)) in r.workflows.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    span.workflow data-match=(pv.kind == DeploymentKind::WorkflowRuns && matches(name)) { (name) " (" (n) ")" }
                                } }
                                td { (r.releases) @if r.prereleases > 0 { " (+" (r.prereleases) " prereleases)" } }
                            }
                        }
                    }
                }
            }
        }
    }
}
