//! "Test connection": does the URL point at a Jira/GitHub, do the credentials work, can every
//! configured project or repository be read? Each check gets a specific, human message.

use secrecy::SecretString;
use serde::Serialize;
use url::Url;

use super::error::UpstreamError;
use super::github::client::GithubClient;
use super::gitlab::client::GitlabClient;
use super::http::{self, Outbound};
use super::jira::client::{JiraAuth, JiraClient};
use crate::domain::integration::{Flavour, GithubSettings, GitlabSettings, JiraSettings, Settings};

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct TestReport {
    pub ok: bool,
    pub summary: String,
    pub checks: Vec<Check>,
}

impl TestReport {
    fn from_checks(checks: Vec<Check>) -> Self {
        let failed: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
        let summary = match failed.first() {
            None => checks.iter().map(|c| c.message.as_str()).collect::<Vec<_>>().join("; "),
            Some(first) if failed.len() == 1 => first.message.clone(),
            Some(first) => format!("{} (and {} more problems)", first.message, failed.len() - 1),
        };
        Self {
            ok: failed.is_empty(),
            summary,
            checks,
        }
    }
}

/// What to test: the submitted (or stored) connection details.
pub struct Target<'a> {
    pub flavour: Flavour,
    pub base_url: &'a Url,
    pub username: Option<&'a str>,
    pub secret: &'a SecretString,
    pub settings: &'a Settings,
}

pub async fn test(target: &Target<'_>, outbound: Outbound) -> TestReport {
    let mut checks = Vec::new();
    if let Err(blocked) = outbound.guard.check_url(target.base_url) {
        checks.push(fail("address", UpstreamError::Blocked(blocked.0).to_string()));
        return TestReport::from_checks(checks);
    }
    let client = match http::client(outbound.guard, outbound.timeout) {
        Ok(c) => c,
        Err(e) => {
            checks.push(fail("client", format!("could not build an HTTP client: {e}")));
            return TestReport::from_checks(checks);
        }
    };
    match (target.flavour, target.settings) {
        (Flavour::Cloud | Flavour::DataCenter, Settings::Jira(s)) => test_jira(target, client, s, &mut checks).await,
        (Flavour::Github | Flavour::Enterprise, Settings::Github(s)) => {
            test_github(target, client, s, &mut checks).await
        }
        (Flavour::Gitlab | Flavour::SelfManaged, Settings::Gitlab(s)) => {
            test_gitlab(target, client, s, &mut checks).await
        }
        _ => checks.push(fail("settings", "the settings do not match the kind of server".into())),
    }
    TestReport::from_checks(checks)
}

fn ok(name: &str, message: String) -> Check {
    Check {
        name: name.into(),
        ok: true,
        message,
    }
}

fn fail(name: &str, message: String) -> Check {
    Check {
        name: name.into(),
        ok: false,
        message,
    }
}

