//! What GitHub answers, as far as the sync reads it: GraphQL envelopes and nodes, REST items.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

// ---------------------------------------------------------------------------------------------
// GraphQL

/// `{"data": …, "errors": […]}`; a rate-limited answer has `errors` only.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(default = "none")]
    pub data: Option<T>,
    #[serde(default)]
    pub errors: Vec<GqlError>,
}

fn none<T>() -> Option<T> {
    None
}

#[derive(Debug, Deserialize)]
pub struct GqlError {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: String,
}

impl GqlError {
    /// GitHub says `RATE_LIMITED`; a 2026 report also shows `RATE_LIMIT`.
    pub fn is_rate_limit(&self) -> bool {
        matches!(self.kind.as_deref(), Some("RATE_LIMITED" | "RATE_LIMIT"))
    }
}

/// `rateLimit { cost remaining resetAt }` (null on Enterprise with rate limiting off).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    pub cost: u32,
    pub remaining: u32,
    pub reset_at: DateTime<Utc>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A query's `data`, which always asks for `rateLimit`.
pub trait GqlData: serde::de::DeserializeOwned {
    fn rate_limit(&self) -> Option<&RateLimit>;
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    #[serde(default)]
    pub end_cursor: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conn<T> {
    pub page_info: PageInfo,
    #[serde(default)]
    pub total_count: Option<u64>,
    /// Inaccessible items come back as `null`.
    #[serde(default = "Vec::new")]
    pub nodes: Vec<Option<T>>,
}

impl<T> Conn<T> {
    pub fn take_nodes(&mut self) -> Vec<T> {
        std::mem::take(&mut self.nodes).into_iter().flatten().collect()
    }

    /// Where the next page starts, if there is one.
    pub fn next(&self) -> Option<&str> {
        self.page_info
            .has_next_page
            .then_some(self.page_info.end_cursor.as_deref())
            .flatten()
    }
}

/// An `Actor`: `__typename` tells `User` from `Bot`.
#[derive(Clone, Debug, Deserialize)]
pub struct Actor {
    #[serde(default, rename = "__typename")]
    pub typename: Option<String>,
    pub login: String,
}

impl Actor {
    pub fn is_bot(&self) -> bool {
        self.typename.as_deref() == Some("Bot") || self.login.ends_with("[bot]")
    }

