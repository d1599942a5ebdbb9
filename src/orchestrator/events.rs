//! Messages for live views (DESIGN §10), broadcast to every WebSocket.

use serde::{Deserialize, Serialize};

use crate::domain::job::{self, Action, JobStatus, JobType};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    JobStatus {
        job_type: JobType,
        status: JobStatus,
        progress: i32,
        message: Option<String>,
        last_error: Option<String>,
        /// Actions an admin may take now (the page enables only these).
        actions: Vec<String>,
    },
    ProgressUpdate {
        job_type: JobType,
        progress: i32,
        message: String,
    },
    SystemHealth {
        database: Health,
        integrations: Health,
    },
}

/// How a part of the system is doing, as the dashboard's health panel shows it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    /// Works, but needs a look (an integration never tested).
    Warning,
    Error,
    /// Nothing to check (no active integration).
    None,
    /// Switched off (an inactive integration, skipped by syncs).
    Inactive,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Warning => "warning",
            Health::Error => "error",
            Health::None => "none",
            Health::Inactive => "inactive",
        }
    }

    /// The badge's CSS classes.
    pub fn badge(self) -> &'static str {
        match self {
            Health::Healthy => "badge badge-ok",
            Health::Warning => "badge badge-warning",
            Health::Error => "badge badge-error",
            Health::None | Health::Inactive => "badge badge-idle",
        }
    }
}

/// What an admin may do with the job now: it depends on the other job too (one runs at a
/// time) and on a force stop in progress (controls wait for it).
pub fn allowed_actions(row: &entity::jobs::Model, all: &[entity::jobs::Model]) -> Vec<Action> {
    let running = JobStatus::Running;
    let stopping = all.iter().any(|r| r.stop_requested && r.status == running);
    let other_running = all.iter().any(|o| o.job_type != row.job_type && o.status == running);
    job::allowed(row.status, other_running, stopping)
}

/// A job's status from its row; the allowed actions depend on the other rows too.
pub fn job_status(row: &entity::jobs::Model, all: &[entity::jobs::Model]) -> Event {
    Event::JobStatus {
        job_type: row.job_type,
        status: row.status,
        progress: row.progress,
        message: row.progress_message.clone(),
        last_error: row.last_error.clone(),
        actions: allowed_actions(row, all)
            .iter()
            .map(|a| a.as_str().to_string())
            .collect(),
    }
}
