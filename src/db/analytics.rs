//! Precomputed analytics rows: rebuilt after a sync and whenever the data or the flow
//! configuration changed since the last build ([`ensure_fresh`]), then read by the metric pages.

mod precompute;

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use entity::{
    analytics_refresh, deployments, flow_steps, integrations, jira_projects, jobs, pr_stage_times, pull_requests,
    repositories,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set,
};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::domain::flow::{StepCategory, WorkCategory};
use crate::domain::job::JobStatus;

/// One rebuild at a time of one database's precomputed rows in this process. Owned by
/// [`crate::analytics::Cache`], one per database the process serves (a process-wide lock made
/// one database's rebuild hold up, or hide, another's in the tests, which serve many).
#[derive(Default)]
pub struct Rebuilds(pub(crate) Mutex<()>);

const PRECOMPUTE: &str = "precompute";

/// The row whose fingerprint changes whenever the synced data may have changed.
const SOURCES_VERSION: &str = "sources";

/// Marks the synced data as changed: a new version that no build has seen. Called when a sync
/// starts (so whatever it writes, and however it ends, the next check sees it: a successful run
/// rebuilds at once, a failed or killed one leaves the rows to be rebuilt on the next view) and
/// when an integration and its data are deleted. Cheap, unlike comparing the source tables, which
/// cost every analytics view about 400 ms at 100k issues (a scan of 1M transitions).
pub async fn sources_changed(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let version = uuid::Uuid::new_v4().simple().to_string();
    set_refresh_row(db, SOURCES_VERSION, &version, Utc::now()).await
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

/// The version of the synced data and the flow configuration's fingerprint: what a build of the
/// precomputed rows was made from.
pub async fn fingerprint(db: &impl ConnectionTrait) -> Result<String, DbErr> {
    let sources = analytics_refresh::Entity::find()
        .filter(analytics_refresh::Column::Name.eq(SOURCES_VERSION))
        .one(db)
        .await?
        .map_or_else(|| "none".to_string(), |r| r.fingerprint);
    Ok(format!(
        "sources:{sources}|flow:{}",
        super::flow::config_fingerprint(db).await?
    ))
}

/// How current the precomputed rows are, for the pages to say so.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Freshness {
    /// A sync is running: the rows are those of the last build and are rebuilt when it finishes.
    pub syncing: bool,
    /// The rows are being rebuilt (after a sync, or for a changed flow configuration) or the
    /// rebuilt ones are being loaded: the numbers are those of the last build until then.
    pub rebuilding: bool,
    /// When the rows were last built (None: never).
    pub built_at: Option<DateTime<Utc>>,
    /// Identifies the build of the rows (changes with every rebuild, here or in another
    /// process), for caches of what was read from them.
    #[serde(skip)]
    pub build: String,
}

impl Freshness {
    fn of(syncing: bool, stored: Option<analytics_refresh::Model>) -> Self {
        Self {
            syncing,
            rebuilding: false,
            built_at: stored.as_ref().map(|s| s.updated_at),
            build: stored.map_or_else(String::new, |s| {
                format!("{}@{}", s.fingerprint, s.updated_at.timestamp_micros())
            }),
        }
    }

    /// Adds `precomputed_at`, `sync_running` and `rebuilding` to a report's JSON document.
    pub fn annotate(&self, doc: &mut serde_json::Value) {
        doc["precomputed_at"] = serde_json::json!(self.built_at);
        doc["sync_running"] = serde_json::json!(self.syncing);
        doc["rebuilding"] = serde_json::json!(self.rebuilding);
    }
}

async fn precompute_row(db: &impl ConnectionTrait) -> Result<Option<analytics_refresh::Model>, DbErr> {
    analytics_refresh::Entity::find()
        .filter(analytics_refresh::Column::Name.eq(PRECOMPUTE))
        .one(db)
        .await
}

/// Rebuilds the precomputed rows if the sources changed since the last build. Not while a sync
/// runs: its rows change page by page (the run rebuilds when it finishes), and on SQLite a
/// rebuild's commit between a sync transaction's read and its write fails that page
/// ("database is locked"). While a rebuild is under way (the one after a sync, or another view's)
/// it answers at once with the last build, marked [`Freshness::rebuilding`], instead of waiting
/// for it: waiting made the soak's analytics p99 2–3 s (docs/decisions.md). Only when there is
/// no build yet does it wait.
pub async fn ensure_fresh(db: &DatabaseConnection, rebuilds: &Rebuilds) -> Result<Freshness, DbErr> {
    let _guard = match rebuilds.0.try_lock() {
        Ok(guard) => guard,
        Err(_) => match precompute_row(db).await? {
            Some(last) => {
                let syncing = running(db).await?;
                return Ok(Freshness {
                    rebuilding: true,
                    ..Freshness::of(syncing, Some(last))
                });
            }
            None => rebuilds.0.lock().await,
        },
    };
    let stored = precompute_row(db).await?;
    let syncing = running(db).await?;
    if syncing {
        return Ok(Freshness::of(syncing, stored));
    }
    let now = fingerprint(db).await?;
    if let Some(s) = stored.filter(|s| s.fingerprint == now) {
        return Ok(Freshness::of(syncing, Some(s)));
    }
    rebuild(db, &now).await?;
    // Read back rather than built from the clock: the stored time's precision is the database's.
    Ok(Freshness::of(syncing, precompute_row(db).await?))
}

/// Whether a job (a sync) is running.
async fn running(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(jobs::Entity::find()
        .filter(jobs::Column::Status.eq(JobStatus::Running.as_str()))
        .one(db)
        .await?
        .is_some())
}

/// Rebuilds unconditionally (after a sync finishes); the new build.
pub async fn refresh(db: &DatabaseConnection, rebuilds: &Rebuilds) -> Result<Freshness, DbErr> {
    let _guard = rebuilds.0.lock().await;
    let now = fingerprint(db).await?;
    rebuild(db, &now).await?;
    Ok(Freshness::of(false, precompute_row(db).await?))
}

async fn rebuild(db: &DatabaseConnection, fingerprint: &str) -> Result<(), DbErr> {
    let started = std::time::Instant::now();
    let tx = crate::db::begin_write(db).await?;
    let prs = precompute::pull_requests(&tx).await?;
    let issues = precompute::issues(&tx, Utc::now()).await?;
    let now = Utc::now();
    set_refresh_row(&tx, PRECOMPUTE, fingerprint, now).await?;
    tx.commit().await?;
    tracing::info!(
        prs,
        issues,
        ms = started.elapsed().as_millis() as u64,
        "analytics precompute rebuilt"
    );
    Ok(())
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

/// Each repository's page on GitHub (`https://github.com/owner/name`, or on the Enterprise host).
pub async fn repository_urls(db: &impl ConnectionTrait) -> Result<HashMap<i64, String>, DbErr> {
    let rows: Vec<(i64, String, String, String)> = repositories::Entity::find()
        .select_only()
        .columns([
            repositories::Column::Id,
            repositories::Column::Owner,
            repositories::Column::Name,
        ])
        .column(integrations::Column::BaseUrl)
        .join(JoinType::InnerJoin, repositories::Relation::Integrations.def())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, owner, name, base)| {
            (
                id,
                format!("{}/{owner}/{name}", crate::domain::links::github_web_base(&base)),
            )
        })
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
/// hours as JSON took ~10× the memory of what the reports keep).
pub async fn flow_times(
    db: &DatabaseConnection,
) -> Result<impl futures_util::Stream<Item = Result<entity::issue_flow_times::Model, DbErr>> + Send + '_, DbErr> {
    entity::issue_flow_times::Entity::find().stream(db).await
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
