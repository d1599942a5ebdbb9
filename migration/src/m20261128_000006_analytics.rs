//! Precomputed analytics: per-PR stage moments and per-issue flow times, rebuilt after a sync
//! and whenever the flow configuration changed (see `analytics_refresh`).

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::common::{create_indexes, drop_tables, fk, flag, index, int_default, json_object, stamped, table, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager.create_table(pr_stage_times(b)).await?;
        manager.create_table(issue_flow_times(b)).await?;
        manager.create_table(analytics_refresh(b)).await?;
        create_indexes(manager, indexes()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                AnalyticsRefresh::Table.into_iden(),
                IssueFlowTimes::Table.into_iden(),
                PrStageTimes::Table.into_iden(),
            ],
        )
        .await
    }
}

fn pr_stage_times(b: DbBackend) -> TableCreateStatement {
    use PrStageTimes as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::PullRequestId))
            .col(big_integer(T::RepositoryId))
            .col(text_null(T::Author))
            .col(flag(T::IsBot, false))
            .col(timestamp_with_time_zone(T::Created))
            .col(timestamp_with_time_zone_null(T::MergedAt))
            .col(timestamp_with_time_zone_null(T::FirstCommitAt))
            .col(timestamp_with_time_zone_null(T::FirstResponseAt))
            .col(timestamp_with_time_zone_null(T::FirstReviewAt))
            .col(big_integer_null(T::DeploymentId))
            .col(timestamp_with_time_zone_null(T::DeployedAt))
            .col(int_default(T::Size, 0))
            .col(int_default(T::Reviews, 0))
            .col(flag(T::Approved, false))
            .foreign_key(&mut fk(
                "fk_pr_stage_times_pull_request_id",
                T::Table,
                T::PullRequestId,
                PullRequests::Table,
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "fk_pr_stage_times_repository_id",
                T::Table,
                T::RepositoryId,
                Repositories::Table,
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "fk_pr_stage_times_deployment_id",
                T::Table,
                T::DeploymentId,
                Deployments::Table,
                ForeignKeyAction::SetNull,
            )),
        b,
    )
}

fn issue_flow_times(b: DbBackend) -> TableCreateStatement {
    use IssueFlowTimes as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::IssueId))
            .col(big_integer(T::ProjectId))
            .col(text(T::IssueTypeName))
            .col(text(T::WorkCategory))
            .col(flag(T::Counted, true))
            .col(timestamp_with_time_zone(T::Created))
            .col(timestamp_with_time_zone_null(T::StartedAt))
            .col(timestamp_with_time_zone_null(T::DoneAt))
            .col(json_object(T::StepHours))
            .col(double(T::InProgressHours).default(0.0))
            .col(double(T::WaitingHours).default(0.0))
            .col(int_default(T::Rework, 0))
            .col(text_null(T::CurrentStep))
            .col(text_null(T::CurrentCategory))
            .col(timestamp_with_time_zone_null(T::CurrentSince))
            .foreign_key(&mut fk(
                "fk_issue_flow_times_issue_id",
                T::Table,
                T::IssueId,
                JiraIssues::Table,
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "fk_issue_flow_times_project_id",
                T::Table,
                T::ProjectId,
                JiraProjects::Table,
                ForeignKeyAction::Cascade,
            )),
        b,
    )
}

fn analytics_refresh(b: DbBackend) -> TableCreateStatement {
    use AnalyticsRefresh as T;
    stamped(table(T::Table).col(text_uniq(T::Name)).col(text(T::Fingerprint)), b)
}

fn indexes() -> Vec<IndexCreateStatement> {
    use IssueFlowTimes as I;
    use PrStageTimes as P;
    vec![
        unique("uq_pr_stage_times_pull_request_id", P::Table, [P::PullRequestId]),
        index("idx_pr_stage_times_merged_at", P::Table, [P::MergedAt]),
        index("idx_pr_stage_times_deployed_at", P::Table, [P::DeployedAt]),
        index("idx_pr_stage_times_repository_id", P::Table, [P::RepositoryId]),
        index("idx_pr_stage_times_deployment_id", P::Table, [P::DeploymentId]),
        unique("uq_issue_flow_times_issue_id", I::Table, [I::IssueId]),
        index("idx_issue_flow_times_done_at", I::Table, [I::DoneAt]),
        index("idx_issue_flow_times_project_id", I::Table, [I::ProjectId]),
    ]
}

#[derive(DeriveIden)]
enum PrStageTimes {
    Table,
    PullRequestId,
    RepositoryId,
    Author,
    IsBot,
    Created,
    MergedAt,
    FirstCommitAt,
    FirstResponseAt,
    FirstReviewAt,
    DeploymentId,
    DeployedAt,
    Size,
    Reviews,
    Approved,
}

#[derive(DeriveIden)]
enum IssueFlowTimes {
    Table,
    IssueId,
    ProjectId,
    IssueTypeName,
    WorkCategory,
    Counted,
    Created,
    StartedAt,
    DoneAt,
    StepHours,
    InProgressHours,
    WaitingHours,
    Rework,
    CurrentStep,
    CurrentCategory,
    CurrentSince,
}

#[derive(DeriveIden)]
enum AnalyticsRefresh {
    Table,
    Name,
    Fingerprint,
}

#[derive(DeriveIden)]
enum PullRequests {
    Table,
}
#[derive(DeriveIden)]
enum Repositories {
    Table,
}
#[derive(DeriveIden)]
enum Deployments {
    Table,
}
#[derive(DeriveIden)]
enum JiraIssues {
    Table,
}
#[derive(DeriveIden)]
enum JiraProjects {
    Table,
}
