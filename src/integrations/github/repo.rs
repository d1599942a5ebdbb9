//! One repository: pull requests (UPDATED_AT DESC, down to the watermark) and deployments
//! (per the deployment source), a page per transaction with the checkpoint.
//!
//! A page's changed pull requests (stored `updated` differs) are completed before they are
//! written: nested connections that said `hasNextPage` — a pull request's reviews, commits and
//! comments, then each review's line comments — are read to the end with batched `node(id:)`
//! follow-ups. Each changed PR is then written with all its rows replaced; unchanged ones are
//! not touched.

mod deploys;
mod pulls;

use pulls::HeldPulls;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::repositories;
use sea_orm::DatabaseConnection;

use super::graphql::{DeployConn, RepoQuery};
use super::models::{Conn, DeploymentStatus, IssueComment, PrCommit, RepoPageData, Review};
use super::session::Session;
use super::sync::{
    Checkpoint, DEPLOY_LOOKBACK, MAX_UNFINISHED_AGE, OVERLAP, PassCursor, RELEASE_LOOKBACK, RepoCursor, Share,
    SyncError, save_checkpoint,
};
use crate::db;
use crate::db::github::{DeploymentRow, PrRow, RepoMeta};
use crate::domain::integration::{DeploymentKind, GithubSettings};
use crate::integrations::control::Interrupted;

pub(super) struct RepoSync<'s, 'a> {
    pub db: &'s DatabaseConnection,
    pub session: &'s Session<'a>,
    pub settings: &'s GithubSettings,
    pub known_keys: &'s HashSet<String>,
    pub repo: repositories::Model,
    /// `integration:owner/name`: the repository's place in the checkpoint.
    pub key: String,
    pub shared: &'s RunShared,
    /// Pull requests or deployments to read, whichever is more, if sized before the start.
    pub size: Option<u64>,
}

/// What the repositories synced side by side share: the checkpoint as committed (held while a
/// page is written: writes take turns, so the checkpoint written is the committed one plus
/// that page) and the progress.
pub(super) struct RunShared {
    pub checkpoint: tokio::sync::Mutex<Checkpoint>,
    pub share: Share,
    pub started: Instant,
    pub repos: usize,
    pub repos_done: AtomicUsize,
    pub in_flight: AtomicUsize,
    pub prs: AtomicU64,
    pub deploys: AtomicU64,
}

impl RunShared {
    pub fn new(checkpoint: Checkpoint, share: Share, repos: usize) -> Self {
        Self {
            checkpoint: tokio::sync::Mutex::new(checkpoint),
            share,
            started: Instant::now(),
            repos,
            repos_done: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            prs: AtomicU64::new(0),
            deploys: AtomicU64::new(0),
        }
    }
}

/// What one page write carries.
#[derive(Default)]
pub(super) struct Page {
    prs: Vec<PrRow>,
    deploys: Vec<DeploymentRow>,
    prs_fetched: u64,
    deploys_fetched: u64,
    prs_finished: bool,
    deploys_finished: bool,
    meta: Option<RepoMeta>,
}

/// Items read by follow-ups, per node id.
#[derive(Default)]
pub(super) struct Collected {
    reviews: Vec<Review>,
    commits: Vec<PrCommit>,
    comments: Vec<IssueComment>,
    statuses: Vec<DeploymentStatus>,
    line_comments: Vec<IssueComment>,
}

/// Moves a follow-up connection's items into `sink`; its next cursor, if any.
fn drain<T>(conn: Option<Conn<T>>, sink: &mut Vec<T>) -> Option<Option<String>> {
    let mut conn = conn?;
    sink.extend(conn.take_nodes());
    Some(conn.next().map(String::from))
}

impl RepoSync<'_, '_> {
    fn kind(&self) -> DeploymentKind {
        self.settings.deployment_source.kind
    }

    fn pattern(&self) -> String {
        let s = &self.settings.deployment_source;
        s.pattern
            .clone()
            .or_else(|| s.kind.default_pattern().map(String::from))
            .unwrap_or_else(|| "*".into())
    }

    fn graphql_error(&self, message: String) -> SyncError {
        SyncError::Graphql {
            integration: self.session.integration.clone(),
            message,
        }
    }

