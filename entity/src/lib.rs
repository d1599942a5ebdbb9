//! SeaORM entities for pulse-etl, one module per table.
//!
//! Enum-valued text columns (job types and states, run triggers and outcomes, step and work
//! categories, integration kinds, flavours and auth kinds) are typed by [`enums`]: an unknown
//! stored value is an error when read.

pub mod analytics_changes;
pub mod analytics_refresh;
pub mod deployments;
pub mod enums;
pub mod flow_steps;
pub mod integrations;
pub mod issue_flow_times;
pub mod issue_type_mappings;
pub mod jira_issue_types;
pub mod jira_issues;
pub mod jira_projects;
pub mod jira_status_transitions;
pub mod jira_statuses;
pub mod job_run_events;
pub mod job_runs;
pub mod jobs;
pub mod notification_settings;
pub mod orchestrator_settings;
pub mod pr_comments;
pub mod pr_commits;
pub mod pr_issue_links;
pub mod pr_reviews;
pub mod pr_stage_times;
pub mod pull_requests;
pub mod repositories;
pub mod status_mappings;
pub mod teams;

pub mod prelude;
