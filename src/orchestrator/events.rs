//! Messages for live views (DESIGN §10), broadcast to every WebSocket.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    JobStatus {
        job_type: String,
        status: String,
        progress: i32,
        message: Option<String>,
        last_error: Option<String>,
        /// Actions an admin may take now (the page enables only these).
        actions: Vec<String>,
    },
    ProgressUpdate {
        job_type: String,
        progress: i32,
        message: String,
    },
    SystemHealth {
        database: String,
        integrations: String,
    },
}

/// A job's status from its row; the allowed actions depend on the other rows too.
pub fn job_status(row: &entity::jobs::Model, all: &[entity::jobs::Model]) -> Event {
    use crate::domain::job::{self, JobStatus};
    let running = JobStatus::Running.as_str();
    let stopping = all.iter().any(|r| r.stop_requested && r.status == running);
    let other_running = all.iter().any(|o| o.job_type != row.job_type && o.status == running);
    let status = JobStatus::parse(&row.status).unwrap_or(JobStatus::NotStarted);
    Event::JobStatus {
        job_type: row.job_type.clone(),
        status: row.status.clone(),
        progress: row.progress,
        message: row.progress_message.clone(),
        last_error: row.last_error.clone(),
        actions: job::allowed(status, other_running, stopping)
            .iter()
            .map(|a| a.as_str().to_string())
            .collect(),
    }
}
