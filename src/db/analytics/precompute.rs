//! Rebuilds `pr_stage_times` and `issue_flow_times` from the synced rows and the flow
//! configuration. Runs inside the caller's transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    deployments, issue_flow_times, jira_issues, jira_status_transitions, jira_statuses, pr_comments, pr_commits,
    pr_reviews, pr_stage_times, pull_requests,
};
use futures_util::StreamExt;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set, StreamTrait,
};

use crate::domain::flow::{FlowResolver, Resolution, WorkCategory};
use crate::domain::metrics::dora::{Deploy, deployment_after};
use crate::domain::metrics::flow::{Category, Place, issue_flow};
use crate::domain::metrics::pr::{Activity, PrFacts, is_bot, moments};

/// Rows per multi-row insert (well under SQLite's parameter limit).
const CHUNK: usize = 50;

/// Successful production deployments: production environment, status success, deployed time known.
pub fn successful_production() -> Select<deployments::Entity> {
    deployments::Entity::find()
        .filter(deployments::Column::IsProduction.eq(true))
        .filter(deployments::Column::Status.eq("success"))
        .filter(deployments::Column::FinishedAt.is_not_null())
}

/// A status change: when, from, to.
type Move = (DateTime<Utc>, Option<String>, String);

type Child = (i64, Option<String>, bool, Option<DateTime<Utc>>, String);