    /// GraphQL drops the `[bot]` suffix REST keeps; store the REST form so both agree.
    pub fn login(&self) -> String {
        if self.typename.as_deref() == Some("Bot") && !self.login.ends_with("[bot]") {
            format!("{}[bot]", self.login)
        } else {
            self.login.clone()
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Oid {
    pub oid: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Named {
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Login {
    pub login: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoPageData {
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    #[serde(default)]
    pub repository: Option<RepoNode>,
    /// The previous page's follow-ups that rode along, by alias.
    #[serde(flatten)]
    pub nodes: HashMap<String, Option<FollowUpNode>>,
}

impl GqlData for RepoPageData {
    fn rate_limit(&self) -> Option<&RateLimit> {
        self.rate_limit.as_ref()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoNode {
    pub id: String,
    pub is_archived: bool,
    #[serde(default)]
    pub default_branch_ref: Option<Named>,
    #[serde(default)]
    pub pull_requests: Option<Conn<PullRequest>>,
    #[serde(default)]
    pub deployments: Option<Conn<Deployment>>,
    #[serde(default)]
    pub releases: Option<Conn<Release>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    pub id: String,
    pub number: i64,
    pub title: String,
    pub state: String,
    pub is_draft: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub author: Option<Actor>,
    pub base_ref_name: String,
    pub head_ref_name: String,
    pub additions: i64,
    pub deletions: i64,
    pub changed_files: i64,
    #[serde(default)]
    pub merge_commit: Option<Oid>,
    pub reviews: Conn<Review>,
    pub commits: Conn<PrCommit>,
    pub comments: Conn<IssueComment>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub id: String,
    pub state: String,
    #[serde(default)]
    pub submitted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub author: Option<Actor>,
    #[serde(default)]
    pub commit: Option<Oid>,
    /// The review's line comments (`lineComments: comments(first:)`), same shape as `IssueComment`.
    #[serde(default, rename = "lineComments")]
    pub line_comments: Option<Conn<IssueComment>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PrCommit {
    pub commit: Commit,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Commit {
    pub oid: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub authored_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub committed_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub author: Option<GitActor>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GitActor {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub user: Option<Login>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueComment {
    pub id: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub author: Option<Actor>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    #[serde(default)]
    pub database_id: Option<i64>,
    #[serde(default)]
    pub environment: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub commit_oid: Option<String>,
    #[serde(default)]
    pub r#ref: Option<Named>,
    pub statuses: Conn<DeploymentStatus>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    pub state: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    #[serde(default)]
    pub database_id: Option<i64>,
    pub tag_name: String,
    pub is_draft: bool,
    pub is_prerelease: bool,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
}

/// The answer to [`super::graphql::sizes_body`]: per alias, the repository's totals (null when
/// it is gone or not readable).
#[derive(Debug, Deserialize)]
pub struct SizesData {
    #[serde(default, rename = "rateLimit")]
    pub rate_limit: Option<RateLimit>,
    #[serde(flatten)]
    pub repos: HashMap<String, Option<RepoSize>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoSize {
    pub pull_requests: Total,
    #[serde(default)]
    pub deploys: Option<Total>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Total {
    pub total_count: u64,
}

impl GqlData for SizesData {
    fn rate_limit(&self) -> Option<&RateLimit> {
        self.rate_limit.as_ref()
    }
}

/// The answer to a batch of `alias: node(id:) { … }` follow-ups.
#[derive(Debug, Deserialize)]
pub struct FollowUpData {
    #[serde(default, rename = "rateLimit")]
    pub rate_limit: Option<RateLimit>,
    #[serde(flatten)]
    pub nodes: HashMap<String, Option<FollowUpNode>>,
}

impl GqlData for FollowUpData {
    fn rate_limit(&self) -> Option<&RateLimit> {
        self.rate_limit.as_ref()
    }
}

/// The rest of one pull request's (or deployment's) nested connections.
#[derive(Debug, Default, Deserialize)]
pub struct FollowUpNode {
    #[serde(default)]
    pub reviews: Option<Conn<Review>>,
    #[serde(default)]
    pub commits: Option<Conn<PrCommit>>,
    #[serde(default)]
    pub comments: Option<Conn<IssueComment>>,
    #[serde(default)]
    pub statuses: Option<Conn<DeploymentStatus>>,
    /// A review's line comments.
    #[serde(default, rename = "lineComments")]
    pub line_comments: Option<Conn<IssueComment>>,
}

// ---------------------------------------------------------------------------------------------
// REST

#[derive(Clone, Debug, Deserialize)]
pub struct RestUser {
    pub login: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl RestUser {
    pub fn is_bot(&self) -> bool {
        self.kind.as_deref() == Some("Bot") || self.login.ends_with("[bot]")
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct RestOwner {
    pub login: String,
}

/// An item of `GET /orgs/{org}/repos`.
#[derive(Clone, Debug, Deserialize)]
pub struct RestRepo {
    pub name: String,
    pub owner: RestOwner,
    #[serde(default)]
    pub node_id: Option<String>,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub archived: bool,
}

/// `GET /repos/{o}/{r}/actions/runs` (an envelope, not an array).
#[derive(Debug, Deserialize)]
pub struct RunsPage {
    #[serde(default)]
    pub workflow_runs: Vec<WorkflowRun>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct WorkflowRun {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub head_branch: Option<String>,
    #[serde(default)]
    pub head_sha: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `GET /rate_limit` (only the parts the sync reads).
#[derive(Debug, Deserialize)]
pub struct RateLimitResources {
    pub resources: HashMap<String, RestBudget>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
pub struct RestBudget {
    pub limit: u32,
    pub remaining: u32,
    pub reset: i64,
}
