//! GitLab answers as the rows GitHub's fill: a merge request is a pull request (identity:
//! project + iid), an approval a review (`APPROVED`, timed by its "approved this merge request"
//! system note), a note a comment (system notes left out), a deployment or pipeline a
//! deployment.

use std::collections::HashSet;

use super::models::{Approvals, Commit, Deployment, MergeRequest, Note, Pipeline};
use crate::db::github::{
    COMMENT_KIND_ISSUE, COMMENT_KIND_REVIEW, CommentRow, CommitRow, DeploymentRow, PrRow, ReviewRow,
};
use crate::domain::integration::{DeploymentKind, glob_match};
use crate::integrations::github::rows::links;

/// The system note GitLab writes when someone approves.
const APPROVED_NOTE: &str = "approved this merge request";

/// GitHub's pull-request states, which the metrics read.
pub fn pr_state(gitlab: &str) -> &'static str {
    match gitlab {
        "merged" => "MERGED",
        "opened" => "OPEN",
        _ => "CLOSED",
    }
}

/// A merge request with its commits, notes (system ones included) and approvals.
pub fn mr_row(
    mr: MergeRequest,
    commits: Vec<Commit>,
    notes: Vec<Note>,
    approvals: Option<Approvals>,
    known_keys: &HashSet<String>,
) -> PrRow {
    // Read through REST, sizes are unknown and stored as 0.
    let sizes = mr.sizes.unwrap_or_default();
    let clamp = |n: i64| i32::try_from(n.max(0)).unwrap_or(i32::MAX);
    let author = mr.author.as_ref().map(|a| a.username.clone());
    let author_is_bot = mr.author.as_ref().is_some_and(|a| a.is_bot());
    let someone_else = |login: &Option<String>, bot: bool| !bot && login.is_some() && *login != author;

    let mut reviews: Vec<ReviewRow> = notes
        .iter()
        .filter(|n| n.system && n.body.trim() == APPROVED_NOTE)
        .map(|n| ReviewRow {
            node_id: format!("gitlab-note-{}", n.id),
            author: n.author.as_ref().map(|a| a.username.clone()),
            author_is_bot: n.author.as_ref().is_some_and(|a| a.is_bot()),
            state: "APPROVED".into(),
            submitted_at: Some(n.created_at),
            commit_sha: None,
        })
        .collect();
    // An approver whose note is gone (deleted, or beyond what GitLab keeps) still approved.
    for a in approvals.map(|a| a.approved_by).unwrap_or_default() {
        if !reviews
            .iter()
            .any(|r| r.author.as_deref() == Some(a.user.username.as_str()))
        {
            reviews.push(ReviewRow {
                node_id: format!("gitlab-approval-{}", a.user.username),
                author_is_bot: a.user.is_bot(),
                author: Some(a.user.username),
                state: "APPROVED".into(),
                submitted_at: None,
                commit_sha: None,
            });
        }
    }
    let commits: Vec<CommitRow> = commits
        .into_iter()
        .map(|c| CommitRow {
            sha: c.id,
            message: c.message,
            author_name: c.author_name,
            author_email: c.author_email,
            author_login: None,
            authored_at: c.authored_date,
            committed_at: c.committed_date,
        })
        .collect();
    let comments: Vec<CommentRow> = notes
        .into_iter()
        .filter(|n| !n.system)
        .map(|n| CommentRow {
            node_id: format!("gitlab-note-{}", n.id),
            kind: if n.kind.as_deref() == Some("DiffNote") {
                COMMENT_KIND_REVIEW
            } else {
                COMMENT_KIND_ISSUE
            },
            author_is_bot: n.author.as_ref().is_some_and(|a| a.is_bot()),
            author: n.author.map(|a| a.username),
            created: n.created_at,
            updated: n.updated_at,
        })
        .collect();

    let first_commit_at = commits.iter().filter_map(|c| c.authored_at).min();
    let first_review_at = reviews
        .iter()
        .filter(|r| someone_else(&r.author, r.author_is_bot))
        .filter_map(|r| r.submitted_at)
        .min();
    let first_comment_at = comments
        .iter()
        .filter(|c| someone_else(&c.author, c.author_is_bot))
        .map(|c| c.created)
        .min();
    let first_response_at = match (first_review_at, first_comment_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let links = links(
        &mr.title,
        &mr.source_branch,
        commits.iter().map(|c| c.message.as_str()),
        known_keys,
    );
    PrRow {
        number: i32::try_from(mr.iid).unwrap_or(i32::MAX),
        node_id: format!("gitlab-mr-{}", mr.id),
        title: mr.title,
        author,
        author_is_bot,
        state: pr_state(&mr.state).into(),
        draft: mr.draft,
        created: mr.created_at,
        updated: mr.updated_at,
        merged_at: mr.merged_at,
        closed_at: mr.closed_at.or(mr.merged_at),
        additions: clamp(sizes.additions),
        deletions: clamp(sizes.deletions),
        changed_files: clamp(sizes.changed_files),
        base_ref: mr.target_branch,
        head_ref: mr.source_branch,
        merge_commit_sha: mr.merge_commit_sha.or(mr.squash_commit_sha),
        first_commit_at,
        first_review_at,
        first_response_at,
        reviews,
        commits,
        comments,
        links,
    }
}

/// GitHub's deployment-status words for GitLab's deployment and pipeline statuses.
fn status(gitlab: &str) -> &'static str {
    match gitlab {
        "success" => "success",
        "failed" => "failure",
        "canceled" | "canceling" => "cancelled",
        "skipped" => "skipped",
        "running" => "in_progress",
        "blocked" | "manual" | "waiting_for_resource" => "waiting",
        _ => "pending",
    }
}

