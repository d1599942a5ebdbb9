//! Analytics: loads the precomputed rows, applies the metric formulas of `domain::metrics`
//! to the filtered window, and hands reports to the pages and the JSON API.

pub mod aging;
pub mod cfd;
pub mod dora;
pub mod filters;
pub mod flow;
pub mod forecast;
pub mod prs;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;

use crate::db::analytics::Freshness;

/// How much of a report's drill-down list to build: what a page shows, or every row (a CSV
/// download).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// The most recent 200: the numbers and the API count all.
    Shown,
    All,
}

impl Rows {
    pub fn limit(self) -> usize {
        match self {
            Rows::Shown => 200,
            Rows::All => usize::MAX,
        }
    }
}

/// What the reports read from the precomputed rows, kept between requests in this process and
/// brought up to date when the rows change: patched with what a pass in this process changed,
/// or read whole when another process changed them (the build stamp moved without a delta).
/// Without it each request would load (and the flow report parse) every issue's flow facts and
/// two years of PR stage times and deployments again (measured in docs/decisions.md,
/// "Analytics snapshot").
#[derive(Default)]
pub struct Cache {
    /// Passes over this database's precomputed rows in this process.
    rebuilds: crate::db::analytics::Rebuilds,
    /// The snapshot last loaded.
    held: std::sync::Mutex<Option<Arc<Snapshot>>>,
    /// One load at a time.
    loading: tokio::sync::Mutex<()>,
    /// Names shared by the held snapshot's facts, for the facts a patch adds.
    names: std::sync::Mutex<flow::Names>,
}

/// Issues a snapshot patch reads and converts at a time.
const PATCH_CHUNK: usize = 2_000;

/// Every issue's flow facts, in completion order (open issues first), then id. Read in that
/// order, so a window's issues lie together in memory ([`flow::Layout`]), and converted row by
/// row: the stored rows all at once (their step hours and timelines as JSON values) took several
/// times the memory of the facts.
async fn read_flow(db: &DatabaseConnection, names: &mut flow::Names) -> Result<Vec<flow::FlowFacts>, DbErr> {
    let keys = crate::db::analytics::issue_keys(db, None).await?;
    let mut layout = flow::Layout::new(names);
    crate::db::analytics::each_flow_time_in_completion_order(db, |row| {
        let key = keys.get(&row.issue_id).map_or("", String::as_str);
        layout.push(row, key)
    })
    .await?;
    drop(keys);
    let mut flow = layout.finish();
    // The database gives those completed at one instant in its own order; issue ids are unique,
    // so the unstable sort (no scratch space) gives the one order.
    flow.sort_unstable_by_key(|f| (f.done_at, f.issue_id));
    Ok(flow)
}

/// The flow facts of these issues (those that have a row), a chunk of rows read and converted
/// at a time, in no particular order.
async fn read_flow_of(
    db: &DatabaseConnection,
    issues: &[i64],
    names: &mut flow::Names,
) -> Result<Vec<flow::FlowFacts>, DbErr> {
    let mut layout = flow::Layout::new(names);
    for chunk in issues.chunks(PATCH_CHUNK) {
        let rows = crate::db::analytics::flow_times_of(db, chunk).await?;
        let keys = crate::db::analytics::issue_keys(db, Some(chunk)).await?;
        for r in rows {
            let key = keys.get(&r.issue_id).map_or("", String::as_str);
            layout.push(r, key)?;
        }
    }
    Ok(layout.finish())
}

/// One build of the precomputed rows, as the reports read them.
pub struct Snapshot {
    /// [`crate::db::analytics::Freshness::build`] of the rows it was read from.
    pub build: String,
    /// When those rows were built.
    pub built_at: Option<DateTime<Utc>>,
    /// Every issue's flow facts, by first DONE entry (open issues first), then id.
    pub flow: Arc<Vec<flow::FlowFacts>>,
    /// Every PR that was merged or deployed, ordered by merge time, then id.
    pub prs: Arc<Vec<entity::pr_stage_times::Model>>,
    /// Every successful production deployment, ordered by deployed time, then id.
    pub deployments: Arc<Vec<entity::deployments::Model>>,
    /// Every merged pull request's branch and whether it is a revert (the rework rule's inputs).
    pub pulls: Arc<HashMap<i64, crate::db::analytics::PullHint>>,
    /// The issues counted by what the flow filters choose by, built once per snapshot.
    groups: std::sync::OnceLock<Vec<flow::Group>>,
    /// The cumulative flow at every midnight, built once per snapshot.
    days: std::sync::OnceLock<Arc<cfd::FlowDays>>,
}

