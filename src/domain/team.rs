//! Teams (DESIGN §9): a name plus repositories and Jira projects; `team=ID` on an analytics
//! page or metrics API means exactly those.

use serde::Deserialize;

use super::integration::{is_github_name, is_jira_project_key};
use super::settings::FieldError;
use super::text::single_line_problem;

const MAX_NAME: usize = 100;
/// Enough for any team; bounds the filter a team becomes.
const MAX_ITEMS: usize = 500;

/// A team as the form or the API sends it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TeamInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub repositories: Vec<String>,
    #[serde(default)]
    pub projects: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidTeam {
    pub name: String,
    /// `owner/name` (a GitLab project may sit in subgroups: `group/sub/name`), deduplicated.
    pub repositories: Vec<String>,
    /// Upper-case keys, deduplicated.
    pub projects: Vec<String>,
}

/// A repository path: two or more segments of letters, digits, `-`, `_` and `.`.
pub fn is_repository_path(r: &str) -> bool {
    let parts: Vec<&str> = r.split('/').collect();
    parts.len() >= 2 && parts.iter().all(|p| is_github_name(p))
}

impl TeamInput {
    pub fn validate(&self) -> Result<ValidTeam, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: &'static str, message: String| errors.push(FieldError { field, message });
        let name = self.name.trim().to_string();
        if let Some(problem) = single_line_problem(&name) {
            err("name", problem.into());
        } else if name.is_empty() {
            err("name", "Enter a name".into());
        } else if name.chars().count() > MAX_NAME {
            err("name", format!("Keep the name under {MAX_NAME} characters"));
        }
        let mut repositories: Vec<String> = Vec::new();
        for r in self
            .repositories
            .iter()
            .map(|r| r.trim().trim_matches('/'))
            .filter(|r| !r.is_empty())
        {
            if !is_repository_path(r) {
                err("repositories", format!("{r:?} is not owner/name"));
            } else if !repositories.iter().any(|x| x.eq_ignore_ascii_case(r)) {
                repositories.push(r.to_string());
            }
        }
        let mut projects: Vec<String> = Vec::new();
        for p in self
            .projects
            .iter()
            .map(|p| p.trim().to_ascii_uppercase())
            .filter(|p| !p.is_empty())
        {
            if !is_jira_project_key(&p) {
                err(
                    "projects",
                    format!("{p:?} is not a Jira project key (letters, digits, underscores; starts with a letter)"),
                );
            } else if !projects.contains(&p) {
                projects.push(p);
            }
        }
        let listed = !self
            .repositories
            .iter()
            .chain(&self.projects)
            .all(|x| x.trim().is_empty());
        if !listed {
            err(
                "repositories",
                "List the team's repositories, its Jira projects, or both".into(),
            );
        }
        if repositories.len() > MAX_ITEMS || projects.len() > MAX_ITEMS {
            err(
                "repositories",
                format!("At most {MAX_ITEMS} repositories and {MAX_ITEMS} projects"),
            );
        }
        if errors.is_empty() {
            Ok(ValidTeam {
                name,
                repositories,
                projects,
            })
        } else {
            Err(errors)
        }
    }
}

/// Items typed one per line or separated by commas or spaces.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: Vec<FieldError>) -> Vec<&'static str> {
        e.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_team_is_a_name_and_repositories_or_projects() {
        let t = TeamInput {
            name: " Payments ".into(),
            repositories: vec!["acme/api".into(), "acme/API".into(), "group/sub/web".into()],
            projects: vec!["pay".into(), "PAY".into()],
        }
        .validate()
        .unwrap();
        assert_eq!(t.name, "Payments");
        assert_eq!(t.repositories, ["acme/api", "group/sub/web"]);
        assert_eq!(t.projects, ["PAY"]);
        let empty = TeamInput {
            name: "X".into(),
            ..TeamInput::default()
        };
        assert_eq!(fields(empty.validate().unwrap_err()), ["repositories"]);
        let bad = TeamInput {
            name: "a\u{0}b".into(),
            repositories: vec!["acme".into(), "../x".into()],
            projects: vec!["1X".into()],
        };
        assert_eq!(
            fields(bad.validate().unwrap_err()),
            ["name", "repositories", "repositories", "projects"]
        );
        assert_eq!(
            split_list("acme/api, acme/web\nacme/ops"),
            ["acme/api", "acme/web", "acme/ops"]
        );
    }
}
