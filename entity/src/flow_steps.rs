//! `flow_steps`: Ordered steps of the delivery flow.

use sea_orm::entity::prelude::*;

use crate::enums::StepCategory;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "flow_steps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub position: i32,
    pub category: StepCategory,
    pub is_commitment_point: bool,
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
