//! A repository's pull-request pages: unchanged pull requests skipped, changed ones completed
//! (batched `node(id:)` follow-ups, review comments from the REST stream) and turned into rows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Collected, Page, RepoSync, drain, number};
use crate::db;
use crate::db::github::{COMMENT_KIND_REVIEW, CommentRow};
use crate::domain::integration::DeploymentKind;
use crate::integrations::github::graphql::{FOLLOW_UP_BATCH, FollowUp, Nested, alias, follow_up_body};
use crate::integrations::github::models::{Conn, FollowUpData, PullRequest, ReviewComment};
use crate::integrations::github::rows::{FullPull, merge_row, pull_row};
use crate::integrations::github::session::RestPage;
use crate::integrations::github::sync::{PassCursor, SyncError};

impl RepoSync<'_, '_> {
    pub(super) async fn pull_page(
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
    pub(super) async fn complete_pulls(&self, pulls: &mut [FullPull]) -> Result<(), SyncError> {
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
    pub(super) async fn follow_ups(&self, mut queue: Vec<FollowUp>) -> Result<HashMap<String, Collected>, SyncError> {
        let mut out: HashMap<String, Collected> = HashMap::new();
        while !queue.is_empty() {
            let batch: Vec<FollowUp> = queue.drain(..queue.len().min(FOLLOW_UP_BATCH)).collect();
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
    pub(super) async fn review_comments(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<HashMap<i32, Vec<CommentRow>>, SyncError> {
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
}
