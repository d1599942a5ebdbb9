//! The flow page and the dashboard count active issues per (status, issue type, status
//! category) on every view (what the flow configuration maps and what it leaves unmapped). At
//! 500k issues SQLite read the whole issues table for it (0.6 s a view); this index covers the
//! query, so the count reads the index alone, in group order (0.09 s).

use sea_orm_migration::prelude::*;

use crate::common::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JiraIssues {
    Table,
    Active,
    StatusName,
    IssueTypeName,
    StatusCategoryKey,
}

const NAME: &str = "idx_jira_issues_active_groups";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use JiraIssues as I;
        manager
            .create_index(index(
                NAME,
                I::Table,
                [I::Active, I::StatusName, I::IssueTypeName, I::StatusCategoryKey],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(JiraIssues::Table).to_owned())
            .await
    }
}