impl Snapshot {
    /// The issues whose first DONE entry falls in `[from, to)`, in completion order: a run of
    /// `flow`, found by binary search (a window's reports read no issue outside it).
    pub fn done_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> &[flow::FlowFacts] {
        let lo = self.flow.partition_point(|i| i.done_at < Some(from));
        let hi = self.flow.partition_point(|i| i.done_at < Some(to));
        &self.flow[lo..hi.max(lo)]
    }

    /// The issues counted by project, issue type, work category, whether the flow counts them
    /// and the step they are in progress in: what the flow report reads of issues outside its
    /// window (the filter's type choices, the excluded count, work in progress), a few hundred
    /// groups in place of a pass over every issue per view.
    pub fn groups(&self) -> &[flow::Group] {
        self.groups.get_or_init(|| flow::Group::count(&self.flow))
    }

    /// Where the counted issues stood at every midnight, by group ([`cfd::FlowDays`]).
    pub fn days(&self) -> &cfd::FlowDays {
        self.days.get_or_init(|| Arc::new(cfd::FlowDays::build(&self.flow)))
    }
}

impl Cache {
    /// Brings the precomputed rows up to date now (after a sync) and the snapshot with them, so
    /// the first view after it waits for neither. Views in the meantime show the last build
    /// ([`Freshness::rebuilding`]).
    pub async fn refresh(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let (current, delta) = crate::db::analytics::refresh(db, &self.rebuilds).await?;
        observe(&delta);
        let _loading = self.loading.lock().await;
        self.load(db, &current, Some(&delta)).await.map(|_| ())
    }

    /// What a report computes from: how fresh the rows are and their snapshot. It waits neither
    /// for a pass nor for a load under way when it holds an earlier snapshot: it answers with
    /// that one, marked as rebuilding. Without an earlier one it waits.
    pub async fn current(&self, db: &DatabaseConnection) -> Result<(Freshness, Arc<Snapshot>), DbErr> {
        let (fresh, delta) = crate::db::analytics::ensure_fresh(db, &self.rebuilds).await?;
        if let Some(d) = &delta {
            observe(d);
        }
        if let Some(s) = self.held(Some(&fresh.build)) {
            return Ok((fresh, s));
        }
        let _loading = match (self.loading.try_lock(), self.held(None)) {
            (Ok(guard), _) => guard,
            (Err(_), Some(last)) => {
                let shown = Freshness {
                    syncing: fresh.syncing,
                    rebuilding: true,
                    built_at: last.built_at,
                    build: last.build.clone(),
                };
                return Ok((shown, last));
            }
            (Err(_), None) => self.loading.lock().await,
        };
        let snapshot = self.load(db, &fresh, delta.as_ref()).await?;
        Ok((fresh, snapshot))
    }

    /// Holds this database's rebuild lock as a rebuild does, for tests of what views do
    /// meanwhile.
    #[doc(hidden)]
    pub async fn hold_rebuild(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.rebuilds.0.lock().await
    }

    /// Holds the snapshot load lock as a load does, for tests of what views do meanwhile.
    #[doc(hidden)]
    pub async fn hold_load(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.loading.lock().await
    }

    /// The snapshot held, if it is of build `build` (any, if None).
    fn held(&self, build: Option<&str>) -> Option<Arc<Snapshot>> {
        let held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.as_ref().filter(|s| build.is_none_or(|b| s.build == b)).cloned()
    }

