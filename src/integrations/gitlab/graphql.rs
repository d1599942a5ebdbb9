//! Merge requests through GitLab's GraphQL API (`{base}/api/graphql`): a page of up to 100
//! merge requests, oldest-updated first from the watermark, with their author, diff stats,
//! approvers and the first 100 notes and commits in one request; the merge requests with more
//! notes or commits than that have the next pages asked for several at a time (aliases of
//! `mergeRequest(iid)` in one query). The answers become the REST models, so
//! [`super::rows::mr_row`] builds the same rows from either API.
//!
//! GitLab's complexity limit is 250 for an authenticated request: [`mr_page_query`] at 100
//! merge requests scores about 150, a batch of [`NESTED_BATCH`] continuations about 25 each
//! (the simulator computes the score with GitLab's rule and refuses a query above the limit,
//! as GitLab does).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::models::{Approvals, Approver, Commit, MergeRequest, Note, Sizes, User};
use crate::integrations::github::sync::SyncError;

/// Merge requests per page (GitLab's `max_page_size`).
pub const MR_PAGE: u32 = 100;
/// Notes or commits per nested page (GitLab's `max_page_size`).
pub const NESTED_PAGE: u32 = 100;
/// Continuation pages per request: about 25 complexity points each, so 150 of the 250
/// allowed, leaving room for the points GitLab adds where a field calls Gitaly.
pub const NESTED_BATCH: usize = 6;

const NOTE_FIELDS: &str =
    "pageInfo { hasNextPage endCursor } nodes { id body system createdAt updatedAt author { username } }";
const COMMIT_FIELDS: &str =
    "pageInfo { hasNextPage endCursor } nodes { sha message authoredDate committedDate authorName authorEmail }";

/// One page of a project's merge requests, oldest-updated first, with the nested lists.
pub fn mr_page_query() -> String {
    format!(
        "query($fullPath: ID!, $first: Int!, $after: String, $updatedAfter: Time) {{
  project(fullPath: $fullPath) {{
    mergeRequests(first: $first, after: $after, updatedAfter: $updatedAfter, sort: UPDATED_ASC) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        id iid title state draft createdAt updatedAt mergedAt closedAt sourceBranch targetBranch
        mergeCommitSha squashCommitSha
        author {{ username }}
        diffStatsSummary {{ additions deletions fileCount }}
        approvedBy {{ nodes {{ username }} }}
        notes(first: {NESTED_PAGE}) {{ {NOTE_FIELDS} }}
        commits(first: {NESTED_PAGE}) {{ {COMMIT_FIELDS} }}
      }}
    }}
  }}
}}"
    )
}

/// The next pages of several merge requests' notes or commits in one request: `lists[k]` is
/// answered under `project.m{k}` for the variables `iid{k}` and `after{k}`.
pub fn nested_batch_query(lists: &[Nested]) -> String {
    let mut vars = String::from("$fullPath: ID!");
    let mut body = String::new();
    for (k, list) in lists.iter().enumerate() {
        let fields = match list {
            Nested::Notes => NOTE_FIELDS,
            Nested::Commits => COMMIT_FIELDS,
        };
        vars.push_str(&format!(", $iid{k}: String!, $after{k}: String"));
        body.push_str(&format!(
            "\n    m{k}: mergeRequest(iid: $iid{k}) {{ {}(first: {NESTED_PAGE}, after: $after{k}) {{ {fields} }} }}",
            list.field()
        ));
    }
    format!("query({vars}) {{\n  project(fullPath: $fullPath) {{{body}\n  }}\n}}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nested {
    Notes,
    Commits,
}

impl Nested {
    /// The field of `MergeRequest` the list is.
    pub fn field(self) -> &'static str {
        match self {
            Nested::Notes => "notes",
            Nested::Commits => "commits",
        }
    }
}

/// A GraphQL answer: `data`, or `errors` (HTTP 200 either way).
#[derive(Debug, Deserialize)]
pub struct Answer<T> {
    pub data: Option<T>,
    #[serde(default)]
    pub errors: Vec<GqlError>,
}

#[derive(Debug, Deserialize)]
pub struct GqlError {
    pub message: String,
}

