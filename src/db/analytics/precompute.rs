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

/// Which rows a pass recomputes.
#[derive(Clone, Debug)]
pub enum Scope {
    All,
    /// These ids (issues or pull requests), sorted.
    Ids(Vec<i64>),
}

impl Scope {
    /// The id lists to read in turn: one unfiltered read for `All`.
    fn chunks(&self) -> Vec<Option<Vec<i64>>> {
        match self {
            Scope::All => vec![None],
            Scope::Ids(ids) => ids.chunks(IDS).map(|c| Some(c.to_vec())).collect(),
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
    let mut prs = Vec::new();
    let (mut reviews, mut comments) = (
        HashMap::<i64, Vec<Activity>>::new(),
        HashMap::<i64, Vec<Activity>>::new(),
    );
    let mut commits: HashMap<i64, Vec<DateTime<Utc>>> = HashMap::new();
    for ids in scope.chunks() {
        let mut q = pull_requests::Entity::find().filter(pull_requests::Column::MergedAt.is_not_null());
        if let Some(ids) = &ids {
            q = q.filter(pull_requests::Column::Id.is_in(ids.clone()));
        }
        prs.extend(q.all(db).await?);
        let mut q = pr_reviews::Entity::find().select_only().columns([
            pr_reviews::Column::PullRequestId,
            pr_reviews::Column::Author,
            pr_reviews::Column::AuthorIsBot,
            pr_reviews::Column::SubmittedAt,
            pr_reviews::Column::State,
        ]);
        if let Some(ids) = &ids {
            q = q.filter(pr_reviews::Column::PullRequestId.is_in(ids.clone()));
        }
        for (pr, author, author_is_bot, at, state) in q.into_tuple::<Child>().all(db).await? {
            reviews.entry(pr).or_default().push(Activity {
                author,
                author_is_bot,
                at,
                state,
            });
        }
        let mut q = pr_comments::Entity::find().select_only().columns([
            pr_comments::Column::PullRequestId,
            pr_comments::Column::Author,
            pr_comments::Column::AuthorIsBot,
            pr_comments::Column::Created,
        ]);
        if let Some(ids) = &ids {
            q = q.filter(pr_comments::Column::PullRequestId.is_in(ids.clone()));
        }
        let rows: Vec<(i64, Option<String>, bool, DateTime<Utc>)> = q.into_tuple().all(db).await?;
        for (pr, author, author_is_bot, at) in rows {
            comments.entry(pr).or_default().push(Activity {
                author,
                author_is_bot,
                at: Some(at),
                state: String::new(),
            });
        }
        let mut q = pr_commits::Entity::find()
            .select_only()
            .columns([pr_commits::Column::PullRequestId, pr_commits::Column::AuthoredAt]);
        if let Some(ids) = &ids {
            q = q.filter(pr_commits::Column::PullRequestId.is_in(ids.clone()));
        }
        let rows: Vec<(i64, Option<DateTime<Utc>>)> = q.into_tuple().all(db).await?;
        for (pr, at) in rows {
            if let Some(at) = at {
                commits.entry(pr).or_default().push(at);
            }
        }
    }
    let repositories = match scope {
        Scope::All => None,
        Scope::Ids(_) => Some(
            prs.iter()
                .map(|p| p.repository_id)
                .collect::<HashSet<_>>()
                .into_iter()
                .collect(),
        ),
    };
    let deploys = deploys_by_repository(db, repositories).await?;
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
    for ids in scope.chunks() {
        let mut q = pr_stage_times::Entity::find();
        if let Some(ids) = ids {
            q = q.filter(pr_stage_times::Column::PullRequestId.is_in(ids));
        }
        for stored in q.all(db).await? {
            let id = stored.pull_request_id;
            match computed.get(&id) {
                Some(row) if *row == StageRow::from(stored) => {
                    computed.remove(&id);
                }
                _ => stale.push(id),
            }
        }
    }
    delete_ids(db, &stale, |ids| {
        pr_stage_times::Entity::delete_many().filter(pr_stage_times::Column::PullRequestId.is_in(ids))
    })
    .await?;
    let now = Utc::now();
    let mut changed: Vec<i64> = computed.keys().copied().chain(stale).collect();
    let models: Vec<_> = computed.into_values().map(|r| r.into_active(now)).collect();
    for chunk in models.chunks(CHUNK) {
        pr_stage_times::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    changed.sort_unstable();
    changed.dedup();
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
    let commitment = resolver.commitment_point().map(|s| s.position);
    let categories: HashMap<String, String> = jira_statuses::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.name.to_lowercase(), s.category_key))
        .collect();
    let mut history: HashMap<i64, Vec<Move>> = HashMap::new();
    let mut issues: Vec<IssueFacts> = Vec::new();
    for ids in scope.chunks() {
        use jira_status_transitions::Column as T;
        // Each issue's moves in order, read in the order of the (issue, at) index and streamed:
        // sorted by time across all issues, SQLite sorted every transition in memory (its
        // temporary store is memory) and its allocator kept the space (docs/decisions.md).
        let mut q = jira_status_transitions::Entity::find().select_only().columns([
            T::IssueId,
            T::At,
            T::FromStatus,
            T::ToStatus,
        ]);
        if let Some(ids) = &ids {
            q = q.filter(T::IssueId.is_in(ids.clone()));
        }
        let mut rows = q
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
        drop(rows);
        use jira_issues::Column as I;
        let mut q = jira_issues::Entity::find().select_only().columns([
            I::Id,
            I::ProjectId,
            I::IssueTypeName,
            I::StatusName,
            I::StatusCategoryKey,
            I::Created,
            I::Active,
        ]);
        if let Some(ids) = ids {
            q = q.filter(I::Id.is_in(ids));
        }
        issues.extend(q.into_tuple::<IssueFacts>().all(db).await?);
    }
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
                let resolve = |status: &str| place(&resolver, status, &type_name, &category_of(status));
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
    for ids in scope.chunks() {
        let mut q = issue_flow_times::Entity::find();
        if let Some(ids) = ids {
            q = q.filter(issue_flow_times::Column::IssueId.is_in(ids));
        }
        // Streamed: all at once, the stored rows with their step hours as JSON took far more
        // memory than the computed ones.
        let mut rows = q.stream(db).await?;
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
    let mut changed: Vec<i64> = computed.keys().copied().chain(stale).collect();
    let models: Vec<_> = computed.into_values().map(|r| r.into_active(now)).collect();
    for chunk in models.chunks(CHUNK) {
        issue_flow_times::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    changed.sort_unstable();
    changed.dedup();
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
