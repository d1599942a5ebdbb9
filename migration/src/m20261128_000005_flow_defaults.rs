//! Data only: the default flow (steps, issue-type mappings, status mappings) for the statuses
//! and issue types common in Jira Software, so a fresh database shows a complete flow.
//! `down` removes exactly these rows (and mappings that point at them).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, category, commitment point). Positions are 10, 20, … so admins can insert between.
const STEPS: [(&str, &str, bool); 10] = [
    ("Backlog", "TO_DO", false),
    ("To Do", "TO_DO", false),
    ("In Progress", "IN_PROGRESS", false),
    ("Code Review", "IN_PROGRESS", false),
    ("Blocked", "WAITING", false),
    ("Waiting", "WAITING", false),
    ("QA", "IN_PROGRESS", false),
    ("Ready for Release", "WAITING", false),
    ("Done", "DONE", false),
    ("Discarded", "DISCARDED", false),
];

/// (Jira issue type, normalized type, work category, hierarchy level).
const TYPES: [(&str, &str, &str, i32); 10] = [
    ("Epic", "Epic", "EPIC", 1),
    ("Story", "Story", "FEATURE", 0),
    ("New Feature", "Story", "FEATURE", 0),
    ("Improvement", "Story", "FEATURE", 0),
    ("Task", "Task", "TASK", 0),
    ("Sub-task", "Sub-task", "TASK", -1),
    ("Subtask", "Sub-task", "TASK", -1),
    ("Bug", "Bug", "BUG", 0),
    ("Incident", "Incident", "INCIDENT", 0),
    ("Spike", "Spike", "OTHER", 0),
];

/// (Jira status, flow step, only for this Jira issue type). Matching is case-insensitive, so
/// `In Review` also maps `IN REVIEW`.
const STATUS_MAPPINGS: [(&str, &str, Option<&str>); 28] = [
    ("Backlog", "Backlog", None),
    ("Open", "To Do", None),
    ("To Do", "To Do", None),
    ("Reopened", "To Do", None),
    ("Selected for Development", "To Do", None),
    ("待处理", "To Do", None),
    ("In Progress", "In Progress", None),
    ("En cours", "In Progress", None),
    ("In Development", "In Progress", None),
    ("Investigating", "In Progress", None),
    ("In Review", "Code Review", None),
    ("Code Review", "Code Review", None),
    ("Blocked", "Blocked", None),
    ("On Hold", "Blocked", None),
    ("Waiting for Customer", "Waiting", None),
    ("Waiting for Support", "Waiting", None),
    ("QA", "QA", None),
    ("In Testing", "QA", None),
    ("Ready for Release", "Ready for Release", None),
    ("Done", "Done", None),
    ("Closed", "Done", None),
    ("Resolved", "Done", None),
    ("Erledigt", "Done", None),
    ("Won't Do", "Discarded", None),
    ("Cancelled", "Discarded", None),
    ("Declined", "Discarded", None),
    // An open incident is being handled: its clock runs from the start.
    ("Open", "In Progress", Some("Incident")),
    ("Reopened", "In Progress", Some("Incident")),
];

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn list(names: impl Iterator<Item = String>) -> String {
    names.map(|n| quote(&n)).collect::<Vec<_>>().join(", ")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (i, (name, category, commit)) in STEPS.iter().enumerate() {
            db.execute_unprepared(&format!(
                "INSERT INTO flow_steps (name, position, category, is_commitment_point, active) \
                 VALUES ({}, {}, {}, {}, TRUE)",
                quote(name),
                (i + 1) * 10,
                quote(category),
                if *commit { "TRUE" } else { "FALSE" },
            ))
            .await?;
        }
        for (from, to, category, level) in TYPES {
            db.execute_unprepared(&format!(
                "INSERT INTO issue_type_mappings (issuetype_from, issuetype_to, work_category, hierarchy_level, active) \
                 VALUES ({}, {}, {}, {level}, TRUE)",
                quote(from),
                quote(to),
                quote(category),
            ))
            .await?;
        }
        for (status, step, ty) in STATUS_MAPPINGS {
            let type_id = match ty {
                Some(t) => format!(
                    "(SELECT id FROM issue_type_mappings WHERE issuetype_from = {})",
                    quote(t)
                ),
                None => "NULL".into(),
            };
            db.execute_unprepared(&format!(
                "INSERT INTO status_mappings (status_from, flow_step_id, issue_type_mapping_id, active) \
                 SELECT {}, id, {type_id}, TRUE FROM flow_steps WHERE name = {}",
                quote(status),
                quote(step),
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let steps = list(STEPS.iter().map(|s| s.0.to_string()));
        let types = list(TYPES.iter().map(|t| t.0.to_string()));
        db.execute_unprepared(&format!(
            "DELETE FROM status_mappings WHERE \
             flow_step_id IN (SELECT id FROM flow_steps WHERE name IN ({steps})) \
             OR issue_type_mapping_id IN (SELECT id FROM issue_type_mappings WHERE issuetype_from IN ({types}))"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "DELETE FROM issue_type_mappings WHERE issuetype_from IN ({types})"
        ))
        .await?;
        db.execute_unprepared(&format!("DELETE FROM flow_steps WHERE name IN ({steps})"))
            .await?;
        Ok(())
    }
}
