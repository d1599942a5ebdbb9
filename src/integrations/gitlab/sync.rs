//! GitLab integrations in the Git job (`github_sync`, shown as "Git sync"): the projects (the
//! listed ones, plus the group's, subgroups included, that match the name filter, archived ones
//! skipped unless listed), then each project side by side ([`super::project`]).
//!
//! Every list is read oldest-updated first from the project's watermark
//! (`order_by=updated_at&sort=asc&updated_after=…`), and each page is written in one
//! transaction together with the watermark it reaches: the stored watermark is the checkpoint
//! (everything updated up to it is stored), so a stopped, failed or rate-limited run resumes
//! there and ends with the rows an uninterrupted one would have.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use entity::integrations;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::client::{GitlabClient, classify, encode_id, next_link};
use super::graphql;
use super::models::Project;
use super::project::ProjectSync;
use crate::db;
use crate::db::github::{RepoMeta, Wanted};
use crate::domain::integration::{GitlabSettings, IntegrationKind, Settings, glob_match, is_gitlab_path};
use crate::integrations::control::{RunContext, all_or_first_error};
use crate::integrations::error::UpstreamError;
use crate::integrations::github::sync::{Deps, Share, SyncError};
use crate::integrations::limiter::{self, Limiter};
use crate::integrations::request::{self, RequestError};

/// Page size of every list (GitLab's maximum).
pub const PER_PAGE: u32 = 100;

/// One integration's conversation with GitLab during a sync.
pub struct Session<'a> {
    pub ctx: &'a RunContext,
    pub client: GitlabClient,
    pub limiter: Arc<Limiter>,
    pub integration: String,
    /// `RateLimit-Remaining: 0` said the window is spent until then: wait before sending.
    spent_until: Mutex<Option<DateTime<Utc>>>,
    /// Whether `/api/graphql` answers: unknown until asked, then kept for the run.
    graphql: AtomicU8,
}

const GRAPHQL_UNKNOWN: u8 = 0;
const GRAPHQL_ON: u8 = 1;
const GRAPHQL_OFF: u8 = 2;

impl<'a> Session<'a> {
    pub fn new(ctx: &'a RunContext, client: GitlabClient, limiter: Arc<Limiter>, integration: String) -> Self {
        Self {
            ctx,
            client,
            limiter,
            integration,
            spent_until: Mutex::new(None),
            graphql: AtomicU8::new(GRAPHQL_UNKNOWN),
        }
    }

    pub fn request_error(&self, source: RequestError) -> SyncError {
        match source {
            RequestError::Interrupted(i) => SyncError::Interrupted(i),
            RequestError::RateLimitTooLong(d) => SyncError::RateLimited {
                integration: self.integration.clone(),
                reset_at: Utc::now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::minutes(1)),
            },
            source => SyncError::Request {
                integration: self.integration.clone(),
                source,
            },
        }
    }

    /// `GET path_or_url` (retried, rate limits honoured) as JSON, with the answer's headers.
    pub async fn get<T: DeserializeOwned>(&self, path_or_url: &str) -> Result<(T, HeaderMap), SyncError> {
        let url = self
            .client
            .api_url(path_or_url)
            .map_err(|e| self.request_error(RequestError::Upstream(e)))?;
        self.wait_if_spent().await?;
        let answer = request::send(self.ctx, &self.limiter, || self.client.get(&url), classify)
            .await
            .map_err(|e| self.request_error(e))?;
        self.note_budget(&answer.headers);
        let items = self.parse(&answer.body)?;
        Ok((items, answer.headers))
    }

    /// A GraphQL query's `data`; `None` when this GitLab has no `/api/graphql` (404: a
    /// self-managed GitLab from before 12.1, or with GraphQL turned off), remembered for the run.
    pub async fn graphql<T: DeserializeOwned>(&self, query: &str, variables: Value) -> Result<Option<T>, SyncError> {
        if self.graphql.load(Ordering::Relaxed) == GRAPHQL_OFF {
            return Ok(None);
        }
        self.wait_if_spent().await?;
        let body = json!({ "query": query, "variables": variables });
        let answer = match request::send(self.ctx, &self.limiter, || self.client.post_graphql(&body), classify).await {
            Err(RequestError::Upstream(UpstreamError::NotFound(_))) => {
                if self.graphql.swap(GRAPHQL_OFF, Ordering::Relaxed) != GRAPHQL_OFF {
                    tracing::warn!(integration = %self.integration, "GitLab has no GraphQL API (404); reading merge requests through REST");
                }
                return Ok(None);
            }
            other => other.map_err(|e| self.request_error(e))?,
        };
        self.graphql.store(GRAPHQL_ON, Ordering::Relaxed);
        self.note_budget(&answer.headers);
        let parsed: graphql::Answer<T> = self.parse(&answer.body)?;
        graphql::data(parsed).map(Some).map_err(|message| SyncError::Invalid {
            integration: self.integration.clone(),
            message: format!("GitLab GraphQL error: {message}"),
        })
    }

    fn parse<T: DeserializeOwned>(&self, body: &[u8]) -> Result<T, SyncError> {
        request::json_without_nul(body).map_err(|e| {
            self.request_error(RequestError::Upstream(UpstreamError::Decode(format!(
                "not GitLab's JSON ({e})"
            ))))
        })
    }

    /// Waits out a window an earlier answer said was spent (`RateLimit-Remaining: 0`).
    async fn wait_if_spent(&self) -> Result<(), SyncError> {
        let spent = *self.spent_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(wait) = spent.and_then(|at| (at - Utc::now()).to_std().ok()) {
            request::wait_for_rate_limit(self.ctx, self.limiter.upstream, wait)
                .await
                .map_err(|e| self.request_error(e))?;
        }
        Ok(())
    }

    /// Every page of an offset-paged list (`x-next-page`).
    pub async fn all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, SyncError> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let (items, headers): (Vec<T>, _) =
                self.get(&format!("{path}{sep}per_page={PER_PAGE}&page={page}")).await?;
            out.extend(items);
            match super::client::next_page(&headers) {
                Some(n) if n > page => page = n,
                _ => return Ok(out),
            }
        }
    }

    /// Remembers a spent window (`RateLimit-Remaining: 0` until `RateLimit-Reset`, epoch s).
    fn note_budget(&self, headers: &HeaderMap) {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        if let Some(remaining) = header("ratelimit-remaining").and_then(|v| v.parse::<f64>().ok()) {
            crate::telemetry::rate_limit_remaining(&self.integration, None, remaining);
        }
        let spent = header("ratelimit-remaining") == Some("0");
        let reset = header("ratelimit-reset")
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(|s| DateTime::from_timestamp(s, 0));
        *self.spent_until.lock().unwrap_or_else(|p| p.into_inner()) = reset.filter(|_| spent);
    }
}

