//! From what GitHub answered to the rows the database keeps: pull requests with their derived
//! times (first commit, first review, first response), Jira links, and deployments of each
//! deployment source.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::models::{Deployment, DeploymentStatus, IssueComment, PrCommit, PullRequest, Release, Review, WorkflowRun};
use crate::db::github::{
    COMMENT_KIND_ISSUE, COMMENT_KIND_REVIEW, CommentRow, CommitRow, DeploymentRow, LinkRow, PrRow, ReviewRow,
};
use crate::domain::integration::{DeploymentKind, glob_match};

/// A pull request with every nested item read (first page and follow-ups).
pub struct FullPull {
    pub pr: PullRequest,
    pub reviews: Vec<Review>,
    pub commits: Vec<PrCommit>,
    pub comments: Vec<IssueComment>,
    /// Line comments of all its reviews.
    pub line_comments: Vec<IssueComment>,
}

impl FullPull {
    pub fn new(mut pr: PullRequest) -> Self {
        let reviews = pr.reviews.take_nodes();
        let commits = pr.commits.take_nodes();
        let comments = pr.comments.take_nodes();
        Self {
            pr,
            reviews,
            commits,
            comments,
            line_comments: Vec::new(),
        }
    }
}

/// The row of a complete pull request.
pub fn pull_row(full: FullPull, known_keys: &HashSet<String>) -> PrRow {
    let FullPull {
        pr,
        reviews,
        commits,
        comments,
        line_comments,
    } = full;
    let author = pr.author.as_ref().map(|a| a.login());
    let author_is_bot = pr.author.as_ref().is_some_and(|a| a.is_bot());
    // "Someone else": a human other than the author.
    let someone_else = |login: &Option<String>, bot: bool| !bot && login.is_some() && *login != author;

    let reviews: Vec<ReviewRow> = reviews
        .into_iter()
        .map(|r| ReviewRow {
            node_id: r.id,
            author: r.author.as_ref().map(|a| a.login()),
            author_is_bot: r.author.as_ref().is_some_and(|a| a.is_bot()),
            state: r.state,
            submitted_at: r.submitted_at,
            commit_sha: r.commit.map(|c| c.oid),
        })
        .collect();
    let commits: Vec<CommitRow> = commits
        .into_iter()
        .map(|c| {
            let c = c.commit;
            let author = c.author.unwrap_or(super::models::GitActor {
                name: None,
                email: None,
                user: None,
            });
            CommitRow {
                sha: c.oid,
                message: c.message,
                author_name: author.name,
                author_email: author.email,
                author_login: author.user.map(|u| u.login),
                authored_at: c.authored_date,
                committed_at: c.committed_date,
            }
        })
        .collect();
    let comment = |kind: &'static str| {
        move |c: IssueComment| CommentRow {
            node_id: c.id,
            kind,
            author: c.author.as_ref().map(|a| a.login()),
            author_is_bot: c.author.as_ref().is_some_and(|a| a.is_bot()),
            created: c.created_at,
            updated: c.updated_at,
        }
    };
    let all_comments: Vec<CommentRow> = comments
        .into_iter()
        .map(comment(COMMENT_KIND_ISSUE))
        .chain(line_comments.into_iter().map(comment(COMMENT_KIND_REVIEW)))
        .collect();

    let first_commit_at = commits.iter().filter_map(|c| c.authored_at).min();
    let first_review_at = reviews
        .iter()
        .filter(|r| someone_else(&r.author, r.author_is_bot))
        .filter_map(|r| r.submitted_at)
        .min();
    let first_comment_at = all_comments
        .iter()
        .filter(|c| someone_else(&c.author, c.author_is_bot))
        .map(|c| c.created)
        .min();
    let first_response_at = earliest(first_review_at, first_comment_at);

    let messages = commits.iter().map(|c| c.message.as_str());
    let links = links(&pr.title, &pr.head_ref_name, messages, known_keys);
    PrRow {
        number: i32::try_from(pr.number).unwrap_or(i32::MAX),
        node_id: pr.id,
        title: pr.title,
        author,
        author_is_bot,
        state: pr.state,
        draft: pr.is_draft,
        created: pr.created_at,
        updated: pr.updated_at,
        merged_at: pr.merged_at,
        closed_at: pr.closed_at,
        additions: clamp_i32(pr.additions),
        deletions: clamp_i32(pr.deletions),
        changed_files: clamp_i32(pr.changed_files),
        base_ref: pr.base_ref_name,
        head_ref: pr.head_ref_name,
        merge_commit_sha: pr.merge_commit.map(|c| c.oid),
        first_commit_at,
        first_review_at,
        first_response_at,
        reviews,
        commits,
        comments: all_comments,
        links,
    }
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { 0 } else { i32::MAX })
}

/// Jira keys of known projects in the title, then the head branch, then commit messages; each
/// key once, with the first place it was found.
pub fn links<'a>(
    title: &str,
    branch: &str,
    messages: impl Iterator<Item = &'a str>,
    known_keys: &HashSet<String>,
) -> Vec<LinkRow> {
    let mut out: Vec<LinkRow> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let places = [("title", title), ("branch", branch)]
        .into_iter()
        .chain(messages.map(|m| ("commit", m)));
    for (found_in, text) in places {
        for (project, key) in jira_keys(text) {
            if known_keys.contains(project) && seen.insert(key.to_string()) {
                out.push(LinkRow {
                    issue_key: key.to_string(),
                    found_in,
                });
            }
        }
    }
    out
}

