//! Jira tables: projects, issue types, statuses, issues and status transitions.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::common::{create_indexes, drop_tables, fk, flag, index, int_default, stamped, table, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// Run in a transaction on SQLite too, so a failed step leaves nothing
    /// half-applied (PostgreSQL already does this by default).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager.create_table(jira_projects(b)).await?;
        manager.create_table(jira_issue_types(b)).await?;
        manager.create_table(jira_statuses(b)).await?;
        manager.create_table(jira_issues(b)).await?;
        manager.create_table(jira_status_transitions(b)).await?;
        create_indexes(manager, indexes()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                JiraStatusTransitions::Table.into_iden(),
                JiraIssues::Table.into_iden(),
                JiraStatuses::Table.into_iden(),
                JiraIssueTypes::Table.into_iden(),
                JiraProjects::Table.into_iden(),
            ],
        )
        .await
    }
}

/// Cascading foreign key `<table>.integration_id -> integrations.id`.
fn integration_fk<T: IntoIden, C: IntoIden>(name: &str, tbl: T, col: C) -> ForeignKeyCreateStatement {
    fk(name, tbl, col, Integrations::Table, ForeignKeyAction::Cascade)
}

fn jira_projects(b: DbBackend) -> TableCreateStatement {
    use JiraProjects as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::IntegrationId))
            .col(text(T::ExternalId))
            .col(text(T::Key))
            .col(text(T::Name))
            .col(flag(T::Active, true))
            .col(timestamp_with_time_zone_null(T::SyncWatermark))
            .foreign_key(&mut integration_fk(
                "fk_jira_projects_integration_id",
                T::Table,
                T::IntegrationId,
            )),
        b,
    )
}

fn jira_issue_types(b: DbBackend) -> TableCreateStatement {
    use JiraIssueTypes as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::IntegrationId))
            .col(text(T::ExternalId))
            .col(text(T::Name))
            .col(flag(T::Subtask, false))
            .col(int_default(T::HierarchyLevel, 0))
            .col(flag(T::Active, true))
            .foreign_key(&mut integration_fk(
                "fk_jira_issue_types_integration_id",
                T::Table,
                T::IntegrationId,
            )),
        b,
    )
}

fn jira_statuses(b: DbBackend) -> TableCreateStatement {
    use JiraStatuses as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::IntegrationId))
            .col(text(T::ExternalId))
            .col(text(T::Name))
            .col(text(T::CategoryKey))
            .col(flag(T::Active, true))
            .foreign_key(&mut integration_fk(
                "fk_jira_statuses_integration_id",
                T::Table,
                T::IntegrationId,
            )),
        b,
    )
}

fn jira_issues(b: DbBackend) -> TableCreateStatement {
    use JiraIssues as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::IntegrationId))
            .col(big_integer(T::ProjectId))
            .col(text(T::ExternalId))
            .col(text(T::Key))
            .col(text(T::IssueTypeName))
            .col(text(T::StatusName))
            .col(text(T::StatusCategoryKey))
            .col(text(T::Summary))
            .col(text_null(T::Priority))
            .col(text_null(T::Assignee))
            .col(text_null(T::Reporter))
            .col(timestamp_with_time_zone(T::Created))
            .col(timestamp_with_time_zone(T::Updated))
            .col(timestamp_with_time_zone_null(T::Resolved))
            .col(double_null(T::StoryPoints))
            .col(text_null(T::ParentKey))
            .col(text_null(T::ParentExternalId))
            .col(flag(T::Active, true))
            .foreign_key(&mut fk(
                "fk_jira_issues_project_id",
                T::Table,
                T::ProjectId,
                JiraProjects::Table,
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut integration_fk(
                "fk_jira_issues_integration_id",
                T::Table,
                T::IntegrationId,
            )),
        b,
    )
}

fn jira_status_transitions(b: DbBackend) -> TableCreateStatement {
    use JiraStatusTransitions as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::IssueId))
            .col(text(T::ChangelogId))
            .col(integer(T::ItemIndex))
            .col(text_null(T::FromStatus))
            .col(text(T::ToStatus))
            .col(text_null(T::FromStatusId))
            .col(text_null(T::ToStatusId))
            .col(timestamp_with_time_zone(T::At))
            .col(text_null(T::Author))
            .foreign_key(&mut fk(
                "fk_jira_status_transitions_issue_id",
                T::Table,
                T::IssueId,
                JiraIssues::Table,
                ForeignKeyAction::Cascade,
            )),
        b,
    )
}

fn indexes() -> Vec<IndexCreateStatement> {
    use JiraIssues as I;
    use JiraStatusTransitions as S;
    vec![
        unique(
            "uq_jira_projects_integration_external",
            JiraProjects::Table,
            [JiraProjects::IntegrationId, JiraProjects::ExternalId],
        ),
        index(
            "idx_jira_projects_integration_key",
            JiraProjects::Table,
            [JiraProjects::IntegrationId, JiraProjects::Key],
        ),
        unique(
            "uq_jira_issue_types_integration_external",
            JiraIssueTypes::Table,
            [JiraIssueTypes::IntegrationId, JiraIssueTypes::ExternalId],
        ),
        unique(
            "uq_jira_statuses_integration_external",
            JiraStatuses::Table,
            [JiraStatuses::IntegrationId, JiraStatuses::ExternalId],
        ),
        unique(
            "uq_jira_issues_integration_external",
            I::Table,
            [I::IntegrationId, I::ExternalId],
        ),
        index("idx_jira_issues_integration_key", I::Table, [I::IntegrationId, I::Key]),
        index("idx_jira_issues_project_updated", I::Table, [I::ProjectId, I::Updated]),
        index("idx_jira_issues_issue_type_name", I::Table, [I::IssueTypeName]),
        index("idx_jira_issues_status_name", I::Table, [I::StatusName]),
        unique(
            "uq_jira_status_transitions_issue_changelog_item",
            S::Table,
            [S::IssueId, S::ChangelogId, S::ItemIndex],
        ),
        index("idx_jira_status_transitions_issue_at", S::Table, [S::IssueId, S::At]),
    ]
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
}

#[derive(DeriveIden)]
enum JiraProjects {
    Table,
    IntegrationId,
    ExternalId,
    Key,
    Name,
    Active,
    SyncWatermark,
}

#[derive(DeriveIden)]
enum JiraIssueTypes {
    Table,
    IntegrationId,
    ExternalId,
    Name,
    Subtask,
    HierarchyLevel,
    Active,
}

#[derive(DeriveIden)]
enum JiraStatuses {
    Table,
    IntegrationId,
    ExternalId,
    Name,
    CategoryKey,
    Active,
}

#[derive(DeriveIden)]
enum JiraIssues {
    Table,
    IntegrationId,
    ProjectId,
    ExternalId,
    Key,
    IssueTypeName,
    StatusName,
    StatusCategoryKey,
    Summary,
    Priority,
    Assignee,
    Reporter,
    Created,
    Updated,
    Resolved,
    StoryPoints,
    ParentKey,
    ParentExternalId,
    Active,
}

#[derive(DeriveIden)]
enum JiraStatusTransitions {
    Table,
    IssueId,
    ChangelogId,
    ItemIndex,
    FromStatus,
    ToStatus,
    FromStatusId,
    ToStatusId,
    At,
    Author,
}
