//! Failure notifications (issue #24): one row with the webhook address (encrypted like an
//! integration's secret: it carries the token of a Slack incoming webhook) and the result of the
//! last delivery.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{stamped, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NotificationSettings {
    Table,
    WebhookUrl,
    WebhookHost,
    LastSentAt,
    LastOk,
    LastMessage,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(stamped(
                table(NotificationSettings::Table)
                    .col(blob_null(NotificationSettings::WebhookUrl))
                    .col(string_null(NotificationSettings::WebhookHost))
                    .col(timestamp_with_time_zone_null(NotificationSettings::LastSentAt))
                    .col(boolean_null(NotificationSettings::LastOk))
                    .col(text_null(NotificationSettings::LastMessage)),
                backend,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(NotificationSettings::Table).to_owned())
            .await
    }
}
