//! Pull-request pages: changed pull requests upserted, their reviews, commits, comments and
//! issue links replaced (delete + insert) in the caller's transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{pr_comments, pr_commits, pr_issue_links, pr_reviews, pull_requests};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::db::batch::{FIXED, batches, text};

/// `updated` of the stored pull requests among `numbers`.
pub async fn stored_pull_updates(
    db: &impl ConnectionTrait,
    repo_id: i64,
    numbers: &[i32],
) -> Result<HashMap<i32, DateTime<Utc>>, DbErr> {
    if numbers.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(pull_requests::Entity::find()
        .select_only()
        .column(pull_requests::Column::Number)
        .column(pull_requests::Column::Updated)
        .filter(pull_requests::Column::RepositoryId.eq(repo_id))
        .filter(pull_requests::Column::Number.is_in(numbers.to_vec()))
        .into_tuple::<(i32, DateTime<Utc>)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

async fn pull_ids(db: &impl ConnectionTrait, repo_id: i64, numbers: &[i32]) -> Result<HashMap<i32, i64>, DbErr> {
    if numbers.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(pull_requests::Entity::find()
        .select_only()
        .column(pull_requests::Column::Number)
        .column(pull_requests::Column::Id)
        .filter(pull_requests::Column::RepositoryId.eq(repo_id))
        .filter(pull_requests::Column::Number.is_in(numbers.to_vec()))
        .into_tuple::<(i32, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Conversation comments (GraphQL `comments`, REST `/issues/{n}/comments`).
pub const COMMENT_KIND_ISSUE: &str = "issue";
/// Review (line) comments (REST `/pulls/comments`).
pub const COMMENT_KIND_REVIEW: &str = "review";

/// A pull request with everything that hangs off it, complete.
#[derive(Clone, Debug)]
pub struct PrRow {
    pub number: i32,
    pub node_id: String,
    pub title: String,
    pub author: Option<String>,
    pub author_is_bot: bool,
    pub state: String,
    pub draft: bool,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub merged_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub additions: i32,
    pub deletions: i32,
    pub changed_files: i32,
    pub base_ref: String,
    pub head_ref: String,
    pub merge_commit_sha: Option<String>,
    pub first_commit_at: Option<DateTime<Utc>>,
    pub first_review_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub reviews: Vec<ReviewRow>,
    pub commits: Vec<CommitRow>,
    pub comments: Vec<CommentRow>,
    pub links: Vec<LinkRow>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReviewRow {
    pub node_id: String,
    pub author: Option<String>,
    pub author_is_bot: bool,
    pub state: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub commit_sha: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CommitRow {
    pub sha: String,
    pub message: String,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub author_login: Option<String>,
    pub authored_at: Option<DateTime<Utc>>,
    pub committed_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CommentRow {
    pub node_id: String,
    /// [`COMMENT_KIND_ISSUE`] or [`COMMENT_KIND_REVIEW`].
    pub kind: &'static str,
    pub author: Option<String>,
    pub author_is_bot: bool,
    pub created: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRow {
    pub issue_key: String,
    /// `title`, `branch` or `commit`: where the key was found first.
    pub found_in: &'static str,
}

/// Inserted and updated rows of one entity in one write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub inserted: u64,
    pub updated: u64,
}

impl Written {
    /// Nested rows are replaced whole: as many as there were before count as updated.
    fn replaced(before: u64, now: u64) -> Self {
        let updated = before.min(now);
        Self {
            inserted: now - updated,
            updated,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PullCounts {
    pub pulls: Written,
    pub reviews: Written,
    pub commits: Written,
    pub comments: Written,
    pub links: Written,
}

/// Writes pull requests (all of them changed: the caller filters) and replaces their reviews,
/// commits, comments and issue links: delete and insert in the caller's transaction, so a PR
/// is never stored with half its rows. Records the pull requests written for the analytics
/// precompute.
pub async fn store_pulls(db: &impl ConnectionTrait, repo_id: i64, rows: &[PrRow]) -> Result<PullCounts, DbErr> {
    let mut counts = PullCounts::default();
    if rows.is_empty() {
        return Ok(counts);
    }
    let numbers: Vec<i32> = rows.iter().map(|r| r.number).collect();
    let before = pull_ids(db, repo_id, &numbers).await?;
    counts.pulls.updated = before.len() as u64;
    counts.pulls.inserted = rows.len() as u64 - counts.pulls.updated;
    let now = Utc::now();
    let models: Vec<(usize, pull_requests::ActiveModel)> = rows
        .iter()
        .map(|r| {
            let size = 16 * FIXED + r.node_id.len() + r.title.len() + text(&r.author) + r.state.len();
            let size = size + r.base_ref.len() + r.head_ref.len() + text(&r.merge_commit_sha);
            (
                size,
                pull_requests::ActiveModel {
                    repository_id: Set(repo_id),
                    number: Set(r.number),
                    node_id: Set(r.node_id.clone()),
                    title: Set(r.title.clone()),
                    author: Set(r.author.clone()),
                    author_is_bot: Set(r.author_is_bot),
                    state: Set(r.state.clone()),
                    draft: Set(r.draft),
                    created: Set(r.created),
                    updated: Set(r.updated),
                    merged_at: Set(r.merged_at),
                    closed_at: Set(r.closed_at),
                    additions: Set(r.additions),
                    deletions: Set(r.deletions),
                    changed_files: Set(r.changed_files),
                    base_ref: Set(r.base_ref.clone()),
                    head_ref: Set(r.head_ref.clone()),
                    merge_commit_sha: Set(r.merge_commit_sha.clone()),
                    first_commit_at: Set(r.first_commit_at),
                    first_review_at: Set(r.first_review_at),
                    first_response_at: Set(r.first_response_at),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                },
            )
        })
        .collect();
    use pull_requests::Column as P;
    for chunk in batches(models) {
        pull_requests::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([P::RepositoryId, P::Number])
                    .update_columns([
                        P::NodeId,
                        P::Title,
                        P::Author,
                        P::AuthorIsBot,
                        P::State,
                        P::Draft,
                        P::Created,
                        P::Updated,
                        P::MergedAt,
                        P::ClosedAt,
                        P::Additions,
                        P::Deletions,
                        P::ChangedFiles,
                        P::BaseRef,
                        P::HeadRef,
                        P::MergeCommitSha,
                        P::FirstCommitAt,
                        P::FirstReviewAt,
                        P::FirstResponseAt,
                        P::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let id_of = pull_ids(db, repo_id, &numbers).await?;
    // Only pull requests stored before have rows to replace (an upsert keeps their ids).
    let (mut old_reviews, mut old_commits, mut old_comments, mut old_links) = (0, 0, 0, 0);
    let ids: Vec<i64> = before.values().copied().collect();
    if !ids.is_empty() {
        old_reviews = pr_reviews::Entity::delete_many()
            .filter(pr_reviews::Column::PullRequestId.is_in(ids.clone()))
            .exec(db)
            .await?
            .rows_affected;
        old_commits = pr_commits::Entity::delete_many()
            .filter(pr_commits::Column::PullRequestId.is_in(ids.clone()))
            .exec(db)
            .await?
            .rows_affected;
        old_comments = pr_comments::Entity::delete_many()
            .filter(pr_comments::Column::PullRequestId.is_in(ids.clone()))
            .exec(db)
            .await?
            .rows_affected;
        old_links = pr_issue_links::Entity::delete_many()
            .filter(pr_issue_links::Column::PullRequestId.is_in(ids))
            .exec(db)
            .await?
            .rows_affected;
    }
    let with_id: Vec<(i64, &PrRow)> = rows
        .iter()
        .filter_map(|r| id_of.get(&r.number).map(|id| (*id, r)))
        .collect();
    crate::db::analytics::changes::pull_requests_written(db, with_id.iter().map(|(id, _)| *id).collect()).await?;

    let reviews: Vec<(usize, pr_reviews::ActiveModel)> = with_id
        .iter()
        .flat_map(|(id, r)| {
            r.reviews.iter().map(move |x| {
                let size = 6 * FIXED + x.node_id.len() + text(&x.author) + x.state.len() + text(&x.commit_sha);
                (
                    size,
                    pr_reviews::ActiveModel {
                        pull_request_id: Set(*id),
                        node_id: Set(x.node_id.clone()),
                        author: Set(x.author.clone()),
                        author_is_bot: Set(x.author_is_bot),
                        state: Set(x.state.clone()),
                        submitted_at: Set(x.submitted_at),
                        commit_sha: Set(x.commit_sha.clone()),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
            })
        })
        .collect();
    counts.reviews = Written::replaced(old_reviews, reviews.len() as u64);
    for chunk in batches(reviews) {
        pr_reviews::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }

    let commits: Vec<(usize, pr_commits::ActiveModel)> = with_id
        .iter()
        .flat_map(|(id, r)| {
            r.commits.iter().map(move |c| {
                let size = 5 * FIXED + c.sha.len() + c.message.len() + text(&c.author_name);
                let size = size + text(&c.author_email) + text(&c.author_login);
                (
                    size,
                    pr_commits::ActiveModel {
                        pull_request_id: Set(*id),
                        sha: Set(c.sha.clone()),
                        message: Set(c.message.clone()),
                        author_name: Set(c.author_name.clone()),
                        author_email: Set(c.author_email.clone()),
                        author_login: Set(c.author_login.clone()),
                        authored_at: Set(c.authored_at),
                        committed_at: Set(c.committed_at),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
            })
        })
        .collect();
    counts.commits = Written::replaced(old_commits, commits.len() as u64);
    for chunk in batches(commits) {
        // A PR lists a commit once; `do_nothing` only guards against an API repeating one.
        pr_commits::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([pr_commits::Column::PullRequestId, pr_commits::Column::Sha])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }

    let comments: Vec<(usize, pr_comments::ActiveModel)> = with_id
        .iter()
        .flat_map(|(id, r)| {
            r.comments.iter().map(move |c| {
                let size = 6 * FIXED + c.node_id.len() + c.kind.len() + text(&c.author);
                (
                    size,
                    pr_comments::ActiveModel {
                        pull_request_id: Set(*id),
                        node_id: Set(c.node_id.clone()),
                        kind: Set(c.kind.to_string()),
                        author: Set(c.author.clone()),
                        author_is_bot: Set(c.author_is_bot),
                        created: Set(c.created),
                        updated: Set(c.updated),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
            })
        })
        .collect();
    counts.comments = Written::replaced(old_comments, comments.len() as u64);
    for chunk in batches(comments) {
        pr_comments::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([pr_comments::Column::PullRequestId, pr_comments::Column::NodeId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }

    let links: Vec<(usize, pr_issue_links::ActiveModel)> = with_id
        .iter()
        .flat_map(|(id, r)| {
            r.links.iter().map(move |l| {
                let size = 3 * FIXED + l.issue_key.len() + l.found_in.len();
                (
                    size,
                    pr_issue_links::ActiveModel {
                        pull_request_id: Set(*id),
                        issue_key: Set(l.issue_key.clone()),
                        found_in: Set(l.found_in.to_string()),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
            })
        })
        .collect();
    counts.links = Written::replaced(old_links, links.len() as u64);
    for chunk in batches(links) {
        pr_issue_links::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(counts)
}
