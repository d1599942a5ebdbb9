//! `pr_stage_times`: precomputed stage moments of a pull request and the deployment that shipped it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "pr_stage_times")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub pull_request_id: i64,
    pub repository_id: i64,
    pub author: Option<String>,
    pub is_bot: bool,
    pub created: DateTimeUtc,
    pub merged_at: Option<DateTimeUtc>,
    pub first_commit_at: Option<DateTimeUtc>,
    pub first_response_at: Option<DateTimeUtc>,
    pub first_review_at: Option<DateTimeUtc>,
    pub deployment_id: Option<i64>,
    pub deployed_at: Option<DateTimeUtc>,
    pub size: i32,
    pub reviews: i32,
    pub approved: bool,
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
