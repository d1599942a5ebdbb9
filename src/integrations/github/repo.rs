//! One repository: pull requests (UPDATED_AT DESC, down to the watermark) and deployments
//! (per the deployment source), a page per transaction with the checkpoint.
//!
//! A page's changed pull requests (stored `updated` differs) are completed before they are
//! written: nested connections that said `hasNextPage` are read to the end with batched
//! `node(id:)` follow-ups, and review (line) comments — which the GraphQL schema served here
//! does not have — come from the repository-wide REST stream
//! `/repos/{o}/{r}/pulls/comments?since=` (read once per pass, when the first page with a
//! changed pull request arrives: any comment made before that page was read is in it, and a
//! later one moves its pull request above the watermark). Each changed PR is then written with
//! all its rows replaced; unchanged ones are not touched.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::repositories;
use sea_orm::{DatabaseConnection, TransactionTrait};

use super::graphql::{DeployConn, FollowUp, Nested, RepoQuery, alias, follow_up_body};
use super::models::{
    Conn, Deployment, DeploymentStatus, FollowUpData, IssueComment, PrCommit, PullRequest, Release, RepoPageData,
    Review, ReviewComment, RunsPage,
};
use super::rows::{FullPull, deployment_row, merge_row, pull_row, release_row, run_row};
use super::session::{RestPage, Session};
use super::sync::{
    DEPLOY_LOOKBACK, MAX_UNFINISHED_AGE, OVERLAP, PassCursor, RELEASE_LOOKBACK, RepoCursor, Share, SyncError,
    load_checkpoint, save_checkpoint,
};
use crate::db;
use crate::db::github::{COMMENT_KIND_REVIEW, CommentRow, DeploymentRow, PrRow, RepoMeta};
use crate::domain::integration::{DeploymentKind, GithubSettings, glob_match};
use crate::integrations::control::Interrupted;

pub(super) struct RepoSync<'s, 'a> {
    pub db: &'s DatabaseConnection,
    pub session: &'s Session<'a>,
    pub settings: &'s GithubSettings,
    pub known_keys: &'s HashSet<String>,
    pub repo: repositories::Model,
    /// `integration:owner/name`: the repository's place in the checkpoint.
    pub key: String,
    pub share: Share,
}

/// What one page write carries.
#[derive(Default)]
struct Page {
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
struct Collected {
    reviews: Vec<Review>,
    commits: Vec<PrCommit>,
    comments: Vec<IssueComment>,
    statuses: Vec<DeploymentStatus>,
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

    pub async fn run(mut self, resume: Option<&RepoCursor>) -> Result<(), SyncError> {
        let kind = self.kind();
        let mut cur = match resume {
            Some(c) if c.source.as_deref() == Some(kind.as_str()) => c.clone(),
            _ => self.fresh_cursor().await?,
        };
        let (owner, name) = (self.repo.owner.clone(), self.repo.name.clone());
        let deploy_conn = match kind {
            DeploymentKind::Deployments => Some(DeployConn::Deployments),
            DeploymentKind::Releases => Some(DeployConn::Releases),
            _ => None,
        };
        let mut stream: Option<HashMap<i32, Vec<CommentRow>>> = None;
        let mut meta_checked = false;
        let mut total: Option<u64> = None;
        self.report(&cur, total);
        loop {
            let query = RepoQuery {
                prs: (!cur.prs.done).then(|| cur.prs.after.clone()),
                deploys: deploy_conn
                    .filter(|_| !cur.deploys.done)
                    .map(|c| (c, cur.deploys.after.clone())),
            };
            if query.prs.is_none() && query.deploys.is_none() {
                break;
            }
            let data: RepoPageData = self
                .session
                .graphql(|page| query.body(&owner, &name, page), |page| query.cost(page), true)
                .await?;
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
            if let Some(conn) = node.pull_requests {
                total = conn.total_count.or(total);
                self.pull_page(conn, &mut cur.prs, &mut stream, &mut page).await?;
            }
            if let Some(conn) = node.deployments {
                self.deployment_page(conn, &mut cur.deploys, &mut page).await?;
            }
            if let Some(conn) = node.releases {
                Self::release_page(conn, &mut cur.deploys, &mut page);
            }
            self.write(&cur, page).await?;
            self.report(&cur, total);
        }
        if kind == DeploymentKind::WorkflowRuns && !cur.deploys.done {
            self.runs(&mut cur).await?;
        }
        Ok(())
    }

