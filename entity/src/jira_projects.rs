//! `jira_projects`: Jira projects of an integration.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "jira_projects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub integration_id: i64,
    pub external_id: String,
    pub key: String,
    pub name: String,
    pub active: bool,
    pub sync_watermark: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::integrations::Entity",
        from = "Column::IntegrationId",
        to = "super::integrations::Column::Id",
        on_delete = "Cascade"
    )]
    Integrations,
    #[sea_orm(has_many = "super::jira_issues::Entity")]
    JiraIssues,
}

impl Related<super::integrations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Integrations.def()
    }
}

impl Related<super::jira_issues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JiraIssues.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
