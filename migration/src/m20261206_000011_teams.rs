//! Teams (issue #23): a name plus repositories (`owner/name`) and Jira projects (keys), kept as
//! names so a team can be set up before its data is synced and spans integrations.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{stamped, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Teams {
    Table,
    Name,
    Repositories,
    Projects,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(stamped(
                table(Teams::Table)
                    .col(string(Teams::Name).unique_key())
                    .col(json_binary(Teams::Repositories))
                    .col(json_binary(Teams::Projects)),
                backend,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Teams::Table).to_owned()).await
    }
}
