//! Simulated upstreams of pulse-etl: Jira Cloud and Data Center, GitHub (REST and GraphQL,
//! github.com and Enterprise Server), GitLab (REST v4 and GraphQL) and the Backend Service, on one HTTP server, over a
//! generated dataset, with rate limits and faults. For the demo, tests and benchmarks only: the
//! product never imports this crate; only its CLI (`pulse-etl sim`, `pulse-etl demo`, behind the
//! `demo` feature), its tests and its benchmark wire it in.

pub mod admin;
pub mod backend;
pub mod generate;
pub mod github;
pub mod gitlab;
pub mod jira;
pub mod model;
pub mod server;
pub mod state;
pub mod upstream;

pub use server::{SimHandle, SimOptions, SimUrls};

/// Base paths of the simulators on the one simulator server.
pub mod paths {
    pub const BACKEND: &str = "/backend";
    pub const ADMIN: &str = "/admin";
    /// Jira Cloud (REST v3) lives at the root of its site.
    pub const JIRA_CLOUD: &str = "/jira-cloud";
    /// Jira Data Center behind a context path, as many installations are (`…/jira`).
    pub const JIRA_DC: &str = "/jira-dc/jira";
    /// github.com: REST at the API root, GraphQL at `/graphql`.
    pub const GITHUB: &str = "/github";
    /// GitHub Enterprise Server: REST under `/api/v3`, GraphQL at `/api/graphql`.
    pub const GITHUB_ENTERPRISE_ROOT: &str = "/ghe";
    pub const GITHUB_ENTERPRISE_REST: &str = "/ghe/api/v3";
    pub const GITHUB_ENTERPRISE_GRAPHQL: &str = "/ghe/api/graphql";
    /// GitLab (gitlab.com or self-managed at the root of its host): REST under `/api/v4`.
    pub const GITLAB: &str = "/gitlab";
    pub const GITLAB_REST: &str = "/gitlab/api/v4";
    pub const GITLAB_GRAPHQL: &str = "/gitlab/api/graphql";
}
