//! A repository's pull-request pages: unchanged pull requests skipped, changed ones completed
//! (batched `node(id:)` follow-ups for pull requests' and reviews' connections that have more)
//! and turned into rows.

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt};

use super::{Collected, Page, RepoSync, drain, number};
use crate::db;
use crate::domain::integration::DeploymentKind;
use crate::integrations::github::graphql::{FOLLOW_UP_BATCH, FollowUp, Nested, alias, follow_up_body};
use crate::integrations::github::models::{Conn, FollowUpData, FollowUpNode, PullRequest};
use crate::integrations::github::rows::{FullPull, merge_row, pull_row};
use crate::integrations::github::sync::{PassCursor, SyncError};

/// A page's changed pull requests, waiting for the rest of their nested connections: the
/// first [`FOLLOW_UP_BATCH`] follow-ups ride along with the repository's next page.
pub(super) struct HeldPulls {
    pulls: Vec<FullPull>,
    pending: Vec<FollowUp>,
}

impl HeldPulls {
    /// The follow-ups to send with the next page.
    pub(super) fn carry(&self) -> Vec<FollowUp> {
        self.pending.iter().take(FOLLOW_UP_BATCH).cloned().collect()
    }

    /// Whether the pull requests are complete as they are.
    pub(super) fn complete(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Follow-ups answered with another request, and the nodes that came back, by alias.
pub(super) type Answered = (Vec<FollowUp>, HashMap<String, Option<FollowUpNode>>);

impl RepoSync<'_, '_> {
    /// A page of pull requests: the changed ones, with the follow-ups they still need (none
    /// sent yet).
    pub(super) async fn pull_page(
        &self,
        mut conn: Conn<PullRequest>,
        cur: &mut PassCursor,
        page: &mut Page,
    ) -> Result<HeldPulls, SyncError> {
        let next = conn.next().map(String::from);
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
        let pulls: Vec<FullPull> = fresh
            .into_iter()
            .filter(|p| stored.get(&number(p.number)) != Some(&p.updated_at))
            .map(FullPull::new)
            .collect();
        let pending = pulls
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
        Ok(HeldPulls { pulls, pending })
    }

    /// Reads the rest of every nested connection of the held pull requests (`answered`: those
    /// that rode along with the next page) and adds their rows to `page`.
    pub(super) async fn finish_pulls(
        &self,
        held: HeldPulls,
        answered: Option<Answered>,
        page: &mut Page,
    ) -> Result<(), SyncError> {
        let HeldPulls { mut pulls, pending } = held;
        if pulls.is_empty() {
            return Ok(());
        }
        let carried = answered.as_ref().map_or(0, |(items, _)| items.len());
        if carried > 0 {
            self.session.ctx.stats.add("follow_ups", carried as u64, 0, 0);
        }
        if !pending.is_empty() {
            let rest = pending[carried.min(pending.len())..].to_vec();
            let mut collected = self.follow_ups(rest, answered.into_iter().collect()).await?;
            for f in pulls.iter_mut() {
                if let Some(c) = collected.remove(&f.pr.id) {
                    f.reviews.extend(c.reviews);
                    f.commits.extend(c.commits);
                    f.comments.extend(c.comments);
                }
            }
        }
        // Every review is read now; then the line comments of those with more than a page.
        let mut owner: HashMap<String, usize> = HashMap::new();
        let mut pending = Vec::new();
        for (i, f) in pulls.iter_mut().enumerate() {
            for r in &mut f.reviews {
                let Some(conn) = r.line_comments.as_mut() else { continue };
                f.line_comments.extend(conn.take_nodes());
                if let Some(cursor) = conn.next() {
                    owner.insert(r.id.clone(), i);
                    pending.push(FollowUp {
                        node_id: r.id.clone(),
                        conns: vec![(Nested::LineComments, cursor.to_string())],
                    });
                }
            }
        }
        if !pending.is_empty() {
            for (review, c) in self.follow_ups(pending, Vec::new()).await? {
                if let Some(&i) = owner.get(&review) {
                    pulls[i].line_comments.extend(c.line_comments);
                }
            }
        }
        page.prs
            .extend(pulls.into_iter().map(|full| pull_row(full, self.known_keys)));
        Ok(())
    }

    /// Runs follow-ups in batches, the batches side by side, until every connection is read
    /// to its end.
    /// `answered`: batches already answered (they rode along with another request).
    pub(super) async fn follow_ups(
        &self,
        mut queue: Vec<FollowUp>,
        mut answered: Vec<Answered>,
    ) -> Result<HashMap<String, Collected>, SyncError> {
        let mut out: HashMap<String, Collected> = HashMap::new();
        while !queue.is_empty() || !answered.is_empty() {
            let batches: Vec<Vec<FollowUp>> = std::mem::take(&mut queue)
                .chunks(FOLLOW_UP_BATCH)
                .map(<[FollowUp]>::to_vec)
                .collect();
            let fetches: Vec<_> = batches.into_iter().map(|batch| self.follow_up_batch(batch)).collect();
            let mut answers: Vec<Answered> = futures_util::stream::iter(fetches)
                .buffer_unordered(self.session.limiter.stats().ceiling.max(1) as usize)
                .try_collect()
                .await?;
            answers.append(&mut answered);
            for (batch, mut nodes) in answers {
                for (i, item) in batch.into_iter().enumerate() {
                    let mut node = nodes
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
                            Nested::LineComments => drain(node.line_comments.take(), &mut entry.line_comments),
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
        }
        Ok(out)
    }

    async fn follow_up_batch(&self, batch: Vec<FollowUp>) -> Result<Answered, SyncError> {
        let (body, cost) = follow_up_body(&batch);
        let data: FollowUpData = self.session.graphql(|_| body.clone(), |_| cost, false).await?;
        self.session.ctx.stats.add("follow_ups", batch.len() as u64, 0, 0);
        Ok((batch, data.nodes))
    }
}
