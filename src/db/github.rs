//! Storing GitHub data: repositories, pull-request pages (each changed PR with its nested rows
//! replaced whole) and deployments, with batched multi-row statements. Page writers expect to
//! run inside the caller's transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{
    deployments, integrations, jira_projects, pr_comments, pr_commits, pr_issue_links, pr_reviews, pull_requests,
    repositories,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

/// Rows per multi-row statement (keeps SQLite well under its bound-parameter limit).
const CHUNK: usize = 400;
/// Pull-request rows carry ~25 columns: fewer per statement.
const PR_CHUNK: usize = 200;

/// What the API says about a repository besides its name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepoMeta {
    pub node_id: Option<String>,
    pub default_branch: Option<String>,
    pub archived: bool,
}

pub async fn list_repositories(
    db: &impl ConnectionTrait,
    integration_id: i64,
) -> Result<Vec<repositories::Model>, DbErr> {
    repositories::Entity::find()
        .filter(repositories::Column::IntegrationId.eq(integration_id))
        .all(db)
        .await
}

/// A repository to sync: owner, name, and what the listing said about it (if it was listed).
pub type Wanted = (String, String, Option<RepoMeta>);

/// Finds (case-insensitively, as GitHub does) or creates each repository row and marks it
/// active; a known `RepoMeta` refreshes node id, default branch and archived flag. Returns the
/// rows in the order asked, and how many were new.
pub async fn upsert_repositories(
    db: &impl ConnectionTrait,
    integration_id: i64,
    wanted: &[Wanted],
) -> Result<(Vec<repositories::Model>, u64), DbErr> {
    let now = Utc::now();
    let existing = list_repositories(db, integration_id).await?;
    let mut out = Vec::with_capacity(wanted.len());
    let mut inserted = 0;
    for (owner, name, meta) in wanted {
        let found = existing
            .iter()
            .find(|r| r.owner.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(name));
        match found {
            Some(r) => {
                let same_meta = meta.as_ref().is_none_or(|m| {
                    m.node_id.as_ref().is_none_or(|n| r.node_id.as_ref() == Some(n))
                        && m.default_branch
                            .as_ref()
                            .is_none_or(|b| r.default_branch.as_ref() == Some(b))
                        && m.archived == r.archived
                });
                if r.active && same_meta {
                    out.push(r.clone());
                    continue;
                }
                let mut a = r.clone().into_active_model();
                a.active = Set(true);
                if let Some(m) = meta {
                    if m.node_id.is_some() {
                        a.node_id = Set(m.node_id.clone());
                    }
                    if m.default_branch.is_some() {
                        a.default_branch = Set(m.default_branch.clone());
                    }
                    a.archived = Set(m.archived);
                }
                a.updated_at = Set(now);
                out.push(a.update(db).await?);
            }
            None => {
                let m = meta.clone().unwrap_or_default();
                let row = repositories::ActiveModel {
                    integration_id: Set(integration_id),
                    node_id: Set(m.node_id),
                    owner: Set(owner.clone()),
                    name: Set(name.clone()),
                    default_branch: Set(m.default_branch),
                    archived: Set(m.archived),
                    active: Set(true),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(db)
                .await?;
                inserted += 1;
                out.push(row);
            }
        }
    }
    Ok((out, inserted))
}

/// Repositories of the integration no longer selected become inactive (their data stays).
pub async fn deactivate_other_repositories(
    db: &impl ConnectionTrait,
    integration_id: i64,
    keep: &[i64],
) -> Result<u64, DbErr> {
    let res = repositories::Entity::update_many()
        .col_expr(repositories::Column::Active, false.into())
        .col_expr(repositories::Column::UpdatedAt, Utc::now().into())
        .filter(repositories::Column::IntegrationId.eq(integration_id))
        .filter(repositories::Column::Active.eq(true))
        .filter(repositories::Column::Id.is_not_in(keep.to_vec()))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

pub async fn set_pr_watermark(db: &impl ConnectionTrait, repo_id: i64, at: DateTime<Utc>) -> Result<(), DbErr> {
    repositories::Entity::update_many()
        .col_expr(repositories::Column::PrWatermark, Some(at).into())
        .col_expr(repositories::Column::UpdatedAt, Utc::now().into())
        .filter(repositories::Column::Id.eq(repo_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_deploy_watermark(db: &impl ConnectionTrait, repo_id: i64, at: DateTime<Utc>) -> Result<(), DbErr> {
    repositories::Entity::update_many()
        .col_expr(repositories::Column::DeployWatermark, Some(at).into())
        .col_expr(repositories::Column::UpdatedAt, Utc::now().into())
        .filter(repositories::Column::Id.eq(repo_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Jira project keys the service knows: every Jira integration's configured projects and the
/// synced `jira_projects` rows. Pull requests link only to these.
pub async fn known_jira_keys(db: &impl ConnectionTrait) -> Result<HashSet<String>, DbErr> {
    let mut keys: HashSet<String> = jira_projects::Entity::find()
        .select_only()
        .column(jira_projects::Column::Key)
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let settings: Vec<serde_json::Value> = integrations::Entity::find()
        .select_only()
        .column(integrations::Column::Settings)
        .filter(integrations::Column::Kind.eq("jira"))
        .into_tuple()
        .all(db)
        .await?;
    for s in settings {
        if let Some(projects) = s["projects"].as_array() {
            keys.extend(projects.iter().filter_map(|p| p.as_str()).map(str::to_ascii_uppercase));
        }
    }
    Ok(keys)
}

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

/// The stored review (line) comments of the pull requests among `numbers`, by number.
pub async fn stored_review_comments(
    db: &impl ConnectionTrait,
    repo_id: i64,
    numbers: &[i32],
) -> Result<HashMap<i32, Vec<CommentRow>>, DbErr> {
    let ids = pull_ids(db, repo_id, numbers).await?;
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let number_of: HashMap<i64, i32> = ids.iter().map(|(n, id)| (*id, *n)).collect();
    let rows = pr_comments::Entity::find()
        .filter(pr_comments::Column::PullRequestId.is_in(number_of.keys().copied().collect::<Vec<_>>()))
        .filter(pr_comments::Column::Kind.eq(COMMENT_KIND_REVIEW))
        .all(db)
        .await?;
    let mut out: HashMap<i32, Vec<CommentRow>> = HashMap::new();
    for r in rows {
        if let Some(n) = number_of.get(&r.pull_request_id) {
            out.entry(*n).or_default().push(CommentRow {
                node_id: r.node_id,
                kind: COMMENT_KIND_REVIEW,
                author: r.author,
                author_is_bot: r.author_is_bot,
                created: r.created,
                updated: r.updated,
            });
        }
    }
    Ok(out)
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
/// is never stored with half its rows.
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
    let models: Vec<pull_requests::ActiveModel> = rows
        .iter()
        .map(|r| pull_requests::ActiveModel {
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
        })
        .collect();
    use pull_requests::Column as P;
    for chunk in models.chunks(PR_CHUNK) {
        pull_requests::Entity::insert_many(chunk.to_vec())
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
    let ids: Vec<i64> = id_of.values().copied().collect();
    let old_reviews = pr_reviews::Entity::delete_many()
        .filter(pr_reviews::Column::PullRequestId.is_in(ids.clone()))
        .exec(db)
        .await?
        .rows_affected;
    let old_commits = pr_commits::Entity::delete_many()
        .filter(pr_commits::Column::PullRequestId.is_in(ids.clone()))
        .exec(db)
        .await?
        .rows_affected;
    let old_comments = pr_comments::Entity::delete_many()
        .filter(pr_comments::Column::PullRequestId.is_in(ids.clone()))
        .exec(db)
        .await?
        .rows_affected;
    let old_links = pr_issue_links::Entity::delete_many()
        .filter(pr_issue_links::Column::PullRequestId.is_in(ids))
        .exec(db)
        .await?
        .rows_affected;
    let with_id: Vec<(i64, &PrRow)> = rows
        .iter()
        .filter_map(|r| id_of.get(&r.number).map(|id| (*id, r)))
        .collect();

    let reviews: Vec<pr_reviews::ActiveModel> = with_id
        .iter()
        .flat_map(|(id, r)| {
            r.reviews.iter().map(move |x| pr_reviews::ActiveModel {
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
            })
        })
        .collect();
    counts.reviews = Written::replaced(old_reviews, reviews.len() as u64);
    for chunk in reviews.chunks(CHUNK) {
        pr_reviews::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }

    let commits: Vec<pr_commits::ActiveModel> = with_id
        .iter()
        .flat_map(|(id, r)| {
            r.commits.iter().map(move |c| pr_commits::ActiveModel {
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
            })
        })
        .collect();
    counts.commits = Written::replaced(old_commits, commits.len() as u64);
    for chunk in commits.chunks(CHUNK) {
        // A PR lists a commit once; `do_nothing` only guards against an API repeating one.
        pr_commits::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([pr_commits::Column::PullRequestId, pr_commits::Column::Sha])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }

    let comments: Vec<pr_comments::ActiveModel> = with_id
        .iter()
        .flat_map(|(id, r)| {
            r.comments.iter().map(move |c| pr_comments::ActiveModel {
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
            })
        })
        .collect();
    counts.comments = Written::replaced(old_comments, comments.len() as u64);
    for chunk in comments.chunks(CHUNK) {
        pr_comments::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([pr_comments::Column::PullRequestId, pr_comments::Column::NodeId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }

    let links: Vec<pr_issue_links::ActiveModel> = with_id
        .iter()
        .flat_map(|(id, r)| {
            r.links.iter().map(move |l| pr_issue_links::ActiveModel {
                pull_request_id: Set(*id),
                issue_key: Set(l.issue_key.clone()),
                found_in: Set(l.found_in.to_string()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
        })
        .collect();
    counts.links = Written::replaced(old_links, links.len() as u64);
    for chunk in links.chunks(CHUNK) {
        pr_issue_links::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(counts)
}

/// A deployment as one of the deployment sources sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentRow {
    pub source: &'static str,
    pub external_id: String,
    pub environment: Option<String>,
    pub is_production: bool,
    pub sha: Option<String>,
    pub r#ref: Option<String>,
    /// `success` once it reached success; else its latest state (`failure`, `in_progress`, …).
    pub status: String,
    pub created: DateTime<Utc>,
    /// When it first reached success, or when it failed.
    pub finished_at: Option<DateTime<Utc>>,
}

impl DeploymentRow {
    fn same_as(&self, m: &deployments::Model) -> bool {
        self.environment == m.environment
            && self.is_production == m.is_production
            && self.sha == m.sha
            && self.r#ref == m.r#ref
            && self.status == m.status
            && self.created == m.created
            && self.finished_at == m.finished_at
    }
}

/// Upserts deployments by (repository, source, external id); unchanged ones are not written.
pub async fn store_deployments(
    db: &impl ConnectionTrait,
    repo_id: i64,
    rows: &[DeploymentRow],
) -> Result<Written, DbErr> {
    let mut counts = Written::default();
    if rows.is_empty() {
        return Ok(counts);
    }
    let mut existing: HashMap<(String, String), deployments::Model> = HashMap::new();
    for source in rows.iter().map(|r| r.source).collect::<HashSet<_>>() {
        let ids: Vec<String> = rows
            .iter()
            .filter(|r| r.source == source)
            .map(|r| r.external_id.clone())
            .collect();
        for chunk in ids.chunks(CHUNK) {
            for m in deployments::Entity::find()
                .filter(deployments::Column::RepositoryId.eq(repo_id))
                .filter(deployments::Column::Source.eq(source))
                .filter(deployments::Column::ExternalId.is_in(chunk.to_vec()))
                .all(db)
                .await?
            {
                existing.insert((m.source.clone(), m.external_id.clone()), m);
            }
        }
    }
    let now = Utc::now();
    let mut models = Vec::new();
    for r in rows {
        match existing.get(&(r.source.to_string(), r.external_id.clone())) {
            Some(m) if r.same_as(m) => continue,
            Some(_) => counts.updated += 1,
            None => counts.inserted += 1,
        }
        models.push(deployments::ActiveModel {
            repository_id: Set(repo_id),
            source: Set(r.source.to_string()),
            external_id: Set(r.external_id.clone()),
            environment: Set(r.environment.clone()),
            is_production: Set(r.is_production),
            sha: Set(r.sha.clone()),
            r#ref: Set(r.r#ref.clone()),
            status: Set(r.status.clone()),
            created: Set(r.created),
            finished_at: Set(r.finished_at),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    use deployments::Column as D;
    for chunk in models.chunks(CHUNK) {
        deployments::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([D::RepositoryId, D::Source, D::ExternalId])
                    .update_columns([
                        D::Environment,
                        D::IsProduction,
                        D::Sha,
                        D::Ref,
                        D::Status,
                        D::Created,
                        D::FinishedAt,
                        D::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(counts)
}

/// Refreshes what the API says about a repository.
pub async fn set_repository_meta(db: &impl ConnectionTrait, repo_id: i64, meta: &RepoMeta) -> Result<(), DbErr> {
    repositories::Entity::update_many()
        .col_expr(repositories::Column::NodeId, meta.node_id.clone().into())
        .col_expr(repositories::Column::DefaultBranch, meta.default_branch.clone().into())
        .col_expr(repositories::Column::Archived, meta.archived.into())
        .col_expr(repositories::Column::UpdatedAt, Utc::now().into())
        .filter(repositories::Column::Id.eq(repo_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The deployment sources a repository has rows of.
pub async fn deployment_sources(db: &impl ConnectionTrait, repo_id: i64) -> Result<HashSet<String>, DbErr> {
    Ok(deployments::Entity::find()
        .select_only()
        .column(deployments::Column::Source)
        .distinct()
        .filter(deployments::Column::RepositoryId.eq(repo_id))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// `created` of the oldest deployment of `source` not finished yet, among those created since
/// `not_before`: a later pass must read back to it to see it finish.
pub async fn oldest_unfinished_deployment(
    db: &impl ConnectionTrait,
    repo_id: i64,
    source: &str,
    not_before: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    deployments::Entity::find()
        .select_only()
        .column(deployments::Column::Created)
        .filter(deployments::Column::RepositoryId.eq(repo_id))
        .filter(deployments::Column::Source.eq(source))
        .filter(deployments::Column::FinishedAt.is_null())
        .filter(deployments::Column::Created.gte(not_before))
        .order_by_asc(deployments::Column::Created)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await
}
