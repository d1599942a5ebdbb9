//! Precomputed analytics rows: brought up to date after a sync, and whenever the synced data or
//! the flow configuration changed since the last pass ([`ensure_fresh`]), then read by the metric
//! pages. A pass recomputes what the syncs recorded as changed ([`changes`]) and what depends on
//! it; only a flow configuration change (or [`everything_changed`]) recomputes every row
//! (docs/decisions.md, "Incremental analytics (issue #21)").

pub mod changes;
pub mod dora;
mod precompute;

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use entity::{
    analytics_refresh, deployments, flow_steps, integrations, jira_projects, jira_statuses, jobs, pr_stage_times,
    pull_requests, repositories,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set,
};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::domain::flow::{StepCategory, WorkCategory};
use crate::domain::integration::IntegrationKind;
use crate::domain::job::JobStatus;
use precompute::Scope;

/// One pass at a time over one database's precomputed rows in this process. Owned by
/// [`crate::analytics::Cache`], one per database the process serves (a process-wide lock made
/// one database's rebuild hold up, or hide, another's in the tests, which serve many).
#[derive(Default)]
pub struct Rebuilds(pub(crate) Mutex<()>);

/// The row holding what the last pass saw: the sources version and the configuration's fingerprint.
const PRECOMPUTE: &str = "precompute";

/// The row whose value changes whenever a pass changes precomputed rows: the build the
/// snapshots of every process compare theirs with.
const GENERATION: &str = "generation";

/// The row whose fingerprint changes whenever a sync starts.
const SOURCES_VERSION: &str = "sources";

/// Above this many changed issues or pull requests a pass reads every row, in one stream,
/// instead of `IN (…)` lists of ids (the result is the same).
const READ_ALL_ABOVE: usize = 10_000;

/// Marks that a sync starts: the next check runs a pass even if the sync dies before its first
/// page (the rows it writes are recorded page by page in [`changes`]). Cheap.
pub async fn sources_changed(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let version = uuid::Uuid::new_v4().simple().to_string();
    set_refresh_row(db, SOURCES_VERSION, &version, Utc::now()).await
}

/// Marks that any synced row may have changed without a record of which (an integration and its
/// data deleted, rows edited by hand): the next pass recomputes every row and every process
/// reloads its snapshot whole.
pub async fn everything_changed(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    sources_changed(db).await?;
    changes::everything(db).await
}

