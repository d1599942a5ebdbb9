//! A repository's deployments per source: GitHub deployments (with all their statuses) and
//! releases ride along with the pull-request pages; workflow runs come from REST afterwards.

use super::{Page, RepoSync, encode};
use crate::db::github::DeploymentRow;
use crate::domain::integration::glob_match;
use crate::integrations::github::graphql::{FollowUp, Nested};
use crate::integrations::github::models::{Conn, Deployment, DeploymentStatus, Release, RunsPage};
use crate::integrations::github::rows::{deployment_row, release_row, run_row};
use crate::integrations::github::session::RestPage;
use crate::integrations::github::sync::{PassCursor, RepoCursor, SyncError};

impl RepoSync<'_, '_> {
    pub(super) async fn deployment_page(
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
            let mut collected = self.follow_ups(pending, Vec::new()).await?;
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

    pub(super) fn release_page(mut conn: Conn<Release>, cur: &mut PassCursor, page: &mut Page) {
        let next = conn.next().map(String::from);
        let (fresh, finished) = Self::cut(conn.take_nodes(), next, cur, |r| r.created_at);
        page.deploys_fetched = fresh.len() as u64;
        page.deploys_finished = finished;
        page.deploys.extend(fresh.iter().filter_map(release_row));
    }

    /// Workflow runs (REST only): runs on the default branch, newest first, created since the
    /// watermark minus a day (or the oldest stored unfinished one); those whose name matches
    /// the pattern are deployments (unfinished ones too, so they are read again until done).
    pub(super) async fn runs(&self, cur: &mut RepoCursor) -> Result<(), SyncError> {
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
            match got.next {
                Some(next) => url = next,
                None => return Ok(()),
            }
        }
    }
}
