//! The simulators' ground truth: everything Jira and GitHub "contain". `GET {admin}/sim/dataset`
//! exports it as JSON; the simulated APIs render it in the real wire formats.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Dataset {
    /// The simulated present: every timestamp in the data is at or before it.
    pub now: DateTime<Utc>,
    pub jira: JiraData,
    pub github: GithubData,
}

// ---------------------------------------------------------------------------------------------
// Jira

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct JiraData {
    /// Time zone of the API user (`/myself`); JQL date literals are read in it.
    pub user_time_zone: String,
    pub users: Vec<JiraUser>,
    pub statuses: Vec<JiraStatus>,
    pub issue_types: Vec<JiraIssueType>,
    pub projects: Vec<JiraProject>,
    /// Sorted by `id`.
    pub issues: Vec<JiraIssue>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JiraUser {
    /// Cloud identity.
    pub account_id: String,
    /// Data Center identity (`name` and `key`).
    pub name: String,
    pub display_name: String,
    pub email: String,
    pub time_zone: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JiraStatus {
    pub id: String,
    pub name: String,
    /// `new`, `indeterminate` or `done` (ids 2, 4, 3 in real Jira).
    pub category_key: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JiraIssueType {
    pub id: String,
    pub name: String,
    pub subtask: bool,
    /// -1 sub-task, 0 standard, 1 epic.
    pub hierarchy_level: i32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JiraProject {
    pub id: String,
    /// Upper-case letters.
    pub key: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JiraIssue {
    pub id: String,
    pub key: String,
    pub project_id: String,
    pub issue_type_id: String,
    pub status_id: String,
    pub summary: String,
    pub priority: Option<String>,
    /// Index into `JiraData::users`.
    pub assignee: Option<usize>,
    pub reporter: Option<usize>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub resolved: Option<DateTime<Utc>>,
    pub story_points: Option<f64>,
    pub parent_id: Option<String>,
    /// Oldest first. Status changes are items with `field == "status"`.
    pub changelog: Vec<JiraHistory>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JiraHistory {
    pub id: String,
    /// Index into `JiraData::users`.
    pub author: usize,
    pub created: DateTime<Utc>,
    pub items: Vec<JiraChangeItem>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JiraChangeItem {
    pub field: String,
    /// `jira` or `custom`.
    pub field_type: String,
    pub field_id: Option<String>,
    pub from: Option<String>,
    pub from_string: Option<String>,
    pub to: Option<String>,
    pub to_string: Option<String>,
}

/// Custom field id the simulator uses for story points (Jira Software's usual one).
pub const STORY_POINTS_FIELD: &str = "customfield_10016";

// ---------------------------------------------------------------------------------------------
// GitHub

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GithubData {
    /// The organisation every repository belongs to (`acme`).
    pub org: String,
    pub users: Vec<GhUser>,
    pub repos: Vec<GhRepo>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhUser {
    pub id: u64,
    pub node_id: String,
    pub login: String,
    pub name: String,
    pub email: String,
    /// `User` or `Bot` (bot logins end in `[bot]`).
    pub kind: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhRepo {
    pub id: u64,
    pub node_id: String,
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    pub archived: bool,
    pub private: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub pushed_at: DateTime<Utc>,
    /// Sorted by `number`.
    pub pulls: Vec<GhPull>,
    pub deployments: Vec<GhDeployment>,
    pub releases: Vec<GhRelease>,
    pub workflow_runs: Vec<GhRun>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhPull {
    pub number: u64,
    pub id: u64,
    pub node_id: String,
    pub title: String,
    pub body: String,
    /// Index into `GithubData::users`.
    pub author: usize,
    /// `open` or `closed` (merged PRs are closed with `merged_at`).
    pub state: String,
    pub draft: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub merged_at: Option<DateTime<Utc>>,
    pub base_ref: String,
    pub head_ref: String,
    pub head_sha: String,
    pub merge_commit_sha: Option<String>,
    pub additions: u64,
    pub deletions: u64,
    pub changed_files: u64,
    /// In push order.
    pub commits: Vec<GhCommit>,
    pub reviews: Vec<GhReview>,
    /// Conversation comments (REST `/issues/{n}/comments`, GraphQL `comments`).
    pub comments: Vec<GhComment>,
    /// Line comments (REST `/pulls/{n}/comments`).
    pub review_comments: Vec<GhReviewComment>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhCommit {
    pub sha: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    /// Index into `GithubData::users` when the email belongs to a GitHub account.
    pub author: Option<usize>,
    pub authored_at: DateTime<Utc>,
    pub committed_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhReview {
    pub id: u64,
    pub node_id: String,
    pub author: usize,
    /// APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    pub state: String,
    pub body: String,
    pub submitted_at: DateTime<Utc>,
    pub commit_sha: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhComment {
    pub id: u64,
    pub node_id: String,
    pub author: usize,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhReviewComment {
    pub id: u64,
    pub node_id: String,
    pub review_id: u64,
    pub author: usize,
    pub body: String,
    pub path: String,
    pub commit_sha: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhDeployment {
    pub id: u64,
    pub node_id: String,
    pub sha: String,
    /// Branch or tag deployed.
    pub r#ref: String,
    pub task: String,
    /// `production`, `staging`, …
    pub environment: String,
    pub creator: usize,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Oldest first; the last one is the current state.
    pub statuses: Vec<GhDeploymentStatus>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhDeploymentStatus {
    pub id: u64,
    pub node_id: String,
    /// error | failure | inactive | pending | success | queued | in_progress
    pub state: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhRelease {
    pub id: u64,
    pub node_id: String,
    pub tag_name: String,
    pub name: String,
    pub target_commitish: String,
    pub draft: bool,
    pub prerelease: bool,
    pub author: usize,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhRun {
    pub id: u64,
    pub node_id: String,
    /// Workflow name, e.g. `Deploy production`.
    pub name: String,
    pub workflow_id: u64,
    pub head_branch: String,
    pub head_sha: String,
    pub event: String,
    /// queued | in_progress | completed
    pub status: String,
    /// success | failure | cancelled | … (set once completed)
    pub conclusion: Option<String>,
    pub run_number: u64,
    pub run_attempt: u64,
    pub actor: usize,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub run_started_at: DateTime<Utc>,
}

impl JiraData {
    pub fn issue_by_id_or_key(&self, id_or_key: &str) -> Option<&JiraIssue> {
        match self.issues.binary_search_by(|i| cmp_numeric(&i.id, id_or_key)) {
            Ok(idx) => self.issues.get(idx),
            Err(_) => self.issues.iter().find(|i| i.key.eq_ignore_ascii_case(id_or_key)),
        }
    }
}

impl GithubData {
    pub fn repo(&self, owner: &str, name: &str) -> Option<&GhRepo> {
        self.repos
            .iter()
            .find(|r| r.owner.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(name))
    }
}

impl GhRepo {
    pub fn pull(&self, number: u64) -> Option<&GhPull> {
        self.pulls
            .binary_search_by_key(&number, |p| p.number)
            .ok()
            .map(|i| &self.pulls[i])
    }
}

/// Orders numeric id strings by value ("9" < "10"); Jira ids are decimal strings.
pub fn cmp_numeric(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}
