//! The `github_sync` job: every active GitHub integration into the database, complete, cheap
//! in requests, resumable.
//!
//! Per integration: `GET /rate_limit` (free; 404 = limits off), the repositories (the listed
//! ones, plus the organisation's that match the name filter, archived ones skipped unless
//! listed), then each repository in turn ([`super::repo`]): pull requests newest-updated first
//! down to the watermark, with complete nested rows, and deployments per the integration's
//! deployment source. Every page is written in one transaction together with the checkpoint
//! (`jobs.checkpoint` → `{"github": Checkpoint}`); a repository's watermarks advance only when
//! it is completely stored. When the budget cannot pay for the next request the run stops with
//! [`SyncError::RateLimited`], which says when the budget resets.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use entity::{integrations, repositories};
use sea_orm::{DatabaseConnection, DbErr};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::GithubClient;
use super::graphql::{DeployConn, SIZES_BATCH, alias, sizes_body};
use super::models::RestRepo;
use super::models::SizesData;
use super::repo::{RepoSync, RunShared};
use super::session::Session;
use crate::crypto::{CryptoError, Vault};
use crate::db;
use crate::db::github::{RepoMeta, Wanted};
use crate::domain::integration::{GithubSettings, IntegrationKind, Settings, glob_match, is_github_name};
use crate::domain::job::JobType;
use crate::integrations::control::{self, Interrupted, RunContext, all_or_first_error};
use crate::integrations::http::Outbound;
use crate::integrations::limiter;
use crate::integrations::request::RequestError;

pub const JOB: JobType = JobType::GithubSync;
/// Repositories read side by side per request slot. Those waiting cost nothing (the limiter
/// serves the longest remaining chain first), and with every repository of a first read
/// started at once none has to be sized before it starts.
pub const STREAMS_PER_SLOT: usize = 8;
/// Re-read this much before a pull-request watermark (clock skew, eventual consistency).
pub const OVERLAP: chrono::Duration = chrono::Duration::minutes(5);
/// Deployments and workflow runs finish after they are created: re-read a day back, and back
/// to the oldest one stored unfinished …
pub const DEPLOY_LOOKBACK: chrono::Duration = chrono::Duration::days(1);
/// … unless that one is older than this (abandoned; GitHub lets a run wait 30 days at most).
pub const MAX_UNFINISHED_AGE: chrono::Duration = chrono::Duration::days(30);
/// Releases are drafted, then published (their `createdAt` stays): re-read a month back.
pub const RELEASE_LOOKBACK: chrono::Duration = chrono::Duration::days(30);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    #[error("{integration}: {source}")]
    Request { integration: String, source: RequestError },
    #[error("{integration}: the stored credentials cannot be decrypted: {source}")]
    Crypto { integration: String, source: CryptoError },
    #[error("{integration}: {message}")]
    Invalid { integration: String, message: String },
    #[error("{integration}: the API rate limit is spent until {reset_at}; the next run resumes from the checkpoint")]
    RateLimited {
        integration: String,
        reset_at: DateTime<Utc>,
    },
    #[error("{integration}: GitHub GraphQL error: {message}")]
    Graphql { integration: String, message: String },
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

impl SyncError {
    pub fn interrupted(&self) -> Option<Interrupted> {
        match self {
            SyncError::Interrupted(i) => Some(*i),
            SyncError::Request {
                source: RequestError::Interrupted(i),
                ..
            } => Some(*i),
            _ => None,
        }
    }

    /// When the spent rate limit resets: retry then (the checkpoint is saved).
    pub fn reset_at(&self) -> Option<DateTime<Utc>> {
        match self {
            SyncError::RateLimited { reset_at, .. } => Some(*reset_at),
            _ => None,
        }
    }
}

