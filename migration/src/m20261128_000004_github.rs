//! GitHub tables: repositories, pull requests and their reviews, commits,
//! comments and issue links, and deployments.

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
        manager.create_table(repositories(b)).await?;
        manager.create_table(pull_requests(b)).await?;
        manager.create_table(pr_reviews(b)).await?;
        manager.create_table(pr_commits(b)).await?;
        manager.create_table(pr_comments(b)).await?;
        manager.create_table(deployments(b)).await?;
        manager.create_table(pr_issue_links(b)).await?;
        create_indexes(manager, indexes()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                PrIssueLinks::Table.into_iden(),
                Deployments::Table.into_iden(),
                PrComments::Table.into_iden(),
                PrCommits::Table.into_iden(),
                PrReviews::Table.into_iden(),
                PullRequests::Table.into_iden(),
                Repositories::Table.into_iden(),
            ],
        )
        .await
    }
}

/// Cascading foreign key `<table>.<col> -> pull_requests.id`.
fn pr_fk<T: IntoIden, C: IntoIden>(name: &str, tbl: T, col: C) -> ForeignKeyCreateStatement {
    fk(name, tbl, col, PullRequests::Table, ForeignKeyAction::Cascade)
}

/// Cascading foreign key `<table>.<col> -> repositories.id`.
fn repo_fk<T: IntoIden, C: IntoIden>(name: &str, tbl: T, col: C) -> ForeignKeyCreateStatement {
    fk(name, tbl, col, Repositories::Table, ForeignKeyAction::Cascade)
}

fn repositories(b: DbBackend) -> TableCreateStatement {
    use Repositories as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::IntegrationId))
            .col(text_null(T::NodeId))
            .col(text(T::Owner))
            .col(text(T::Name))
            .col(text_null(T::DefaultBranch))
            .col(flag(T::Archived, false))
            .col(flag(T::Active, true))
            .col(timestamp_with_time_zone_null(T::PrWatermark))
            .col(timestamp_with_time_zone_null(T::DeployWatermark))
            .foreign_key(&mut fk(
                "fk_repositories_integration_id",
                T::Table,
                T::IntegrationId,
                Integrations::Table,
                ForeignKeyAction::Cascade,
            )),
        b,
    )
}

fn pull_requests(b: DbBackend) -> TableCreateStatement {
    use PullRequests as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::RepositoryId))
            .col(integer(T::Number))
            .col(text(T::NodeId))
            .col(text(T::Title))
            .col(text_null(T::Author))
            .col(flag(T::AuthorIsBot, false))
            .col(text(T::State))
            .col(flag(T::Draft, false))
            .col(timestamp_with_time_zone(T::Created))
            .col(timestamp_with_time_zone(T::Updated))
            .col(timestamp_with_time_zone_null(T::MergedAt))
            .col(timestamp_with_time_zone_null(T::ClosedAt))
            .col(int_default(T::Additions, 0))
            .col(int_default(T::Deletions, 0))
            .col(int_default(T::ChangedFiles, 0))
            .col(text(T::BaseRef))
            .col(text(T::HeadRef))
            .col(text_null(T::MergeCommitSha))
            .col(timestamp_with_time_zone_null(T::FirstCommitAt))
            .col(timestamp_with_time_zone_null(T::FirstReviewAt))
            .col(timestamp_with_time_zone_null(T::FirstResponseAt))
            .foreign_key(&mut repo_fk(
                "fk_pull_requests_repository_id",
                T::Table,
                T::RepositoryId,
            )),
        b,
    )
}

fn pr_reviews(b: DbBackend) -> TableCreateStatement {
    use PrReviews as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::PullRequestId))
            .col(text(T::NodeId))
            .col(text_null(T::Author))
            .col(flag(T::AuthorIsBot, false))
            .col(text(T::State))
            .col(timestamp_with_time_zone_null(T::SubmittedAt))
            .col(text_null(T::CommitSha))
            .foreign_key(&mut pr_fk("fk_pr_reviews_pull_request_id", T::Table, T::PullRequestId)),
        b,
    )
}

fn pr_commits(b: DbBackend) -> TableCreateStatement {
    use PrCommits as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::PullRequestId))
            .col(text(T::Sha))
            .col(text(T::Message))
            .col(text_null(T::AuthorName))
            .col(text_null(T::AuthorEmail))
            .col(text_null(T::AuthorLogin))
            .col(timestamp_with_time_zone_null(T::AuthoredAt))
            .col(timestamp_with_time_zone_null(T::CommittedAt))
            .foreign_key(&mut pr_fk("fk_pr_commits_pull_request_id", T::Table, T::PullRequestId)),
        b,
    )
}

