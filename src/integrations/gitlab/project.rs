//! One project: merge requests (with commits, notes and approvals) and deployments per the
//! deployment source, each list oldest-updated first from its watermark, a page per
//! transaction with the watermark it reaches. Merge requests come through GraphQL
//! ([`graphql`]); through REST (three more requests per changed merge request) only where
//! `/api/graphql` answers 404, as on a self-managed GitLab from before 12.1.

mod graphql;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use entity::repositories;
use futures_util::{StreamExt, TryStreamExt};
use sea_orm::DatabaseConnection;
use serde::de::DeserializeOwned;

use super::client::{encode_id, next_page};
use super::models::{Approvals, Deployment, MergeRequest, Pipeline};
use super::rows::{deployment_row, mr_row, pipeline_row};
use super::sync::{PER_PAGE, Session};

/// Merge requests per REST list page: each changed one costs three more requests (commits,
/// notes, approvals) before the page is stored, so pages are kept small enough to be stored often.
const MR_PAGE: u32 = 20;
use crate::db;
use crate::db::github::{DeploymentRow, PrRow};
use crate::domain::integration::{DeploymentKind, GitlabSettings};
use crate::integrations::control::Interrupted;
use crate::integrations::github::rows::merge_row;
use crate::integrations::github::sync::{OVERLAP, Share, SyncError};

pub(super) struct ProjectSync<'s, 'a> {
    pub db: &'s DatabaseConnection,
    pub session: &'s Session<'a>,
    pub settings: &'s GitlabSettings,
    pub known_keys: &'s HashSet<String>,
    pub repo: repositories::Model,
    pub share: Share,
    pub total: usize,
    pub done: &'s AtomicUsize,
}

/// Which list a pass reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    MergeRequests,
    Deployments,
    Pipelines,
}

/// Something with an `updated_at`.
trait Updated {
    fn updated(&self) -> DateTime<Utc>;
}

impl Updated for MergeRequest {
    fn updated(&self) -> DateTime<Utc> {
        self.updated_at
    }
}
impl Updated for Deployment {
    fn updated(&self) -> DateTime<Utc> {
        self.updated_at
    }
}
impl Updated for Pipeline {
    fn updated(&self) -> DateTime<Utc> {
        Pipeline::updated(self)
    }
}

