//! `status_mappings`: Maps Jira statuses to flow steps, optionally per issue-type mapping.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "status_mappings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub status_from: String,
    pub flow_step_id: i64,
    pub issue_type_mapping_id: Option<i64>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::flow_steps::Entity",
        from = "Column::FlowStepId",
        to = "super::flow_steps::Column::Id",
        on_delete = "Restrict"
    )]
    FlowSteps,
    #[sea_orm(
        belongs_to = "super::issue_type_mappings::Entity",
        from = "Column::IssueTypeMappingId",
        to = "super::issue_type_mappings::Column::Id",
        on_delete = "Restrict"
    )]
    IssueTypeMappings,
}

impl Related<super::flow_steps::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FlowSteps.def()
    }
}

impl Related<super::issue_type_mappings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IssueTypeMappings.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
