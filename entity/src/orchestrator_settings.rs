//! `orchestrator_settings`: Single-row scheduler settings (id = 1).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "orchestrator_settings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub interval_minutes: i32,
    pub enabled: bool,
    pub retry_enabled: bool,
    pub retry_interval_minutes: i32,
    pub max_retry_attempts: i32,
    pub next_run_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
