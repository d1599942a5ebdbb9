//! Deployments of every source, upserted by (repository, source, external id).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::deployments;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::Written;
use crate::db::batch::{CHUNK, FIXED, batches, text};

/// A deployment as one of the deployment sources sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentRow {
    pub source: &'static str,
    pub external_id: String,
    pub environment: Option<String>,
    pub is_production: bool,
    pub sha: Option<String>,
    pub r#ref: Option<String>,
    /// `success` once it reached success; else its latest state (`failure`, `in_progress`, …).
    pub status: String,
    pub created: DateTime<Utc>,
    /// When it first reached success, or when it failed.
    pub finished_at: Option<DateTime<Utc>>,
}

impl DeploymentRow {
    fn same_as(&self, m: &deployments::Model) -> bool {
        self.environment == m.environment
            && self.is_production == m.is_production
            && self.sha == m.sha
            && self.r#ref == m.r#ref
            && self.status == m.status
            && self.created == m.created
            && self.finished_at == m.finished_at
    }
}

/// Upserts deployments by (repository, source, external id); unchanged ones are not written.
/// Records the repository's change for the analytics precompute.
pub async fn store_deployments(
    db: &impl ConnectionTrait,
    repo_id: i64,
    rows: &[DeploymentRow],
) -> Result<Written, DbErr> {
    let mut counts = Written::default();
    if rows.is_empty() {
        return Ok(counts);
    }
    let mut existing: HashMap<(String, String), deployments::Model> = HashMap::new();
    for source in rows.iter().map(|r| r.source).collect::<HashSet<_>>() {
        let ids: Vec<String> = rows
            .iter()
            .filter(|r| r.source == source)
            .map(|r| r.external_id.clone())
            .collect();
        for chunk in ids.chunks(CHUNK) {
            for m in deployments::Entity::find()
                .filter(deployments::Column::RepositoryId.eq(repo_id))
                .filter(deployments::Column::Source.eq(source))
                .filter(deployments::Column::ExternalId.is_in(chunk.to_vec()))
                .all(db)
                .await?
            {
                existing.insert((m.source.clone(), m.external_id.clone()), m);
            }
        }
    }
    let now = Utc::now();
    let mut models: Vec<(usize, deployments::ActiveModel)> = Vec::new();
    // The earliest `created`, before or after, of the deployments that change: the pull requests
    // whose deployment may change are those not deployed before it.
    let mut since: Option<DateTime<Utc>> = None;
    for r in rows {
        let earliest = match existing.get(&(r.source.to_string(), r.external_id.clone())) {
            Some(m) if r.same_as(m) => continue,
            Some(m) => {
                counts.updated += 1;
                m.created.min(r.created)
            }
            None => {
                counts.inserted += 1;
                r.created
            }
        };
        since = Some(since.map_or(earliest, |s| s.min(earliest)));
        let size = 9 * FIXED + r.source.len() + r.external_id.len() + r.status.len();
        let size = size + text(&r.environment) + text(&r.sha) + text(&r.r#ref);
        models.push((
            size,
            deployments::ActiveModel {
                repository_id: Set(repo_id),
                source: Set(r.source.to_string()),
                external_id: Set(r.external_id.clone()),
                environment: Set(r.environment.clone()),
                is_production: Set(r.is_production),
                sha: Set(r.sha.clone()),
                r#ref: Set(r.r#ref.clone()),
                status: Set(r.status.clone()),
                created: Set(r.created),
                finished_at: Set(r.finished_at),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            },
        ));
    }
    use deployments::Column as D;
    for chunk in batches(models) {
        deployments::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([D::RepositoryId, D::Source, D::ExternalId])
                    .update_columns([
                        D::Environment,
                        D::IsProduction,
                        D::Sha,
                        D::Ref,
                        D::Status,
                        D::Created,
                        D::FinishedAt,
                        D::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    if let Some(since) = since {
        crate::db::analytics::changes::deployments_written(db, repo_id, since).await?;
    }
    Ok(counts)
}

/// The deployment sources a repository has rows of.
pub async fn deployment_sources(db: &impl ConnectionTrait, repo_id: i64) -> Result<HashSet<String>, DbErr> {
    Ok(deployments::Entity::find()
        .select_only()
        .column(deployments::Column::Source)
        .distinct()
        .filter(deployments::Column::RepositoryId.eq(repo_id))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// `created` of the oldest deployment of `source` not finished yet, among those created since
/// `not_before`: a later pass must read back to it to see it finish.
pub async fn oldest_unfinished_deployment(
    db: &impl ConnectionTrait,
    repo_id: i64,
    source: &str,
    not_before: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    deployments::Entity::find()
        .select_only()
        .column(deployments::Column::Created)
        .filter(deployments::Column::RepositoryId.eq(repo_id))
        .filter(deployments::Column::Source.eq(source))
        .filter(deployments::Column::FinishedAt.is_null())
        .filter(deployments::Column::Created.gte(not_before))
        .order_by_asc(deployments::Column::Created)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await
}
