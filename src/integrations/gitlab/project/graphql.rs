//! A project's merge requests through GraphQL: pages of 100 oldest-updated first from the
//! watermark (`updatedAfter`, `sort: UPDATED_ASC`, keyset cursor), each with its first 100
//! notes and commits; only a changed merge request with more than that has the rest paged,
//! several lists a request.
//! Each page is stored with the watermark it reaches, as on the REST path.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use super::{Pass, ProjectSync, stamp};
use crate::db::github::PrRow;
use crate::integrations::github::sync::SyncError;
use crate::integrations::gitlab::graphql::{
    self, Connection, GqlCommit, GqlMr, GqlNote, MR_PAGE, MrsProject, NESTED_BATCH, Nested, ProjectData, Split,
};
use crate::integrations::gitlab::rows::mr_row;

impl ProjectSync<'_, '_> {
    fn full_path(&self) -> String {
        format!("{}/{}", self.repo.owner, self.repo.name)
    }

    fn unreadable(&self, what: &str) -> SyncError {
        SyncError::Invalid {
            integration: self.session.integration.clone(),
            message: format!("GitLab GraphQL did not answer {what} of {}", self.full_path()),
        }
    }

    /// Reads the merge requests updated since `since`; `false` when this GitLab has no GraphQL
    /// API (nothing read: the caller reads them through REST).
    pub(super) async fn graphql_merge_requests(&self, since: Option<DateTime<Utc>>) -> Result<bool, SyncError> {
        let query = graphql::mr_page_query();
        let mut after: Option<String> = None;
        let mut read: HashSet<(i64, DateTime<Utc>)> = HashSet::new();
        let mut first = MR_PAGE;
        loop {
            let variables = json!({
                "fullPath": self.full_path(),
                "first": first,
                "after": after,
                "updatedAfter": since.map(stamp),
            });
            let answer = match self.session.graphql::<ProjectData<MrsProject>>(&query, variables).await {
                // An instance that scores the query higher than expected: smaller pages.
                Err(e) if graphql::too_complex(&e) && first > MIN_MR_PAGE => {
                    first /= 2;
                    tracing::info!(first, project = %self.full_path(), "GitLab found the query too complex; asking for fewer merge requests");
                    continue;
                }
                other => other?,
            };
            let Some(data) = answer else {
                return Ok(false);
            };
            let conn = data
                .project
                .ok_or_else(|| self.unreadable("the project"))?
                .merge_requests;
            let next = conn.page_info.next();
            self.graphql_page(conn.nodes, &mut read).await?;
            match next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(true),
            }
        }
    }

    /// One page: the changed merge requests completed and written with the watermark reached.
    async fn graphql_page(&self, nodes: Vec<GqlMr>, read: &mut HashSet<(i64, DateTime<Utc>)>) -> Result<(), SyncError> {
        let newest = nodes.iter().map(|m| m.updated_at).max();
        let fresh: Vec<Split> = nodes
            .into_iter()
            .map(GqlMr::split)
            .filter(|s| read.insert((s.mr.iid, s.mr.updated_at)))
            .collect();
        let deploys = self.merge_deploys(fresh.iter().map(|s| &s.mr));
        let mrs: Vec<_> = fresh.iter().map(|s| s.mr.clone()).collect();
        let changed = self.changed(&mrs).await?;
        let fetched = fresh.len() as u64;
        let mut todo: Vec<Split> = fresh
            .into_iter()
            .zip(changed)
            .filter(|(_, c)| *c)
            .map(|(s, _)| s)
            .collect();
        self.complete_lists(&mut todo).await?;
        let rows: Vec<PrRow> = todo
            .into_iter()
            .map(|s| {
                let notes = s.notes.nodes.into_iter().map(|n| n.into_note()).collect();
                let commits = s.commits.nodes.into_iter().map(|c| c.into_commit()).collect();
                mr_row(s.mr, commits, notes, s.approvals, self.known_keys)
            })
            .collect();
        self.write(&rows, &deploys, fetched, Pass::MergeRequests, newest).await
    }

    /// Pages the notes and commits the first answer left out, [`NESTED_BATCH`] lists a request
    /// (requests side by side up to the limiter's ceiling), until every list is complete.
    async fn complete_lists(&self, splits: &mut [Split]) -> Result<(), SyncError> {
        let mut wanted: Vec<Continuation> = Vec::new();
        for (k, s) in splits.iter().enumerate() {
            let iid = s.mr.iid;
            wanted.extend(s.notes.page_info.next().map(|after| (k, iid, Nested::Notes, after)));
            wanted.extend(s.commits.page_info.next().map(|after| (k, iid, Nested::Commits, after)));
        }
        let width = self.session.limiter.stats().ceiling.max(1) as usize;
        let mut size = NESTED_BATCH;
        while !wanted.is_empty() {
            let batches: Vec<Vec<Continuation>> = wanted.chunks(size).map(<[_]>::to_vec).collect();
            let round = futures_util::stream::iter(batches.into_iter().map(|b| self.next_pages(b)))
                .buffered(width)
                .try_collect::<Vec<Vec<(Continuation, Value)>>>()
                .await;
            let answers = match round {
                // Scored higher than expected: the round again, with fewer lists a request.
                Err(e) if graphql::too_complex(&e) && size > 1 => {
                    size /= 2;
                    continue;
                }
                other => other?,
            };
            wanted.clear();
            for ((k, iid, list, _), conn) in answers.into_iter().flatten() {
                let bad =
                    |e: serde_json::Error| self.unreadable(&format!("merge request !{iid}'s {} ({e})", list.field()));
                let more = match list {
                    Nested::Notes => {
                        let c: Connection<GqlNote> = serde_json::from_value(conn).map_err(bad)?;
                        splits[k].notes.nodes.extend(c.nodes);
                        c.page_info.next()
                    }
                    Nested::Commits => {
                        let c: Connection<GqlCommit> = serde_json::from_value(conn).map_err(bad)?;
                        splits[k].commits.nodes.extend(c.nodes);
                        c.page_info.next()
                    }
                };
                wanted.extend(more.map(|after| (k, iid, list, after)));
            }
        }
        Ok(())
    }

    /// One request for the next page of each list in `batch`; each answer with its list.
    async fn next_pages(&self, batch: Vec<Continuation>) -> Result<Vec<(Continuation, Value)>, SyncError> {
        let lists: Vec<Nested> = batch.iter().map(|c| c.2).collect();
        let query = graphql::nested_batch_query(&lists);
        let mut variables = json!({ "fullPath": self.full_path() });
        for (k, (_, iid, _, after)) in batch.iter().enumerate() {
            variables[format!("iid{k}")] = json!(iid.to_string());
            variables[format!("after{k}")] = json!(after);
        }
        let project = self
            .session
            .graphql::<ProjectData<Map<String, Value>>>(&query, variables)
            .await?
            .and_then(|d| d.project)
            .ok_or_else(|| self.unreadable("the project"))?;
        batch
            .into_iter()
            .enumerate()
            .map(|(k, c)| {
                let conn = project
                    .get(&format!("m{k}"))
                    .and_then(|mr| mr.get(c.2.field()))
                    .cloned()
                    .filter(|v| !v.is_null())
                    .ok_or_else(|| self.unreadable(&format!("merge request !{}", c.1)))?;
                Ok((c, conn))
            })
            .collect()
    }
}

/// The smallest merge-request page asked for after GitLab refused a query as too complex.
const MIN_MR_PAGE: u32 = 10;

/// A list to continue: (index of the merge request in the page, its iid, which list, cursor).
type Continuation = (usize, i64, Nested, String);
