//! A project's merge requests through GraphQL: pages of 100 oldest-updated first from the
//! watermark (`updatedAfter`, `sort: UPDATED_ASC`, keyset cursor), each with its first 100
//! notes and commits; only a changed merge request with more than that has the rest paged.
//! Each page is stored with the watermark it reaches, as on the REST path.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Pass, ProjectSync, stamp};
use crate::db::github::PrRow;
use crate::integrations::github::sync::SyncError;
use crate::integrations::gitlab::graphql::{
    self, CommitsOnly, Connection, GqlMr, MR_PAGE, MrsProject, Nested, NotesOnly, OneMrProject, ProjectData, Split,
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
        loop {
            let variables = json!({
                "fullPath": self.full_path(),
                "first": MR_PAGE,
                "after": after,
                "updatedAfter": since.map(stamp),
            });
            let Some(data) = self
                .session
                .graphql::<ProjectData<MrsProject>>(&query, variables)
                .await?
            else {
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
        let todo: Vec<Split> = fresh
            .into_iter()
            .zip(changed)
            .filter(|(_, c)| *c)
            .map(|(s, _)| s)
            .collect();
        let width = self.session.limiter.stats().ceiling.max(1) as usize;
        let rows: Vec<PrRow> = futures_util::stream::iter(todo.into_iter().map(|s| self.complete_split(s)))
            .buffered(width)
            .try_collect()
            .await?;
        self.write(&rows, &deploys, fetched, Pass::MergeRequests, newest).await
    }

    /// A merge request's row, after paging the notes and commits the first answer left out.
    async fn complete_split(&self, s: Split) -> Result<PrRow, SyncError> {
        let iid = s.mr.iid;
        let (more_notes, more_commits) = futures_util::try_join!(
            self.rest_of(Nested::Notes, iid, s.notes.page_info.next(), |d: NotesOnly| d.notes),
            self.rest_of(Nested::Commits, iid, s.commits.page_info.next(), |d: CommitsOnly| d
                .commits),
        )?;
        let notes = s
            .notes
            .nodes
            .into_iter()
            .chain(more_notes)
            .map(|n| n.into_note())
            .collect();
        let commits = s
            .commits
            .nodes
            .into_iter()
            .chain(more_commits)
            .map(|c| c.into_commit())
            .collect();
        Ok(mr_row(s.mr, commits, notes, s.approvals, self.known_keys))
    }

    /// The pages of one merge request's `list` after `after` (nothing when it is `None`).
    async fn rest_of<L: DeserializeOwned, T>(
        &self,
        list: Nested,
        iid: i64,
        mut after: Option<String>,
        pick: fn(L) -> Connection<T>,
    ) -> Result<Vec<T>, SyncError> {
        let mut out = Vec::new();
        if after.is_none() {
            return Ok(out);
        }
        let query = graphql::nested_query(list);
        while let Some(cursor) = after {
            let variables = json!({ "fullPath": self.full_path(), "iid": iid.to_string(), "after": cursor });
            let data = self
                .session
                .graphql::<ProjectData<OneMrProject<L>>>(&query, variables)
                .await?
                .ok_or_else(|| self.unreadable("a merge request's lists"))?;
            let conn = data
                .project
                .and_then(|p| p.merge_request)
                .map(pick)
                .ok_or_else(|| self.unreadable(&format!("merge request !{iid}")))?;
            after = conn.page_info.next();
            out.extend(conn.nodes);
        }
        Ok(out)
    }
}
