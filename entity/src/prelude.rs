//! `use entity::prelude::*;` brings every entity into scope by table name.

pub use super::deployments::Entity as Deployments;
pub use super::flow_steps::Entity as FlowSteps;
pub use super::integrations::Entity as Integrations;
pub use super::issue_type_mappings::Entity as IssueTypeMappings;
pub use super::jira_issue_types::Entity as JiraIssueTypes;
pub use super::jira_issues::Entity as JiraIssues;
pub use super::jira_projects::Entity as JiraProjects;
pub use super::jira_status_transitions::Entity as JiraStatusTransitions;
pub use super::jira_statuses::Entity as JiraStatuses;
pub use super::job_run_events::Entity as JobRunEvents;
pub use super::job_runs::Entity as JobRuns;
pub use super::jobs::Entity as Jobs;
pub use super::orchestrator_settings::Entity as OrchestratorSettings;
pub use super::pr_comments::Entity as PrComments;
pub use super::pr_commits::Entity as PrCommits;
pub use super::pr_issue_links::Entity as PrIssueLinks;
pub use super::pr_reviews::Entity as PrReviews;
pub use super::pull_requests::Entity as PullRequests;
pub use super::repositories::Entity as Repositories;
pub use super::status_mappings::Entity as StatusMappings;
