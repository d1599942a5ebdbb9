//! Integrations as admins configure them (DESIGN §6, §11): kinds, flavours, settings, validation.

use serde::{Deserialize, Serialize};

use super::settings::FieldError;
use super::text::{multi_line_problem, single_line_problem};

pub use entity::enums::{AuthKind, Flavour, IntegrationKind};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraSettings {
    #[serde(default)]
    pub projects: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_jql: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story_points_field: Option<String>,
    /// Requests in flight at most (1–32); unset: [`DEFAULT_JIRA_CONCURRENCY`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<i64>,
}

/// Bounds and defaults of `settings.max_concurrency` (DESIGN §8): Jira Cloud's burst limits
/// take eight parallel searches from one token; GitHub asks for little parallelism and
/// answers too much with secondary limits.
pub const MIN_CONCURRENCY: i64 = 1;
pub const MAX_CONCURRENCY: i64 = 32;
pub const DEFAULT_JIRA_CONCURRENCY: u32 = 8;
pub const DEFAULT_GITHUB_CONCURRENCY: u32 = 4;

fn concurrency(set: Option<i64>, default: u32) -> u32 {
    set.map_or(default, |n| n.clamp(MIN_CONCURRENCY, MAX_CONCURRENCY) as u32)
}

impl JiraSettings {
    pub fn concurrency(&self) -> u32 {
        concurrency(self.max_concurrency, DEFAULT_JIRA_CONCURRENCY)
    }
}

impl GithubSettings {
    pub fn concurrency(&self) -> u32 {
        concurrency(self.max_concurrency, DEFAULT_GITHUB_CONCURRENCY)
    }
}