    /// Progress within the repository's share: pull requests read of all there are (a full
    /// pass), or half-way (an incremental pass reads few pages).
    fn report(&self, cur: &RepoCursor, total: Option<u64>) {
        let fraction = match total {
            _ if cur.prs.done && cur.deploys.done => 1.0,
            Some(t) if t > 0 && cur.prs.since.is_none() => cur.prs.stored as f64 / t as f64,
            _ => 0.5,
        };
        self.session.ctx.report(
            self.share.at(fraction),
            format!(
                "{}: {}/{}: {} pull requests, {} deployments",
                self.session.integration, self.repo.owner, self.repo.name, cur.prs.stored, cur.deploys.stored
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

    async fn pull_page(
        &self,
        mut conn: Conn<PullRequest>,
        cur: &mut PassCursor,
        stream: &mut Option<HashMap<i32, Vec<CommentRow>>>,
        page: &mut Page,
    ) -> Result<(), SyncError> {
        let next = conn.next().map(String::from);
        let since = cur.since;
        let (fresh, finished) = Self::cut(conn.take_nodes(), next, cur, |p| p.updated_at);
        page.prs_fetched = fresh.len() as u64;
        page.prs_finished = finished;
        if self.kind() == DeploymentKind::Merges {
            // From every pull request read, changed or not (the source may have been switched).
            let branch = self.repo.default_branch.clone().unwrap_or_default();
            page.deploys.extend(fresh.iter().filter_map(|p| {
                merge_row(
                    p.number,
                    p.merged_at,
                    &p.base_ref_name,
                    p.merge_commit.as_ref().map(|c| c.oid.clone()),
                    &branch,
                )
            }));
            page.deploys_fetched += page.deploys.len() as u64;
            page.deploys_finished = finished;
        }
        let numbers: Vec<i32> = fresh.iter().map(|p| number(p.number)).collect();
        let stored = db::github::stored_pull_updates(self.db, self.repo.id, &numbers).await?;
        let mut changed: Vec<FullPull> = fresh
            .into_iter()
            .filter(|p| stored.get(&number(p.number)) != Some(&p.updated_at))
            .map(FullPull::new)
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        self.complete_pulls(&mut changed).await?;
        if stream.is_none() {
            *stream = Some(self.review_comments(since).await?);
        }
        let streamed: Option<&HashMap<i32, Vec<CommentRow>>> = stream.as_ref();
        let changed_numbers: Vec<i32> = changed.iter().map(|f| number(f.pr.number)).collect();
        let mut kept = db::github::stored_review_comments(self.db, self.repo.id, &changed_numbers).await?;
        for full in changed {
            let n = number(full.pr.number);
            let mut comments = kept.remove(&n).unwrap_or_default();
            for c in streamed.and_then(|s| s.get(&n)).into_iter().flatten() {
                match comments.iter_mut().find(|k| k.node_id == c.node_id) {
                    Some(k) => *k = c.clone(),
                    None => comments.push(c.clone()),
                }
            }
            page.prs.push(pull_row(full, comments, self.known_keys));
        }
        Ok(())
    }

    /// Reads the rest of every nested connection of `pulls` that has more.
    async fn complete_pulls(&self, pulls: &mut [FullPull]) -> Result<(), SyncError> {
        let pending: Vec<FollowUp> = pulls
            .iter()
            .filter_map(|f| {
                let conns: Vec<(Nested, String)> = [
                    (Nested::Reviews, f.pr.reviews.next()),
                    (Nested::Commits, f.pr.commits.next()),
                    (Nested::Comments, f.pr.comments.next()),
                ]
                .into_iter()
                .filter_map(|(n, c)| c.map(|c| (n, c.to_string())))
                .collect();
                (!conns.is_empty()).then(|| FollowUp {
                    node_id: f.pr.id.clone(),
                    conns,
                })
            })
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let mut collected = self.follow_ups(pending).await?;
        for f in pulls.iter_mut() {
            if let Some(c) = collected.remove(&f.pr.id) {
                f.reviews.extend(c.reviews);
                f.commits.extend(c.commits);
                f.comments.extend(c.comments);
            }
        }
        Ok(())
    }

    /// Runs follow-ups in batches until every connection is read to its end.
    async fn follow_ups(&self, mut queue: Vec<FollowUp>) -> Result<HashMap<String, Collected>, SyncError> {
        let mut out: HashMap<String, Collected> = HashMap::new();
        while !queue.is_empty() {
            let batch: Vec<FollowUp> = queue
                .drain(..queue.len().min(super::graphql::FOLLOW_UP_BATCH))
                .collect();
            let (body, cost) = follow_up_body(&batch);
            let mut data: FollowUpData = self.session.graphql(|_| body.clone(), |_| cost, false).await?;
            self.session.ctx.stats.add("follow_ups", batch.len() as u64, 0, 0);
            for (i, item) in batch.into_iter().enumerate() {
                let mut node = data
                    .nodes
                    .remove(&alias(i))
                    .flatten()
                    .ok_or_else(|| self.graphql_error(format!("node {} is gone", item.node_id)))?;
                let entry = out.entry(item.node_id.clone()).or_default();
                let mut again = Vec::new();
                for (nested, _) in &item.conns {
                    let next = match nested {
                        Nested::Reviews => drain(node.reviews.take(), &mut entry.reviews),
                        Nested::Commits => drain(node.commits.take(), &mut entry.commits),
                        Nested::Comments => drain(node.comments.take(), &mut entry.comments),
                        Nested::Statuses => drain(node.statuses.take(), &mut entry.statuses),
                    }
                    .ok_or_else(|| self.graphql_error(format!("node {} has no {nested:?}", item.node_id)))?;
                    if let Some(c) = next {
                        again.push((*nested, c));
                    }
                }
                if !again.is_empty() {
                    queue.push(FollowUp {
                        node_id: item.node_id,
                        conns: again,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Review comments updated since `since` (all of them without), by pull-request number.
    async fn review_comments(&self, since: Option<DateTime<Utc>>) -> Result<HashMap<i32, Vec<CommentRow>>, SyncError> {
        let mut url = format!(
            "repos/{}/{}/pulls/comments?sort=updated&direction=asc&per_page=100",
            self.repo.owner, self.repo.name
        );
        if let Some(s) = since {
            url.push_str(&format!("&since={}", s.format("%Y-%m-%dT%H:%M:%SZ")));
        }
        let mut out: HashMap<i32, Vec<CommentRow>> = HashMap::new();
        let mut next = Some(url);
        while let Some(u) = next {
            let page: RestPage<Vec<ReviewComment>> = self.session.rest(&u, false).await?;
            for c in page.items {
                let Some(n) = c.pull_number() else { continue };
                out.entry(n).or_default().push(CommentRow {
                    node_id: c.node_id,
                    kind: COMMENT_KIND_REVIEW,
                    author: c.user.as_ref().map(|u| u.login.clone()),
                    author_is_bot: c.user.as_ref().is_some_and(|u| u.is_bot()),
                    created: c.created_at,
                    updated: c.updated_at,
                });
            }
            next = page.next;
        }
        Ok(out)
    }

    async fn deployment_page(
        &self,
        mut conn: Conn<Deployment>,
        cur: &mut PassCursor,
        page: &mut Page,
    ) -> Result<(), SyncError> {
        let next = conn.next().map(String::from);
        let (mut fresh, finished) = Self::cut(conn.take_nodes(), next, cur, |d| d.created_at);
        page.deploys_fetched = fresh.len() as u64;
        page.deploys_finished = finished;
        let mut statuses: Vec<Vec<DeploymentStatus>> = fresh.iter_mut().map(|d| d.statuses.take_nodes()).collect();
        let pending: Vec<FollowUp> = fresh
            .iter()
            .filter_map(|d| {
                d.statuses.next().map(|c| FollowUp {
                    node_id: d.id.clone(),
                    conns: vec![(Nested::Statuses, c.to_string())],
                })
            })
            .collect();
        if !pending.is_empty() {
            let mut collected = self.follow_ups(pending).await?;
            for (d, s) in fresh.iter().zip(statuses.iter_mut()) {
                if let Some(c) = collected.remove(&d.id) {
                    s.extend(c.statuses);
                }
            }
        }
        let pattern = self.pattern();
        page.deploys
            .extend(fresh.iter().zip(&statuses).map(|(d, s)| deployment_row(d, s, &pattern)));
        Ok(())
    }

    fn release_page(mut conn: Conn<Release>, cur: &mut PassCursor, page: &mut Page) {
        let next = conn.next().map(String::from);
        let (fresh, finished) = Self::cut(conn.take_nodes(), next, cur, |r| r.created_at);
        page.deploys_fetched = fresh.len() as u64;
        page.deploys_finished = finished;
        page.deploys.extend(fresh.iter().filter_map(release_row));
    }

    /// Workflow runs (REST only): runs on the default branch, newest first, created since the
    /// watermark minus a day (or the oldest stored unfinished one); those whose name matches
    /// the pattern are deployments (unfinished ones too, so they are read again until done).
    async fn runs(&self, cur: &mut RepoCursor) -> Result<(), SyncError> {
        let Some(branch) = self.repo.default_branch.clone() else {
            // An empty repository has no default branch and no runs on it.
            cur.deploys.done = true;
            return self.write(cur, Page::default()).await;
        };
        let pattern = self.pattern();
        let mut url = match cur.deploys.after.clone() {
            Some(next) => next,
            None => {
                let mut u = format!(
                    "repos/{}/{}/actions/runs?branch={}&per_page=100",
                    self.repo.owner,
                    self.repo.name,
                    encode(&branch)
                );
                if let Some(s) = cur.deploys.since {
                    u.push_str(&format!(
                        "&created={}",
                        encode(&format!(">={}", s.format("%Y-%m-%dT%H:%M:%SZ")))
                    ));
                }
                u
            }
        };
        loop {
            let got: RestPage<RunsPage> = self.session.rest(&url, true).await?;
            let runs = got.items.workflow_runs;
            cur.deploys.max_seen = runs.iter().map(|r| r.created_at).chain(cur.deploys.max_seen).max();
            let rows: Vec<DeploymentRow> = runs
                .iter()
                .filter(|r| r.head_branch.as_deref() == Some(branch.as_str()))
                .filter(|r| r.name.as_deref().is_some_and(|n| glob_match(&pattern, n)))
                .map(run_row)
                .collect();
            cur.deploys.stored += rows.len() as u64;
            cur.deploys.done = got.next.is_none();
            cur.deploys.after = got.next.clone();
            let page = Page {
                deploys_fetched: rows.len() as u64,
                deploys: rows,
                deploys_finished: cur.deploys.done,
                ..Default::default()
            };
            self.write(cur, page).await?;
            self.report(cur, None);
            match got.next {
                Some(next) => url = next,
                None => return Ok(()),
            }
        }
    }

    /// Writes a page, the checkpoint and (when a pass ends) its watermark in one transaction.
    async fn write(&self, cur: &RepoCursor, page: Page) -> Result<(), SyncError> {
        let txn = self.db.begin().await?;
        if let Some(meta) = &page.meta {
            db::github::set_repository_meta(&txn, self.repo.id, meta).await?;
        }
        let pulls = db::github::store_pulls(&txn, self.repo.id, &page.prs).await?;
        let deploys = db::github::store_deployments(&txn, self.repo.id, &page.deploys).await?;
        let mut cp = load_checkpoint(&txn).await?;
        if cur.prs.done && cur.deploys.done {
            cp.repos.remove(&self.key);
            cp.finished.insert(self.key.clone());
        } else {
            cp.repos.insert(self.key.clone(), cur.clone());
        }
        save_checkpoint(&txn, &cp).await?;
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
        let stats = &self.session.ctx.stats;
        let nested = |f: fn(&PrRow) -> usize| page.prs.iter().map(f).sum::<usize>() as u64;
        stats.add(
            "pull_requests",
            page.prs_fetched,
            pulls.pulls.inserted,
            pulls.pulls.updated,
        );
        stats.add(
            "reviews",
            nested(|p| p.reviews.len()),
            pulls.reviews.inserted,
            pulls.reviews.updated,
        );
        stats.add(
            "commits",
            nested(|p| p.commits.len()),
            pulls.commits.inserted,
            pulls.commits.updated,
        );
        stats.add(
            "comments",
            nested(|p| p.comments.len()),
            pulls.comments.inserted,
            pulls.comments.updated,
        );
        stats.add(
            "links",
            nested(|p| p.links.len()),
            pulls.links.inserted,
            pulls.links.updated,
        );
        stats.add("deployments", page.deploys_fetched, deploys.inserted, deploys.updated);
        Ok(())
    }
}

fn number(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