/// Where one pass over a repository (its pull requests, or its deployments) stands.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PassCursor {
    pub done: bool,
    /// Items older than this were stored by earlier runs (watermark − overlap); None: read all.
    pub since: Option<DateTime<Utc>>,
    /// GraphQL `endCursor` of the last stored page, or the REST `Link: rel="next"` URL.
    pub after: Option<String>,
    /// Newest `updatedAt` (pull requests) or `createdAt` (deployments) seen: the next watermark.
    pub max_seen: Option<DateTime<Utc>>,
    pub stored: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RepoCursor {
    /// The deployment source the pass was started for (a changed setting starts over).
    #[serde(default)]
    pub source: Option<String>,
    pub prs: PassCursor,
    pub deploys: PassCursor,
}

/// The job checkpoint: a queue of repositories keyed `integration:owner/name`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    /// Completely stored by the run being resumed: skipped when it resumes.
    #[serde(default)]
    pub finished: BTreeSet<String>,
    /// Repositories in progress.
    #[serde(default)]
    pub repos: BTreeMap<String, RepoCursor>,
}

impl Checkpoint {
    pub fn is_empty(&self) -> bool {
        self.finished.is_empty() && self.repos.is_empty()
    }
}

pub async fn load_checkpoint(db: &impl sea_orm::ConnectionTrait) -> Result<Checkpoint, DbErr> {
    Ok(db::jobs::checkpoint(db, JOB)
        .await?
        .and_then(|v| serde_json::from_value(v.get("github")?.clone()).ok())
        .unwrap_or_default())
}

pub async fn save_checkpoint(
    db: &impl sea_orm::ConnectionTrait,
    cp: &Checkpoint,
    fence: Option<&str>,
) -> Result<(), DbErr> {
    let value = (!cp.is_empty()).then(|| json!({ "github": cp }));
    db::jobs::set_checkpoint(db, JOB, value, fence).await
}

pub struct Deps<'a> {
    pub db: &'a DatabaseConnection,
    pub vault: &'a Vault,
    pub outbound: Outbound,
}

/// The part of the 0–100 progress range one integration (or repository) owns.
#[derive(Clone, Copy)]
pub(crate) struct Share {
    from: i32,
    to: i32,
}

impl Share {
    pub(crate) fn at(self, fraction: f64) -> i32 {
        self.from + ((self.to - self.from) as f64 * fraction.clamp(0.0, 1.0)) as i32
    }
}

/// Syncs every active GitHub and GitLab integration (the Git job); the checkpoint is cleared
/// when all are done.
pub async fn run(deps: &Deps<'_>, ctx: &RunContext) -> Result<(), SyncError> {
    let all: Vec<integrations::Model> = db::integrations::list(deps.db)
        .await?
        .into_iter()
        .filter(|i| i.active && matches!(i.kind, IntegrationKind::Github | IntegrationKind::Gitlab))
        .collect();
    let n = all.len();
    if n > 0 {
        // Whatever this run writes, and however it ends, analytics sees the data changed.
        db::analytics::sources_changed(deps.db).await?;
    }
    for (i, integration) in all.into_iter().enumerate() {
        let share = Share {
            from: (i * 100 / n) as i32,
            to: ((i + 1) * 100 / n) as i32,
        };
        let name = integration.name.clone();
        if integration.kind == IntegrationKind::Gitlab {
            let sync = crate::integrations::gitlab::sync::sync_integration(deps, ctx, &integration, share);
            control::for_integration(name, sync).await?;
        } else {
            control::for_integration(name, sync_integration(deps, ctx, &integration, share)).await?;
        }
    }
    db::jobs::set_checkpoint(deps.db, JOB, None, ctx.fence()).await?;
    ctx.report(
        100,
        if n == 0 {
            "No active GitHub or GitLab integrations"
        } else {
            "Git sync finished"
        },
    );
    Ok(())
}