/// Stage moments of every merged pull request, with the deployment that shipped it.
pub async fn pull_requests(db: &impl ConnectionTrait) -> Result<usize, DbErr> {
    pr_stage_times::Entity::delete_many().exec(db).await?;
    let prs = pull_requests::Entity::find()
        .filter(pull_requests::Column::MergedAt.is_not_null())
        .all(db)
        .await?;
    let mut reviews: HashMap<i64, Vec<Activity>> = HashMap::new();
    let rows: Vec<Child> = pr_reviews::Entity::find()
        .select_only()
        .columns([
            pr_reviews::Column::PullRequestId,
            pr_reviews::Column::Author,
            pr_reviews::Column::AuthorIsBot,
            pr_reviews::Column::SubmittedAt,
            pr_reviews::Column::State,
        ])
        .into_tuple()
        .all(db)
        .await?;
    for (pr, author, author_is_bot, at, state) in rows {
        reviews.entry(pr).or_default().push(Activity {
            author,
            author_is_bot,
            at,
            state,
        });
    }
    let mut comments: HashMap<i64, Vec<Activity>> = HashMap::new();
    let rows: Vec<(i64, Option<String>, bool, DateTime<Utc>)> = pr_comments::Entity::find()
        .select_only()
        .columns([
            pr_comments::Column::PullRequestId,
            pr_comments::Column::Author,
            pr_comments::Column::AuthorIsBot,
            pr_comments::Column::Created,
        ])
        .into_tuple()
        .all(db)
        .await?;
    for (pr, author, author_is_bot, at) in rows {
        comments.entry(pr).or_default().push(Activity {
            author,
            author_is_bot,
            at: Some(at),
            state: String::new(),
        });
    }
    let mut commits: HashMap<i64, Vec<DateTime<Utc>>> = HashMap::new();
    let rows: Vec<(i64, Option<DateTime<Utc>>)> = pr_commits::Entity::find()
        .select_only()
        .columns([pr_commits::Column::PullRequestId, pr_commits::Column::AuthoredAt])
        .into_tuple()
        .all(db)
        .await?;
    for (pr, at) in rows {
        if let Some(at) = at {
            commits.entry(pr).or_default().push(at);
        }
    }
    let mut deploys: HashMap<i64, Vec<Deploy>> = HashMap::new();
    for d in successful_production().all(db).await? {
        if let Some(deployed_at) = d.finished_at {
            deploys.entry(d.repository_id).or_default().push(Deploy {
                id: d.id,
                repository_id: d.repository_id,
                created: d.created,
                deployed_at,
            });
        }
    }
    for list in deploys.values_mut() {
        list.sort_by_key(|d| (d.created, d.id));
    }
    let now = Utc::now();
    let models: Vec<pr_stage_times::ActiveModel> = prs
        .iter()
        .map(|pr| {
            let facts = PrFacts {
                author: pr.author.clone(),
                created: pr.created,
                merged_at: pr.merged_at,
                commits_authored: commits.remove(&pr.id).unwrap_or_default(),
                reviews: reviews.remove(&pr.id).unwrap_or_default(),
                comments: comments.remove(&pr.id).unwrap_or_default(),
            };
            let m = moments(&facts);
            let shipped = pr
                .merged_at
                .and_then(|at| deploys.get(&pr.repository_id).and_then(|ds| deployment_after(ds, at)));
            pr_stage_times::ActiveModel {
                pull_request_id: Set(pr.id),
                repository_id: Set(pr.repository_id),
                author: Set(pr.author.clone()),
                is_bot: Set(is_bot(pr.author.as_deref(), pr.author_is_bot)),
                created: Set(pr.created),
                merged_at: Set(pr.merged_at),
                first_commit_at: Set(m.first_commit_at),
                first_response_at: Set(m.first_response_at),
                first_review_at: Set(m.first_review_at),
                deployment_id: Set(shipped.map(|d| d.id)),
                deployed_at: Set(shipped.map(|d| d.deployed_at)),
                size: Set(pr.additions.saturating_add(pr.deletions)),
                reviews: Set(m.reviews),
                approved: Set(m.approved),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    let n = models.len();
    for chunk in models.chunks(CHUNK) {
        pr_stage_times::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(n)
}

/// Flow times of every issue under the current configuration.
pub async fn issues(db: &(impl ConnectionTrait + StreamTrait), now: DateTime<Utc>) -> Result<usize, DbErr> {
    issue_flow_times::Entity::delete_many().exec(db).await?;
    let resolver = crate::db::flow::resolver(db).await?;
    let commitment = resolver.commitment_point().map(|s| s.position);
    let categories: HashMap<String, String> = jira_statuses::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.name.to_lowercase(), s.category_key))
        .collect();
    let mut history: HashMap<i64, Vec<Move>> = HashMap::new();
    // Each issue's moves in order, read in the order of the (issue, at) index and streamed: sorted
    // by time across all issues, SQLite sorted every transition in memory (its temporary store
    // is memory) and its allocator kept the space: ~100 MB per rebuild at 20k issues.
    let mut rows = jira_status_transitions::Entity::find()
        .select_only()
        .columns([
            jira_status_transitions::Column::IssueId,
            jira_status_transitions::Column::At,
            jira_status_transitions::Column::FromStatus,
            jira_status_transitions::Column::ToStatus,
        ])
        .order_by_asc(jira_status_transitions::Column::IssueId)
        .order_by_asc(jira_status_transitions::Column::At)
        .order_by_asc(jira_status_transitions::Column::Id)
        .into_tuple::<(i64, DateTime<Utc>, Option<String>, String)>()
        .stream(db)
        .await?;
    while let Some(row) = rows.next().await {
        let (issue, at, from, to) = row?;
        history.entry(issue).or_default().push((at, from, to));
    }
    drop(rows);
    let issues = jira_issues::Entity::find().all(db).await?;
    let models: Vec<issue_flow_times::ActiveModel> = issues
        .iter()
        .map(|issue| {
            let moves = history.remove(&issue.id).unwrap_or_default();
            let category_of = |status: &str| {
                if status.eq_ignore_ascii_case(&issue.status_name) {
                    issue.status_category_key.clone()
                } else {
                    categories.get(&status.to_lowercase()).cloned().unwrap_or_default()
                }
            };
            let resolve = |status: &str| place(&resolver, status, &issue.issue_type_name, &category_of(status));
            let initial_status = moves
                .first()
                .and_then(|m| m.1.clone())
                .unwrap_or_else(|| issue.status_name.clone());
            let mut resolutions = vec![resolve(&initial_status)];
            resolutions.extend(moves.iter().map(|m| resolve(&m.2)));
            let type_mapping = resolver.issue_type_mapping_any(&issue.issue_type_name);
            let counted =
                issue.active && type_mapping.is_none_or(|t| t.active) && resolutions.iter().all(Option::is_some);
            let places: Vec<Place> = resolutions.into_iter().flatten().collect();
            let flow = if counted {
                let timed: Vec<_> = moves.iter().map(|m| m.0).zip(places[1..].iter().cloned()).collect();
                issue_flow(issue.created, places[0].clone(), &timed, commitment)
            } else {
                Default::default()
            };
            issue_flow_times::ActiveModel {
                issue_id: Set(issue.id),
                project_id: Set(issue.project_id),
                issue_type_name: Set(issue.issue_type_name.clone()),
                work_category: Set(type_mapping.map_or(WorkCategory::Other, |t| t.work_category)),
                counted: Set(counted),
                created: Set(issue.created),
                started_at: Set(flow.started_at),
                done_at: Set(flow.done_at),
                step_hours: Set(serde_json::to_value(&flow.closed_hours).unwrap_or_default()),
                in_progress_hours: Set(flow.in_progress_hours),
                waiting_hours: Set(flow.waiting_hours),
                rework: Set(flow.rework),
                current_step: Set(flow.current.as_ref().map(|p| p.key())),
                current_category: Set(flow.current.as_ref().map(|p| p.category)),
                current_since: Set(flow.current_since),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    let n = models.len();
    for chunk in models.chunks(CHUNK) {
        issue_flow_times::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(n)
}

/// Where an issue in `status` stands, or `None` when a deactivated mapping or step excludes it.
/// An unmapped status with an unknown Jira category counts as TO_DO.
fn place(resolver: &FlowResolver, status: &str, jira_type: &str, category_key: &str) -> Option<Place> {
    match resolver.resolve(status, jira_type, Some(category_key)) {
        Resolution::Step { step, .. } => Some(Place {
            step: Some((step.id, step.name.clone(), step.position)),
            category: step.category,
            is_commitment_point: step.is_commitment_point,
        }),
        Resolution::Unmapped { fallback } => Some(Place {
            step: None,
            category: fallback.unwrap_or(Category::ToDo),
            is_commitment_point: false,
        }),
        Resolution::Excluded(_) => None,
    }
}
