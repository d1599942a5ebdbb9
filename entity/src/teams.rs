//! `teams`: a name plus the repositories (`owner/name`) and Jira projects (keys) it owns.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "teams")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// JSON array of `owner/name` strings.
    #[sea_orm(column_type = "JsonBinary")]
    pub repositories: Json,
    /// JSON array of Jira project keys.
    #[sea_orm(column_type = "JsonBinary")]
    pub projects: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
