//! PostgreSQL: status transitions no longer carry a foreign key to their issue. Its per-row
//! check (a key-share lock on the row, for every one of ~10 history rows per issue) was
//! over a third of the database's work in loading a 100k-issue history (docs/decisions.md,
//! "Jira pages on PostgreSQL"). The sync writes a transition only with the id its issue's upsert
//! returned in the same transaction, and deleting an integration deletes its transitions
//! explicitly (`db::integrations::delete`), as the cascade did. SQLite keeps the key (its check
//! is a cheap lookup, and dropping it there means rebuilding the table).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const FK: &str = "fk_jira_status_transitions_issue_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "ALTER TABLE jira_status_transitions DROP CONSTRAINT IF EXISTS {FK}"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        // Rows whose issue is gone could not be kept under the key.
        db.execute_unprepared(
            "DELETE FROM jira_status_transitions t WHERE NOT EXISTS \
             (SELECT 1 FROM jira_issues i WHERE i.id = t.issue_id)",
        )
        .await?;
        db.execute_unprepared(&format!(
            "ALTER TABLE jira_status_transitions ADD CONSTRAINT {FK} FOREIGN KEY (issue_id) \
             REFERENCES jira_issues (id) ON DELETE CASCADE"
        ))
        .await?;
        Ok(())
    }
}
