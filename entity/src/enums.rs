//! The values of enum-valued columns, typed. Each is stored as the text shown beside its
//! variant (the columns are plain text in both databases); a stored value that is none of them
//! fails the read with an error naming it, never a silent default.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Declares a text-valued column enum: the SeaORM mapping, serde with the same strings, `ALL`,
/// `as_str`, exact `parse` and `Display`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)+ }) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum, Serialize,
            Deserialize,
        )]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        pub enum $name {
            $($(#[$vmeta])* #[sea_orm(string_value = $value)] #[serde(rename = $value)] $variant,)+
        }

        impl $name {
            pub const ALL: [Self; [$($value),+].len()] = [$(Self::$variant),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }

            /// The variant stored as exactly `s`.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($value => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// The two jobs (`jobs.job_type`).
    JobType {
        JiraSync = "jira_sync",
        GithubSync = "github_sync",
    }
}

impl JobType {
    pub fn title(self) -> &'static str {
        match self {
            JobType::JiraSync => "Jira sync",
            JobType::GithubSync => "Git sync",
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

text_enum! {
    /// A job's state (`jobs.status`, DESIGN §7).
    JobStatus {
        NotStarted = "NOT_STARTED",
        Pending = "PENDING",
        Running = "RUNNING",
        Finished = "FINISHED",
        Failed = "FAILED",
        Paused = "PAUSED",
    }
}

impl JobStatus {
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
}

text_enum! {
    /// What started a run (`job_runs.trigger`).
    RunTrigger {
        Schedule = "schedule",
        Retry = "retry",
        Manual = "manual",
    }
}

text_enum! {
    /// How a run ended (`job_runs.outcome`); `running` while it runs.
    RunOutcome {
        Running = "running",
        Success = "success",
        Paused = "paused",
        /// Force-stopped by an admin.
        Stopped = "stopped",
        /// Its process stopped (shutdown, crash, lost lease); retried from the checkpoint.
        Interrupted = "interrupted",
        Failed = "failed",
        /// Stopped cleanly at an exhausted rate limit; retried when it resets.
        RateLimited = "rate_limited",
    }
}

text_enum! {
    /// A run log line's level (`job_run_events.level`).
    EventLevel {
        Info = "info",
        Warn = "warn",
        Error = "error",
    }
}

text_enum! {
    /// The category of a flow step (`flow_steps.category`); metrics are defined on categories,
    /// not on step names.
    StepCategory {
        ToDo = "TO_DO",
        InProgress = "IN_PROGRESS",
        Waiting = "WAITING",
        Done = "DONE",
        Discarded = "DISCARDED",
    }
}

impl StepCategory {
    /// As a form or an API client may write it: any case, surrounding spaces.
    pub fn parse_loose(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn title(self) -> &'static str {
        match self {
            StepCategory::ToDo => "To do",
            StepCategory::InProgress => "In progress",
            StepCategory::Waiting => "Waiting",
            StepCategory::Done => "Done",
            StepCategory::Discarded => "Discarded",
        }
    }

    /// The category an unmapped status falls back to, from Jira's status category key.
    pub fn from_jira_category(key: &str) -> Option<Self> {
        match key.trim().to_ascii_lowercase().as_str() {
            "new" => Some(StepCategory::ToDo),
            "indeterminate" => Some(StepCategory::InProgress),
            "done" => Some(StepCategory::Done),
            _ => None,
        }
    }

    /// Work is finished (DONE or DISCARDED).
    pub fn is_closed(self) -> bool {
        matches!(self, StepCategory::Done | StepCategory::Discarded)
    }
}

text_enum! {
    /// What kind of work an issue type is (`issue_type_mappings.work_category`); INCIDENT feeds
    /// the DORA failure metrics.
    WorkCategory {
        Feature = "FEATURE",
        Bug = "BUG",
        Incident = "INCIDENT",
        Task = "TASK",
        Epic = "EPIC",
        Other = "OTHER",
    }
}

impl WorkCategory {
    /// As a form or an API client may write it: any case, surrounding spaces.
    pub fn parse_loose(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn title(self) -> &'static str {
        match self {
            WorkCategory::Feature => "Feature",
            WorkCategory::Bug => "Bug",
            WorkCategory::Incident => "Incident",
            WorkCategory::Task => "Task",
            WorkCategory::Epic => "Epic",
            WorkCategory::Other => "Other",
        }
    }
}

text_enum! {
    /// What an integration connects to (`integrations.kind`).
    IntegrationKind {
        Jira = "jira",
        Github = "github",
        Gitlab = "gitlab",
    }
}

impl IntegrationKind {
    pub fn title(self) -> &'static str {
        match self {
            IntegrationKind::Jira => "Jira",
            IntegrationKind::Github => "GitHub",
            IntegrationKind::Gitlab => "GitLab",
        }
    }
}

text_enum! {
    /// Which server of its kind (`integrations.flavour`).
    Flavour {
        Cloud = "cloud",
        DataCenter = "data_center",
        Github = "github",
        Enterprise = "enterprise",
        Gitlab = "gitlab",
        SelfManaged = "self_managed",
    }
}

impl Flavour {
    pub fn title(self) -> &'static str {
        match self {
            Flavour::Cloud => "Jira Cloud",
            Flavour::DataCenter => "Jira Data Center",
            Flavour::Github => "GitHub.com",
            Flavour::Enterprise => "GitHub Enterprise Server",
            Flavour::Gitlab => "GitLab.com",
            Flavour::SelfManaged => "GitLab self-managed",
        }
    }

    pub fn kind(self) -> IntegrationKind {
        match self {
            Flavour::Cloud | Flavour::DataCenter => IntegrationKind::Jira,
            Flavour::Github | Flavour::Enterprise => IntegrationKind::Github,
            Flavour::Gitlab | Flavour::SelfManaged => IntegrationKind::Gitlab,
        }
    }

    /// How the secret is presented to this server.
    pub fn auth_kind(self) -> AuthKind {
        match self {
            Flavour::Cloud => AuthKind::Basic,
            // GitLab takes personal, project and group access tokens as `Bearer` too.
            Flavour::DataCenter | Flavour::Gitlab | Flavour::SelfManaged => AuthKind::Bearer,
            Flavour::Github | Flavour::Enterprise => AuthKind::Token,
        }
    }
}

text_enum! {
    /// How an integration's secret is sent (`integrations.auth_kind`).
    AuthKind {
        /// E-mail and API token (Jira Cloud).
        Basic = "basic",
        /// Personal access token (Jira Data Center); a GitLab access token.
        Bearer = "bearer",
        /// GitHub token.
        Token = "token",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ActiveEnum;

    #[test]
    fn every_value_round_trips_and_unknown_values_are_errors() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
            assert_eq!(JobStatus::try_from_value(&s.to_value()).ok(), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(JobStatus::parse("running"), None);
        assert!(JobStatus::try_from_value(&"SLEEPING".to_string()).is_err());
        assert_eq!(
            StepCategory::parse_loose(" in_progress "),
            Some(StepCategory::InProgress)
        );
        assert_eq!(JobType::ALL.len(), 2);
        assert_eq!(RunOutcome::parse("rate_limited"), Some(RunOutcome::RateLimited));
    }
}
