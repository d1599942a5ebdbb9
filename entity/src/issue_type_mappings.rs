//! `issue_type_mappings`: Maps Jira issue types to work categories.

use sea_orm::entity::prelude::*;

use crate::enums::WorkCategory;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "issue_type_mappings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub issuetype_from: String,
    pub issuetype_to: String,
    pub work_category: WorkCategory,
    pub hierarchy_level: i32,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::status_mappings::Entity")]
    StatusMappings,
}

impl Related<super::status_mappings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StatusMappings.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
