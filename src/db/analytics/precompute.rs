//! Recomputes `pr_stage_times` and `issue_flow_times` from the synced rows and the flow
//! configuration: for every row ([`Scope::All`]) or for some ([`Scope::Ids`]). Either way only
//! the rows whose result differs from the stored one are written, and each function returns
//! the ids it wrote or deleted, for the snapshot to patch. Runs inside the caller's transaction.

use std::collections::{HashMap, HashSet};

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
use crate::domain::metrics::flow::{Category, Place, Stay, issue_flow};
use crate::domain::metrics::pr::{Activity, PrFacts, is_bot, moments};

/// Rows per multi-row insert (well under SQLite's parameter limit).
const CHUNK: usize = 50;
/// Ids per `IN (…)` list.
const IDS: usize = 500;
/// Issues or pull requests per batch of a pass over every row: each batch is read, computed,
/// compared and written before the next, so a pass holds one batch's rows, not every row's
/// (a whole pass at 500k issues held about 1.5 GB at once).
const RANGE: usize = 5_000;

/// Which rows a pass recomputes.
#[derive(Clone, Debug)]
pub enum Scope {
    All,
    /// These ids (issues or pull requests), sorted.
    Ids(Vec<i64>),
}

/// One batch of a pass: the rows whose id lies in a range, or these ids.
#[derive(Clone, Debug)]
enum Batch {
    /// Ids above the first, up to and including the second.
    Range(i64, i64),
    Ids(Vec<i64>),
}

impl Batch {
    /// The condition on `column` (an issue or pull request id) that selects this batch's rows.
    fn of(&self, column: impl ColumnTrait) -> sea_orm::sea_query::SimpleExpr {
        match self {
            Batch::Range(above, to) => sea_orm::ExprTrait::and(column.gt(*above), column.lte(*to)),
            Batch::Ids(ids) => column.is_in(ids.iter().copied()),
        }
    }
}

impl Scope {
    /// The batches to compute in turn. For `All`, ranges of `RANGE` ids of `ids` (the ids of
    /// every row to compute, sorted) that together cover every id, so each stored row is
    /// compared in some batch, even one whose source row is gone.
    fn batches(&self, ids: &[i64]) -> Vec<Batch> {
        match self {
            Scope::All => {
                let mut bounds: Vec<i64> = ids.chunks(RANGE).map(|c| c[c.len() - 1]).collect();
                bounds.pop();
                bounds.push(i64::MAX);
                let mut above = i64::MIN;
                bounds
                    .into_iter()
                    .map(|to| {
                        let b = Batch::Range(above, to);
                        above = to;
                        b
                    })
                    .collect()
            }
            Scope::Ids(ids) => ids.chunks(IDS).map(|c| Batch::Ids(c.to_vec())).collect(),
        }
    }
}

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

/// A `pr_stage_times` row without its id and stamps, to compare with the stored one.
#[derive(Clone, Debug, PartialEq)]
struct StageRow {
    pull_request_id: i64,
    repository_id: i64,
    author: Option<String>,
    is_bot: bool,
    created: DateTime<Utc>,
    merged_at: Option<DateTime<Utc>>,
    first_commit_at: Option<DateTime<Utc>>,
    first_response_at: Option<DateTime<Utc>>,
    first_review_at: Option<DateTime<Utc>>,
    deployment_id: Option<i64>,
    deployed_at: Option<DateTime<Utc>>,
    size: i32,
    reviews: i32,
    approved: bool,
}

impl From<pr_stage_times::Model> for StageRow {
    fn from(m: pr_stage_times::Model) -> Self {
        Self {
            pull_request_id: m.pull_request_id,
            repository_id: m.repository_id,
            author: m.author,
            is_bot: m.is_bot,
            created: m.created,
            merged_at: m.merged_at,
            first_commit_at: m.first_commit_at,
            first_response_at: m.first_response_at,
            first_review_at: m.first_review_at,
            deployment_id: m.deployment_id,
            deployed_at: m.deployed_at,
            size: m.size,
            reviews: m.reviews,
            approved: m.approved,
        }
    }
}