/// The field error for a `max_concurrency` outside 1–32.
fn check_concurrency(value: Option<i64>, err: &mut impl FnMut(&'static str, String)) {
    if value.is_some_and(|n| !(MIN_CONCURRENCY..=MAX_CONCURRENCY).contains(&n)) {
        err(
            "max_concurrency",
            format!("Allow between {MIN_CONCURRENCY} and {MAX_CONCURRENCY} requests in flight (a whole number)"),
        );
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentKind {
    Deployments,
    Releases,
    WorkflowRuns,
    Merges,
    /// GitLab: successful pipelines on the default branch.
    Pipelines,
}

impl DeploymentKind {
    pub const ALL: [DeploymentKind; 4] = [
        DeploymentKind::Deployments,
        DeploymentKind::Releases,
        DeploymentKind::WorkflowRuns,
        DeploymentKind::Merges,
    ];
    /// The sources a GitLab integration can use.
    pub const GITLAB: [DeploymentKind; 3] = [
        DeploymentKind::Deployments,
        DeploymentKind::Pipelines,
        DeploymentKind::Merges,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentKind::Deployments => "deployments",
            DeploymentKind::Releases => "releases",
            DeploymentKind::WorkflowRuns => "workflow_runs",
            DeploymentKind::Merges => "merges",
            DeploymentKind::Pipelines => "pipelines",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain([DeploymentKind::Pipelines])
            .find(|k| k.as_str() == s)
    }
    /// The title on a GitLab form.
    pub fn gitlab_title(self) -> &'static str {
        match self {
            DeploymentKind::Deployments => "GitLab deployments (environment pattern)",
            DeploymentKind::Pipelines => "Successful pipelines on the default branch",
            _ => "Merges to the default branch",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            DeploymentKind::Deployments => "GitHub deployments (production environment pattern)",
            DeploymentKind::Releases => "Releases",
            DeploymentKind::WorkflowRuns => "Workflow runs (name pattern) on the default branch",
            DeploymentKind::Merges => "Merges to the default branch",
            DeploymentKind::Pipelines => "Pipelines on the default branch",
        }
    }
    /// The pattern each kind uses when none is given.
    pub fn default_pattern(self) -> Option<&'static str> {
        match self {
            DeploymentKind::Deployments => Some("prod*"),
            DeploymentKind::WorkflowRuns => Some("*deploy*"),
            DeploymentKind::Releases | DeploymentKind::Merges | DeploymentKind::Pipelines => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentSource {
    pub kind: DeploymentKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

impl Default for DeploymentSource {
    fn default() -> Self {
        Self {
            kind: DeploymentKind::Deployments,
            pattern: Some("prod*".into()),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubSettings {
    #[serde(default)]
    pub repositories: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_filter: Option<String>,
    #[serde(default)]
    pub deployment_source: DeploymentSource,
    /// Requests in flight at most (1–32); unset: [`DEFAULT_GITHUB_CONCURRENCY`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<i64>,
    /// Head branches of hotfixes, a glob (case-insensitive): a deployment that ships one is
    /// rework. Unset: [`DEFAULT_HOTFIX_BRANCH`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotfix_branch: Option<String>,
    /// What fails a deployment besides the incidents that follow it.
    #[serde(default)]
    pub failure_signals: FailureSignals,
}

/// The hotfix branch glob when none is set.
pub const DEFAULT_HOTFIX_BRANCH: &str = "hotfix*";

impl GithubSettings {
    /// The hotfix branch glob in force.
    pub fn hotfix_glob(&self) -> &str {
        self.hotfix_branch.as_deref().unwrap_or(DEFAULT_HOTFIX_BRANCH)
    }
}

/// Failure signals besides incidents (off by default, so the change failure rate is the
/// incident-only one until an integration opts in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureSignals {
    /// A deployment failed when a pull request it shipped is reverted by another pull request
    /// merged after it was deployed.
    #[serde(default)]
    pub revert: bool,
    /// Failed production deployments count as deployments and as failures.
    #[serde(default)]
    pub failed_status: bool,
}

/// A GitLab integration's scope: a group's projects (subgroups included, name filter applied)
/// and/or listed projects (`group/sub/name`), and where deployments come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitlabSettings {
    #[serde(default)]
    pub projects: Vec<String>,
    /// A group's full path (`acme/platform`) or numeric id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_filter: Option<String>,
    #[serde(default = "gitlab_deployment_default")]
    pub deployment_source: DeploymentSource,
    /// Requests in flight at most (1–32); unset: [`DEFAULT_GITLAB_CONCURRENCY`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<i64>,
}

/// GitLab's conventional production environment is named `production`.
pub const GITLAB_DEFAULT_ENVIRONMENT: &str = "production";
/// GitLab limits requests per minute (GitLab.com: 2,000 a minute per user; self-managed: what
/// the admin sets), not requests in flight, and says so in `RateLimit-*` headers the sync
/// honours: eight in flight, as for Jira Cloud, whose limits work the same way (GitHub's four
/// come from its secondary limit on concurrent requests, which GitLab does not have). At real
/// latencies (a GraphQL page of 100 merge requests in 0.5–3 s) eight stay under 1,000 a minute.
pub const DEFAULT_GITLAB_CONCURRENCY: u32 = 8;

fn gitlab_deployment_default() -> DeploymentSource {
    DeploymentSource {
        kind: DeploymentKind::Deployments,
        pattern: Some(GITLAB_DEFAULT_ENVIRONMENT.into()),
    }
}

impl Default for GitlabSettings {
    fn default() -> Self {
        Self {
            projects: Vec::new(),
            group: None,
            name_filter: None,
            deployment_source: gitlab_deployment_default(),
            max_concurrency: None,
        }
    }
}

impl GitlabSettings {
    pub fn concurrency(&self) -> u32 {
        concurrency(self.max_concurrency, DEFAULT_GITLAB_CONCURRENCY)
    }
}

/// Validated settings of any kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settings {
    Jira(JiraSettings),
    Github(GithubSettings),
    Gitlab(GitlabSettings),
}

impl Settings {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Settings::Jira(s) => serde_json::to_value(s),
            Settings::Github(s) => serde_json::to_value(s),
            Settings::Gitlab(s) => serde_json::to_value(s),
        }
        .unwrap_or_default()
    }

    pub fn from_json(kind: IntegrationKind, value: &serde_json::Value) -> Self {
        match kind {
            IntegrationKind::Jira => Settings::Jira(serde_json::from_value(value.clone()).unwrap_or_default()),
            IntegrationKind::Github => Settings::Github(serde_json::from_value(value.clone()).unwrap_or_default()),
            IntegrationKind::Gitlab => Settings::Gitlab(serde_json::from_value(value.clone()).unwrap_or_default()),
        }
    }
}

/// An integration as submitted (create or edit), before validation.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct IntegrationInput {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub flavour: String,
    #[serde(default)]
    pub username: Option<String>,
    /// Empty or absent on edit keeps the stored secret.
    #[serde(default)]
    pub secret: Option<String>,
    /// Jira: `{"projects": ["KEY", …], "jql"?: "…"}`; GitHub: `{"organization"?, "repositories"?:
    /// ["owner/name", …], "name_filter"?, "deployment_source": {"kind", "pattern"}, "hotfix_branch"?
    /// (glob, default `hotfix*`), "failure_signals"?: {"revert": bool, "failed_status": bool}}`;
    /// GitLab: `{"group"?, "projects"?: ["group/sub/name", …], "name_filter"?, "deployment_source":
    /// {"kind": "deployments"|"pipelines"|"merges", "pattern"?}}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    #[serde(default)]
    pub active: Option<bool>,
}

impl std::fmt::Debug for ValidIntegration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidIntegration")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("flavour", &self.flavour)
            .field("username", &self.username)
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("settings", &self.settings)
            .finish()
    }
}

