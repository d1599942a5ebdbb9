//! `jobs`: Background jobs (`jira_sync`, `github_sync`) and their live state.

use sea_orm::entity::prelude::*;

use crate::enums::{JobStatus, JobType};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub job_type: JobType,
    pub status: JobStatus,
    pub active: bool,
    pub progress: i32,
    pub progress_message: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub checkpoint: Option<Json>,
    pub retry_count: i32,
    pub next_retry_at: Option<DateTimeUtc>,
    pub last_started_at: Option<DateTimeUtc>,
    pub last_finished_at: Option<DateTimeUtc>,
    pub last_success_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub stop_requested: bool,
    pub pause_requested: bool,
    pub lease_owner: Option<String>,
    pub heartbeat_at: Option<DateTimeUtc>,
    pub current_run_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::job_runs::Entity")]
    JobRuns,
}

impl Related<super::job_runs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JobRuns.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
