//! Incremental analytics (issue #21): the rows a sync wrote, recorded in the same transaction as
//! the page that wrote them, so the precompute recomputes only those (and what depends on them).
//! A pass claims (deletes) the rows it reads in its own transaction.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AnalyticsChanges {
    Table,
    Id,
    Kind,
    RowId,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AnalyticsChanges as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .if_not_exists()
                    .col(big_pk_auto(T::Id))
                    .col(text(T::Kind))
                    .col(big_integer(T::RowId))
                    .col(timestamp_with_time_zone_null(T::At))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AnalyticsChanges::Table).to_owned())
            .await
    }
}
