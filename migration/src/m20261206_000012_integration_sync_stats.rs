//! Concurrent syncs (issue #20): what an integration's last sync saw of its upstream (the
//! most requests in flight at once, the setting, the answers that refused a request for
//! sending too much), shown on the integrations page.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Integrations {
    Table,
    LastSyncStats,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .add_column(json_binary_null(Integrations::LastSyncStats))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .drop_column(Integrations::LastSyncStats)
                    .to_owned(),
            )
            .await
    }
}