    /// A pass from the watermarks. The deployment watermark belongs to the current source: if
    /// the repository only has rows of another one, the source was switched and is read whole.
    async fn fresh_cursor(&self) -> Result<RepoCursor, SyncError> {
        let kind = self.kind();
        let sources = db::github::deployment_sources(self.db, self.repo.id).await?;
        let switched = !sources.contains(kind.as_str()) && !sources.is_empty();
        let deploy_watermark = self.repo.deploy_watermark.filter(|_| !switched);
        let lookback = match kind {
            DeploymentKind::Releases => RELEASE_LOOKBACK,
            _ => DEPLOY_LOOKBACK,
        };
        // Merges come from pull requests: a switched source re-reads them all.
        let pr_since = match kind {
            DeploymentKind::Merges if deploy_watermark.is_none() => None,
            _ => self.repo.pr_watermark.map(|w| w - OVERLAP),
        };
        let mut deploy_since = deploy_watermark.map(|w| w - lookback);
        if matches!(kind, DeploymentKind::Deployments | DeploymentKind::WorkflowRuns)
            && let Some(since) = deploy_since
        {
            let not_before = Utc::now() - MAX_UNFINISHED_AGE;
            let unfinished =
                db::github::oldest_unfinished_deployment(self.db, self.repo.id, kind.as_str(), not_before).await?;
            deploy_since = Some(unfinished.map_or(since, |u| u.min(since)));
        }
        Ok(RepoCursor {
            source: Some(kind.as_str().to_string()),
            prs: PassCursor {
                since: pr_since,
                ..Default::default()
            },
            deploys: PassCursor {
                done: kind == DeploymentKind::Merges,
                since: deploy_since,
                ..Default::default()
            },
        })
    }