fn finished(s: &str) -> bool {
    matches!(s, "success" | "failure" | "cancelled" | "skipped")
}

/// A deployment to an environment; production when the environment matches `pattern`.
pub fn deployment_row(d: &Deployment, pattern: &str) -> DeploymentRow {
    let st = status(&d.status);
    let environment = d.environment.as_ref().map(|e| e.name.clone());
    DeploymentRow {
        source: DeploymentKind::Deployments.as_str(),
        external_id: d.id.to_string(),
        is_production: environment.as_deref().is_some_and(|e| glob_match(pattern, e)),
        environment,
        sha: d.sha.clone(),
        r#ref: d.r#ref.clone(),
        status: st.into(),
        created: d.created_at,
        finished_at: finished(st).then(|| d.finished_at.unwrap_or(d.updated_at)),
    }
}

/// A pipeline on the default branch: a deployment when it succeeds.
pub fn pipeline_row(p: &Pipeline) -> DeploymentRow {
    let st = status(&p.status);
    DeploymentRow {
        source: DeploymentKind::Pipelines.as_str(),
        external_id: p.id.to_string(),
        environment: Some("production".into()),
        is_production: true,
        sha: p.sha.clone(),
        r#ref: p.r#ref.clone(),
        status: st.into(),
        created: p.created_at,
        finished_at: finished(st).then(|| p.updated()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::gitlab::models::{Commit, Deployment, MergeRequest, Note, Pipeline};

    /// A gitlab.com answer DevLake recorded (`sim/tests/fixtures/gitlab`, Apache-2.0).
    fn recorded<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!("{}/sim/tests/fixtures/gitlab/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        serde_json::from_value(v["data"].clone()).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn recorded_gitlab_answers_parse_into_rows() {
        let mr: MergeRequest = recorded("merge_request");
        let commit: Commit = recorded("commit");
        let note: Note = recorded("note");
        let system: Note = recorded("system_note");
        assert!(system.system && !note.system);
        let approval = Note {
            id: 1,
            body: APPROVED_NOTE.into(),
            system: true,
            ..system.clone()
        };
        let known: HashSet<String> = HashSet::new();
        let row = mr_row(mr, vec![commit], vec![note, system, approval], None, &known);
        assert_eq!((row.state.as_str(), row.number), ("MERGED", 1));
        assert_eq!(row.commits.len(), 1);
        assert_eq!(row.comments.len(), 1, "system notes are not comments");
        assert_eq!(row.reviews.len(), 1, "the approval note is a review");
        assert_eq!(row.reviews[0].state, "APPROVED");

        let d: Deployment = recorded("deployment");
        let r = deployment_row(&d, "*");
        assert_eq!(r.external_id, d.id.to_string());
        let p: Pipeline = recorded("pipeline");
        let r = pipeline_row(&p);
        assert!(r.is_production);
    }
}
