//! Jira Cloud (REST v3) and Data Center (REST v2).

pub mod client;
pub mod models;
pub mod plan;
pub mod sync;
