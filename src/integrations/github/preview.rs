//! "Preview" of a deployment source (issue #23): what the repositories have over the last 90
//! days — environments with deployment counts, workflow names with run counts on the default
//! branch, releases — and what the configured source and pattern would count, read from the
//! upstream before anything is saved.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::client::{GithubClient, Repo};
use crate::domain::integration::{DeploymentKind, GithubSettings, glob_match};
use crate::integrations::connection::Target;
use crate::integrations::error::UpstreamError;
use crate::integrations::http::{self, Outbound};

/// How far back the preview looks.
pub const PREVIEW_DAYS: i64 = 90;
/// Repositories read at most (an organisation's first ones, by GitHub's order).
const MAX_REPOSITORIES: usize = 20;
/// Pages of 100 read at most per list and repository: enough to tell "matches" from "none".
const MAX_PAGES: usize = 5;

/// What one repository has over the preview's days.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RepoPreview {
    pub repository: String,
    /// Deployments per environment.
    pub environments: BTreeMap<String, usize>,
    /// Workflow runs on the default branch per workflow name.
    pub workflows: BTreeMap<String, usize>,
    /// Published releases (prereleases apart).
    pub releases: usize,
    pub prereleases: usize,
}

/// The preview of a deployment source.
#[derive(Clone, Debug, Serialize)]
pub struct Preview {
    pub since: DateTime<Utc>,
    pub kind: DeploymentKind,
    pub pattern: Option<String>,
    pub repositories: Vec<RepoPreview>,
    /// More repositories than were read.
    pub more_repositories: bool,
    /// What the source and pattern would count as production deployments (`None` for merges:
    /// every merge to the default branch counts).
    pub matched: Option<usize>,
    /// Names the pattern matches: environments or workflow names.
    pub matching_names: Vec<String>,
}

impl Preview {
    /// Whether the source would count nothing (the warning before saving).
    pub fn matches_nothing(&self) -> bool {
        self.matched == Some(0)
    }
}

/// The counts `repos` would give for `kind` and `pattern`: production deployments and the
/// names matched.
pub fn matched(repos: &[RepoPreview], kind: DeploymentKind, pattern: &str) -> (Option<usize>, Vec<String>) {
    let by_name = |pick: fn(&RepoPreview) -> &BTreeMap<String, usize>| {
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for r in repos {
            for (name, n) in pick(r).iter().filter(|(name, _)| glob_match(pattern, name)) {
                *names.entry(name).or_default() += n;
            }
        }
        (
            Some(names.values().sum()),
            names.keys().map(|n| n.to_string()).collect(),
        )
    };
    match kind {
        DeploymentKind::Deployments => by_name(|r| &r.environments),
        DeploymentKind::WorkflowRuns => by_name(|r| &r.workflows),
        DeploymentKind::Releases => (Some(repos.iter().map(|r| r.releases).sum()), Vec::new()),
        // Merges have nothing to preview; pipelines are GitLab's (no GitHub preview asks).
        DeploymentKind::Merges | DeploymentKind::Pipelines => (None, Vec::new()),
    }
}

