//! Messages for live views (DESIGN §10), broadcast to every WebSocket.

use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
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