/// An integration that passed validation (the secret is still optional: edits may keep it).
pub struct ValidIntegration {
    pub kind: IntegrationKind,
    pub name: String,
    pub base_url: url::Url,
    pub flavour: Flavour,
    pub username: Option<String>,
    pub secret: Option<secrecy::SecretString>,
    pub settings: Settings,
    pub active: bool,
}

const MAX_NAME: usize = 100;

impl IntegrationInput {
    /// Checks every field; `has_stored_secret` lets an edit leave the secret blank.
    pub fn validate(&self, has_stored_secret: bool) -> Result<ValidIntegration, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: &'static str, message: String| errors.push(FieldError { field, message });
        let kind = IntegrationKind::parse(self.kind.trim());
        if kind.is_none() {
            err("kind", "Choose Jira, GitHub or GitLab".into());
        }
        let name = self.name.trim().to_string();
        for (field, value) in [
            ("name", Some(self.name.as_str())),
            ("base_url", Some(self.base_url.as_str())),
            ("username", self.username.as_deref()),
        ] {
            if let Some(problem) = value.map(str::trim).and_then(single_line_problem) {
                err(field, problem.into());
            }
        }
        if name.is_empty() {
            err("name", "Enter a name".into());
        } else if name.chars().count() > MAX_NAME {
            err("name", format!("Keep the name under {MAX_NAME} characters"));
        }
        let flavour = Flavour::parse(self.flavour.trim());
        match (kind, flavour) {
            (_, None) => err("flavour", "Choose the kind of server".into()),
            (Some(k), Some(f)) if f.kind() != k => {
                err("flavour", format!("{} is not a {} server", f.title(), k.title()))
            }
            _ => {}
        }
        let base_url = match super::links::parse_http_url(&self.base_url) {
            Ok(url) if url.query().is_some() || url.fragment().is_some() => {
                err("base_url", "Leave out the query string and fragment".into());
                None
            }
            Ok(url) => Some(url),
            Err(why) => {
                err("base_url", format!("The URL {why}"));
                None
            }
        };
        let username = self
            .username
            .as_ref()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty());
        if flavour == Some(Flavour::Cloud) && kind == Some(IntegrationKind::Jira) {
            match &username {
                None => err("username", "Jira Cloud needs the account's email address".into()),
                Some(u) if !u.contains('@') => {
                    err("username", "Enter the email address of the Atlassian account".into())
                }
                _ => {}
            }
        }
        let secret = self
            .secret
            .as_ref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| secrecy::SecretString::from(s.trim().to_string()));
        if secret.is_none() && !has_stored_secret {
            let what = match flavour {
                Some(Flavour::Cloud) => "the API token",
                Some(Flavour::DataCenter) => "the personal access token",
                _ => "the token",
            };
            err("secret", format!("Enter {what}"));
        }
        let settings = kind.map(|k| match k {
            IntegrationKind::Jira => validate_jira(&self.settings, &mut err).map(Settings::Jira),
            IntegrationKind::Github => validate_github(&self.settings, &mut err).map(Settings::Github),
            IntegrationKind::Gitlab => validate_gitlab(&self.settings, &mut err).map(Settings::Gitlab),
        });
        match (kind, flavour, base_url, settings) {
            (Some(kind), Some(flavour), Some(base_url), Some(Some(settings))) if errors.is_empty() => {
                Ok(ValidIntegration {
                    kind,
                    name,
                    base_url,
                    flavour,
                    username: if flavour == Flavour::Cloud { username } else { None },
                    secret,
                    settings,
                    active: self.active.unwrap_or(true),
                })
            }
            _ => Err(errors),
        }
    }
}

