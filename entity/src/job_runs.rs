//! `job_runs`: One execution of a job.

use sea_orm::entity::prelude::*;

use crate::enums::{RunOutcome, RunTrigger};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "job_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub job_id: i64,
    pub trigger: RunTrigger,
    pub outcome: RunOutcome,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "JsonBinary")]
    pub counts: Json,
    pub api_requests: i64,
    pub rate_limit_wait_ms: i64,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::jobs::Entity",
        from = "Column::JobId",
        to = "super::jobs::Column::Id",
        on_delete = "Cascade"
    )]
    Jobs,
    #[sea_orm(has_many = "super::job_run_events::Entity")]
    JobRunEvents,
}

impl Related<super::jobs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jobs.def()
    }
}

impl Related<super::job_run_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JobRunEvents.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