impl StageRow {
    fn into_active(self, now: DateTime<Utc>) -> pr_stage_times::ActiveModel {
        pr_stage_times::ActiveModel {
            pull_request_id: Set(self.pull_request_id),
            repository_id: Set(self.repository_id),
            author: Set(self.author),
            is_bot: Set(self.is_bot),
            created: Set(self.created),
            merged_at: Set(self.merged_at),
            first_commit_at: Set(self.first_commit_at),
            first_response_at: Set(self.first_response_at),
            first_review_at: Set(self.first_review_at),
            deployment_id: Set(self.deployment_id),
            deployed_at: Set(self.deployed_at),
            size: Set(self.size),
            reviews: Set(self.reviews),
            approved: Set(self.approved),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    }
}

/// Each repository's successful production deployments, by creation.
async fn deploys_by_repository(
    db: &impl ConnectionTrait,
    repositories: Option<Vec<i64>>,
) -> Result<HashMap<i64, Vec<Deploy>>, DbErr> {
    let mut q = successful_production();
    if let Some(r) = repositories {
        q = q.filter(deployments::Column::RepositoryId.is_in(r));
    }
    let mut deploys: HashMap<i64, Vec<Deploy>> = HashMap::new();
    for d in q.all(db).await? {
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
    Ok(deploys)
}

/// Stage moments of the merged pull requests in `scope`, with the deployment that shipped each;
/// the pull request ids whose stored row changed.
pub async fn pull_requests(db: &impl ConnectionTrait, scope: &Scope) -> Result<Vec<i64>, DbErr> {
    let (ids, deploys) = match scope {
        Scope::All => {
            let ids = pull_requests::Entity::find()
                .select_only()
                .column(pull_requests::Column::Id)
                .order_by_asc(pull_requests::Column::Id)
                .into_tuple::<i64>()
                .all(db)
                .await?;
            (ids, Some(deploys_by_repository(db, None).await?))
        }
        Scope::Ids(_) => (Vec::new(), None),
    };
    let mut changed = Vec::new();
    for batch in scope.batches(&ids) {
        changed.extend(pr_batch(db, deploys.as_ref(), &batch).await?);
    }
    changed.sort_unstable();
    changed.dedup();
    Ok(changed)
}

/// [`pull_requests`] for one batch: read, computed, compared with the stored rows and written.
/// `deploys`: every repository's deployments, or None to read those of the batch's repositories.
async fn pr_batch(
    db: &impl ConnectionTrait,
    deploys: Option<&HashMap<i64, Vec<Deploy>>>,
    batch: &Batch,
) -> Result<Vec<i64>, DbErr> {
    let prs = pull_requests::Entity::find()
        .filter(pull_requests::Column::MergedAt.is_not_null())
        .filter(batch.of(pull_requests::Column::Id))
        .all(db)
        .await?;
    let (mut reviews, mut comments) = (
        HashMap::<i64, Vec<Activity>>::new(),
        HashMap::<i64, Vec<Activity>>::new(),
    );
    let mut commits: HashMap<i64, Vec<DateTime<Utc>>> = HashMap::new();
    let q = pr_reviews::Entity::find()
        .select_only()
        .columns([
            pr_reviews::Column::PullRequestId,
            pr_reviews::Column::Author,
            pr_reviews::Column::AuthorIsBot,
            pr_reviews::Column::SubmittedAt,
            pr_reviews::Column::State,
        ])
        .filter(batch.of(pr_reviews::Column::PullRequestId));
    for (pr, author, author_is_bot, at, state) in q.into_tuple::<Child>().all(db).await? {
        reviews.entry(pr).or_default().push(Activity {
            author,
            author_is_bot,
            at,
            state,
        });
    }
    let q = pr_comments::Entity::find()
        .select_only()
        .columns([
            pr_comments::Column::PullRequestId,
            pr_comments::Column::Author,
            pr_comments::Column::AuthorIsBot,
            pr_comments::Column::Created,
        ])
        .filter(batch.of(pr_comments::Column::PullRequestId));
    let rows: Vec<(i64, Option<String>, bool, DateTime<Utc>)> = q.into_tuple().all(db).await?;
    for (pr, author, author_is_bot, at) in rows {
        comments.entry(pr).or_default().push(Activity {
            author,
            author_is_bot,
            at: Some(at),
            state: String::new(),
        });
    }
    let q = pr_commits::Entity::find()
        .select_only()
        .columns([pr_commits::Column::PullRequestId, pr_commits::Column::AuthoredAt])
        .filter(batch.of(pr_commits::Column::PullRequestId));
    let rows: Vec<(i64, Option<DateTime<Utc>>)> = q.into_tuple().all(db).await?;
    for (pr, at) in rows {
        if let Some(at) = at {
            commits.entry(pr).or_default().push(at);
        }
    }
    let read;
    let deploys = match deploys {
        Some(d) => d,
        None => {
            let repositories: HashSet<i64> = prs.iter().map(|p| p.repository_id).collect();
            read = deploys_by_repository(db, Some(repositories.into_iter().collect())).await?;
            &read
        }
    };
    let mut computed: HashMap<i64, StageRow> = prs
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
            let row = StageRow {
                pull_request_id: pr.id,
                repository_id: pr.repository_id,
                author: pr.author.clone(),
                is_bot: is_bot(pr.author.as_deref(), pr.author_is_bot),
                created: pr.created,
                merged_at: pr.merged_at,
                first_commit_at: m.first_commit_at,
                first_response_at: m.first_response_at,
                first_review_at: m.first_review_at,
                deployment_id: shipped.map(|d| d.id),
                deployed_at: shipped.map(|d| d.deployed_at),
                size: pr.additions.saturating_add(pr.deletions),
                reviews: m.reviews,
                approved: m.approved,
            };
            (pr.id, row)
        })
        .collect();
    drop(prs);
    let mut stale = Vec::new();
    let stored = pr_stage_times::Entity::find()
        .filter(batch.of(pr_stage_times::Column::PullRequestId))
        .all(db)
        .await?;
    for stored in stored {
        let id = stored.pull_request_id;
        match computed.get(&id) {
            Some(row) if *row == StageRow::from(stored) => {
                computed.remove(&id);
            }
            _ => stale.push(id),
        }
    }
    delete_ids(db, &stale, |ids| {
        pr_stage_times::Entity::delete_many().filter(pr_stage_times::Column::PullRequestId.is_in(ids))
    })
    .await?;
    let now = Utc::now();
    let changed: Vec<i64> = computed.keys().copied().chain(stale).collect();
    let models: Vec<_> = computed.into_values().map(|r| r.into_active(now)).collect();
    for chunk in models.chunks(CHUNK) {
        pr_stage_times::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(changed)
}

/// Deletes the rows of `ids`, a list at a time.
async fn delete_ids<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: &[i64],
    delete: impl Fn(Vec<i64>) -> sea_orm::DeleteMany<E>,
) -> Result<(), DbErr> {
    for chunk in ids.chunks(IDS) {
        delete(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}

/// A stored pull request's merge, deployment and deployed time.
type Shipped = (i64, Option<DateTime<Utc>>, Option<i64>, Option<DateTime<Utc>>);

/// The deployment of the repository's merged pull requests that a changed deployment may have
/// taken over or given up: those not deployed before `since` (the earliest `created` of the
/// changed deployments: a pull request deployed earlier keeps its deployment, which no changed
/// one can precede). Only `deployment_id` and `deployed_at` can change; the pull request ids
/// whose row changed.
pub async fn redeploy(db: &impl ConnectionTrait, repository_id: i64, since: DateTime<Utc>) -> Result<Vec<i64>, DbErr> {
    use pr_stage_times::Column as C;
    let deploys = deploys_by_repository(db, Some(vec![repository_id])).await?;
    let ds = deploys.get(&repository_id).map_or(&[][..], Vec::as_slice);
    let rows: Vec<Shipped> = pr_stage_times::Entity::find()
        .select_only()
        .columns([C::PullRequestId, C::MergedAt, C::DeploymentId, C::DeployedAt])
        .filter(C::RepositoryId.eq(repository_id))
        .filter(
            sea_orm::Condition::any()
                .add(C::DeployedAt.is_null())
                .add(C::DeployedAt.gte(since)),
        )
        .into_tuple()
        .all(db)
        .await?;
    let mut changed = Vec::new();
    for (pr, merged_at, deployment_id, deployed_at) in rows {
        let shipped = merged_at.and_then(|at| deployment_after(ds, at));
        let (id, at) = (shipped.map(|d| d.id), shipped.map(|d| d.deployed_at));
        if (id, at) != (deployment_id, deployed_at) {
            pr_stage_times::Entity::update_many()
                .col_expr(C::DeploymentId, id.into())
                .col_expr(C::DeployedAt, at.into())
                .col_expr(C::UpdatedAt, Utc::now().into())
                .filter(C::PullRequestId.eq(pr))
                .exec(db)
                .await?;
            changed.push(pr);
        }
    }
    Ok(changed)
}

/// An `issue_flow_times` row without its id and stamps, to compare with the stored one.
#[derive(Clone, Debug, PartialEq)]
struct FlowRow {
    issue_id: i64,
    project_id: i64,
    issue_type_name: String,
    work_category: WorkCategory,
    counted: bool,
    created: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    step_hours: serde_json::Value,
    in_progress_hours: f64,
    waiting_hours: f64,
    rework: i32,
    current_step: Option<String>,
    current_category: Option<crate::domain::flow::StepCategory>,
    current_since: Option<DateTime<Utc>>,
    timeline: Option<serde_json::Value>,
}

impl From<issue_flow_times::Model> for FlowRow {
    fn from(m: issue_flow_times::Model) -> Self {
        Self {
            issue_id: m.issue_id,
            project_id: m.project_id,
            issue_type_name: m.issue_type_name,
            work_category: m.work_category,
            counted: m.counted,
            created: m.created,
            started_at: m.started_at,
            done_at: m.done_at,
            step_hours: m.step_hours,
            in_progress_hours: m.in_progress_hours,
            waiting_hours: m.waiting_hours,
            rework: m.rework,
            current_step: m.current_step,
            current_category: m.current_category,
            current_since: m.current_since,
            timeline: m.timeline,
        }
    }
}

impl FlowRow {
    /// Whether `stored` holds this row. Step hours read back from their JSON text may differ in
    /// the last bit (serde_json parses floats fast, not exactly), so those compare within a
    /// billionth.
    fn same_as(&self, stored: &mut FlowRow) -> bool {
        let close = |a: &serde_json::Value, b: &serde_json::Value| match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
            _ => a == b,
        };
        let same_hours = match (self.step_hours.as_object(), stored.step_hours.as_object()) {
            (Some(a), Some(b)) => a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| close(v, w))),
            _ => self.step_hours == stored.step_hours,
        };
        if same_hours {
            stored.step_hours.clone_from(&self.step_hours);
        }
        *self == *stored
    }

    fn into_active(self, now: DateTime<Utc>) -> issue_flow_times::ActiveModel {
        issue_flow_times::ActiveModel {
            issue_id: Set(self.issue_id),
            project_id: Set(self.project_id),
            issue_type_name: Set(self.issue_type_name),
            work_category: Set(self.work_category),
            counted: Set(self.counted),
            created: Set(self.created),
            started_at: Set(self.started_at),
            done_at: Set(self.done_at),
            step_hours: Set(self.step_hours),
            in_progress_hours: Set(self.in_progress_hours),
            waiting_hours: Set(self.waiting_hours),
            rework: Set(self.rework),
            current_step: Set(self.current_step),
            current_category: Set(self.current_category),
            current_since: Set(self.current_since),
            timeline: Set(self.timeline),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    }
}

