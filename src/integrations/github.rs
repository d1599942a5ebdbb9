//! GitHub.com and GitHub Enterprise Server (REST and GraphQL): connection client and the
//! `github_sync` job.

pub mod client;
pub mod graphql;
pub mod models;
pub mod preview;
mod repo;
pub mod rows;
pub mod session;
pub mod sync;