fn validate_jira(value: &serde_json::Value, err: &mut impl FnMut(&'static str, String)) -> Option<JiraSettings> {
    let mut s: JiraSettings = match serde_json::from_value(value.clone()) {
        Ok(s) => s,
        Err(e) => {
            err("settings", format!("Jira settings are malformed: {e}"));
            return None;
        }
    };
    s.projects = s
        .projects
        .iter()
        .map(|p| p.trim().to_ascii_uppercase())
        .filter(|p| !p.is_empty())
        .collect();
    s.projects.dedup();
    if s.projects.is_empty() {
        err("projects", "Enter at least one project key".into());
    }
    for p in &s.projects {
        if !is_jira_project_key(p) {
            err(
                "projects",
                format!("{p:?} is not a Jira project key (letters, digits, underscores; starts with a letter)"),
            );
        }
    }
    s.extra_jql = s.extra_jql.map(|j| j.trim().to_string()).filter(|j| !j.is_empty());
    if let Some(problem) = s.extra_jql.as_deref().and_then(multi_line_problem) {
        err("extra_jql", problem.into());
    } else if let Some(jql) = &s.extra_jql {
        let words = jql
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_lowercase();
        if words.contains("order by") {
            err(
                "extra_jql",
                "Leave ORDER BY out of the extra JQL; the sync sets the order".into(),
            );
        } else if !jql_is_self_contained(jql) {
            err(
                "extra_jql",
                "Close every parenthesis and quote in the extra JQL, and use a backslash only inside quotes (it is ANDed to the project's query)".into(),
            );
        }
    }
    s.story_points_field = s
        .story_points_field
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty());
    if let Some(f) = &s.story_points_field
        && !(f.starts_with("customfield_")
            && f["customfield_".len()..].chars().all(|c| c.is_ascii_digit())
            && f.len() > 12)
    {
        err(
            "story_points_field",
            "Use a custom field id like customfield_10016".into(),
        );
    }
    check_concurrency(s.max_concurrency, err);
    Some(s)
}

