//! Talking to Jira and GitHub: guarded HTTP, clients, connection tests (and, later, syncs).

pub mod connection;
pub mod control;
pub mod error;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod jira;
pub mod limiter;
pub mod manage;
pub mod request;