/// The columns of an issue its flow reads: id, project, type, status, status category,
/// created, active.
type IssueFacts = (i64, i64, String, String, String, DateTime<Utc>, bool);

/// Flow times of the issues in `scope` under the current configuration; the issue ids whose
/// stored row changed.
pub async fn issues(db: &(impl ConnectionTrait + StreamTrait), scope: &Scope) -> Result<Vec<i64>, DbErr> {
    let resolver = crate::db::flow::resolver(db).await?;
    let categories: HashMap<String, String> = jira_statuses::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.name.to_lowercase(), s.category_key))
        .collect();
    let config = FlowConfig {
        commitment: resolver.commitment_point().map(|s| s.position),
        resolver,
        categories,
    };
    let ids = match scope {
        Scope::All => {
            jira_issues::Entity::find()
                .select_only()
                .column(jira_issues::Column::Id)
                .order_by_asc(jira_issues::Column::Id)
                .into_tuple::<i64>()
                .all(db)
                .await?
        }
        Scope::Ids(_) => Vec::new(),
    };
    let mut changed = Vec::new();
    for batch in scope.batches(&ids) {
        changed.extend(issue_batch(db, &config, &batch).await?);
    }
    changed.sort_unstable();
    changed.dedup();
    Ok(changed)
}

/// What an issue's flow is computed under: the flow configuration and Jira's status categories.
struct FlowConfig {
    resolver: FlowResolver,
    commitment: Option<i32>,
    /// Status name (lower case) → Jira status category key.
    categories: HashMap<String, String>,
}