#[derive(Debug, Deserialize)]
pub struct ProjectData<P> {
    pub project: Option<P>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MrsProject {
    pub merge_requests: Connection<GqlMr>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<T> {
    #[serde(default = "PageInfo::last")]
    pub page_info: PageInfo,
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    #[serde(default)]
    pub end_cursor: Option<String>,
}

impl PageInfo {
    fn last() -> Self {
        Self {
            has_next_page: false,
            end_cursor: None,
        }
    }

    /// The cursor to continue from, if there is more.
    pub fn next(&self) -> Option<String> {
        self.end_cursor.clone().filter(|_| self.has_next_page)
    }
}

#[derive(Debug, Deserialize)]
pub struct Username {
    pub username: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GqlMr {
    pub id: String,
    pub iid: String,
    pub title: String,
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub merged_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub source_branch: String,
    pub target_branch: String,
    pub merge_commit_sha: Option<String>,
    pub squash_commit_sha: Option<String>,
    pub author: Option<Username>,
    pub diff_stats_summary: Option<DiffStats>,
    /// Null where approvals are not available.
    pub approved_by: Option<Connection<Username>>,
    pub notes: Connection<GqlNote>,
    pub commits: Option<Connection<GqlCommit>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffStats {
    pub additions: i64,
    pub deletions: i64,
    pub file_count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GqlNote {
    pub id: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub system: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub author: Option<Username>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GqlCommit {
    pub sha: String,
    #[serde(default)]
    pub message: Option<String>,
    pub authored_date: Option<DateTime<Utc>>,
    pub committed_date: Option<DateTime<Utc>>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
}

/// `gid://gitlab/MergeRequest/123` → (`MergeRequest`, 123).
fn global_id(gid: &str) -> (&str, i64) {
    let mut parts = gid.rsplit('/');
    let id = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    (parts.next().unwrap_or(""), id)
}

fn user(u: Username) -> User {
    // The same bot rule as the REST path (`User::is_bot` on the name), so both store the same rows.
    User {
        username: u.username,
        bot: false,
    }
}

impl GqlNote {
    pub fn into_note(self) -> Note {
        let (class, id) = global_id(&self.id);
        Note {
            id,
            body: self.body,
            author: self.author.map(user),
            created_at: self.created_at,
            updated_at: self.updated_at,
            system: self.system,
            // A line comment's global id names its class, as REST's `type` does.
            kind: (class == "DiffNote").then(|| "DiffNote".to_string()),
        }
    }
}

impl GqlCommit {
    pub fn into_commit(self) -> Commit {
        Commit {
            id: self.sha,
            message: self.message.unwrap_or_default(),
            author_name: self.author_name,
            author_email: self.author_email,
            authored_date: self.authored_date,
            committed_date: self.committed_date,
        }
    }
}

/// A merge request as the REST path reads it, with what GraphQL adds (diff stats), and the
/// approvals; the nested lists stay with `self` for the caller to complete.
pub struct Split {
    pub mr: MergeRequest,
    pub approvals: Option<Approvals>,
    pub notes: Connection<GqlNote>,
    pub commits: Connection<GqlCommit>,
}

impl GqlMr {
    pub fn split(self) -> Split {
        let sizes = self.diff_stats_summary.map(|d| Sizes {
            additions: d.additions,
            deletions: d.deletions,
            changed_files: d.file_count,
        });
        let mr = MergeRequest {
            id: global_id(&self.id).1,
            iid: self.iid.parse().unwrap_or(0),
            title: self.title,
            state: self.state,
            created_at: self.created_at,
            updated_at: self.updated_at,
            merged_at: self.merged_at,
            closed_at: self.closed_at,
            target_branch: self.target_branch,
            source_branch: self.source_branch,
            author: self.author.map(user),
            draft: self.draft,
            merge_commit_sha: self.merge_commit_sha,
            squash_commit_sha: self.squash_commit_sha,
            sizes,
        };
        let approvals = self.approved_by.map(|c| Approvals {
            approved_by: c.nodes.into_iter().map(|u| Approver { user: user(u) }).collect(),
        });
        Split {
            mr,
            approvals,
            notes: self.notes,
            commits: self.commits.unwrap_or(Connection {
                page_info: PageInfo::last(),
                nodes: Vec::new(),
            }),
        }
    }
}

/// The words GitLab refuses a query with when it scores above the complexity limit.
const TOO_COMPLEX: &str = "which exceeds max complexity of";

/// Whether `e` is GitLab refusing a query as too complex (the caller asks for less).
pub fn too_complex(e: &SyncError) -> bool {
    matches!(e, SyncError::Invalid { message, .. } if message.contains(TOO_COMPLEX))
}

/// The `data` of an answer, or its first error's message.
pub fn data<T: DeserializeOwned>(answer: Answer<T>) -> Result<T, String> {
    match (answer.data, answer.errors.into_iter().next()) {
        (_, Some(e)) => Err(e.message),
        (Some(d), None) => Ok(d),
        (None, None) => Err("an answer without data".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_names_each_list_under_its_own_alias() {
        let q = nested_batch_query(&[Nested::Notes, Nested::Commits]);
        assert!(
            q.contains("m0: mergeRequest(iid: $iid0) { notes(first: 100, after: $after0)"),
            "{q}"
        );
        assert!(
            q.contains("m1: mergeRequest(iid: $iid1) { commits(first: 100, after: $after1)"),
            "{q}"
        );
        assert!(
            q.starts_with("query($fullPath: ID!, $iid0: String!, $after0: String, $iid1"),
            "{q}"
        );
    }

    #[test]
    fn global_ids_give_their_class_and_number() {
        assert_eq!(
            global_id("gid://gitlab/MergeRequest/75927254"),
            ("MergeRequest", 75927254)
        );
        assert_eq!(global_id("gid://gitlab/DiffNote/12"), ("DiffNote", 12));
    }
}
