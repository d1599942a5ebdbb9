//! The two jobs and their states (DESIGN §7).

use std::fmt;

use maud::{Markup, Render, html};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobType {
    JiraSync,
    GithubSync,
}

impl JobType {
    pub const ALL: [JobType; 2] = [JobType::JiraSync, JobType::GithubSync];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "jira_sync" => Some(JobType::JiraSync),
            "github_sync" => Some(JobType::GithubSync),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobType::JiraSync => "jira_sync",
            JobType::GithubSync => "github_sync",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            JobType::JiraSync => "Jira sync",
            JobType::GithubSync => "GitHub sync",
        }
    }

    /// Position in the main cycle: Jira first, then GitHub.
    pub fn order(self) -> u8 {
        match self {
            JobType::JiraSync => 0,
            JobType::GithubSync => 1,
        }
    }
}

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    NotStarted,
    Pending,
    Running,
    Finished,
    Failed,
    Paused,
}

impl JobStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "NOT_STARTED" => JobStatus::NotStarted,
            "PENDING" => JobStatus::Pending,
            "RUNNING" => JobStatus::Running,
            "FINISHED" => JobStatus::Finished,
            "FAILED" => JobStatus::Failed,
            "PAUSED" => JobStatus::Paused,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::NotStarted => "NOT_STARTED",
            JobStatus::Pending => "PENDING",
            JobStatus::Running => "RUNNING",
            JobStatus::Finished => "FINISHED",
            JobStatus::Failed => "FAILED",
            JobStatus::Paused => "PAUSED",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            JobStatus::NotStarted => "Not started",
            JobStatus::Pending => "Pending",
            JobStatus::Running => "Running",
            JobStatus::Finished => "Finished",
            JobStatus::Failed => "Failed",
            JobStatus::Paused => "Paused",
        }
    }

    fn css(self) -> &'static str {
        match self {
            JobStatus::NotStarted => "badge badge-idle",
            JobStatus::Pending => "badge badge-pending",
            JobStatus::Running => "badge badge-running",
            JobStatus::Finished => "badge badge-ok",
            JobStatus::Failed => "badge badge-error",
            JobStatus::Paused => "badge badge-paused",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status renders as its badge.
impl Render for JobStatus {
    fn render(&self) -> Markup {
        html! { span class=(self.css()) data-status=(self.as_str()) { (self.label()) } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in JobType::ALL {
            assert_eq!(JobType::parse(t.as_str()), Some(t));
        }
        for s in ["NOT_STARTED", "PENDING", "RUNNING", "FINISHED", "FAILED", "PAUSED"] {
            assert_eq!(JobStatus::parse(s).map(JobStatus::as_str), Some(s));
        }
        assert_eq!(JobStatus::parse("running"), None);
    }

    #[test]
    fn a_badge_carries_its_status() {
        let html = JobStatus::Failed.render().into_string();
        assert!(html.contains("data-status=\"FAILED\"") && html.contains("badge-error"));
    }
}
