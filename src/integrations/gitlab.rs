//! GitLab.com and self-managed GitLab (REST v4, and GraphQL for merge requests): connection
//! client, and the GitLab part of the Git job (`github_sync`, shown as "Git sync").

pub mod client;
pub mod graphql;
pub mod models;
mod project;
pub mod rows;
pub mod sync;
