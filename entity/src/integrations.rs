//! `integrations`: Configured Jira / GitHub connections. `secret` holds ciphertext only.

use sea_orm::entity::prelude::*;

use crate::enums::{AuthKind, Flavour, IntegrationKind};

/// No `Serialize`, and `Debug` is hand-written so `secret` never reaches logs.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: IntegrationKind,
    #[sea_orm(unique)]
    pub name: String,
    pub base_url: String,
    pub flavour: Flavour,
    pub auth_kind: AuthKind,
    pub username: Option<String>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub secret: Option<Vec<u8>>,
    #[sea_orm(column_type = "JsonBinary")]
    pub settings: Json,
    pub active: bool,
    pub last_test_at: Option<DateTimeUtc>,
    pub last_test_ok: Option<bool>,
    pub last_test_message: Option<String>,
    pub last_sync_at: Option<DateTimeUtc>,
    /// The last sync's upstream figures (requests in flight at most, refusals).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub last_sync_stats: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::jira_projects::Entity")]
    JiraProjects,
    #[sea_orm(has_many = "super::jira_issue_types::Entity")]
    JiraIssueTypes,
    #[sea_orm(has_many = "super::jira_statuses::Entity")]
    JiraStatuses,
    #[sea_orm(has_many = "super::jira_issues::Entity")]
    JiraIssues,
    #[sea_orm(has_many = "super::repositories::Entity")]
    Repositories,
}

impl Related<super::jira_projects::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JiraProjects.def()
    }
}

impl Related<super::jira_issue_types::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JiraIssueTypes.def()
    }
}

impl Related<super::jira_statuses::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JiraStatuses.def()
    }
}

impl Related<super::jira_issues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JiraIssues.def()
    }
}

impl Related<super::repositories::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Repositories.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("flavour", &self.flavour)
            .field("auth_kind", &self.auth_kind)
            .field("username", &self.username)
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("settings", &self.settings)
            .field("active", &self.active)
            .field("last_test_at", &self.last_test_at)
            .field("last_test_ok", &self.last_test_ok)
            .field("last_test_message", &self.last_test_message)
            .field("last_sync_at", &self.last_sync_at)
            .field("last_sync_stats", &self.last_sync_stats)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}