    /// The snapshot of `build`: the one held if another caller loaded it meanwhile; the held one
    /// patched when `delta` leads from it to `build`; else read whole from the database. Call
    /// with `loading` held.
    async fn load(
        &self,
        db: &DatabaseConnection,
        build: &Freshness,
        delta: Option<&crate::db::analytics::Delta>,
    ) -> Result<Arc<Snapshot>, DbErr> {
        if let Some(s) = self.held(Some(&build.build)) {
            return Ok(s);
        }
        let started = std::time::Instant::now();
        let base = delta
            .filter(|d| !d.all)
            .and_then(|d| self.held(Some(&d.from)).map(|s| (s, d)));
        let (snapshot, patched) = match base {
            Some((old, delta)) => (self.patch(db, build, &old, delta).await?, true),
            None => (self.read_whole(db, build).await?, false),
        };
        // Counted here, off the views' path.
        snapshot.groups();
        snapshot.days();
        let heap = crate::telemetry::Heap::now();
        tracing::info!(
            issues = snapshot.flow.len(),
            prs = snapshot.prs.len(),
            deployments = snapshot.deployments.len(),
            patched,
            ms = started.elapsed().as_millis() as u64,
            heap_allocated_mb = heap.map(|h| h.allocated_mb()),
            heap_resident_mb = heap.map(|h| h.resident_mb()),
            "analytics snapshot loaded"
        );
        // The last one is dropped here (once no report uses it), not kept beside the new one.
        *self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Every issue's flow facts ([`read_flow`]), with names of their own that the facts a later
    /// patch adds share (the last snapshot's go with it).
    async fn read_all_flow(&self, db: &DatabaseConnection) -> Result<Vec<flow::FlowFacts>, DbErr> {
        let mut names = flow::Names::default();
        let flow = read_flow(db, &mut names).await?;
        *self.names.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = names;
        Ok(flow)
    }

    /// Every precomputed row read into a new snapshot.
    async fn read_whole(&self, db: &DatabaseConnection, build: &Freshness) -> Result<Arc<Snapshot>, DbErr> {
        let flow = self.read_all_flow(db).await?;
        Ok(Arc::new(Snapshot {
            build: build.build.clone(),
            built_at: build.built_at,
            flow: Arc::new(flow),
            prs: Arc::new(crate::db::analytics::merged_or_deployed_prs(db).await?),
            deployments: Arc::new(crate::db::analytics::production_deployments(db).await?),
            pulls: Arc::new(crate::db::analytics::pull_hints(db, None).await?),
            groups: Default::default(),
            days: Default::default(),
        }))
    }

    /// `old` with the rows `delta` names read again (and those gone dropped), in the same order
    /// as [`Cache::read_whole`] gives: the same snapshot it would read, for a fraction of the
    /// reads. What the delta does not touch is shared with `old`.
    async fn patch(
        &self,
        db: &DatabaseConnection,
        build: &Freshness,
        old: &Snapshot,
        delta: &crate::db::analytics::Delta,
    ) -> Result<Arc<Snapshot>, DbErr> {
        use std::collections::HashSet;
        let flow = if delta.issues.is_empty() {
            old.flow.clone()
        } else if delta.issues.len().saturating_mul(4) >= old.flow.len() {
            // Many issues (a flow change: all of them): read whole, laid out anew.
            Arc::new(self.read_all_flow(db).await?)
        } else {
            let ids: HashSet<i64> = delta.issues.iter().copied().collect();
            let kept = old.flow.iter().filter(|f| !ids.contains(&f.issue_id)).cloned();
            let mut flow: Vec<flow::FlowFacts> = Vec::with_capacity(old.flow.len() + delta.issues.len());
            flow.extend(kept);
            drop(ids);
            // The names stay out of their lock while the rows are read (a lock held across a
            // read would make the load's future unsendable); put back whatever happens.
            let mut names = std::mem::take(&mut *self.names.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
            let read = read_flow_of(db, &delta.issues, &mut names).await;
            *self.names.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = names;
            flow.extend(read?);
            flow.sort_unstable_by_key(|f| (f.done_at, f.issue_id));
            Arc::new(flow)
        };
        let prs = if delta.pull_requests.is_empty() {
            old.prs.clone()
        } else {
            let rows = crate::db::analytics::stage_times_of(db, &delta.pull_requests).await?;
            let ids: HashSet<i64> = delta.pull_requests.iter().copied().collect();
            let mut prs: Vec<_> = old
                .prs
                .iter()
                .filter(|p| !ids.contains(&p.pull_request_id))
                .cloned()
                .collect();
            prs.extend(rows);
            prs.sort_by_key(|p| (p.merged_at, p.pull_request_id));
            Arc::new(prs)
        };
        let deployments = if delta.repositories.is_empty() {
            old.deployments.clone()
        } else {
            let rows = crate::db::analytics::production_deployments_of(db, &delta.repositories).await?;
            let mut ds: Vec<_> = old
                .deployments
                .iter()
                .filter(|d| !delta.repositories.contains(&d.repository_id))
                .cloned()
                .collect();
            ds.extend(rows);
            ds.sort_by_key(|d| (d.finished_at, d.id));
            Arc::new(ds)
        };
        let mut pulled: Vec<i64> = delta
            .pull_requests
            .iter()
            .chain(&delta.pulls_written)
            .copied()
            .collect();
        pulled.sort_unstable();
        pulled.dedup();
        let pulls = if pulled.is_empty() {
            old.pulls.clone()
        } else {
            let mut hints = (*old.pulls).clone();
            for id in &pulled {
                hints.remove(id);
            }
            hints.extend(crate::db::analytics::pull_hints(db, Some(&pulled)).await?);
            Arc::new(hints)
        };
        Ok(Arc::new(Snapshot {
            build: build.build.clone(),
            built_at: build.built_at,
            flow,
            prs,
            deployments,
            pulls,
            // What is built from the issues carries over when they did not change.
            groups: if delta.issues.is_empty() {
                old.groups.clone()
            } else {
                Default::default()
            },
            days: if delta.issues.is_empty() {
                old.days.clone()
            } else {
                Default::default()
            },
        }))
    }
}

/// What the flow page's sections read, read once for all of them: the snapshot and how fresh it
/// is, the active projects (the filter's choices), the active steps in flow order and each
/// project's Jira root (for links).
pub struct FlowInputs {
    pub freshness: Freshness,
    pub snapshot: Arc<Snapshot>,
    /// Active projects: id and key.
    pub projects: Vec<(i64, String)>,
    /// Active steps in flow order: name and category.
    pub steps: Vec<(String, crate::domain::flow::StepCategory)>,
    /// Project id → the base URL of its Jira.
    bases: std::collections::HashMap<i64, String>,
}

impl FlowInputs {
    pub async fn load(db: &DatabaseConnection, cache: &Cache) -> Result<Self, DbErr> {
        let (freshness, snapshot) = cache.current(db).await?;
        Ok(Self {
            freshness,
            snapshot,
            projects: crate::db::analytics::project_choices(db).await?,
            steps: crate::db::analytics::step_order(db).await?,
            bases: crate::db::analytics::jira_bases(db).await?,
        })
    }

    /// The issue's page in Jira (empty when its project is gone).
    pub fn url(&self, i: &flow::FlowFacts) -> String {
        self.bases
            .get(&i.project_id)
            .map(|base| i.key.url(base))
            .unwrap_or_default()
    }
}

/// Records a pass's duration in the rebuild histogram, labelled by whether it recomputed
/// every issue.
fn observe(delta: &crate::db::analytics::Delta) {
    let kind = if delta.full { "full" } else { "incremental" };
    metrics::histogram!(crate::telemetry::ANALYTICS_REBUILD, "kind" => kind).record(delta.seconds);
}

/// What the filter form offers: repositories (`owner/name`), projects (keys), issue types and
/// work categories.
#[derive(Clone, Debug, Default)]
pub struct Choices {
    pub repositories: Vec<String>,
    pub projects: Vec<String>,
    /// Teams: id and name.
    pub teams: Vec<(i64, String)>,
}

impl Choices {
    pub async fn load(db: &DatabaseConnection) -> Result<Self, DbErr> {
        Ok(Self {
            repositories: crate::db::analytics::repository_choices(db)
                .await?
                .into_iter()
                .map(|r| r.1)
                .collect(),
            projects: crate::db::analytics::project_choices(db)
                .await?
                .into_iter()
                .map(|r| r.1)
                .collect(),
            teams: crate::db::teams::list(db)
                .await?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
        })
    }
}

/// Why a number is missing and where to fix it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Missing {
    pub reason: String,
    /// Page that fixes it (`/integrations`, `/flow`), with a label for the link.
    pub fix: Option<(&'static str, &'static str)>,
}

impl Missing {
    pub fn new(reason: impl Into<String>, fix: Option<(&'static str, &'static str)>) -> Self {
        Self {
            reason: reason.into(),
            fix,
        }
    }
}

pub const FIX_INTEGRATIONS: Option<(&str, &str)> = Some(("/integrations", "Integrations"));
pub const FIX_FLOW: Option<(&str, &str)> = Some(("/flow", "Flow configuration"));

/// `Some(value)` or the reason it cannot be computed.
pub fn explained<T>(value: Option<T>, missing: impl FnOnce() -> Missing) -> (Option<T>, Option<Missing>) {
    match value {
        Some(v) => (Some(v), None),
        None => (None, Some(missing())),
    }
}
