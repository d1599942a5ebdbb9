//! Several replicas on one PostgreSQL (issue #11): the leader lease (one row: who runs the
//! orchestrator, until when, and a fencing epoch that grows with every change of holder) and the
//! queue of job controls a follower received and the leader carries out.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{stamped, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LeaderLease {
    Table,
    Name,
    Holder,
    Epoch,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum OrchestratorCommands {
    Table,
    JobType,
    Action,
    RequestedBy,
    State,
    Error,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(stamped(
                Table::create()
                    .table(LeaderLease::Table)
                    .col(string(LeaderLease::Name).primary_key())
                    .col(string_null(LeaderLease::Holder))
                    .col(big_integer(LeaderLease::Epoch).default(0))
                    .col(timestamp_with_time_zone_null(LeaderLease::ExpiresAt)),
                backend,
            ))
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(LeaderLease::Table)
                    .columns([LeaderLease::Name])
                    .values_panic(["orchestrator".into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(stamped(
                table(OrchestratorCommands::Table)
                    .col(string(OrchestratorCommands::JobType))
                    .col(string(OrchestratorCommands::Action))
                    .col(string(OrchestratorCommands::RequestedBy))
                    .col(string(OrchestratorCommands::State).default("queued"))
                    .col(text_null(OrchestratorCommands::Error)),
                backend,
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orchestrator_commands_state")
                    .table(OrchestratorCommands::Table)
                    .col(OrchestratorCommands::State)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrchestratorCommands::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LeaderLease::Table).to_owned())
            .await
    }
}