async fn sync_integration(
    deps: &Deps<'_>,
    ctx: &RunContext,
    row: &integrations::Model,
    share: Share,
) -> Result<(), SyncError> {
    let name = row.name.clone();
    let invalid = |message: String| SyncError::Invalid {
        integration: name.clone(),
        message,
    };
    let secret = db::integrations::decrypt_secret(deps.vault, row).map_err(|source| SyncError::Crypto {
        integration: name.clone(),
        source,
    })?;
    if row.flavour.kind() != IntegrationKind::Github {
        return Err(invalid(format!("{} is not a GitHub flavour", row.flavour)));
    }
    let Settings::Github(settings) = Settings::from_json(IntegrationKind::Github, &row.settings) else {
        return Err(invalid("settings are not GitHub settings".into()));
    };
    let (base, http) = deps.outbound.connect(&row.base_url).map_err(invalid)?;
    let limiter = limiter::for_base(
        "github",
        &base,
        secrecy::ExposeSecret::expose_secret(&secret).as_bytes(),
        settings.concurrency(),
    );
    // The repositories' own control: one that fails halts the others at their next request.
    let ctx = &ctx.child();
    let session = Session::new(ctx, GithubClient::new(http, &base, secret), limiter, name.clone());

    ctx.report(
        share.at(0.0),
        format!("{name}: reading the rate limit and repositories"),
    );
    // The budgets and the repository list side by side: the list does not need the budgets
    // (a REST answer carries its own), and a serial round trip less starts every run sooner.
    let (probed, selected) = tokio::join!(session.probe_rate_limit(), select_repositories(&session, &settings));
    probed?;
    let selected = selected?;
    let known_keys = db::github::known_jira_keys(deps.db).await?;
    let (repos, inserted) = db::github::upsert_repositories(deps.db, row.id, &selected).await?;
    let keep: Vec<i64> = repos.iter().map(|r| r.id).collect();
    let deactivated = db::github::deactivate_other_repositories(deps.db, row.id, &keep).await?;
    ctx.stats
        .add("repositories", selected.len() as u64, inserted, deactivated);

    // Repositories side by side: many more than requests may be in flight, so that every slot
    // stays busy while some repositories write or finish, and the limiter serves the longest
    // remaining chain of pages first (`ScopeStats::rank`); one at a time when only one request
    // may be in flight.
    let checkpoint = load_checkpoint(deps.db).await?;
    let todo: Vec<(String, &repositories::Model)> = repos
        .iter()
        .map(|repo| (format!("{}:{}/{}", row.id, repo.owner, repo.name), repo))
        .filter(|(key, _)| !checkpoint.finished.contains(key))
        .collect();
    // With one request in flight the sync is sequential: one repository after another, so a
    // run's requests come in the order GitHub would see from a sequential client.
    let streams = match settings.concurrency() {
        1 => 1,
        n => n as usize * STREAMS_PER_SLOT,
    };
    let todo: Vec<(String, &repositories::Model, Option<u64>)> = if streams > 1 && todo.len() > streams {
        largest_first(&session, &settings, todo).await?
    } else {
        todo.into_iter().map(|(key, repo)| (key, repo, None)).collect()
    };
    let shared = RunShared::new(checkpoint.clone(), share, todo.len());
    let syncs: Vec<_> = todo
        .into_iter()
        .map(|(key, repo, size)| {
            let resume = checkpoint.repos.get(&key);
            let scope = format!("{}: repository {}/{}", row.name, repo.owner, repo.name);
            let sync = RepoSync {
                db: deps.db,
                session: &session,
                settings: &settings,
                known_keys: &known_keys,
                repo: repo.clone(),
                key,
                shared: &shared,
                size,
            };
            ctx.stats.in_scope(scope, sync.run(resume))
        })
        .collect();
    let result = all_or_first_error(syncs, streams, &ctx.control).await;
    limiter::record_integration_run(deps.db, &ctx.stats, row.id, &session.limiter, result).await
}

