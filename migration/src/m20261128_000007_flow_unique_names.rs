//! Flow step names and Jira issue types are unique case-insensitively (`In progress` and
//! `IN PROGRESS` are one name, DESIGN §9). The pages check it first; these indexes make two
//! requests racing with the same name end with one row and a conflict, not two rows.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &str); 2] = [
    ("uq_flow_steps_name_ci", "flow_steps", "name"),
    (
        "uq_issue_type_mappings_from_ci",
        "issue_type_mappings",
        "issuetype_from",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, table, column) in INDEXES {
            db.execute_unprepared(&format!("CREATE UNIQUE INDEX {name} ON {table} (lower({column}))"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}")).await?;
        }
        Ok(())
    }
}
