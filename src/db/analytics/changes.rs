//! What syncs changed since the last analytics pass: recorded by the writers of the synced rows
//! in the page's own transaction (a crash loses the page and its record together, never one of
//! them), claimed by the pass that recomputes them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use entity::analytics_changes;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set, Statement};

/// Rows per multi-row insert (three parameters each).
const CHUNK: usize = 300;

const ISSUE: &str = "issue";
const PULL_REQUEST: &str = "pull_request";
const DEPLOYMENTS: &str = "deployments";
const ALL: &str = "all";

/// Records that these Jira issues (and their status history) were written.
pub async fn issues_written(db: &impl ConnectionTrait, ids: Vec<i64>) -> Result<(), DbErr> {
    record(db, ISSUE, ids.into_iter().map(|id| (id, None)).collect()).await
}

/// Records that these pull requests (and their reviews, commits and comments) were written.
pub async fn pull_requests_written(db: &impl ConnectionTrait, ids: Vec<i64>) -> Result<(), DbErr> {
    record(db, PULL_REQUEST, ids.into_iter().map(|id| (id, None)).collect()).await
}

/// Records that deployments of a repository were written; `since` is the earliest `created`,
/// before or after the write, of those that changed.
pub async fn deployments_written(db: &impl ConnectionTrait, repo_id: i64, since: DateTime<Utc>) -> Result<(), DbErr> {
    record(db, DEPLOYMENTS, vec![(repo_id, Some(since))]).await
}

/// Records that anything may have changed (rows deleted or edited outside a sync): the next
/// pass recomputes everything and reloads the snapshot whole.
pub async fn everything(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    record(db, ALL, vec![(0, None)]).await
}

async fn record(db: &impl ConnectionTrait, kind: &str, rows: Vec<(i64, Option<DateTime<Utc>>)>) -> Result<(), DbErr> {
    let models: Vec<analytics_changes::ActiveModel> = rows
        .into_iter()
        .map(|(row_id, at)| analytics_changes::ActiveModel {
            kind: Set(kind.to_string()),
            row_id: Set(row_id),
            at: Set(at),
            ..Default::default()
        })
        .collect();
    for chunk in models.chunks(CHUNK) {
        analytics_changes::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The changes a pass recomputes, each row once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claimed {
    pub all: bool,
    pub issues: BTreeSet<i64>,
    pub pull_requests: BTreeSet<i64>,
    /// Repository → earliest `created` of its changed deployments.
    pub deployments: BTreeMap<i64, DateTime<Utc>>,
}

impl Claimed {
    pub fn is_empty(&self) -> bool {
        !self.all && self.issues.is_empty() && self.pull_requests.is_empty() && self.deployments.is_empty()
    }
}

/// Takes every recorded change: deleted and returned by one statement, so a change committed
/// meanwhile is either returned or left for the next pass, never deleted unseen (a sequence
/// does not commit in order on PostgreSQL, so "up to the highest id read" could lose one). Call
/// inside the pass's transaction: if the pass fails, the changes come back.
pub async fn claim(db: &impl ConnectionTrait) -> Result<Claimed, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "DELETE FROM analytics_changes RETURNING kind, row_id, at",
        ))
        .await?;
    let mut out = Claimed::default();
    for row in rows {
        let kind: String = row.try_get("", "kind")?;
        let id: i64 = row.try_get("", "row_id")?;
        match kind.as_str() {
            ISSUE => {
                out.issues.insert(id);
            }
            PULL_REQUEST => {
                out.pull_requests.insert(id);
            }
            DEPLOYMENTS => {
                let at: Option<DateTime<Utc>> = row.try_get("", "at")?;
                let at = at.unwrap_or(DateTime::<Utc>::MIN_UTC);
                out.deployments
                    .entry(id)
                    .and_modify(|t| *t = (*t).min(at))
                    .or_insert(at);
            }
            _ => out.all = true,
        }
    }
    Ok(out)
}

/// Whether any change waits for a pass.
pub async fn pending(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    use sea_orm::QuerySelect;
    Ok(analytics_changes::Entity::find()
        .select_only()
        .column(analytics_changes::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}