    /// Syncs the repository (counted as in flight meanwhile).
    pub async fn run(self, resume: Option<&RepoCursor>) -> Result<(), SyncError> {
        let shared = self.shared;
        shared.in_flight.fetch_add(1, Ordering::Relaxed);
        let result = self.run_passes(resume).await;
        shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        if result.is_ok() {
            shared.repos_done.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn run_passes(mut self, resume: Option<&RepoCursor>) -> Result<(), SyncError> {
        let kind = self.kind();
        let mut cur = match resume {
            Some(c) if c.source.as_deref() == Some(kind.as_str()) => c.clone(),
            _ => self.fresh_cursor().await?,
        };
        let (owner, name) = (self.repo.owner.clone(), self.repo.name.clone());
        let deploy_conn = DeployConn::of(kind);
        let mut meta_checked = false;
        self.report(0, 0);
        // What the chain still has to read, for the limiter: unknown (first) until a page says.
        let page_size = u64::from(self.session.page()).max(1);
        set_rank(self.size.map_or(u64::MAX, |n| n.div_ceil(page_size)));
        let (mut prs_read, mut deploys_read) = (0u64, 0u64);
        let (mut prs_total, mut deploys_total) = (None, None);
        // A page whose pull requests need follow-ups waits for the next page's answer, which
        // carries them (the checkpoint it writes is still its own).
        let mut held: Option<(RepoCursor, Page, HeldPulls)> = None;
        loop {
            let carry = held.as_ref().map(|(.., h)| h.carry()).unwrap_or_default();
            let query = RepoQuery {
                prs: (!cur.prs.done).then(|| cur.prs.after.clone()),
                deploys: deploy_conn
                    .filter(|_| !cur.deploys.done)
                    .map(|c| (c, cur.deploys.after.clone())),
                follow_ups: carry,
            };
            if query.prs.is_none() && query.deploys.is_none() {
                if let Some((at, mut page, pulls)) = held.take() {
                    self.finish_pulls(pulls, None, &mut page).await?;
                    self.write(&at, page).await?;
                }
                break;
            }
            let mut data: RepoPageData = self
                .session
                .graphql(|page| query.body(&owner, &name, page), |page| query.cost(page), true)
                .await?;
            if let Some((at, mut page, pulls)) = held.take() {
                let answered = (query.follow_ups, std::mem::take(&mut data.nodes));
                self.finish_pulls(pulls, Some(answered), &mut page).await?;
                self.write(&at, page).await?;
            }
            let node = data
                .repository
                .ok_or_else(|| self.graphql_error(format!("repository {owner}/{name} not found")))?;
            let mut page = Page::default();
            if !meta_checked {
                meta_checked = true;
                let meta = RepoMeta {
                    node_id: Some(node.id.clone()),
                    default_branch: node.default_branch_ref.as_ref().map(|r| r.name.clone()),
                    archived: node.is_archived,
                };
                if meta.node_id != self.repo.node_id
                    || meta.default_branch != self.repo.default_branch
                    || meta.archived != self.repo.archived
                {
                    self.repo.node_id = meta.node_id.clone();
                    self.repo.default_branch = meta.default_branch.clone();
                    self.repo.archived = meta.archived;
                    page.meta = Some(meta);
                }
            }
            let mut pulls = None;
            if let Some(conn) = node.pull_requests {
                prs_read += conn.nodes.len() as u64;
                prs_total = conn.total_count.or(prs_total);
                pulls = Some(self.pull_page(conn, &mut cur.prs, &mut page).await?);
            }
            if let Some(conn) = node.deployments {
                deploys_read += conn.nodes.len() as u64;
                deploys_total = conn.total_count.or(deploys_total);
                self.deployment_page(conn, &mut cur.deploys, &mut page).await?;
            }
            if let Some(conn) = node.releases {
                deploys_read += conn.nodes.len() as u64;
                deploys_total = conn.total_count.or(deploys_total);
                Self::release_page(conn, &mut cur.deploys, &mut page);
            }
            // Pull-request and deployment pages travel together: the longer pass sets the rank.
            let page_size = u64::from(self.session.page()).max(1);
            let left = |done: bool, total: Option<u64>, read: u64| match (done, total) {
                (true, _) => 0,
                (false, Some(t)) => t.saturating_sub(read).div_ceil(page_size).max(1),
                (false, None) => 1,
            };
            set_rank(left(cur.prs.done, prs_total, prs_read).max(left(
                cur.deploys.done || deploy_conn.is_none(),
                deploys_total,
                deploys_read,
            )));
            match pulls {
                Some(pulls) if !pulls.complete() => held = Some((cur.clone(), page, pulls)),
                Some(pulls) => {
                    self.finish_pulls(pulls, None, &mut page).await?;
                    self.write(&cur, page).await?;
                }
                None => self.write(&cur, page).await?,
            }
        }
        if kind == DeploymentKind::WorkflowRuns && !cur.deploys.done {
            self.runs(&mut cur).await?;
        }
        Ok(())
    }

    /// Progress of the whole run: repositories done of all, what is stored, how many
    /// repositories are in flight and the pull requests per second.
    fn report(&self, prs: u64, deploys: u64) {
        let sh = self.shared;
        let prs = sh.prs.fetch_add(prs, Ordering::Relaxed) + prs;
        let deploys = sh.deploys.fetch_add(deploys, Ordering::Relaxed) + deploys;
        let done = sh.repos_done.load(Ordering::Relaxed);
        let in_flight = sh.in_flight.load(Ordering::Relaxed);
        let secs = sh.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { prs as f64 / secs } else { 0.0 };
        self.session.ctx.report(
            sh.share.at(done as f64 / sh.repos.max(1) as f64),
            format!(
                "{}: {prs} pull requests, {deploys} deployments stored; {done} of {} repositories done, {in_flight} in flight (last: {}/{}), {rate:.0} pull requests/s",
                self.session.integration, sh.repos, self.repo.owner, self.repo.name
            ),
        );
    }

    /// Splits a newest-first page at `since`; whether the pass ends with it.
    fn cut<T>(
        nodes: Vec<T>,
        next: Option<String>,
        cur: &mut PassCursor,
        at: impl Fn(&T) -> DateTime<Utc>,
    ) -> (Vec<T>, bool) {
        let since = cur.since;
        let older = nodes.iter().any(|n| since.is_some_and(|s| at(n) < s));
        let fresh: Vec<T> = nodes.into_iter().filter(|n| since.is_none_or(|s| at(n) >= s)).collect();
        cur.max_seen = fresh.iter().map(&at).chain(cur.max_seen).max();
        cur.stored += fresh.len() as u64;
        let finished = next.is_none() || older;
        cur.after = if finished { None } else { next };
        cur.done = finished;
        (fresh, finished)
    }

    /// Writes a page, the checkpoint and (when a pass ends) its watermark in one transaction.
    async fn write(&self, cur: &RepoCursor, page: Page) -> Result<(), SyncError> {
        let mut committed = self.shared.checkpoint.lock().await;
        let txn = db::begin_page(self.db).await?;
        if let Some(meta) = &page.meta {
            db::github::set_repository_meta(&txn, self.repo.id, meta).await?;
        }
        let pulls = db::github::store_pulls(&txn, self.repo.id, &page.prs).await?;
        let deploys = db::github::store_deployments(&txn, self.repo.id, &page.deploys).await?;
        let mut cp = committed.clone();
        if cur.prs.done && cur.deploys.done {
            cp.repos.remove(&self.key);
            cp.finished.insert(self.key.clone());
        } else {
            cp.repos.insert(self.key.clone(), cur.clone());
        }
        save_checkpoint(&txn, &cp, self.session.ctx.fence()).await?;
        if page.prs_finished
            && let Some(w) = cur
                .prs
                .max_seen
                .filter(|w| self.repo.pr_watermark.is_none_or(|old| *w > old))
        {
            db::github::set_pr_watermark(&txn, self.repo.id, w).await?;
        }
        if page.deploys_finished
            && let Some(w) = cur
                .deploys
                .max_seen
                .or(cur.prs.max_seen.filter(|_| self.kind() == DeploymentKind::Merges))
                .filter(|w| self.repo.deploy_watermark.is_none_or(|old| *w > old))
        {
            db::github::set_deploy_watermark(&txn, self.repo.id, w).await?;
        }
        // A force stop that arrived while writing rolls this page back.
        self.session
            .ctx
            .control
            .check()
            .or_else(|i| if i == Interrupted::Paused { Ok(()) } else { Err(i) })?;
        txn.commit().await?;
        *committed = cp;
        drop(committed);
        self.report(page.prs_fetched, page.deploys_fetched);
        let stats = &self.session.ctx.stats;
        stats.add_pulls(page.prs_fetched, &page.prs, &pulls);
        stats.add("deployments", page.deploys_fetched, deploys.inserted, deploys.updated);
        Ok(())
    }
}

/// This repository's [`ScopeStats::rank`](crate::integrations::control::ScopeStats::rank).
fn set_rank(rank: u64) {
    crate::integrations::control::in_current_scope(|s| s.rank.store(rank, Ordering::Relaxed));
}

fn number(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