/// Syncs one GitLab integration (called by the Git job for each active one).
pub(crate) async fn sync_integration(
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
    let Settings::Gitlab(settings) = Settings::from_json(IntegrationKind::Gitlab, &row.settings) else {
        return Err(invalid("settings are not GitLab settings".into()));
    };
    let (base, http) = deps.outbound.connect(&row.base_url).map_err(invalid)?;
    let limiter = limiter::for_base(
        "gitlab",
        &base,
        secrecy::ExposeSecret::expose_secret(&secret).as_bytes(),
        settings.concurrency(),
    );
    // The projects' own control: one that fails halts the others at their next request.
    let ctx = &ctx.child();
    let session = Session::new(ctx, GitlabClient::new(http, &base, secret), limiter, name.clone());
    ctx.report(share.at(0.0), format!("{name}: reading the projects"));
    let known_keys = db::github::known_jira_keys(deps.db).await?;
    let selected = select_projects(&session, &settings).await?;
    let wanted: Vec<Wanted> = selected
        .iter()
        .map(|p| {
            let (ns, path) = p
                .path_with_namespace
                .rsplit_once('/')
                .unwrap_or(("", p.path_with_namespace.as_str()));
            let meta = RepoMeta {
                node_id: Some(format!("gitlab-project-{}", p.id)),
                default_branch: p.default_branch.clone(),
                archived: p.archived,
            };
            (ns.to_string(), path.to_string(), Some(meta))
        })
        .collect();
    let (repos, inserted) = db::github::upsert_repositories(deps.db, row.id, &wanted).await?;
    let keep: Vec<i64> = repos.iter().map(|r| r.id).collect();
    let deactivated = db::github::deactivate_other_repositories(deps.db, row.id, &keep).await?;
    ctx.stats
        .add("repositories", wanted.len() as u64, inserted, deactivated);

    let total = repos.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let syncs: Vec<_> = repos
        .into_iter()
        .map(|repo| {
            let scope = format!("{name}: project {}/{}", repo.owner, repo.name);
            let sync = ProjectSync {
                db: deps.db,
                session: &session,
                settings: &settings,
                known_keys: &known_keys,
                repo,
                share,
                total,
                done: &done,
            };
            ctx.stats.in_scope(scope, sync.run())
        })
        .collect();
    let streams = match settings.concurrency() {
        1 => 1,
        n => n as usize * 2,
    };
    let result = all_or_first_error(syncs, streams, &ctx.control).await;
    limiter::record_integration_run(deps.db, &ctx.stats, row.id, &session.limiter, result).await
}

/// The listed projects, then the group's (subgroups included, name filter applied to the
/// project's path, archived ones skipped), each once.
async fn select_projects(session: &Session<'_>, settings: &GitlabSettings) -> Result<Vec<Project>, SyncError> {
    let mut out: Vec<Project> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for path in &settings.projects {
        let (p, _): (Project, _) = session.get(&format!("projects/{}", encode_id(path))).await?;
        if seen.insert(p.path_with_namespace.to_ascii_lowercase()) {
            out.push(p);
        }
    }
    if let Some(group) = &settings.group {
        let mut next = Some(format!(
            "groups/{}/projects?include_subgroups=true&archived=false&pagination=keyset&order_by=id&sort=asc&per_page={PER_PAGE}",
            encode_id(group)
        ));
        while let Some(url) = next {
            let (page, headers): (Vec<Project>, _) = session.get(&url).await?;
            for p in page {
                // Paths go into REST paths (URL-encoded): one GitLab would never send is skipped.
                if !is_gitlab_path(&p.path_with_namespace) {
                    tracing::warn!(path = %p.path_with_namespace, "skipping a project with an invalid path");
                    continue;
                }
                let matches = settings.name_filter.as_deref().is_none_or(|f| glob_match(f, &p.path));
                if matches && !p.archived && seen.insert(p.path_with_namespace.to_ascii_lowercase()) {
                    out.push(p);
                }
            }
            next = next_link(&headers);
        }
    }
    Ok(out)
}
