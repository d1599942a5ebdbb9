//! Core tables: integrations, jobs, job runs and their events, and the
//! single-row orchestrator settings. Seeds the two jobs and the settings row.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::common::{
    bigint_default, create_indexes, drop_tables, fk, flag, index, int_default, json_object, stamped, table,
};

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
        manager.create_table(integrations(b)).await?;
        manager.create_table(jobs(b)).await?;
        manager.create_table(job_runs(b)).await?;
        manager.create_table(job_run_events(b)).await?;
        manager.create_table(orchestrator_settings(b)).await?;
        create_indexes(
            manager,
            vec![
                index(
                    "idx_job_runs_job_id_started_at",
                    JobRuns::Table,
                    [JobRuns::JobId, JobRuns::StartedAt],
                ),
                index(
                    "idx_job_run_events_run_id_id",
                    JobRunEvents::Table,
                    [JobRunEvents::RunId, JobRunEvents::Id],
                ),
            ],
        )
        .await?;
        manager.execute(seed_jobs()?).await?;
        manager.execute(seed_settings()?).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                OrchestratorSettings::Table.into_iden(),
                JobRunEvents::Table.into_iden(),
                JobRuns::Table.into_iden(),
                Jobs::Table.into_iden(),
                Integrations::Table.into_iden(),
            ],
        )
        .await
    }
}

fn integrations(b: DbBackend) -> TableCreateStatement {
    use Integrations as T;
    stamped(
        table(T::Table)
            .col(text(T::Kind))
            .col(text_uniq(T::Name))
            .col(text(T::BaseUrl))
            .col(text(T::Flavour))
            .col(text(T::AuthKind))
            .col(text_null(T::Username))
            .col(blob_null(T::Secret))
            .col(json_object(T::Settings))
            .col(flag(T::Active, true))
            .col(timestamp_with_time_zone_null(T::LastTestAt))
            .col(boolean_null(T::LastTestOk))
            .col(text_null(T::LastTestMessage))
            .col(timestamp_with_time_zone_null(T::LastSyncAt)),
        b,
    )
}

fn jobs(b: DbBackend) -> TableCreateStatement {
    use Jobs as T;
    stamped(
        table(T::Table)
            .col(text_uniq(T::JobType))
            .col(text(T::Status))
            .col(flag(T::Active, true))
            .col(int_default(T::Progress, 0))
            .col(text_null(T::ProgressMessage))
            .col(json_binary_null(T::Checkpoint))
            .col(int_default(T::RetryCount, 0))
            .col(timestamp_with_time_zone_null(T::NextRetryAt))
            .col(timestamp_with_time_zone_null(T::LastStartedAt))
            .col(timestamp_with_time_zone_null(T::LastFinishedAt))
            .col(timestamp_with_time_zone_null(T::LastSuccessAt))
            .col(text_null(T::LastError))
            .col(flag(T::StopRequested, false))
            .col(flag(T::PauseRequested, false))
            .col(text_null(T::LeaseOwner))
            .col(timestamp_with_time_zone_null(T::HeartbeatAt))
            .col(big_integer_null(T::CurrentRunId)),
        b,
    )
}

fn job_runs(b: DbBackend) -> TableCreateStatement {
    use JobRuns as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::JobId))
            .col(text(T::Trigger))
            .col(text(T::Outcome))
            .col(timestamp_with_time_zone(T::StartedAt))
            .col(timestamp_with_time_zone_null(T::FinishedAt))
            .col(json_object(T::Counts))
            .col(bigint_default(T::ApiRequests, 0))
            .col(bigint_default(T::RateLimitWaitMs, 0))
            .col(text_null(T::Error))
            .foreign_key(&mut fk(
                "fk_job_runs_job_id",
                T::Table,
                T::JobId,
                Jobs::Table,
                ForeignKeyAction::Cascade,
            )),
        b,
    )
}

fn job_run_events(b: DbBackend) -> TableCreateStatement {
    use JobRunEvents as T;
    stamped(
        table(T::Table)
            .col(big_integer(T::RunId))
            .col(text(T::Level))
            .col(text(T::Message))
            .col(timestamp_with_time_zone(T::At))
            .foreign_key(&mut fk(
                "fk_job_run_events_run_id",
                T::Table,
                T::RunId,
                JobRuns::Table,
                ForeignKeyAction::Cascade,
            )),
        b,
    )
}

fn orchestrator_settings(b: DbBackend) -> TableCreateStatement {
    use OrchestratorSettings as T;
    stamped(
        table(T::Table)
            .col(int_default(T::IntervalMinutes, 60))
            .col(flag(T::Enabled, true))
            .col(flag(T::RetryEnabled, true))
            .col(int_default(T::RetryIntervalMinutes, 15))
            .col(int_default(T::MaxRetryAttempts, 3))
            .col(timestamp_with_time_zone_null(T::NextRunAt)),
        b,
    )
}

fn seed_jobs() -> Result<InsertStatement, DbErr> {
    let mut insert = Query::insert();
    insert.into_table(Jobs::Table).columns([
        Jobs::JobType,
        Jobs::Status,
        Jobs::Active,
        Jobs::Progress,
        Jobs::RetryCount,
        Jobs::StopRequested,
        Jobs::PauseRequested,
    ]);
    for job_type in ["jira_sync", "github_sync"] {
        insert
            .values([
                job_type.into(),
                "NOT_STARTED".into(),
                true.into(),
                0.into(),
                0.into(),
                false.into(),
                false.into(),
            ])
            .map_err(seed_err)?;
    }
    Ok(insert)
}

/// The singleton settings row. The id is left to the sequence so that it is
/// 1 on a fresh table and the PostgreSQL sequence stays in step.
fn seed_settings() -> Result<InsertStatement, DbErr> {
    use OrchestratorSettings as T;
    let mut insert = Query::insert();
    insert
        .into_table(T::Table)
        .columns([
            T::IntervalMinutes,
            T::Enabled,
            T::RetryEnabled,
            T::RetryIntervalMinutes,
            T::MaxRetryAttempts,
        ])
        .values([60.into(), true.into(), true.into(), 15.into(), 3.into()])
        .map_err(seed_err)?;
    Ok(insert)
}

fn seed_err(err: sea_query::error::Error) -> DbErr {
    DbErr::Migration(format!("building seed insert: {err}"))
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Kind,
    Name,
    BaseUrl,
    Flavour,
    AuthKind,
    Username,
    Secret,
    Settings,
    Active,
    LastTestAt,
    LastTestOk,
    LastTestMessage,
    LastSyncAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    JobType,
    Status,
    Active,
    Progress,
    ProgressMessage,
    Checkpoint,
    RetryCount,
    NextRetryAt,
    LastStartedAt,
    LastFinishedAt,
    LastSuccessAt,
    LastError,
    StopRequested,
    PauseRequested,
    LeaseOwner,
    HeartbeatAt,
    CurrentRunId,
}

#[derive(DeriveIden)]
enum JobRuns {
    Table,
    JobId,
    Trigger,
    Outcome,
    StartedAt,
    FinishedAt,
    Counts,
    ApiRequests,
    RateLimitWaitMs,
    Error,
}

#[derive(DeriveIden)]
enum JobRunEvents {
    Table,
    Id,
    RunId,
    Level,
    Message,
    At,
}

#[derive(DeriveIden)]
enum OrchestratorSettings {
    Table,
    IntervalMinutes,
    Enabled,
    RetryEnabled,
    RetryIntervalMinutes,
    MaxRetryAttempts,
    NextRunAt,
}
