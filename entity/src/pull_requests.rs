//! `pull_requests`: GitHub pull requests.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "pull_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub repository_id: i64,
    pub number: i32,
    pub node_id: String,
    pub title: String,
    pub author: Option<String>,
    pub author_is_bot: bool,
    pub state: String,
    pub draft: bool,
    pub created: DateTimeUtc,
    pub updated: DateTimeUtc,
    pub merged_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub additions: i32,
    pub deletions: i32,
    pub changed_files: i32,
    pub base_ref: String,
    pub head_ref: String,
    pub merge_commit_sha: Option<String>,
    pub first_commit_at: Option<DateTimeUtc>,
    pub first_review_at: Option<DateTimeUtc>,
    pub first_response_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::repositories::Entity",
        from = "Column::RepositoryId",
        to = "super::repositories::Column::Id",
        on_delete = "Cascade"
    )]
    Repositories,
    #[sea_orm(has_many = "super::pr_reviews::Entity")]
    PrReviews,
    #[sea_orm(has_many = "super::pr_commits::Entity")]
    PrCommits,
    #[sea_orm(has_many = "super::pr_comments::Entity")]
    PrComments,
    #[sea_orm(has_many = "super::pr_issue_links::Entity")]
    PrIssueLinks,
}

impl Related<super::repositories::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Repositories.def()
    }
}

impl Related<super::pr_reviews::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PrReviews.def()
    }
}

impl Related<super::pr_commits::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PrCommits.def()
    }
}

impl Related<super::pr_comments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PrComments.def()
    }
}

impl Related<super::pr_issue_links::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PrIssueLinks.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