/// Every `[A-Z][A-Z0-9_]+-\d+` in `text` that does not start inside a word, as (project, key).
pub fn jira_keys(text: &str) -> Vec<(&str, &str)> {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_uppercase() || (i > 0 && word(b[i - 1])) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < b.len() && (b[j].is_ascii_uppercase() || b[j].is_ascii_digit() || b[j] == b'_') {
            j += 1;
        }
        let mut k = j + 1;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if j - i >= 2 && j < b.len() && b[j] == b'-' && k > j + 1 {
            out.push((&text[i..j], &text[i..k]));
            i = k;
        } else {
            i = j;
        }
    }
    out
}

/// A GitHub deployment with all its statuses. `status` is `success` once it reached success,
/// else its latest state; `finished_at` is when it first succeeded, or first failed.
pub fn deployment_row(d: &Deployment, statuses: &[DeploymentStatus], pattern: &str) -> DeploymentRow {
    let state = |s: &DeploymentStatus| s.state.to_ascii_lowercase();
    let first_with = |wanted: &[&str]| {
        statuses
            .iter()
            .filter(|s| wanted.contains(&state(s).as_str()))
            .map(|s| s.created_at)
            .min()
    };
    let succeeded = first_with(&["success"]);
    let status = match succeeded {
        Some(_) => "success".to_string(),
        None => statuses
            .iter()
            .max_by_key(|s| s.created_at)
            .map(state)
            .unwrap_or_else(|| "pending".into()),
    };
    let environment = d.environment.clone();
    DeploymentRow {
        source: DeploymentKind::Deployments.as_str(),
        external_id: d.database_id.map_or_else(|| d.id.clone(), |id| id.to_string()),
        is_production: environment.as_deref().is_some_and(|e| glob_match(pattern, e)),
        environment,
        sha: d.commit_oid.clone(),
        r#ref: d.r#ref.as_ref().map(|r| r.name.clone()),
        status,
        created: d.created_at,
        finished_at: succeeded.or_else(|| first_with(&["failure", "error"])),
    }
}

/// A published release is a successful deployment at publication; release candidates
/// (prereleases) are kept but not production. Drafts are not deployments.
pub fn release_row(r: &Release) -> Option<DeploymentRow> {
    let published = r.published_at.filter(|_| !r.is_draft)?;
    Some(DeploymentRow {
        source: DeploymentKind::Releases.as_str(),
        external_id: r.database_id.map_or_else(|| r.tag_name.clone(), |id| id.to_string()),
        environment: Some(if r.is_prerelease { "prerelease" } else { "production" }.into()),
        is_production: !r.is_prerelease,
        sha: None,
        r#ref: Some(r.tag_name.clone()),
        status: "success".into(),
        created: r.created_at,
        finished_at: Some(published),
    })
}

/// A run of a deployment workflow on the default branch. Completed: its status is the
/// conclusion (`success`, `failure`, `cancelled`, …), finished when last updated; otherwise its
/// run status (`queued`, `in_progress`, `waiting`, …), not finished.
pub fn run_row(r: &WorkflowRun) -> DeploymentRow {
    let completed = r.status.as_deref() == Some("completed");
    let status = if completed {
        r.conclusion.as_deref().unwrap_or("success")
    } else {
        r.status.as_deref().unwrap_or("queued")
    };
    DeploymentRow {
        source: DeploymentKind::WorkflowRuns.as_str(),
        external_id: r.id.to_string(),
        environment: r.name.clone(),
        is_production: true,
        sha: r.head_sha.clone(),
        r#ref: r.head_branch.clone(),
        status: status.to_ascii_lowercase(),
        created: r.created_at,
        finished_at: completed.then_some(r.updated_at),
    }
}

/// A pull request merged into the default branch, as a deployment at merge time.
pub fn merge_row(
    number: i64,
    merged_at: Option<DateTime<Utc>>,
    base_ref: &str,
    merge_commit_sha: Option<String>,
    default_branch: &str,
) -> Option<DeploymentRow> {
    let merged = merged_at.filter(|_| base_ref == default_branch)?;
    Some(DeploymentRow {
        source: DeploymentKind::Merges.as_str(),
        external_id: number.to_string(),
        environment: Some("production".into()),
        is_production: true,
        sha: merge_commit_sha,
        r#ref: Some(base_ref.to_string()),
        status: "success".into(),
        created: merged,
        finished_at: Some(merged),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_keys_need_a_word_start_and_digits() {
        let keys: Vec<&str> = jira_keys("PAY-12: fix [WEB_2-7] xPAY-3 A-1 PAY- OPS-9x feature/OPS-10-fix")
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        assert_eq!(keys, ["PAY-12", "WEB_2-7", "OPS-9", "OPS-10"]);
    }

    #[test]
    fn links_keep_the_first_place_and_known_projects_only() {
        let known: HashSet<String> = ["PAY".to_string(), "OPS".to_string()].into();
        let got = links(
            "PAY-1 and NOPE-2",
            "feature/OPS-3-x",
            ["PAY-1 again", "OPS-4 too"].into_iter(),
            &known,
        );
        let want = [("PAY-1", "title"), ("OPS-3", "branch"), ("OPS-4", "commit")];
        assert_eq!(
            got.iter()
                .map(|l| (l.issue_key.as_str(), l.found_in))
                .collect::<Vec<_>>(),
            want
        );
    }
}
