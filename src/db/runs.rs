//! Run history (`job_runs`) and each run's log (`job_run_events`).

use chrono::Utc;
use entity::{job_run_events, job_runs, jobs};

use crate::domain::job::{EventLevel, JobType, RunOutcome, RunTrigger};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

pub async fn start(
    db: &impl ConnectionTrait,
    job_type: JobType,
    trigger: RunTrigger,
) -> Result<job_runs::Model, DbErr> {
    let job = super::jobs::find(db, job_type)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(job_type.to_string()))?;
    let now = Utc::now();
    job_runs::ActiveModel {
        job_id: Set(job.id),
        trigger: Set(trigger),
        outcome: Set(RunOutcome::Running),
        started_at: Set(now),
        counts: Set(serde_json::json!({})),
        api_requests: Set(0),
        rate_limit_wait_ms: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

#[allow(clippy::too_many_arguments)]
pub async fn finish(
    db: &impl ConnectionTrait,
    run_id: i64,
    outcome: RunOutcome,
    counts: &serde_json::Value,
    api_requests: u64,
    rate_limit_wait_ms: u64,
    error: Option<&str>,
) -> Result<(), DbErr> {
    let now = Utc::now();
    job_runs::Entity::update_many()
        .col_expr(job_runs::Column::Outcome, outcome.into())
        .col_expr(job_runs::Column::FinishedAt, Some(now).into())
        .col_expr(job_runs::Column::Counts, counts.clone().into())
        .col_expr(job_runs::Column::ApiRequests, (api_requests as i64).into())
        .col_expr(job_runs::Column::RateLimitWaitMs, (rate_limit_wait_ms as i64).into())
        .col_expr(job_runs::Column::Error, error.map(String::from).into())
        .col_expr(job_runs::Column::UpdatedAt, now.into())
        .filter(job_runs::Column::Id.eq(run_id))
        .filter(job_runs::Column::Outcome.eq(RunOutcome::Running))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn log(db: &impl ConnectionTrait, run_id: i64, level: EventLevel, message: &str) -> Result<(), DbErr> {
    let now = Utc::now();
    job_run_events::ActiveModel {
        run_id: Set(run_id),
        level: Set(level),
        message: Set(message.chars().take(2000).collect()),
        at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Runs of a job, newest first, one page at a time; with the total count.
pub async fn list(
    db: &impl ConnectionTrait,
    job_type: JobType,
    page: u64,
    per_page: u64,
) -> Result<(Vec<job_runs::Model>, u64), DbErr> {
    let Some(job) = jobs::Entity::find()
        .filter(jobs::Column::JobType.eq(job_type))
        .one(db)
        .await?
    else {
        return Ok((Vec::new(), 0));
    };
    let query = job_runs::Entity::find().filter(job_runs::Column::JobId.eq(job.id));
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(job_runs::Column::Id)
        .offset(page * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// How the job's run before `run_id` ended (None: it is the first).
pub async fn previous_outcome(
    db: &impl ConnectionTrait,
    job_type: JobType,
    run_id: i64,
) -> Result<Option<RunOutcome>, DbErr> {
    let Some(job) = super::jobs::find(db, job_type).await? else {
        return Ok(None);
    };
    Ok(job_runs::Entity::find()
        .filter(job_runs::Column::JobId.eq(job.id))
        .filter(job_runs::Column::Id.lt(run_id))
        .order_by_desc(job_runs::Column::Id)
        .one(db)
        .await?
        .map(|r| r.outcome))
}

/// A run of the given job (None when the id is another job's run).
pub async fn get(db: &impl ConnectionTrait, job_type: JobType, run_id: i64) -> Result<Option<job_runs::Model>, DbErr> {
    let Some(job) = jobs::Entity::find()
        .filter(jobs::Column::JobType.eq(job_type))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    job_runs::Entity::find_by_id(run_id)
        .filter(job_runs::Column::JobId.eq(job.id))
        .one(db)
        .await
}

/// A run's log lines, oldest first, filtered by level and text, one page at a time.
pub async fn events(
    db: &impl ConnectionTrait,
    run_id: i64,
    level: Option<EventLevel>,
    search: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<job_run_events::Model>, u64), DbErr> {
    let mut query = job_run_events::Entity::find().filter(job_run_events::Column::RunId.eq(run_id));
    if let Some(level) = level {
        query = query.filter(job_run_events::Column::Level.eq(level));
    }
    if let Some(text) = search.filter(|s| !s.is_empty()) {
        query = query.filter(job_run_events::Column::Message.contains(text));
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_asc(job_run_events::Column::Id)
        .offset(page * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok((rows, total))
}
