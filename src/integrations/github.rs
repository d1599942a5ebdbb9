//! GitHub.com and GitHub Enterprise Server (REST and GraphQL).

pub mod client;