fn pr_comments(b: DbBackend) -> TableCreateStatement {
    use PrComments as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::PullRequestId))
            .col(text(T::NodeId))
            .col(text(T::Kind))
            .col(text_null(T::Author))
            .col(flag(T::AuthorIsBot, false))
            .col(timestamp_with_time_zone(T::Created))
            .col(timestamp_with_time_zone_null(T::Updated))
            .foreign_key(&mut pr_fk("fk_pr_comments_pull_request_id", T::Table, T::PullRequestId)),
        b,
    )
}

fn deployments(b: DbBackend) -> TableCreateStatement {
    use Deployments as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::RepositoryId))
            .col(text(T::Source))
            .col(text(T::ExternalId))
            .col(text_null(T::Environment))
            .col(flag(T::IsProduction, false))
            .col(text_null(T::Sha))
            .col(text_null(T::Ref))
            .col(text(T::Status))
            .col(timestamp_with_time_zone(T::Created))
            .col(timestamp_with_time_zone_null(T::FinishedAt))
            .foreign_key(&mut repo_fk("fk_deployments_repository_id", T::Table, T::RepositoryId)),
        b,
    )
}

fn pr_issue_links(b: DbBackend) -> TableCreateStatement {
    use PrIssueLinks as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::PullRequestId))
            .col(text(T::IssueKey))
            .col(text(T::FoundIn))
            .foreign_key(&mut pr_fk(
                "fk_pr_issue_links_pull_request_id",
                T::Table,
                T::PullRequestId,
            )),
        b,
    )
}

fn indexes() -> Vec<IndexCreateStatement> {
    use PullRequests as P;
    vec![
        unique(
            "uq_repositories_integration_owner_name",
            Repositories::Table,
            [Repositories::IntegrationId, Repositories::Owner, Repositories::Name],
        ),
        unique(
            "uq_pull_requests_repository_number",
            P::Table,
            [P::RepositoryId, P::Number],
        ),
        index(
            "idx_pull_requests_repository_updated",
            P::Table,
            [P::RepositoryId, P::Updated],
        ),
        index("idx_pull_requests_merged_at", P::Table, [P::MergedAt]),
        index("idx_pull_requests_node_id", P::Table, [P::NodeId]),
        unique(
            "uq_pr_reviews_pull_request_node",
            PrReviews::Table,
            [PrReviews::PullRequestId, PrReviews::NodeId],
        ),
        unique(
            "uq_pr_commits_pull_request_sha",
            PrCommits::Table,
            [PrCommits::PullRequestId, PrCommits::Sha],
        ),
        unique(
            "uq_pr_comments_pull_request_node",
            PrComments::Table,
            [PrComments::PullRequestId, PrComments::NodeId],
        ),
        unique(
            "uq_deployments_repository_source_external",
            Deployments::Table,
            [Deployments::RepositoryId, Deployments::Source, Deployments::ExternalId],
        ),
        index(
            "idx_deployments_repository_finished_at",
            Deployments::Table,
            [Deployments::RepositoryId, Deployments::FinishedAt],
        ),
        unique(
            "uq_pr_issue_links_pull_request_issue_key",
            PrIssueLinks::Table,
            [PrIssueLinks::PullRequestId, PrIssueLinks::IssueKey],
        ),
        index(
            "idx_pr_issue_links_issue_key",
            PrIssueLinks::Table,
            [PrIssueLinks::IssueKey],
        ),
    ]
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
}

#[derive(DeriveIden)]
enum Repositories {
    Table,
    IntegrationId,
    NodeId,
    Owner,
    Name,
    DefaultBranch,
    Archived,
    Active,
    PrWatermark,
    DeployWatermark,
}

#[derive(DeriveIden)]
enum PullRequests {
    Table,
    RepositoryId,
    Number,
    NodeId,
    Title,
    Author,
    AuthorIsBot,
    State,
    Draft,
    Created,
    Updated,
    MergedAt,
    ClosedAt,
    Additions,
    Deletions,
    ChangedFiles,
    BaseRef,
    HeadRef,
    MergeCommitSha,
    FirstCommitAt,
    FirstReviewAt,
    FirstResponseAt,
}

#[derive(DeriveIden)]
enum PrReviews {
    Table,
    PullRequestId,
    NodeId,
    Author,
    AuthorIsBot,
    State,
    SubmittedAt,
    CommitSha,
}

#[derive(DeriveIden)]
enum PrCommits {
    Table,
    PullRequestId,
    Sha,
    Message,
    AuthorName,
    AuthorEmail,
    AuthorLogin,
    AuthoredAt,
    CommittedAt,
}

#[derive(DeriveIden)]
enum PrComments {
    Table,
    PullRequestId,
    NodeId,
    Kind,
    Author,
    AuthorIsBot,
    Created,
    Updated,
}

#[derive(DeriveIden)]
enum Deployments {
    Table,
    RepositoryId,
    Source,
    ExternalId,
    Environment,
    IsProduction,
    Sha,
    Ref,
    Status,
    Created,
    FinishedAt,
}

#[derive(DeriveIden)]
enum PrIssueLinks {
    Table,
    PullRequestId,
    IssueKey,
    FoundIn,
}
