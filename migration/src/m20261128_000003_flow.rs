//! Flow configuration: flow steps, issue-type mappings and status mappings.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::common::{create_indexes, drop_tables, fk, flag, index, int_default, stamped, table};

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
        manager.create_table(flow_steps(b)).await?;
        manager.create_table(issue_type_mappings(b)).await?;
        manager.create_table(status_mappings(b)).await?;
        create_indexes(manager, indexes()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                StatusMappings::Table.into_iden(),
                IssueTypeMappings::Table.into_iden(),
                FlowSteps::Table.into_iden(),
            ],
        )
        .await
    }
}

fn flow_steps(b: DbBackend) -> TableCreateStatement {
    use FlowSteps as T;
    stamped(
        table(T::Table)
            .col(text_uniq(T::Name))
            .col(integer(T::Position))
            .col(text(T::Category))
            .col(flag(T::IsCommitmentPoint, false))
            .col(flag(T::Active, true)),
        b,
    )
}

fn issue_type_mappings(b: DbBackend) -> TableCreateStatement {
    use IssueTypeMappings as T;
    stamped(
        table(T::Table)
            .col(text_uniq(T::IssuetypeFrom))
            .col(text(T::IssuetypeTo))
            .col(text(T::WorkCategory))
            .col(int_default(T::HierarchyLevel, 0))
            .col(flag(T::Active, true)),
        b,
    )
}

fn status_mappings(b: DbBackend) -> TableCreateStatement {
    use StatusMappings as T;
    stamped(
        table(T::Table)
            .col(text(T::StatusFrom))
            .col(big_integer(T::FlowStepId))
            .col(big_integer_null(T::IssueTypeMappingId))
            .col(flag(T::Active, true))
            .foreign_key(&mut fk(
                "fk_status_mappings_flow_step_id",
                T::Table,
                T::FlowStepId,
                FlowSteps::Table,
                ForeignKeyAction::Restrict,
            ))
            .foreign_key(&mut fk(
                "fk_status_mappings_issue_type_mapping_id",
                T::Table,
                T::IssueTypeMappingId,
                IssueTypeMappings::Table,
                ForeignKeyAction::Restrict,
            )),
        b,
    )
}

fn indexes() -> Vec<IndexCreateStatement> {
    use StatusMappings as S;
    vec![
        index("idx_flow_steps_position", FlowSteps::Table, [FlowSteps::Position]),
        index("idx_status_mappings_status_from", S::Table, [S::StatusFrom]),
        index("idx_status_mappings_flow_step_id", S::Table, [S::FlowStepId]),
        index(
            "idx_status_mappings_issue_type_mapping_id",
            S::Table,
            [S::IssueTypeMappingId],
        ),
    ]
}

#[derive(DeriveIden)]
enum FlowSteps {
    Table,
    Name,
    Position,
    Category,
    IsCommitmentPoint,
    Active,
}

#[derive(DeriveIden)]
enum IssueTypeMappings {
    Table,
    IssuetypeFrom,
    IssuetypeTo,
    WorkCategory,
    HierarchyLevel,
    Active,
}

#[derive(DeriveIden)]
enum StatusMappings {
    Table,
    StatusFrom,
    FlowStepId,
    IssueTypeMappingId,
    Active,
}
