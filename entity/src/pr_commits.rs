//! `pr_commits`: Commits of a pull request.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "pr_commits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pull_request_id: i64,
    pub sha: String,
    pub message: String,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub author_login: Option<String>,
    pub authored_at: Option<DateTimeUtc>,
    pub committed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::pull_requests::Entity",
        from = "Column::PullRequestId",
        to = "super::pull_requests::Column::Id",
        on_delete = "Cascade"
    )]
    PullRequests,
}

impl Related<super::pull_requests::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PullRequests.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