/// Writes the `analytics_refresh` row `name` (created if missing).
async fn set_refresh_row(
    db: &impl ConnectionTrait,
    name: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    analytics_refresh::Entity::insert(analytics_refresh::ActiveModel {
        name: Set(name.into()),
        fingerprint: Set(fingerprint.into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(analytics_refresh::Column::Name)
            .update_columns([
                analytics_refresh::Column::Fingerprint,
                analytics_refresh::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

async fn refresh_row(db: &impl ConnectionTrait, name: &str) -> Result<Option<analytics_refresh::Model>, DbErr> {
    analytics_refresh::Entity::find()
        .filter(analytics_refresh::Column::Name.eq(name))
        .one(db)
        .await
}

/// The version of the synced data, then what every issue's flow depends on besides its own rows:
/// the flow configuration and the Jira status categories (an unmapped status falls back to its
/// category). A pass compares the second part with the last pass's to decide whether every
/// issue is recomputed.
pub async fn fingerprint(db: &impl ConnectionTrait) -> Result<String, DbErr> {
    let sources = refresh_row(db, SOURCES_VERSION)
        .await?
        .map_or_else(|| "none".to_string(), |r| r.fingerprint);
    Ok(format!("sources:{sources}|{}", config_fingerprint(db).await?))
}

async fn config_fingerprint(db: &impl ConnectionTrait) -> Result<String, DbErr> {
    let mut statuses: Vec<(String, String)> = jira_statuses::Entity::find()
        .select_only()
        .columns([jira_statuses::Column::Name, jira_statuses::Column::CategoryKey])
        .into_tuple()
        .all(db)
        .await?;
    statuses.sort();
    // FNV-1a, 64 bit: stable across builds, so a stored fingerprint stays comparable.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, category) in &statuses {
        for b in name
            .to_lowercase()
            .bytes()
            .chain([0xff])
            .chain(category.bytes())
            .chain([0xfe])
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    Ok(format!(
        "flow:{}|statuses:{h:016x}",
        super::flow::config_fingerprint(db).await?
    ))
}

/// The configuration part of a [`fingerprint`].
fn config_part(fingerprint: &str) -> Option<&str> {
    fingerprint.split_once('|').map(|(_, config)| config)
}

/// How current the precomputed rows are, for the pages to say so.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Freshness {
    /// A sync is running: the rows are those of the last build and are rebuilt when it finishes.
    pub syncing: bool,
    /// The rows are being rebuilt (after a sync, or for a changed flow configuration) or the
    /// rebuilt ones are being loaded: the numbers are those of the last build until then.
    pub rebuilding: bool,
    /// When the rows were last brought up to date (None: never).
    pub built_at: Option<DateTime<Utc>>,
    /// Identifies the build of the rows (changes with every pass that changes a row, here or in
    /// another process), for caches of what was read from them.
    #[serde(skip)]
    pub build: String,
}

impl Freshness {
    async fn read(db: &impl ConnectionTrait, syncing: bool) -> Result<Self, DbErr> {
        let stored = refresh_row(db, PRECOMPUTE).await?;
        let generation = refresh_row(db, GENERATION).await?;
        Ok(Self {
            syncing,
            rebuilding: false,
            built_at: stored.as_ref().map(|s| s.updated_at),
            build: match (stored, generation) {
                (None, _) => String::new(),
                (Some(_), Some(g)) => g.fingerprint,
                (Some(s), None) => format!("{}@{}", s.fingerprint, s.updated_at.timestamp_micros()),
            },
        })
    }

    /// Adds `precomputed_at`, `sync_running` and `rebuilding` to a report's JSON document.
    pub fn annotate(&self, doc: &mut serde_json::Value) {
        doc["precomputed_at"] = serde_json::json!(self.built_at);
        doc["sync_running"] = serde_json::json!(self.syncing);
        doc["rebuilding"] = serde_json::json!(self.rebuilding);
    }
}

/// What one pass changed, for a snapshot of build `from` to patch itself into the new build
/// instead of reading every row again.
#[derive(Clone, Debug, Default)]
pub struct Delta {
    /// The build the changes apply to.
    pub from: String,
    /// Every row may have changed: read them all.
    pub all: bool,
    /// Issues whose `issue_flow_times` row was written or deleted.
    pub issues: Vec<i64>,
    /// Pull requests whose `pr_stage_times` row was written or deleted.
    pub pull_requests: Vec<i64>,
    /// Pull requests a sync wrote (their titles and branches may have changed even where their
    /// stage row did not): the snapshot reads their [`PullHint`]s again.
    pub pulls_written: Vec<i64>,
    /// Repositories whose deployments changed.
    pub repositories: Vec<i64>,
    /// Every issue was recomputed (everything changed, or the flow configuration did).
    pub full: bool,
    /// How long the pass took.
    pub seconds: f64,
}

impl Delta {
    /// Whether the pass changed no precomputed row.
    pub fn is_empty(&self) -> bool {
        !self.all
            && self.issues.is_empty()
            && self.pull_requests.is_empty()
            && self.pulls_written.is_empty()
            && self.repositories.is_empty()
    }
}

/// Brings the precomputed rows up to date if the sources or the configuration changed since the
/// last pass. Not while a sync runs: its rows change page by page (the run's own pass follows
/// when it finishes), and on SQLite a pass's commit between a sync transaction's read and its
/// write fails that page ("database is locked"). While a pass is under way (the one after a
/// sync, or another view's) it answers at once with the last build, marked
/// [`Freshness::rebuilding`], instead of waiting for it: waiting made the soak's analytics p99
/// seconds long (docs/decisions.md). Only when there is no build yet does it wait. Returns what the
/// pass changed, if one ran.
pub async fn ensure_fresh(db: &DatabaseConnection, rebuilds: &Rebuilds) -> Result<(Freshness, Option<Delta>), DbErr> {
    let _guard = match rebuilds.0.try_lock() {
        Ok(guard) => guard,
        Err(_) => match refresh_row(db, PRECOMPUTE).await? {
            Some(_) => {
                let syncing = running(db).await?;
                let last = Freshness::read(db, syncing).await?;
                return Ok((
                    Freshness {
                        rebuilding: true,
                        ..last
                    },
                    None,
                ));
            }
            None => rebuilds.0.lock().await,
        },
    };
    let syncing = running(db).await?;
    if syncing {
        return Ok((Freshness::read(db, syncing).await?, None));
    }
    let now = fingerprint(db).await?;
    let stored = refresh_row(db, PRECOMPUTE).await?;
    if stored.as_ref().is_some_and(|s| s.fingerprint == now) && !changes::pending(db).await? {
        return Ok((Freshness::read(db, syncing).await?, None));
    }
    let delta = pass(db, &now, stored).await?;
    // Read back rather than built from the clock: the stored time's precision is the database's.
    Ok((Freshness::read(db, syncing).await?, Some(delta)))
}

/// Whether a job (a sync) is running.
async fn running(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(jobs::Entity::find()
        .filter(jobs::Column::Status.eq(JobStatus::Running.as_str()))
        .one(db)
        .await?
        .is_some())
}

/// Runs a pass now (after a sync finishes, when there is nearly always something to do); the
/// new build and what the pass changed.
pub async fn refresh(db: &DatabaseConnection, rebuilds: &Rebuilds) -> Result<(Freshness, Delta), DbErr> {
    let _guard = rebuilds.0.lock().await;
    let now = fingerprint(db).await?;
    let stored = refresh_row(db, PRECOMPUTE).await?;
    let delta = pass(db, &now, stored).await?;
    Ok((Freshness::read(db, false).await?, delta))
}

/// The ids to recompute: all rows when there are many.
fn scope(ids: impl ExactSizeIterator<Item = i64>) -> Scope {
    if ids.len() > READ_ALL_ABOVE {
        Scope::All
    } else {
        Scope::Ids(ids.collect())
    }
}

/// One pass, in one transaction with the claim of the recorded changes (a failed pass leaves
/// them for the next): the changed pull requests and issues recomputed, the pull requests whose
/// deployment a changed deployment may take over or give up, and every issue when the
/// configuration changed. `stored` is the last pass's row.
async fn pass(
    db: &DatabaseConnection,
    fingerprint: &str,
    stored: Option<analytics_refresh::Model>,
) -> Result<Delta, DbErr> {
    let started = std::time::Instant::now();
    let tx = crate::db::begin_write(db).await?;
    let claimed = changes::claim(&tx).await?;
    let from = refresh_row(&tx, GENERATION)
        .await?
        .map(|g| g.fingerprint)
        .unwrap_or_default();
    let config_changed = stored
        .as_ref()
        .is_none_or(|s| config_part(&s.fingerprint) != config_part(fingerprint));
    let all = claimed.all || stored.is_none();
    let mut delta = Delta {
        from,
        all,
        full: all || config_changed,
        ..Default::default()
    };
    if all {
        delta.pull_requests = precompute::pull_requests(&tx, &Scope::All).await?;
    } else {
        delta.pulls_written = claimed.pull_requests.iter().copied().collect();
        if !claimed.pull_requests.is_empty() {
            let prs = scope(claimed.pull_requests.iter().copied());
            delta.pull_requests = precompute::pull_requests(&tx, &prs).await?;
        }
        for (&repository, &since) in &claimed.deployments {
            delta
                .pull_requests
                .extend(precompute::redeploy(&tx, repository, since).await?);
            delta.repositories.push(repository);
        }
        delta.pull_requests.sort_unstable();
        delta.pull_requests.dedup();
    }
    if delta.full {
        delta.issues = precompute::issues(&tx, &Scope::All).await?;
    } else if !claimed.issues.is_empty() {
        delta.issues = precompute::issues(&tx, &scope(claimed.issues.iter().copied())).await?;
    }
    let now = Utc::now();
    set_refresh_row(&tx, PRECOMPUTE, fingerprint, now).await?;
    if !delta.is_empty() || delta.from.is_empty() {
        let generation = uuid::Uuid::new_v4().simple().to_string();
        set_refresh_row(&tx, GENERATION, &generation, now).await?;
    }
    tx.commit().await?;
    delta.seconds = started.elapsed().as_secs_f64();
    let heap = crate::telemetry::Heap::now();
    tracing::info!(
        full = delta.full,
        prs = delta.pull_requests.len(),
        issues = delta.issues.len(),
        repositories = delta.repositories.len(),
        ms = started.elapsed().as_millis() as u64,
        heap_allocated_mb = heap.map(|h| h.allocated_mb()),
        heap_resident_mb = heap.map(|h| h.resident_mb()),
        "analytics precompute brought up to date"
    );
    Ok(delta)
}

/// What a full rebuild would change now: the issues and the pull requests whose stored rows
/// differ from a recomputation of every row (both empty when the passes kept the rows right).
/// Computed in a transaction that is rolled back, so it changes nothing; for checks.
pub async fn full_rebuild_differences(db: &DatabaseConnection) -> Result<(Vec<i64>, Vec<i64>), DbErr> {
    use sea_orm::TransactionTrait;
    let tx = db.begin().await?;
    let issues = precompute::issues(&tx, &Scope::All).await?;
    let prs = precompute::pull_requests(&tx, &Scope::All).await?;
    tx.rollback().await?;
    Ok((issues, prs))
}

/// The precomputed flow of these issues (those that have one).
pub async fn flow_times_of(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<entity::issue_flow_times::Model>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            entity::issue_flow_times::Entity::find()
                .filter(entity::issue_flow_times::Column::IssueId.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The precomputed stages of these pull requests that were merged or deployed.
pub async fn stage_times_of(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<pr_stage_times::Model>, DbErr> {
    use pr_stage_times::Column as C;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            pr_stage_times::Entity::find()
                .filter(C::PullRequestId.is_in(chunk.to_vec()))
                .filter(
                    Condition::any()
                        .add(C::MergedAt.is_not_null())
                        .add(C::DeployedAt.is_not_null()),
                )
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// What the deployment rework rule reads of a merged pull request besides its links, kept in
/// the snapshot so a report finds the rework candidates among the shipped pull requests without
/// a query (joining every shipped stage row to its pull request took 0.3–0.7 s per DORA view at
/// 100k pull requests on SQLite).
#[derive(Clone, Debug, PartialEq)]
pub struct PullHint {
    pub head_ref: Box<str>,
    /// Its title is a revert's ([`crate::domain::metrics::rework::reverted_title`]).
    pub reverts: bool,
}

type HintRow = (i64, String, String);

fn hint((id, title, head_ref): HintRow) -> (i64, PullHint) {
    let reverts = crate::domain::metrics::rework::reverted_title(&title).is_some();
    (
        id,
        PullHint {
            head_ref: head_ref.into_boxed_str(),
            reverts,
        },
    )
}

/// The hints of every merged pull request (`ids` None), or of those of `ids` that are merged.
pub async fn pull_hints(db: &impl ConnectionTrait, ids: Option<&[i64]>) -> Result<HashMap<i64, PullHint>, DbErr> {
    use pull_requests::Column as C;
    let select = || {
        pull_requests::Entity::find()
            .select_only()
            .columns([C::Id, C::Title, C::HeadRef])
            .filter(C::MergedAt.is_not_null())
    };
    let mut out = HashMap::new();
    match ids {
        None => {
            let rows: Vec<HintRow> = select().into_tuple().all(db).await?;
            out.extend(rows.into_iter().map(hint));
        }
        Some(ids) => {
            for chunk in ids.chunks(500) {
                let rows: Vec<HintRow> = select()
                    .filter(C::Id.is_in(chunk.to_vec()))
                    .into_tuple()
                    .all(db)
                    .await?;
                out.extend(rows.into_iter().map(hint));
            }
        }
    }
    Ok(out)
}

/// The successful production deployments of these repositories.
pub async fn production_deployments_of(
    db: &impl ConnectionTrait,
    repositories: &[i64],
) -> Result<Vec<deployments::Model>, DbErr> {
    precompute::successful_production()
        .filter(deployments::Column::RepositoryId.is_in(repositories.to_vec()))
        .all(db)
        .await
}

/// Every successful production deployment (deployed time = first success), by deployed time.
pub async fn production_deployments(db: &impl ConnectionTrait) -> Result<Vec<deployments::Model>, DbErr> {
    precompute::successful_production()
        .filter(deployments::Column::FinishedAt.is_not_null())
        .order_by_asc(deployments::Column::FinishedAt)
        .order_by_asc(deployments::Column::Id)
        .all(db)
        .await
}

/// Whether any production deployment (of any status) exists, to explain an empty page.
pub async fn has_production_deployments(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(deployments::Entity::find()
        .filter(deployments::Column::IsProduction.eq(true))
        .one(db)
        .await?
        .is_some())
}

/// Every precomputed PR that was merged or deployed, by merge time.
pub async fn merged_or_deployed_prs(db: &impl ConnectionTrait) -> Result<Vec<pr_stage_times::Model>, DbErr> {
    use pr_stage_times::Column as C;
    pr_stage_times::Entity::find()
        .filter(
            Condition::any()
                .add(C::MergedAt.is_not_null())
                .add(C::DeployedAt.is_not_null()),
        )
        .order_by_asc(C::MergedAt)
        .order_by_asc(C::PullRequestId)
        .all(db)
        .await
}

/// Titles and numbers of pull requests, for drill-down lists.
pub async fn pull_request_labels(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<(i64, i32, String, i64)>, DbErr> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            pull_requests::Entity::find()
                .select_only()
                .columns([
                    pull_requests::Column::Id,
                    pull_requests::Column::Number,
                    pull_requests::Column::Title,
                    pull_requests::Column::RepositoryId,
                ])
                .filter(pull_requests::Column::Id.is_in(chunk.to_vec()))
                .into_tuple::<(i64, i32, String, i64)>()
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// An issue in a drill-down list, with its page in Jira.
#[derive(Clone, Debug, Default)]
pub struct IssueLabel {
    pub key: String,
    pub summary: String,
    pub url: String,
}

/// Keys, summaries and Jira links of issues, for drill-down lists.
pub async fn issue_labels(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, IssueLabel>, DbErr> {
    use entity::jira_issues::{Column, Entity, Relation};
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String, String, String)> = Entity::find()
            .select_only()
            .columns([Column::Id, Column::Key, Column::Summary])
            .column(integrations::Column::BaseUrl)
            .join(JoinType::InnerJoin, Relation::Integrations.def())
            .filter(Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, key, summary, base) in rows {
            let url = crate::domain::links::jira_browse_url(&base, &key);
            out.insert(id, IssueLabel { key, summary, url });
        }
    }
    Ok(out)
}

/// Every Jira issue's key by id (`ids`: only these), for the snapshot's labels.
pub async fn issue_keys(db: &impl ConnectionTrait, ids: Option<&[i64]>) -> Result<HashMap<i64, String>, DbErr> {
    use entity::jira_issues::{Column, Entity};
    let select = || Entity::find().select_only().columns([Column::Id, Column::Key]);
    let rows: Vec<(i64, String)> = match ids {
        None => select().into_tuple().all(db).await?,
        Some(ids) => {
            let mut out = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(500) {
                out.extend(
                    select()
                        .filter(Column::Id.is_in(chunk.to_vec()))
                        .into_tuple::<(i64, String)>()
                        .all(db)
                        .await?,
                );
            }
            out
        }
    };
    Ok(rows.into_iter().collect())
}

/// Each Jira project's web root (its integration's base URL), for links to its issues.
pub async fn jira_bases(db: &impl ConnectionTrait) -> Result<HashMap<i64, String>, DbErr> {
    let rows: Vec<(i64, String)> = jira_projects::Entity::find()
        .select_only()
        .column(jira_projects::Column::Id)
        .column(integrations::Column::BaseUrl)
        .join(JoinType::InnerJoin, jira_projects::Relation::Integrations.def())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Summaries of these issues (the rows a list shows).
pub async fn issue_summaries(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, String>, DbErr> {
    use entity::jira_issues::{Column, Entity};
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String)> = Entity::find()
            .select_only()
            .columns([Column::Id, Column::Summary])
            .filter(Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Each repository's pull requests on the web, the number left off (GitHub: `…/owner/name/pull`,
/// GitLab: `…/group/project/-/merge_requests`).
pub async fn repository_urls(db: &impl ConnectionTrait) -> Result<HashMap<i64, String>, DbErr> {
    let rows: Vec<(i64, String, String, String, IntegrationKind)> = repositories::Entity::find()
        .select_only()
        .columns([
            repositories::Column::Id,
            repositories::Column::Owner,
            repositories::Column::Name,
        ])
        .column(integrations::Column::BaseUrl)
        .column(integrations::Column::Kind)
        .join(JoinType::InnerJoin, repositories::Relation::Integrations.def())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, owner, name, base, kind)| (id, crate::domain::links::pull_request_base(kind, &base, &owner, &name)))
        .collect())
}

/// Active repositories, for the filter: id and `owner/name`.
pub async fn repository_choices(db: &impl ConnectionTrait) -> Result<Vec<(i64, String)>, DbErr> {
    let rows = repositories::Entity::find()
        .filter(repositories::Column::Active.eq(true))
        .order_by_asc(repositories::Column::Owner)
        .order_by_asc(repositories::Column::Name)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, format!("{}/{}", r.owner, r.name)))
        .collect())
}

/// Active Jira projects, for the filter: id and key.
pub async fn project_choices(db: &impl ConnectionTrait) -> Result<Vec<(i64, String)>, DbErr> {
    let rows = jira_projects::Entity::find()
        .filter(jira_projects::Column::Active.eq(true))
        .order_by_asc(jira_projects::Column::Key)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.key)).collect())
}

/// Every issue's precomputed flow, row by row (all at once, the stored rows with their step
/// hours as JSON took far more memory than what the reports keep), in completion order: open
/// issues first, then by first DONE entry (through its index; those completed at one instant in
/// the database's order). Both reads in one read-only transaction, repeatable read on
/// PostgreSQL, so they see the same rows: an issue completed or reopened between them is read
/// once.
pub async fn each_flow_time_in_completion_order(
    db: &DatabaseConnection,
    mut each: impl FnMut(entity::issue_flow_times::Model) -> Result<(), DbErr>,
) -> Result<(), DbErr> {
    use entity::issue_flow_times::{Column, Entity};
    use futures_util::StreamExt;
    use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
    let tx = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
                .await?
        }
        // A deferred transaction reads one snapshot of the database from its first read on.
        _ => db.begin().await?,
    };
    for open in [true, false] {
        let select = if open {
            Entity::find().filter(Column::DoneAt.is_null())
        } else {
            Entity::find()
                .filter(Column::DoneAt.is_not_null())
                .order_by_asc(Column::DoneAt)
        };
        let mut rows = select.stream(&tx).await?;
        while let Some(row) = rows.next().await {
            each(row?)?;
        }
    }
    tx.commit().await
}

/// Active flow steps in order: name and category.
pub async fn step_order(db: &impl ConnectionTrait) -> Result<Vec<(String, StepCategory)>, DbErr> {
    let rows = flow_steps::Entity::find()
        .filter(flow_steps::Column::Active.eq(true))
        .order_by_asc(flow_steps::Column::Position)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|s| (s.name, s.category)).collect())
}

/// Whether an active issue-type mapping to INCIDENT exists.
pub async fn has_incident_mapping(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    use entity::issue_type_mappings::{Column, Entity};
    Ok(Entity::find()
        .filter(Column::WorkCategory.eq(WorkCategory::Incident))
        .filter(Column::Active.eq(true))
        .one(db)
        .await?
        .is_some())
}