async fn test_jira(target: &Target<'_>, http: reqwest::Client, s: &JiraSettings, checks: &mut Vec<Check>) {
    let auth = match target.flavour {
        Flavour::Cloud => JiraAuth::Basic {
            email: target.username.unwrap_or_default().to_string(),
            token: target.secret.clone(),
        },
        _ => JiraAuth::Bearer(target.secret.clone()),
    };
    let client = JiraClient::new(http, target.base_url, target.flavour, auth);
    let me = match client.myself().await {
        Ok(me) => me,
        Err(e) => {
            if matches!(e, UpstreamError::Unauthorized(_))
                && let Ok(found) = client.server_info_anonymous().await.map(|i| i.flavour())
                && let Some(found) = found.filter(|f| *f != target.flavour)
            {
                checks.push(fail(
                    "server",
                    format!(
                        "This server is {}, not {}: choose {} and its kind of credentials.",
                        found.title(),
                        target.flavour.title(),
                        found.title()
                    ),
                ));
                return;
            }
            let message = match e {
                UpstreamError::Unauthorized(_) if target.flavour == Flavour::Cloud => {
                    "Jira rejected the email and API token (401). Check both; API tokens created after 2024-12-15 expire.".into()
                }
                UpstreamError::Unauthorized(_) => "Jira rejected the personal access token (401).".into(),
                UpstreamError::NotFound(_) | UpstreamError::Decode(_) => format!(
                    "No Jira REST API answered at this URL ({} gave no Jira answer). For Jira under a context path include it, e.g. https://host/jira.",
                    client.api_url("myself")
                ),
                other => jira_message(other),
            };
            checks.push(fail("credentials", message));
            return;
        }
    };
    let who = me
        .display_name
        .or(me.name)
        .or(me.account_id)
        .unwrap_or_else(|| "the API user".into());
    checks.push(ok("credentials", format!("Authenticated as {who}")));
    match client.server_info().await {
        Ok(info) => match info.flavour() {
            Some(found) if found == target.flavour => checks.push(ok(
                "server",
                format!(
                    "{} detected{}",
                    found.title(),
                    info.version.map(|v| format!(" (version {v})")).unwrap_or_default()
                ),
            )),
            Some(found) => checks.push(fail(
                "server",
                format!(
                    "This server is {}, not {}: choose {} as the flavour.",
                    found.title(),
                    target.flavour.title(),
                    found.title()
                ),
            )),
            None => checks.push(fail(
                "server",
                "The server did not say whether it is Jira Cloud or Data Center (serverInfo has no deploymentType)."
                    .into(),
            )),
        },
        Err(e) => checks.push(fail(
            "server",
            format!("Could not read serverInfo: {}", jira_message(e)),
        )),
    }
    for key in &s.projects {
        match client.project(key).await {
            Ok(p) => checks.push(ok("project", format!("Project {} readable ({})", p.key, p.name))),
            Err(UpstreamError::NotFound(_)) => checks.push(fail(
                "project",
                format!("Project {key} was not found or this account cannot see it (404)."),
            )),
            Err(UpstreamError::Forbidden(_)) => checks.push(fail(
                "project",
                format!("This account has no permission to read project {key} (403)."),
            )),
            Err(e) => checks.push(fail("project", format!("Project {key}: {}", jira_message(e)))),
        }
    }
}

async fn test_github(target: &Target<'_>, http: reqwest::Client, s: &GithubSettings, checks: &mut Vec<Check>) {
    let client = GithubClient::new(http, target.base_url, target.secret.clone());
    match client.user().await {
        Ok(u) => checks.push(ok("credentials", format!("Authenticated as {}", u.login))),
        Err(e) => {
            let message = match e {
                UpstreamError::Unauthorized(_) => "GitHub rejected the token (401 Bad credentials).".into(),
                UpstreamError::NotFound(_) | UpstreamError::Decode(_) => {
                    "No GitHub API answered at this URL. Use https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server.".into()
                }
                other => github_message(other),
            };
            checks.push(fail("credentials", message));
            return;
        }
    }
    for repo in &s.repositories {
        match client.repo(repo).await {
            Ok(r) if r.archived => checks.push(ok(
                "repository",
                format!("Repository {} readable (archived)", r.full_name),
            )),
            Ok(r) => checks.push(ok("repository", format!("Repository {} readable", r.full_name))),
            Err(UpstreamError::NotFound(_)) => checks.push(fail(
                "repository",
                format!("Repository {repo} was not found or the token cannot see it (404)."),
            )),
            Err(e) => checks.push(fail("repository", format!("Repository {repo}: {}", github_message(e)))),
        }
    }
    if let Some(org) = &s.organization {
        match client.org_repos_page(org, 100).await {
            Ok(repos) => checks.push(ok(
                "organization",
                format!(
                    "Organisation {org} lists {} repositories{}",
                    repos.len(),
                    if repos.len() == 100 { " or more" } else { "" }
                ),
            )),
            Err(UpstreamError::NotFound(_)) => checks.push(fail(
                "organization",
                format!("Organisation {org} was not found or the token cannot list its repositories (404)."),
            )),
            Err(e) => checks.push(fail(
                "organization",
                format!("Organisation {org}: {}", github_message(e)),
            )),
        }
    }
    match client.rate_limit().await {
        Ok(Some(r)) => checks.push(ok(
            "rate_limit",
            format!(
                "Rate limit: {} of {} requests left, resets {}",
                r.remaining,
                r.limit,
                chrono::DateTime::from_timestamp(r.reset, 0)
                    .map(|t| t.format("%H:%M UTC").to_string())
                    .unwrap_or_default()
            ),
        )),
        Ok(None) => checks.push(ok("rate_limit", "Rate limiting is disabled on this server".into())),
        Err(e) => checks.push(fail(
            "rate_limit",
            format!("Could not read the rate limit: {}", github_message(e)),
        )),
    }
}

