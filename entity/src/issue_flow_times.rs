//! `issue_flow_times`: precomputed flow times of a Jira issue under the current flow configuration.

use sea_orm::entity::prelude::*;

use crate::enums::{StepCategory, WorkCategory};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "issue_flow_times")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub issue_id: i64,
    pub project_id: i64,
    pub issue_type_name: String,
    pub work_category: WorkCategory,
    /// False when the issue, its type mapping, a status mapping or a flow step it uses is inactive.
    pub counted: bool,
    pub created: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub done_at: Option<DateTimeUtc>,
    /// Hours per step name over closed intervals (the open one is `current_step` since `current_since`).
    #[sea_orm(column_type = "JsonBinary")]
    pub step_hours: Json,
    #[sea_orm(column_type = "Double")]
    pub in_progress_hours: f64,
    #[sea_orm(column_type = "Double")]
    pub waiting_hours: f64,
    pub rework: i32,
    pub current_step: Option<String>,
    pub current_category: Option<StepCategory>,
    pub current_since: Option<DateTimeUtc>,
    /// Each entry into a place, in time order from `created`: `[epoch ms, step name or null
    /// (unmapped), category]` (null before the first pass that computed it).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub timeline: Option<Json>,
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
