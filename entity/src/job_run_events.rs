//! `job_run_events`: Log lines emitted during a job run.

use sea_orm::entity::prelude::*;

use crate::enums::EventLevel;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "job_run_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: i64,
    pub level: EventLevel,
    pub message: String,
    pub at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::job_runs::Entity",
        from = "Column::RunId",
        to = "super::job_runs::Column::Id",
        on_delete = "Cascade"
    )]
    JobRuns,
}

impl Related<super::job_runs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JobRuns.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