fn validate_github(value: &serde_json::Value, err: &mut impl FnMut(&'static str, String)) -> Option<GithubSettings> {
    let mut s: GithubSettings = match serde_json::from_value(value.clone()) {
        Ok(s) => s,
        Err(e) => {
            err("settings", format!("GitHub settings are malformed: {e}"));
            return None;
        }
    };
    s.repositories = s
        .repositories
        .iter()
        .map(|r| r.trim().trim_matches('/').to_string())
        .filter(|r| !r.is_empty())
        .collect();
    s.repositories.dedup();
    for r in &s.repositories {
        let ok = r
            .split_once('/')
            .is_some_and(|(o, n)| is_github_name(o) && is_github_name(n) && !n.contains('/'));
        if !ok {
            err("repositories", format!("{r:?} is not owner/name"));
        }
    }
    s.organization = s.organization.map(|o| o.trim().to_string()).filter(|o| !o.is_empty());
    if let Some(o) = &s.organization
        && !is_github_name(o)
    {
        err("organization", format!("{o:?} is not a GitHub organisation name"));
    }
    if s.repositories.is_empty() && s.organization.is_none() {
        err(
            "repositories",
            "List repositories (owner/name) or give an organisation".into(),
        );
    }
    s.name_filter = s.name_filter.map(|f| f.trim().to_string()).filter(|f| !f.is_empty());
    if s.name_filter.is_some() && s.organization.is_none() {
        err(
            "name_filter",
            "A name filter applies to an organisation's repositories; give the organisation".into(),
        );
    }
    s.deployment_source.pattern = s
        .deployment_source
        .pattern
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    s.hotfix_branch = s.hotfix_branch.map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
    for (field, value) in [
        ("name_filter", &s.name_filter),
        ("deployment_pattern", &s.deployment_source.pattern),
        ("hotfix_branch", &s.hotfix_branch),
    ] {
        if let Some(problem) = value.as_deref().and_then(single_line_problem) {
            err(field, problem.into());
        } else if let Some(problem) = value.as_deref().and_then(glob_problem) {
            err(field, problem);
        }
    }
    if s.deployment_source.pattern.is_none() {
        s.deployment_source.pattern = s.deployment_source.kind.default_pattern().map(String::from);
    }
    if s.hotfix_branch.is_none() {
        s.hotfix_branch = Some(DEFAULT_HOTFIX_BRANCH.into());
    }
    check_concurrency(s.max_concurrency, err);
    Some(s)
}

fn validate_gitlab(value: &serde_json::Value, err: &mut impl FnMut(&'static str, String)) -> Option<GitlabSettings> {
    let mut s: GitlabSettings = match serde_json::from_value(value.clone()) {
        Ok(s) => s,
        Err(e) => {
            err("settings", format!("GitLab settings are malformed: {e}"));
            return None;
        }
    };
    s.projects = s
        .projects
        .iter()
        .map(|p| p.trim().trim_matches('/').to_string())
        .filter(|p| !p.is_empty())
        .collect();
    s.projects.dedup();
    for p in &s.projects {
        if !is_gitlab_path(p) || !p.contains('/') {
            err(
                "projects",
                format!("{p:?} is not a project path (group/name or group/sub/name)"),
            );
        }
    }
    s.group = s
        .group
        .map(|g| g.trim().trim_matches('/').to_string())
        .filter(|g| !g.is_empty());
    if let Some(g) = &s.group
        && !is_gitlab_path(g)
    {
        err("group", format!("{g:?} is not a GitLab group path or id"));
    }
    if s.projects.is_empty() && s.group.is_none() {
        err("projects", "List projects (group/name) or give a group".into());
    }
    s.name_filter = s.name_filter.map(|f| f.trim().to_string()).filter(|f| !f.is_empty());
    if s.name_filter.is_some() && s.group.is_none() {
        err(
            "name_filter",
            "A name filter applies to a group's projects; give the group".into(),
        );
    }
    if !DeploymentKind::GITLAB.contains(&s.deployment_source.kind) {
        err(
            "deployment_kind",
            "GitLab deployments come from deployments, pipelines or merges".into(),
        );
    }
    s.deployment_source.pattern = s
        .deployment_source
        .pattern
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    for (field, value) in [
        ("name_filter", &s.name_filter),
        ("deployment_pattern", &s.deployment_source.pattern),
    ] {
        if let Some(problem) = value.as_deref().and_then(single_line_problem) {
            err(field, problem.into());
        } else if let Some(problem) = value.as_deref().and_then(glob_problem) {
            err(field, problem);
        }
    }
    s.deployment_source.pattern = match s.deployment_source.kind {
        DeploymentKind::Deployments => s
            .deployment_source
            .pattern
            .or_else(|| Some(GITLAB_DEFAULT_ENVIRONMENT.into())),
        _ => None,
    };
    check_concurrency(s.max_concurrency, err);
    Some(s)
}

/// A GitLab group or project path (`acme/platform/api`) or numeric id: segments of letters,
/// digits, `-`, `_`, `.`, none of them `.` or `..` (they go into REST paths, URL-encoded).
pub fn is_gitlab_path(s: &str) -> bool {
    s.len() <= 255 && s.split('/').all(is_github_name)
}

/// Whether extra JQL stays inside the parentheses the sync puts it in, read as Jira's lexer
/// reads it: outside quoted strings never more `)` than `(` so far, everything closed at the
/// end, and a backslash only inside a quoted string (outside one Jira refuses it, and reading
/// `\"` there as an opening quote let `x) OR (project = Y` through). Otherwise `x) OR (y`
/// would widen the query beyond the integration's projects.
pub fn jql_is_self_contained(jql: &str) -> bool {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in jql.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '\\' => return false,
            '(' => depth += 1,
            ')' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0 && quote.is_none()
}

/// A Jira project key as Jira allows it: upper-case letters, digits and underscores, starting
/// with a letter, at most 32.
pub fn is_jira_project_key(p: &str) -> bool {
    p.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && p.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && p.len() <= 32
}

/// A GitHub owner or repository name: letters, digits, `-`, `_`, `.`, but not `.` or `..`
/// (GitHub refuses those; in a REST path they would climb out of it).
pub fn is_github_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Characters that mean something in a regular expression and nothing in a glob.
const REGEX_SYNTAX: &[char] = &['^', '$', '\\', '(', ')', '|', '+', '['];

/// Why `pattern` is not a glob (it holds regular-expression syntax), with the glob to write
/// instead: `^production$` saved silently once, and then matched no environment at all.
pub fn glob_problem(pattern: &str) -> Option<String> {
    if !pattern.contains(REGEX_SYNTAX) {
        return None;
    }
    let rules = "patterns are globs, not regular expressions: * matches any run of characters, ? one character, everything else itself (case-insensitive)";
    if pattern.contains('|') {
        return Some(format!(
            "{pattern:?} looks like a regular expression; {rules}. A glob has no alternatives (a|b): choose one pattern that every name you want matches, such as prod*"
        ));
    }
    Some(format!(
        "{pattern:?} looks like a regular expression; {rules}. Write it as {:?}",
        glob_from_regex(pattern)
    ))
}

/// The glob closest to a simple regular expression: anchors dropped (a glob matches the whole
/// name), `.*` → `*`, `.+` → `?*`, `.` → `?`, `x+` → `x*`, a class `[…]` → `?`, groups unwrapped,
/// escapes unescaped.
fn glob_from_regex(re: &str) -> String {
    let body = re.strip_prefix('^').unwrap_or(re);
    let (body, anchored_end) = match body.strip_suffix('$') {
        Some(b) if !b.ends_with('\\') => (b, true),
        _ => (body, false),
    };
    let mut out = String::new();
    if !re.starts_with('^') {
        out.push('*');
    }
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '.' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push('*');
            }
            '.' if chars.peek() == Some(&'+') => {
                chars.next();
                out.push_str("?*");
            }
            '.' => out.push('?'),
            '+' => out.push('*'),
            '[' => {
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                }
                out.push('?');
            }
            '(' | ')' | '^' | '$' => {}
            c => out.push(c),
        }
    }
    if !anchored_end {
        out.push('*');
    }
    // `**` matches what `*` matches.
    while out.contains("**") {
        out = out.replace("**", "*");
    }
    out
}