async fn test_gitlab(target: &Target<'_>, http: reqwest::Client, s: &GitlabSettings, checks: &mut Vec<Check>) {
    let client = GitlabClient::new(http, target.base_url, target.secret.clone());
    match client.user().await {
        Ok(u) => checks.push(ok("credentials", format!("Authenticated as {}", u.username))),
        Err(e) => {
            // A 401 from a GitLab still has `/version` closed; anything else that is not
            // GitLab's JSON means the URL does not point at a GitLab.
            let message = match e {
                UpstreamError::Unauthorized(_) => {
                    "GitLab rejected the access token (401 Unauthorized): it is wrong, expired or revoked.".into()
                }
                other if client.version().await.is_err() => format!(
                    "No GitLab API answered at this URL ({} gave no GitLab answer: {other}). Use https://gitlab.com or your instance's address, e.g. https://gitlab.example.com.",
                    client.api_url("user").unwrap_or_default()
                ),
                other => capitalise(other.to_string()),
            };
            checks.push(fail("credentials", message));
            return;
        }
    }
    match client.version().await {
        Ok(v) => checks.push(ok("server", format!("GitLab {} detected", v.version))),
        Err(e) => checks.push(fail(
            "server",
            format!(
                "This does not look like a GitLab: /api/v4/version did not answer ({}).",
                e
            ),
        )),
    }
    // Project and group access tokens are personal access tokens of a bot user to this API.
    match client.token_self().await {
        Ok(t) if t.scopes.iter().any(|s| s == "read_api" || s == "api") => {
            checks.push(ok("scope", format!("Token {} has {}", t.name, t.scopes.join(", "))))
        }
        Ok(t) => checks.push(fail(
            "scope",
            format!(
                "The token has the scopes {} but not read_api (or api): create one with read_api.",
                if t.scopes.is_empty() {
                    "(none)".to_string()
                } else {
                    t.scopes.join(", ")
                }
            ),
        )),
        Err(e) => checks.push(fail(
            "scope",
            format!("Could not read the token's scopes: {}", capitalise(e.to_string())),
        )),
    }
    for path in &s.projects {
        match client.project(path).await {
            Ok(p) if p.archived => checks.push(ok(
                "project",
                format!("Project {} readable (archived)", p.path_with_namespace),
            )),
            Ok(p) => checks.push(ok("project", format!("Project {} readable", p.path_with_namespace))),
            Err(UpstreamError::NotFound(_)) => checks.push(fail(
                "project",
                format!("Project {path} was not found or the token cannot see it (404)."),
            )),
            Err(e) => checks.push(fail(
                "project",
                format!("Project {path}: {}", capitalise(e.to_string())),
            )),
        }
    }
    if let Some(group) = &s.group {
        match client.group(group).await {
            Ok(g) => checks.push(ok("group", format!("Group {} readable", g.full_path))),
            Err(UpstreamError::NotFound(_)) => checks.push(fail(
                "group",
                format!("Group {group} was not found or the token cannot see it (404)."),
            )),
            Err(e) => checks.push(fail("group", format!("Group {group}: {}", capitalise(e.to_string())))),
        }
    }
}

fn jira_message(e: UpstreamError) -> String {
    capitalise(e.to_string())
}

fn github_message(e: UpstreamError) -> String {
    capitalise(e.to_string())
}

fn capitalise(s: String) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => s,
    }
}
