//! Integrations and their encrypted secrets.

use chrono::Utc;
use entity::{
    deployments, integrations, jira_issues, jira_projects, jira_status_transitions, pull_requests, repositories,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set,
};
use secrecy::SecretString;
use serde::Serialize;

use crate::crypto::{CryptoError, Vault, integration_secret_aad};
use crate::domain::integration::ValidIntegration;

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<integrations::Model>, DbErr> {
    integrations::Entity::find()
        .order_by_asc(integrations::Column::Kind)
        .order_by_asc(integrations::Column::Name)
        .all(db)
        .await
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<Option<integrations::Model>, DbErr> {
    integrations::Entity::find_by_id(id).one(db).await
}

/// Names are unique case-insensitively (`Acme Jira` = `acme jira`).
pub async fn name_taken(db: &impl ConnectionTrait, name: &str, except: Option<i64>) -> Result<bool, DbErr> {
    let names: Vec<(i64, String)> = integrations::Entity::find()
        .select_only()
        .column(integrations::Column::Id)
        .column(integrations::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    Ok(names
        .iter()
        .any(|(id, n)| Some(*id) != except && n.to_lowercase() == name.to_lowercase()))
}

/// The last connection test, as stored with the row.
pub struct TestOutcome<'a> {
    pub ok: bool,
    pub message: &'a str,
}

/// Inserts the row, then encrypts the secret bound to the new id, in one transaction.
pub async fn create(
    db: &DatabaseConnection,
    vault: &Vault,
    v: &ValidIntegration,
    test: Option<TestOutcome<'_>>,
) -> Result<integrations::Model, SaveError> {
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    let row = integrations::ActiveModel {
        kind: Set(v.kind),
        name: Set(v.name.clone()),
        base_url: Set(v.base_url.as_str().trim_end_matches('/').into()),
        flavour: Set(v.flavour),
        auth_kind: Set(v.flavour.auth_kind()),
        username: Set(v.username.clone()),
        secret: Set(None),
        settings: Set(v.settings.to_json()),
        active: Set(v.active),
        last_test_at: Set(test.as_ref().map(|_| now)),
        last_test_ok: Set(test.as_ref().map(|t| t.ok)),
        last_test_message: Set(test.as_ref().map(|t| t.message.to_string())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let secret = v.secret.as_ref().ok_or(SaveError::MissingSecret)?;
    let sealed = vault.encrypt(secret, &integration_secret_aad(row.id))?;
    let mut active = row.into_active_model();
    active.secret = Set(Some(sealed));
    let row = active.update(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// Updates every field; a missing secret keeps the stored one.
pub async fn update(
    db: &impl ConnectionTrait,
    vault: &Vault,
    existing: integrations::Model,
    v: &ValidIntegration,
    test: Option<TestOutcome<'_>>,
) -> Result<integrations::Model, SaveError> {
    let now = Utc::now();
    let id = existing.id;
    let mut row = existing.into_active_model();
    row.name = Set(v.name.clone());
    row.base_url = Set(v.base_url.as_str().trim_end_matches('/').into());
    row.flavour = Set(v.flavour);
    row.auth_kind = Set(v.flavour.auth_kind());
    row.username = Set(v.username.clone());
    row.settings = Set(v.settings.to_json());
    row.active = Set(v.active);
    if let Some(secret) = &v.secret {
        row.secret = Set(Some(vault.encrypt(secret, &integration_secret_aad(id))?));
    }
    if let Some(t) = test {
        row.last_test_at = Set(Some(now));
        row.last_test_ok = Set(Some(t.ok));
        row.last_test_message = Set(Some(t.message.to_string()));
    }
    row.updated_at = Set(now);
    Ok(row.update(db).await?)
}

pub async fn record_test(
    db: &impl ConnectionTrait,
    row: integrations::Model,
    ok: bool,
    message: &str,
) -> Result<integrations::Model, DbErr> {
    let mut row = row.into_active_model();
    row.last_test_at = Set(Some(Utc::now()));
    row.last_test_ok = Set(Some(ok));
    row.last_test_message = Set(Some(message.to_string()));
    row.update(db).await
}

pub async fn set_active(
    db: &impl ConnectionTrait,
    row: integrations::Model,
    active: bool,
) -> Result<integrations::Model, DbErr> {
    let mut row = row.into_active_model();
    row.active = Set(active);
    row.updated_at = Set(Utc::now());
    row.update(db).await
}

/// Records that a sync of this integration completed.
pub async fn mark_synced(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    integrations::Entity::update_many()
        .col_expr(integrations::Column::LastSyncAt, Some(Utc::now()).into())
        .filter(integrations::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records what the last sync of the integration saw of its upstream (whatever its outcome).
pub async fn set_sync_stats(db: &impl ConnectionTrait, id: i64, stats: &serde_json::Value) -> Result<(), DbErr> {
    integrations::Entity::update_many()
        .col_expr(integrations::Column::LastSyncStats, Some(stats.clone()).into())
        .filter(integrations::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub fn decrypt_secret(vault: &Vault, row: &integrations::Model) -> Result<SecretString, CryptoError> {
    let stored = row.secret.as_deref().ok_or(CryptoError::Malformed)?;
    vault.decrypt(stored, &integration_secret_aad(row.id))
}

/// What deleting an integration would delete with it.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Impact {
    pub jira_projects: u64,
    pub jira_issues: u64,
    pub repositories: u64,
    pub pull_requests: u64,
    pub deployments: u64,
}

impl Impact {
    pub fn is_empty(&self) -> bool {
        *self == Impact::default()
    }
}

pub async fn impact(db: &impl ConnectionTrait, id: i64) -> Result<Impact, DbErr> {
    Ok(Impact {
        jira_projects: jira_projects::Entity::find()
            .filter(jira_projects::Column::IntegrationId.eq(id))
            .count(db)
            .await?,
        jira_issues: jira_issues::Entity::find()
            .filter(jira_issues::Column::IntegrationId.eq(id))
            .count(db)
            .await?,
        repositories: repositories::Entity::find()
            .filter(repositories::Column::IntegrationId.eq(id))
            .count(db)
            .await?,
        pull_requests: pull_requests::Entity::find()
            .join(
                sea_orm::JoinType::InnerJoin,
                pull_requests::Relation::Repositories.def(),
            )
            .filter(repositories::Column::IntegrationId.eq(id))
            .count(db)
            .await?,
        deployments: deployments::Entity::find()
            .join(sea_orm::JoinType::InnerJoin, deployments::Relation::Repositories.def())
            .filter(repositories::Column::IntegrationId.eq(id))
            .count(db)
            .await?,
    })
}

/// Deletes the integration and every row synced through it, in one transaction: the status
/// history explicitly (on PostgreSQL it has no foreign key to its issue, migration 000009), the
/// rest by cascade.
pub async fn delete(db: &DatabaseConnection, id: i64) -> Result<(), DbErr> {
    let txn = crate::db::begin_write(db).await?;
    jira_status_transitions::Entity::delete_many()
        .filter(
            jira_status_transitions::Column::IssueId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(jira_issues::Column::Id)
                    .from(jira_issues::Entity)
                    .and_where(jira_issues::Column::IntegrationId.eq(id))
                    .to_owned(),
            ),
        )
        .exec(&txn)
        .await?;
    integrations::Entity::delete_by_id(id).exec(&txn).await?;
    crate::db::analytics::everything_changed(&txn).await?;
    txn.commit().await
}

/// Re-encrypts every secret not yet under the current key; returns how many changed.
pub async fn rotate_secrets(db: &DatabaseConnection, vault: &Vault) -> Result<usize, SaveError> {
    let txn = crate::db::begin_write(db).await?;
    let mut changed = 0;
    for row in integrations::Entity::find().all(&txn).await? {
        let Some(stored) = row.secret.as_deref() else { continue };
        if vault.is_current(stored) {
            continue;
        }
        let plain = vault.decrypt(stored, &integration_secret_aad(row.id))?;
        let sealed = vault.encrypt(&plain, &integration_secret_aad(row.id))?;
        let mut active = row.into_active_model();
        active.secret = Set(Some(sealed));
        active.update(&txn).await?;
        changed += 1;
    }
    if super::notifications::rotate(&txn, vault).await? {
        changed += 1;
    }
    txn.commit().await?;
    Ok(changed)
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("a secret is required")]
    MissingSecret,
}