/// `*` matches any run of characters, `?` one; case-insensitive (environment and repo patterns).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    // ASCII (nearly every branch and environment name) lowercases byte by byte, with the same
    // answer and no allocation: the DORA report matches every shipped branch.
    if pattern.is_ascii() && text.is_ascii() {
        let lower = |b: &u8| b.to_ascii_lowercase();
        let p: Vec<u8> = pattern.bytes().map(|b| lower(&b)).collect();
        return wildcard(&p, text.as_bytes(), b'*', b'?', lower);
    }
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    wildcard(&p, &t, '*', '?', |c| *c)
}

/// Whether `t` (each item seen through `fold`) matches the pattern `p` (already folded), where
/// `star` matches any run and `one` any single item.
fn wildcard<T: Copy + PartialEq>(p: &[T], t: &[T], star_item: T, one: T, fold: impl Fn(&T) -> T) -> bool {
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        // A `*` is always a wildcard, even where the text has a `*` too.
        if pi < p.len() && p[pi] == star_item {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if pi < p.len() && (p[pi] == one || p[pi] == fold(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == star_item)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn jira() -> IntegrationInput {
        IntegrationInput {
            kind: "jira".into(),
            name: "Acme Jira".into(),
            base_url: "https://acme.atlassian.net".into(),
            flavour: "cloud".into(),
            username: Some("bot@acme.com".into()),
            secret: Some("tok".into()),
            settings: json!({"projects": ["pay", "WEB"]}),
            active: None,
        }
    }

    fn fields(e: Vec<FieldError>) -> Vec<&'static str> {
        e.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_complete_jira_cloud_integration_is_valid_and_normalised() {
        let v = jira().validate(false).unwrap();
        assert_eq!(
            v.settings,
            Settings::Jira(JiraSettings {
                projects: vec!["PAY".into(), "WEB".into()],
                ..Default::default()
            })
        );
        assert_eq!(v.flavour.auth_kind(), AuthKind::Basic);
    }

    #[test]
    fn every_bad_field_is_named() {
        let input = IntegrationInput {
            name: " ".into(),
            base_url: "not a url".into(),
            username: None,
            secret: None,
            settings: json!({"projects": ["1X"], "extra_jql": "x ORDER BY key"}),
            ..jira()
        };
        assert_eq!(
            fields(input.validate(false).unwrap_err()),
            ["name", "base_url", "username", "secret", "projects", "extra_jql"]
        );
    }

    #[test]
    fn an_edit_may_keep_the_stored_secret() {
        let input = IntegrationInput {
            secret: Some("".into()),
            ..jira()
        };
        assert!(input.validate(true).is_ok());
        assert_eq!(fields(input.validate(false).unwrap_err()), ["secret"]);
    }

    #[test]
    fn github_needs_repositories_or_an_organisation() {
        let base = IntegrationInput {
            kind: "github".into(),
            flavour: "github".into(),
            base_url: "https://api.github.com".into(),
            username: None,
            settings: json!({}),
            ..jira()
        };
        assert_eq!(fields(base.validate(false).unwrap_err()), ["repositories"]);
        let ok = IntegrationInput {
            settings: json!({"organization": "acme", "name_filter": "api-*", "deployment_source": {"kind": "workflow_runs"}}),
            ..base.clone()
        };
        let Settings::Github(s) = ok.validate(false).unwrap().settings else {
            panic!()
        };
        assert_eq!(s.deployment_source.pattern.as_deref(), Some("*deploy*"));
        let bad = IntegrationInput {
            settings: json!({"repositories": ["nope"], "deployment_source": {"kind": "carrier-pigeon"}}),
            ..base.clone()
        };
        assert_eq!(fields(bad.validate(false).unwrap_err()), ["settings"]);
        let mismatch = IntegrationInput {
            flavour: "cloud".into(),
            settings: json!({"repositories": ["a/b"]}),
            ..base
        };
        assert_eq!(fields(mismatch.validate(false).unwrap_err()), ["flavour"]);
    }

    #[test]
    fn the_hotfix_glob_defaults_and_refuses_regular_expressions() {
        let github = |settings| IntegrationInput {
            kind: "github".into(),
            flavour: "github".into(),
            base_url: "https://api.github.com".into(),
            username: None,
            settings,
            ..jira()
        };
        let Settings::Github(s) = github(json!({"repositories": ["a/b"]}))
            .validate(false)
            .unwrap()
            .settings
        else {
            panic!()
        };
        assert_eq!(s.hotfix_branch.as_deref(), Some(DEFAULT_HOTFIX_BRANCH));
        assert_eq!(s.failure_signals, FailureSignals::default());
        // Stored settings from before the setting existed read as the default.
        let old: GithubSettings = serde_json::from_value(json!({"repositories": ["a/b"]})).unwrap();
        assert_eq!(old.hotfix_glob(), "hotfix*");
        let bad = github(json!({"repositories": ["a/b"], "hotfix_branch": "^hotfix/.*$"}));
        assert_eq!(fields(bad.validate(false).unwrap_err()), ["hotfix_branch"]);
    }

    #[test]
    fn gitlab_needs_a_group_or_projects_and_defaults_to_production() {
        let base = IntegrationInput {
            kind: "gitlab".into(),
            flavour: "gitlab".into(),
            base_url: "https://gitlab.com".into(),
            username: None,
            settings: json!({}),
            ..jira()
        };
        assert_eq!(fields(base.validate(false).unwrap_err()), ["projects"]);
        let ok = IntegrationInput {
            settings: json!({"group": "acme/platform", "projects": ["acme/x/y"]}),
            ..base.clone()
        };
        let Settings::Gitlab(s) = ok.validate(false).unwrap().settings else {
            panic!()
        };
        assert_eq!(s.deployment_source.pattern.as_deref(), Some("production"));
        let bad = IntegrationInput {
            settings: json!({"projects": ["acme/../x", "solo"], "deployment_source": {"kind": "releases"}}),
            ..base.clone()
        };
        assert_eq!(
            fields(bad.validate(false).unwrap_err()),
            ["projects", "projects", "deployment_kind"]
        );
        let mismatch = IntegrationInput {
            flavour: "github".into(),
            settings: json!({"group": "acme"}),
            ..base
        };
        assert_eq!(fields(mismatch.validate(false).unwrap_err()), ["flavour"]);
    }

    #[test]
    fn regular_expressions_are_refused_with_the_glob_to_write() {
        for (re, glob) in [
            ("^production$", "production"),
            ("^prod.*", "prod*"),
            ("prod", ""),
            ("^deploy-(eu|us)$", ""),
            ("^release-v[0-9]+$", "release-v?*"),
            ("api\\.example$", "*api.example"),
            ("^prod.+$", "prod?*"),
        ] {
            match glob_problem(re) {
                None => assert_eq!(glob, "", "{re} is a glob already"),
                Some(why) if glob.is_empty() => assert!(why.contains("no alternatives"), "{re}: {why}"),
                Some(why) => assert!(why.ends_with(&format!("Write it as {glob:?}")), "{re}: {why}"),
            }
        }
        assert_eq!(glob_problem("prod*"), None);
        assert_eq!(glob_problem("*deploy?"), None);
    }

    #[test]
    fn globs_match_case_insensitively() {
        assert!(glob_match("prod*", "Production"));
        assert!(glob_match("*deploy*", "Deploy production"));
        assert!(!glob_match("prod*", "staging"));
        assert!(glob_match("api-?", "API-1"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn extra_jql_cannot_escape_its_parentheses() {
        for ok in [
            "labels = x",
            "(a = 1 OR b = 2) AND c = 3",
            "summary ~ \"a ) b\"",
            "summary ~ 'it\\'s ('",
        ] {
            assert!(jql_is_self_contained(ok), "{ok}");
        }
        for bad in [
            "x) OR (project = SECRET",
            "a = 1)",
            "(a = 1",
            "summary ~ \"open",
            ") OR (",
            "summary ~ \\\"a) OR project = WEB OR (summary ~ \"b\\\"c\"",
            "labels = a\\ b",
        ] {
            assert!(!jql_is_self_contained(bad), "{bad}");
        }
        let check = |extra: &str| match (IntegrationInput {
            settings: json!({"projects": ["PAY"], "extra_jql": extra}),
            ..jira()
        })
        .validate(false)
        {
            Ok(_) => vec![],
            Err(e) => fields(e),
        };
        assert_eq!(check("labels = x"), Vec::<&str>::new());
        assert_eq!(check("x) OR (project = SECRET"), ["extra_jql"]);
        assert_eq!(
            check("summary ~ \\\"a) OR project = WEB OR (summary ~ \"b\\\"c\""),
            ["extra_jql"]
        );
        assert_eq!(check("x ORDER\n  BY key"), ["extra_jql"]);
    }

    #[test]
    fn hostile_project_keys_and_repository_names_are_refused() {
        for key in ["PAY\" OR project = \"X", "A) OR (B", "pay or 1=1", "X Y", "1X", "Ä"] {
            let s = json!({"projects": [key]});
            let mut bad = vec![];
            validate_jira(&s, &mut |f, _| bad.push(f));
            assert!(bad.contains(&"projects"), "{key}");
        }
        for repo in [
            "acme/..",
            "../acme",
            "acme/.",
            "acme/a b",
            "acme/a?x=1",
            "acme/a#b",
            "acme/%2e%2e",
            "acme/a\"b",
        ] {
            let s = json!({"repositories": [repo]});
            let mut bad = vec![];
            validate_github(&s, &mut |f, _| bad.push(f));
            assert!(bad.contains(&"repositories"), "{repo}");
        }
        assert!(!is_github_name(".."));
        assert!(is_github_name("a.b-c_d"));
    }

    #[test]
    fn a_star_is_a_wildcard_even_against_a_star() {
        assert!(glob_match("*", "*x"));
        assert!(glob_match("prod*", "prod*-eu"));
        assert!(glob_match("*-eu", "a*-eu"));
        assert!(!glob_match("prod*", "staging*"));
    }

    proptest::proptest! {
        /// The ASCII path (bytes, no allocation) answers as matching the lowercased characters.
        #[test]
        fn ascii_globs_match_as_lowercased_characters(
            pattern in "[a-cA-C*?/-]{0,8}",
            text in "[a-cA-C*?/-]{0,12}",
        ) {
            let p: Vec<char> = pattern.to_lowercase().chars().collect();
            let t: Vec<char> = text.to_lowercase().chars().collect();
            proptest::prop_assert_eq!(glob_match(&pattern, &text), wildcard(&p, &t, '*', '?', |c| *c));
        }
    }
}
