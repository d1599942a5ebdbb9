//! The parts of GitLab's REST answers the sync reads.

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Version {
    pub version: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct User {
    pub username: String,
    #[serde(default)]
    pub bot: bool,
}

impl User {
    /// GitLab names bot users (project and group access tokens) `project_N_bot_…`/`group_N_bot_…`.
    pub fn is_bot(&self) -> bool {
        self.bot || self.username.contains("_bot")
    }
}

#[derive(Debug, Deserialize)]
pub struct TokenInfo {
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct Group {
    pub id: i64,
    pub full_path: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Project {
    pub id: i64,
    pub path: String,
    pub path_with_namespace: String,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub archived: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MergeRequest {
    pub id: i64,
    pub iid: i64,
    pub title: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    pub target_branch: String,
    pub source_branch: String,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    #[serde(default)]
    pub squash_commit_sha: Option<String>,
    /// Lines added and removed and files changed: GraphQL's `diffStatsSummary` (REST lists
    /// have no such figures).
    #[serde(skip)]
    pub sizes: Option<Sizes>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Sizes {
    pub additions: i64,
    pub deletions: i64,
    pub changed_files: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Commit {
    pub id: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub author_name: Option<String>,
    #[serde(default)]
    pub author_email: Option<String>,
    #[serde(default)]
    pub authored_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub committed_date: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Note {
    pub id: i64,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub author: Option<User>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub system: bool,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Approvals {
    #[serde(default)]
    pub approved_by: Vec<Approver>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Approver {
    pub user: User,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Deployment {
    pub id: i64,
    #[serde(default)]
    pub r#ref: Option<String>,
    #[serde(default)]
    pub sha: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    pub status: String,
    #[serde(default)]
    pub environment: Option<Environment>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Environment {
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Pipeline {
    pub id: i64,
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub r#ref: Option<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// Null on some recorded gitlab.com answers (a running pipeline).
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Pipeline {
    pub fn updated(&self) -> DateTime<Utc> {
        self.updated_at.unwrap_or(self.created_at)
    }
}
