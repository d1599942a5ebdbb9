//! Storing GitHub data: repositories here, pull-request pages ([`pulls`]: each changed PR with
//! its nested rows replaced whole) and deployments ([`deployments`]), with batched multi-row
//! statements. Page writers expect to run inside the caller's transaction.

mod deployments;
mod pulls;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{integrations, jira_projects, repositories};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};

pub use deployments::{DeploymentRow, deployment_sources, oldest_unfinished_deployment, store_deployments};
pub use pulls::{
    COMMENT_KIND_ISSUE, COMMENT_KIND_REVIEW, CommentRow, CommitRow, LinkRow, PrRow, PullCounts, ReviewRow, Written,
    store_pulls, stored_pull_updates,
};

/// What the API says about a repository besides its name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepoMeta {
    pub node_id: Option<String>,
    pub default_branch: Option<String>,
    pub archived: bool,
}

pub async fn list_repositories(
    db: &impl ConnectionTrait,
    integration_id: i64,
) -> Result<Vec<repositories::Model>, DbErr> {
    repositories::Entity::find()
        .filter(repositories::Column::IntegrationId.eq(integration_id))
        .all(db)
        .await
}

/// A repository to sync: owner, name, and what the listing said about it (if it was listed).
pub type Wanted = (String, String, Option<RepoMeta>);

/// Finds (case-insensitively, as GitHub does) or creates each repository row and marks it
/// active; a known `RepoMeta` refreshes node id, default branch and archived flag. Returns the
/// rows in the order asked, and how many were new.
pub async fn upsert_repositories(
    db: &impl ConnectionTrait,
    integration_id: i64,
    wanted: &[Wanted],
) -> Result<(Vec<repositories::Model>, u64), DbErr> {
    let now = Utc::now();
    let existing = list_repositories(db, integration_id).await?;
    let mut out = Vec::with_capacity(wanted.len());
    let mut inserted = 0;
    for (owner, name, meta) in wanted {
        let found = existing
            .iter()
            .find(|r| r.owner.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(name));
        match found {
            Some(r) => {
                let same_meta = meta.as_ref().is_none_or(|m| {
                    m.node_id.as_ref().is_none_or(|n| r.node_id.as_ref() == Some(n))
                        && m.default_branch
                            .as_ref()
                            .is_none_or(|b| r.default_branch.as_ref() == Some(b))
                        && m.archived == r.archived
                });
                if r.active && same_meta {
                    out.push(r.clone());
                    continue;
                }
                let mut a = r.clone().into_active_model();
                a.active = Set(true);
                if let Some(m) = meta {
                    if m.node_id.is_some() {
                        a.node_id = Set(m.node_id.clone());
                    }
                    if m.default_branch.is_some() {
                        a.default_branch = Set(m.default_branch.clone());
                    }
                    a.archived = Set(m.archived);
                }
                a.updated_at = Set(now);
                out.push(a.update(db).await?);
            }
            None => {
                let m = meta.clone().unwrap_or_default();
                let row = repositories::ActiveModel {
                    integration_id: Set(integration_id),
                    node_id: Set(m.node_id),
                    owner: Set(owner.clone()),
                    name: Set(name.clone()),
                    default_branch: Set(m.default_branch),
                    archived: Set(m.archived),
                    active: Set(true),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(db)
                .await?;
                inserted += 1;
                out.push(row);
            }
        }
    }
    Ok((out, inserted))
}

/// Repositories of the integration no longer selected become inactive (their data stays).
pub async fn deactivate_other_repositories(
    db: &impl ConnectionTrait,
    integration_id: i64,
    keep: &[i64],
) -> Result<u64, DbErr> {
    let res = repositories::Entity::update_many()
        .col_expr(repositories::Column::Active, false.into())
        .col_expr(repositories::Column::UpdatedAt, Utc::now().into())
        .filter(repositories::Column::IntegrationId.eq(integration_id))
        .filter(repositories::Column::Active.eq(true))
        .filter(repositories::Column::Id.is_not_in(keep.to_vec()))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

pub async fn set_pr_watermark(db: &impl ConnectionTrait, repo_id: i64, at: DateTime<Utc>) -> Result<(), DbErr> {
    repositories::Entity::update_many()
        .col_expr(repositories::Column::PrWatermark, Some(at).into())
        .col_expr(repositories::Column::UpdatedAt, Utc::now().into())
        .filter(repositories::Column::Id.eq(repo_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_deploy_watermark(db: &impl ConnectionTrait, repo_id: i64, at: DateTime<Utc>) -> Result<(), DbErr> {
    repositories::Entity::update_many()
        .col_expr(repositories::Column::DeployWatermark, Some(at).into())
        .col_expr(repositories::Column::UpdatedAt, Utc::now().into())
        .filter(repositories::Column::Id.eq(repo_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Jira project keys the service knows: every Jira integration's configured projects and the
/// synced `jira_projects` rows. Pull requests link only to these.
pub async fn known_jira_keys(db: &impl ConnectionTrait) -> Result<HashSet<String>, DbErr> {
    let mut keys: HashSet<String> = jira_projects::Entity::find()
        .select_only()
        .column(jira_projects::Column::Key)
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let settings: Vec<serde_json::Value> = integrations::Entity::find()
        .select_only()
        .column(integrations::Column::Settings)
        .filter(integrations::Column::Kind.eq("jira"))
        .into_tuple()
        .all(db)
        .await?;
    for s in settings {
        if let Some(projects) = s["projects"].as_array() {
            keys.extend(projects.iter().filter_map(|p| p.as_str()).map(str::to_ascii_uppercase));
        }
    }
    Ok(keys)
}

/// Refreshes what the API says about a repository.
pub async fn set_repository_meta(db: &impl ConnectionTrait, repo_id: i64, meta: &RepoMeta) -> Result<(), DbErr> {
    repositories::Entity::update_many()
        .col_expr(repositories::Column::NodeId, meta.node_id.clone().into())
        .col_expr(repositories::Column::DefaultBranch, meta.default_branch.clone().into())
        .col_expr(repositories::Column::Archived, meta.archived.into())
        .col_expr(repositories::Column::UpdatedAt, Utc::now().into())
        .filter(repositories::Column::Id.eq(repo_id))
        .exec(db)
        .await?;
    Ok(())
}
