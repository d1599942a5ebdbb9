//! `jira_status_transitions`: Status changes from an issue's changelog.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "jira_status_transitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub issue_id: i64,
    pub changelog_id: String,
    pub item_index: i32,
    pub from_status: Option<String>,
    pub to_status: String,
    pub from_status_id: Option<String>,
    pub to_status_id: Option<String>,
    pub at: DateTimeUtc,
    pub author: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::jira_issues::Entity",
        from = "Column::IssueId",
        to = "super::jira_issues::Column::Id",
        on_delete = "Cascade"
    )]
    JiraIssues,
}

impl Related<super::jira_issues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JiraIssues.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