/// `todo` with the repositories read whole this run (no pull-request watermark yet) largest
/// first, then the others (a page or two each) in list order. A first read's page chain is as
/// long as its repository is large: started last, the largest one would run on alone at the
/// end while the other request slots stay idle (docs/decisions.md, "Concurrent syncs"). Costs
/// one GraphQL request (one point) per [`SIZES_BATCH`] new repositories; an
/// answer it cannot use leaves the list order.
async fn largest_first<'r>(
    session: &Session<'_>,
    settings: &GithubSettings,
    todo: Vec<(String, &'r repositories::Model)>,
) -> Result<Vec<(String, &'r repositories::Model, Option<u64>)>, SyncError> {
    let unsized_order =
        |todo: Vec<(String, &'r repositories::Model)>| todo.into_iter().map(|(key, repo)| (key, repo, None)).collect();
    let fresh: Vec<usize> = (0..todo.len()).filter(|&i| todo[i].1.pr_watermark.is_none()).collect();
    if fresh.len() < 2 {
        return Ok(unsized_order(todo));
    }
    let deploys = DeployConn::of(settings.deployment_source.kind);
    let mut size = vec![0u64; todo.len()];
    for chunk in fresh.chunks(SIZES_BATCH) {
        let names: Vec<(&str, &str)> = chunk
            .iter()
            .map(|&i| (todo[i].1.owner.as_str(), todo[i].1.name.as_str()))
            .collect();
        let (body, cost) = sizes_body(&names, deploys);
        let data: SizesData = match session.graphql(|_| body.clone(), |_| cost, false).await {
            Ok(d) => d,
            Err(e) if e.interrupted().is_some() || e.reset_at().is_some() => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "could not size the repositories; reading them in list order");
                return Ok(unsized_order(todo));
            }
        };
        for (k, &i) in chunk.iter().enumerate() {
            if let Some(Some(r)) = data.repos.get(&alias(k)) {
                let deploys = r.deploys.as_ref().map_or(0, |d| d.total_count);
                // PR and deployment pages travel together: the longer chain sets the length.
                size[i] = r.pull_requests.total_count.max(deploys) + 1;
            }
        }
    }
    let order = by_size(
        size.into_iter()
            .zip(todo)
            .map(|(n, (key, repo))| (n, (key, repo, n)))
            .collect(),
    );
    tracing::debug!(order = ?order.iter().map(|(key, ..)| key).collect::<Vec<_>>(), "repositories largest first");
    // A size of 0 is a repository with a watermark: its size is not known.
    Ok(order
        .into_iter()
        .map(|(key, repo, n)| (key, repo, (n > 0).then_some(n)))
        .collect())
}

/// Largest first; equal sizes (and the incremental ones, 0) keep their order.
fn by_size<T>(mut sized: Vec<(u64, T)>) -> Vec<T> {
    sized.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    sized.into_iter().map(|(_, t)| t).collect()
}

/// The listed repositories, then the organisation's (name filter applied, archived ones
/// skipped), each once.
async fn select_repositories(session: &Session<'_>, settings: &GithubSettings) -> Result<Vec<Wanted>, SyncError> {
    let mut out: Vec<Wanted> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for full in &settings.repositories {
        let Some((owner, name)) = full.split_once('/') else {
            continue;
        };
        if seen.insert(full.to_ascii_lowercase()) {
            out.push((owner.into(), name.into(), None));
        }
    }
    if let Some(org) = &settings.organization {
        let mut next = Some(format!("orgs/{org}/repos?type=all&sort=full_name&per_page=100"));
        while let Some(url) = next {
            let page = session.rest::<Vec<RestRepo>>(&url, true).await?;
            for r in page.items {
                let matches = settings.name_filter.as_deref().is_none_or(|f| glob_match(f, &r.name));
                // Names go into REST paths: one GitHub would never send (`..`, `a/b`) is skipped.
                if !is_github_name(&r.owner.login) || !is_github_name(&r.name) {
                    tracing::warn!(owner = %r.owner.login, name = %r.name, "skipping a repository with an invalid name");
                    continue;
                }
                let full = format!("{}/{}", r.owner.login, r.name).to_ascii_lowercase();
                if !matches || r.archived || !seen.insert(full) {
                    continue;
                }
                let meta = RepoMeta {
                    node_id: r.node_id,
                    default_branch: r.default_branch,
                    archived: r.archived,
                };
                out.push((r.owner.login, r.name, Some(meta)));
            }
            next = page.next;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_go_largest_first_and_ties_keep_the_list_order() {
        let sized = vec![(1, "a"), (5, "b"), (0, "c"), (5, "d"), (9, "e")];
        assert_eq!(by_size(sized), vec!["e", "b", "d", "a", "c"]);
    }
}
