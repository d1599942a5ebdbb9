#![allow(clippy::unwrap_used)] // tests fail loudly by design

//! Black-box tests: the real app on port 0, a fresh database each (SQLite and PostgreSQL),
//! real HTTP to the simulated Backend Service.

mod helpers;

mod access;
mod aging;
mod analytics;
mod api_doc;
mod auth;
mod concurrency;
mod config;
mod crash;
mod csv_exports;
mod drills;
mod flow;
mod forecast;
mod github_sync;
mod gitlab_sync;
mod health;
mod input;
mod integrations;
mod jira_sync;
mod migrations;
mod ops;
mod orchestrator;
mod props;
mod replicas;
mod security;
mod settings;
mod stored_values;
mod teams;
mod xss;