#[derive(Deserialize)]
struct RestDeployment {
    #[serde(default)]
    environment: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RestRelease {
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    prerelease: bool,
    #[serde(default)]
    published_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RestRun {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    head_branch: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RunsPage {
    #[serde(default)]
    workflow_runs: Vec<RestRun>,
}

/// Reads the preview from the upstream `target` points at (a GitHub).
pub async fn preview(target: &Target<'_>, s: &GithubSettings, outbound: Outbound) -> Result<Preview, String> {
    outbound
        .guard
        .check_url(target.base_url)
        .map_err(|b| UpstreamError::Blocked(b.0).to_string())?;
    let http = http::client(outbound.guard, outbound.timeout).map_err(|e| format!("no HTTP client: {e}"))?;
    let client = GithubClient::new(http, target.base_url, target.secret.clone());
    let since = Utc::now() - Duration::days(PREVIEW_DAYS);
    let mut repos: Vec<Repo> = Vec::new();
    for name in &s.repositories {
        repos.push(client.repo(name).await.map_err(|e| format!("Repository {name}: {e}"))?);
    }
    if let Some(org) = &s.organization {
        let listed = client
            .org_repos_page(org, 100)
            .await
            .map_err(|e| format!("Organisation {org}: {e}"))?;
        repos.extend(
            listed
                .into_iter()
                .filter(|r| !r.archived)
                .filter(|r| s.name_filter.as_deref().is_none_or(|f| glob_match(f, &r.name))),
        );
    }
    repos.dedup_by(|a, b| a.full_name.eq_ignore_ascii_case(&b.full_name));
    let more_repositories = repos.len() > MAX_REPOSITORIES;
    repos.truncate(MAX_REPOSITORIES);
    let mut out = Vec::with_capacity(repos.len());
    for r in &repos {
        out.push(
            repository(&client, r, since)
                .await
                .map_err(|e| format!("{}: {e}", r.full_name))?,
        );
    }
    let pattern = s.deployment_source.pattern.clone();
    let (matched, matching_names) = matched(&out, s.deployment_source.kind, pattern.as_deref().unwrap_or("*"));
    Ok(Preview {
        since,
        kind: s.deployment_source.kind,
        pattern,
        repositories: out,
        more_repositories,
        matched,
        matching_names,
    })
}

async fn repository(client: &GithubClient, r: &Repo, since: DateTime<Utc>) -> Result<RepoPreview, UpstreamError> {
    let mut p = RepoPreview {
        repository: r.full_name.clone(),
        ..Default::default()
    };
    // Lists come newest first: stop at the first page that reaches before `since`.
    let mut url = Some(format!("repos/{}/deployments?per_page=100", r.full_name));
    for _ in 0..MAX_PAGES {
        let Some(u) = url.take() else { break };
        let (page, next): (Vec<RestDeployment>, _) = client.get_page(&u).await?;
        let done = page.iter().any(|d| d.created_at < since);
        for d in page.into_iter().filter(|d| d.created_at >= since) {
            *p.environments.entry(d.environment.unwrap_or_default()).or_default() += 1;
        }
        url = next.filter(|_| !done);
    }
    if let Some(branch) = &r.default_branch {
        let created: String =
            url::form_urlencoded::byte_serialize(format!(">={}", since.format("%Y-%m-%d")).as_bytes()).collect();
        let branch_q: String = url::form_urlencoded::byte_serialize(branch.as_bytes()).collect();
        let mut url = Some(format!(
            "repos/{}/actions/runs?branch={branch_q}&created={created}&per_page=100",
            r.full_name
        ));
        for _ in 0..MAX_PAGES {
            let Some(u) = url.take() else { break };
            let (page, next): (RunsPage, _) = client.get_page(&u).await?;
            for run in page
                .workflow_runs
                .into_iter()
                .filter(|x| x.head_branch.as_deref() == Some(branch.as_str()) && x.created_at >= since)
            {
                *p.workflows.entry(run.name.unwrap_or_default()).or_default() += 1;
            }
            url = next;
        }
    }
    let mut url = Some(format!("repos/{}/releases?per_page=100", r.full_name));
    for _ in 0..MAX_PAGES {
        let Some(u) = url.take() else { break };
        let (page, next): (Vec<RestRelease>, _) = client.get_page(&u).await?;
        let done = page.iter().any(|x| x.created_at < since);
        for rel in page
            .iter()
            .filter(|x| !x.draft && x.published_at.is_some_and(|at| at >= since))
        {
            if rel.prerelease {
                p.prereleases += 1;
            } else {
                p.releases += 1;
            }
        }
        url = next.filter(|_| !done);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_counts_the_names_it_matches_across_repositories() {
        let repo = |envs: &[(&str, usize)], runs: &[(&str, usize)], releases| RepoPreview {
            repository: "acme/x".into(),
            environments: envs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            workflows: runs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            releases,
            prereleases: 0,
        };
        let repos = [
            repo(&[("production", 4), ("staging", 9)], &[("Deploy", 3), ("CI", 20)], 2),
            repo(&[("Production-EU", 1)], &[], 1),
        ];
        assert_eq!(
            matched(&repos, DeploymentKind::Deployments, "prod*"),
            (Some(5), vec!["Production-EU".to_string(), "production".to_string()])
        );
        assert_eq!(matched(&repos, DeploymentKind::Deployments, "^production$").0, Some(0));
        assert_eq!(matched(&repos, DeploymentKind::WorkflowRuns, "*deploy*").0, Some(3));
        assert_eq!(matched(&repos, DeploymentKind::Releases, "*").0, Some(3));
        assert_eq!(matched(&repos, DeploymentKind::Merges, "*").0, None);
    }
}