/// GitLab's `updated_after` value.
fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl ProjectSync<'_, '_> {
    fn kind(&self) -> DeploymentKind {
        self.settings.deployment_source.kind
    }

    fn path(&self) -> String {
        encode_id(&format!("{}/{}", self.repo.owner, self.repo.name))
    }

    pub async fn run(self) -> Result<(), SyncError> {
        let kind = self.kind();
        let sources = db::github::deployment_sources(self.db, self.repo.id).await?;
        // A switched source is read whole (its rows are not there yet).
        let switched = !sources.is_empty() && !sources.contains(kind.as_str());
        let deploy_watermark = self.repo.deploy_watermark.filter(|_| !switched);
        let pr_since = match kind {
            DeploymentKind::Merges if deploy_watermark.is_none() => None,
            _ => self.repo.pr_watermark.map(|w| w - OVERLAP),
        };
        let mrs = async {
            if !self.graphql_merge_requests(pr_since).await? {
                self.pass(Pass::MergeRequests, pr_since).await?;
            }
            Ok::<_, SyncError>(())
        };
        // GitLab moves `updated_at` when a deployment or pipeline changes status: the overlap is enough.
        let deploy_since = deploy_watermark.map(|w| w - OVERLAP);
        let deploys = async {
            match kind {
                DeploymentKind::Deployments => self.pass(Pass::Deployments, deploy_since).await,
                DeploymentKind::Pipelines => self.pass(Pass::Pipelines, deploy_since).await,
                _ => Ok(()),
            }
        };
        // Two lists with watermarks of their own: read side by side, a project's chain of
        // requests is as long as the longer list, not both (its largest projects set the end
        // of a first sync). One after the other when only one request may be in flight.
        if self.settings.concurrency() == 1 {
            mrs.await?;
            deploys.await?;
        } else {
            tokio::try_join!(mrs, deploys)?;
        }
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.session.ctx.report(
            self.share.at(done as f64 / self.total.max(1) as f64),
            format!(
                "{}: {done} of {} projects done (last: {}/{})",
                self.session.integration, self.total, self.repo.owner, self.repo.name
            ),
        );
        Ok(())
    }

    fn list_url(&self, pass: Pass, since: Option<DateTime<Utc>>, page: u32) -> String {
        let path = self.path();
        let after = since
            .map(|s| format!("&updated_after={}", stamp(s)))
            .unwrap_or_default();
        let per_page = if pass == Pass::MergeRequests { MR_PAGE } else { PER_PAGE };
        let tail = format!("order_by=updated_at&sort=asc&per_page={per_page}&page={page}{after}");
        match pass {
            Pass::MergeRequests => format!("projects/{path}/merge_requests?state=all&{tail}"),
            Pass::Deployments => format!("projects/{path}/deployments?{tail}"),
            Pass::Pipelines => {
                let branch = self.repo.default_branch.clone().unwrap_or_else(|| "main".into());
                format!("projects/{path}/pipelines?ref={}&{tail}", encode_id(&branch))
            }
        }
    }

    /// Reads one list from `since` to its end. After each stored page the next request starts
    /// at the newest `updated_at` stored (GitLab's offset pages shift when an item already read
    /// is updated meanwhile); only a page whose items all share that time moves on by page.
    async fn pass(&self, pass: Pass, since: Option<DateTime<Utc>>) -> Result<(), SyncError> {
        let mut since = since;
        let mut page = 1;
        let mut read: HashSet<(i64, DateTime<Utc>)> = HashSet::new();
        loop {
            let url = self.list_url(pass, since, page);
            let (next, newest) = match pass {
                Pass::MergeRequests => self.mr_page(&url, &mut read).await?,
                Pass::Deployments => self.deploy_page::<Deployment>(&url, pass, &mut read).await?,
                Pass::Pipelines => self.deploy_page::<Pipeline>(&url, pass, &mut read).await?,
            };
            let Some(next) = next else { return Ok(()) };
            match newest {
                Some(n) if since.is_none_or(|s| n > s) => {
                    since = Some(n);
                    page = 1;
                }
                _ => page = next,
            }
        }
    }

    /// A page of merge requests: the changed ones completed and written. Returns the next
    /// page (if any) and the newest `updated_at` on this one.
    async fn mr_page(
        &self,
        url: &str,
        read: &mut HashSet<(i64, DateTime<Utc>)>,
    ) -> Result<(Option<u32>, Option<DateTime<Utc>>), SyncError> {
        let (mrs, headers): (Vec<MergeRequest>, _) = self.session.get(url).await?;
        let next = next_page(&headers);
        let newest = mrs.iter().map(Updated::updated).max();
        let fresh: Vec<MergeRequest> = mrs.into_iter().filter(|m| read.insert((m.iid, m.updated_at))).collect();
        let deploys = self.merge_deploys(fresh.iter());
        let changed = self.changed(&fresh).await?;
        let changed: Vec<MergeRequest> = fresh
            .iter()
            .zip(changed)
            .filter(|(_, c)| *c)
            .map(|(m, _)| m.clone())
            .collect();
        let width = self.session.limiter.stats().ceiling.max(1) as usize;
        let rows: Vec<PrRow> = futures_util::stream::iter(changed.into_iter().map(|m| self.complete(m)))
            .buffered(width)
            .try_collect()
            .await?;
        let fetched = fresh.len() as u64;
        self.write(&rows, &deploys, fetched, Pass::MergeRequests, newest)
            .await?;
        Ok((next, newest))
    }

    /// The deployments merges make (deployment source "merges"; none otherwise).
    fn merge_deploys<'m>(&self, mrs: impl Iterator<Item = &'m MergeRequest>) -> Vec<DeploymentRow> {
        if self.kind() != DeploymentKind::Merges {
            return Vec::new();
        }
        let branch = self.repo.default_branch.clone().unwrap_or_default();
        mrs.filter_map(|m| {
            merge_row(
                m.iid,
                m.merged_at,
                &m.target_branch,
                m.merge_commit_sha.clone().or(m.squash_commit_sha.clone()),
                &branch,
            )
        })
        .collect()
    }

    /// For each merge request, whether it differs from the stored one (new, or updated since).
    async fn changed(&self, mrs: &[MergeRequest]) -> Result<Vec<bool>, SyncError> {
        let number = |m: &MergeRequest| i32::try_from(m.iid).unwrap_or(i32::MAX);
        let numbers: Vec<i32> = mrs.iter().map(number).collect();
        let stored = db::github::stored_pull_updates(self.db, self.repo.id, &numbers).await?;
        Ok(mrs
            .iter()
            .map(|m| stored.get(&number(m)) != Some(&m.updated_at))
            .collect())
    }

    /// A merge request with its commits, notes and approvals.
    async fn complete(&self, mr: MergeRequest) -> Result<PrRow, SyncError> {
        let base = format!("projects/{}/merge_requests/{}", self.path(), mr.iid);
        let (commits_url, notes_url) = (
            format!("{base}/commits"),
            format!("{base}/notes?sort=asc&order_by=created_at"),
        );
        let (commits, notes, approvals) = futures_util::try_join!(
            self.session.all(&commits_url),
            self.session.all(&notes_url),
            self.approvals(&base),
        )?;
        Ok(mr_row(mr, commits, notes, approvals, self.known_keys))
    }

    /// Approvals (GitLab Free answers them too; a 403/404 only means none are kept).
    async fn approvals(&self, base: &str) -> Result<Option<Approvals>, SyncError> {
        use crate::integrations::error::UpstreamError;
        use crate::integrations::request::RequestError;
        match self.session.get::<Approvals>(&format!("{base}/approvals")).await {
            Ok((a, _)) => Ok(Some(a)),
            Err(SyncError::Request {
                source: RequestError::Upstream(UpstreamError::NotFound(_) | UpstreamError::Forbidden(_)),
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn deploy_page<T: DeserializeOwned + Updated + ToRow>(
        &self,
        url: &str,
        pass: Pass,
        read: &mut HashSet<(i64, DateTime<Utc>)>,
    ) -> Result<(Option<u32>, Option<DateTime<Utc>>), SyncError> {
        let (items, headers): (Vec<T>, _) = self.session.get(url).await?;
        let next = next_page(&headers);
        let newest = items.iter().map(Updated::updated).max();
        let pattern = self
            .settings
            .deployment_source
            .pattern
            .clone()
            .unwrap_or_else(|| "*".into());
        let rows: Vec<DeploymentRow> = items
            .iter()
            .filter(|d| read.insert((d.id(), d.updated())))
            .map(|d| d.row(&pattern))
            .collect();
        let fetched = rows.len() as u64;
        self.write(&[], &rows, fetched, pass, newest).await?;
        Ok((next, newest))
    }

    /// Writes a page and moves the pass's watermark to `newest` in one transaction.
    async fn write(
        &self,
        prs: &[PrRow],
        deploys: &[DeploymentRow],
        fetched: u64,
        pass: Pass,
        newest: Option<DateTime<Utc>>,
    ) -> Result<(), SyncError> {
        let txn = db::begin_page(self.db).await?;
        let pulls = db::github::store_pulls(&txn, self.repo.id, prs).await?;
        let written = db::github::store_deployments(&txn, self.repo.id, deploys).await?;
        if let Some(w) = newest {
            match pass {
                Pass::MergeRequests => {
                    db::github::set_pr_watermark(&txn, self.repo.id, w).await?;
                    if self.kind() == DeploymentKind::Merges {
                        db::github::set_deploy_watermark(&txn, self.repo.id, w).await?;
                    }
                }
                Pass::Deployments | Pass::Pipelines => {
                    db::github::set_deploy_watermark(&txn, self.repo.id, w).await?;
                }
            }
        }
        // A force stop that arrived while writing rolls this page back.
        self.session
            .ctx
            .control
            .check()
            .or_else(|i| if i == Interrupted::Paused { Ok(()) } else { Err(i) })?;
        txn.commit().await?;
        let stats = &self.session.ctx.stats;
        if pass == Pass::MergeRequests {
            stats.add_pulls(fetched, prs, &pulls);
            stats.add("deployments", deploys.len() as u64, written.inserted, written.updated);
        } else {
            stats.add("deployments", fetched, written.inserted, written.updated);
        }
        Ok(())
    }
}

/// A deployment-like list item as a row.
trait ToRow {
    fn id(&self) -> i64;
    fn row(&self, pattern: &str) -> DeploymentRow;
}

impl ToRow for Deployment {
    fn id(&self) -> i64 {
        self.id
    }
    fn row(&self, pattern: &str) -> DeploymentRow {
        deployment_row(self, pattern)
    }
}

impl ToRow for Pipeline {
    fn id(&self) -> i64 {
        self.id
    }
    fn row(&self, _: &str) -> DeploymentRow {
        pipeline_row(self)
    }
}
