//! `jira_issues`: Synchronised Jira issues.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "jira_issues")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub integration_id: i64,
    pub project_id: i64,
    pub external_id: String,
    pub key: String,
    pub issue_type_name: String,
    pub status_name: String,
    pub status_category_key: String,
    pub summary: String,
    pub priority: Option<String>,
    pub assignee: Option<String>,
    pub reporter: Option<String>,
    pub created: DateTimeUtc,
    pub updated: DateTimeUtc,
    pub resolved: Option<DateTimeUtc>,
    pub story_points: Option<f64>,
    pub parent_key: Option<String>,
    pub parent_external_id: Option<String>,
    pub active: bool,
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
    #[sea_orm(
        belongs_to = "super::jira_projects::Entity",
        from = "Column::ProjectId",
        to = "super::jira_projects::Column::Id",
        on_delete = "Cascade"
    )]
    JiraProjects,
    #[sea_orm(has_many = "super::jira_status_transitions::Entity")]
    JiraStatusTransitions,
}

impl Related<super::integrations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Integrations.def()
    }
}

impl Related<super::jira_projects::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JiraProjects.def()
    }
}

impl Related<super::jira_status_transitions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JiraStatusTransitions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