/// [`issues`] for one batch: read, computed, compared with the stored rows and written.
async fn issue_batch(
    db: &(impl ConnectionTrait + StreamTrait),
    config: &FlowConfig,
    batch: &Batch,
) -> Result<Vec<i64>, DbErr> {
    let FlowConfig {
        resolver,
        commitment,
        categories,
    } = config;
    let commitment = *commitment;
    let mut history: HashMap<i64, Vec<Move>> = HashMap::new();
    {
        use jira_status_transitions::Column as T;
        // Each issue's moves in order, read in the order of the (issue, at) index and streamed:
        // sorted by time across all issues, SQLite sorted every transition in memory (its
        // temporary store is memory) and its allocator kept the space (docs/decisions.md).
        let mut rows = jira_status_transitions::Entity::find()
            .select_only()
            .columns([T::IssueId, T::At, T::FromStatus, T::ToStatus])
            .filter(batch.of(T::IssueId))
            .order_by_asc(T::IssueId)
            .order_by_asc(T::At)
            .order_by_asc(T::Id)
            .into_tuple::<(i64, DateTime<Utc>, Option<String>, String)>()
            .stream(db)
            .await?;
        while let Some(row) = rows.next().await {
            let (issue, at, from, to) = row?;
            history.entry(issue).or_default().push((at, from, to));
        }
    }
    use jira_issues::Column as I;
    let issues: Vec<IssueFacts> = jira_issues::Entity::find()
        .select_only()
        .columns([
            I::Id,
            I::ProjectId,
            I::IssueTypeName,
            I::StatusName,
            I::StatusCategoryKey,
            I::Created,
            I::Active,
        ])
        .filter(batch.of(I::Id))
        .into_tuple::<IssueFacts>()
        .all(db)
        .await?;
    let mut computed: HashMap<i64, FlowRow> = issues
        .into_iter()
        .map(
            |(id, project_id, type_name, status_name, status_category, created, active)| {
                let moves = history.remove(&id).unwrap_or_default();
                let category_of = |status: &str| {
                    if status.eq_ignore_ascii_case(&status_name) {
                        status_category.clone()
                    } else {
                        categories.get(&status.to_lowercase()).cloned().unwrap_or_default()
                    }
                };
                let resolve = |status: &str| place(resolver, status, &type_name, &category_of(status));
                let initial_status = moves
                    .first()
                    .and_then(|m| m.1.clone())
                    .unwrap_or_else(|| status_name.clone());
                let mut resolutions = vec![resolve(&initial_status)];
                resolutions.extend(moves.iter().map(|m| resolve(&m.2)));
                let type_mapping = resolver.issue_type_mapping_any(&type_name);
                let counted =
                    active && type_mapping.is_none_or(|t| t.active) && resolutions.iter().all(Option::is_some);
                let places: Vec<Place> = resolutions.into_iter().flatten().collect();
                let flow = if counted {
                    let timed: Vec<_> = moves.iter().map(|m| m.0).zip(places[1..].iter().cloned()).collect();
                    issue_flow(created, places[0].clone(), &timed, commitment)
                } else {
                    Default::default()
                };
                let row = FlowRow {
                    issue_id: id,
                    project_id,
                    work_category: type_mapping.map_or(WorkCategory::Other, |t| t.work_category),
                    issue_type_name: type_name,
                    counted,
                    created,
                    started_at: flow.started_at,
                    done_at: flow.done_at,
                    step_hours: serde_json::to_value(&flow.closed_hours).unwrap_or_default(),
                    in_progress_hours: flow.in_progress_hours,
                    waiting_hours: flow.waiting_hours,
                    rework: flow.rework,
                    current_step: flow.current.as_ref().map(|p| p.key()),
                    current_category: flow.current.as_ref().map(|p| p.category),
                    current_since: flow.current_since,
                    timeline: Some(timeline_json(&flow.timeline)),
                };
                (id, row)
            },
        )
        .collect();
    let mut stale = Vec::new();
    {
        // Streamed: all at once, the stored rows with their step hours as JSON took far more
        // memory than the computed ones.
        let mut rows = issue_flow_times::Entity::find()
            .filter(batch.of(issue_flow_times::Column::IssueId))
            .stream(db)
            .await?;
        while let Some(stored) = rows.next().await {
            let stored = stored?;
            let id = stored.issue_id;
            let mut stored = FlowRow::from(stored);
            match computed.get(&id) {
                Some(row) if row.same_as(&mut stored) => {
                    computed.remove(&id);
                }
                _ => stale.push(id),
            }
        }
    }
    delete_ids(db, &stale, |ids| {
        issue_flow_times::Entity::delete_many().filter(issue_flow_times::Column::IssueId.is_in(ids))
    })
    .await?;
    let now = Utc::now();
    let changed: Vec<i64> = computed.keys().copied().chain(stale).collect();
    let models: Vec<_> = computed.into_values().map(|r| r.into_active(now)).collect();
    for chunk in models.chunks(CHUNK) {
        issue_flow_times::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(changed)
}

/// A timeline as stored: `[[epoch ms, step name or null, category], …]` (compact: 100k issues
/// hold about a million entries).
fn timeline_json(timeline: &[Stay]) -> serde_json::Value {
    serde_json::Value::Array(
        timeline
            .iter()
            .map(|s| serde_json::json!([s.at_ms, s.step.as_deref(), s.category.as_str()]))
            .collect(),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranges of a pass over every row, as (above, to).
    fn ranges(ids: &[i64]) -> Vec<(i64, i64)> {
        Scope::All
            .batches(ids)
            .into_iter()
            .map(|b| match b {
                Batch::Range(above, to) => (above, to),
                Batch::Ids(_) => panic!("a pass over every row reads ranges"),
            })
            .collect()
    }

    #[test]
    fn a_pass_over_every_row_reads_ranges_that_cover_every_id_once() {
        // No rows: one range still compares (and so deletes) any stored row.
        assert_eq!(ranges(&[]), vec![(i64::MIN, i64::MAX)]);
        assert_eq!(ranges(&[3, 9]), vec![(i64::MIN, i64::MAX)]);
        // Ids with gaps, more than two batches' worth.
        let ids: Vec<i64> = (1..=(2 * RANGE as i64 + 7)).map(|n| n * 3).collect();
        let got = ranges(&ids);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, i64::MIN);
        assert_eq!(got[2].1, i64::MAX, "the last range reaches past every id");
        for pair in got.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "each range starts where the last ended");
        }
        for id in &ids {
            let holding = got.iter().filter(|(above, to)| id > above && id <= to).count();
            assert_eq!(holding, 1, "id {id} is in exactly one range");
        }
        for (above, to) in &got {
            let n = ids.iter().filter(|id| *id > above && *id <= to).count();
            assert!(n <= RANGE, "a range holds {n} ids, more than {RANGE}");
        }
    }

    #[test]
    fn a_pass_over_some_ids_reads_them_in_lists() {
        let ids: Vec<i64> = (1..=1_200).collect();
        let lists: Vec<Vec<i64>> = Scope::Ids(ids.clone())
            .batches(&[])
            .into_iter()
            .map(|b| match b {
                Batch::Ids(l) => l,
                Batch::Range(..) => panic!("some ids are read by list"),
            })
            .collect();
        assert_eq!(lists.iter().map(Vec::len).collect::<Vec<_>>(), vec![IDS, IDS, 200]);
        assert_eq!(lists.concat(), ids);
    }
}
