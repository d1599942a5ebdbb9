use chrono::Utc;
use entity::jobs;

use sea_orm::sea_query::ExprTrait as _;

use crate::domain::job::{JobStatus, JobType, RunOutcome};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

/// Both job rows, `jira_sync` first (the order they run in).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<jobs::Model>, DbErr> {
    let mut rows = jobs::Entity::find().order_by_asc(jobs::Column::Id).all(db).await?;
    rows.sort_by_key(|j| j.job_type.order());
    Ok(rows)
}

/// The job's checkpoint (where an interrupted run resumes), if any.
pub async fn checkpoint(db: &impl ConnectionTrait, job_type: JobType) -> Result<Option<serde_json::Value>, DbErr> {
    Ok(find(db, job_type).await?.and_then(|j| j.checkpoint))
}

/// Saves the checkpoint; call in the same transaction as the data it describes.
/// `fence`: the lease owner the run belongs to. When the job row names another owner (the lease
/// was lost and another replica took the job over), nothing is saved and the error rolls the
/// page back: a stale run never writes over the new one.
pub async fn set_checkpoint(
    db: &impl ConnectionTrait,
    job_type: JobType,
    value: Option<serde_json::Value>,
    fence: Option<&str>,
) -> Result<(), DbErr> {
    let mut update = jobs::Entity::update_many()
        .col_expr(jobs::Column::Checkpoint, value.into())
        .col_expr(jobs::Column::UpdatedAt, chrono::Utc::now().into())
        .filter(jobs::Column::JobType.eq(job_type));
    if let Some(owner) = fence {
        update = update.filter(jobs::Column::LeaseOwner.eq(owner));
    }
    if update.exec(db).await?.rows_affected == 0 && fence.is_some() {
        return Err(DbErr::Custom(format!(
            "{job_type}: the job's lease was lost (another replica runs it now); page not saved"
        )));
    }
    Ok(())
}

pub async fn find(db: &impl ConnectionTrait, job_type: JobType) -> Result<Option<jobs::Model>, DbErr> {
    jobs::Entity::find()
        .filter(jobs::Column::JobType.eq(job_type))
        .one(db)
        .await
}

/// Conditional state change: applies only while the row is in one of `from` (never two
/// writers racing each other into the same state). Returns whether it applied.
async fn transition(
    db: &impl ConnectionTrait,
    job_type: JobType,
    from: &[JobStatus],
    to: JobStatus,
    mut update: sea_orm::UpdateMany<jobs::Entity>,
) -> Result<bool, DbErr> {
    update = update
        .col_expr(jobs::Column::Status, to.into())
        .col_expr(jobs::Column::UpdatedAt, Utc::now().into())
        .filter(jobs::Column::JobType.eq(job_type))
        .filter(jobs::Column::Status.is_in(from.iter().copied()));
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Queues the job (→ PENDING) if it is in one of `from`; a retry waiting is dropped, and with
/// `reset_retries` (an admin's start or resume) the count of retries in a row starts again.
pub async fn queue(
    db: &impl ConnectionTrait,
    job_type: JobType,
    from: &[JobStatus],
    reset_retries: bool,
) -> Result<bool, DbErr> {
    let mut update =
        jobs::Entity::update_many().col_expr(jobs::Column::NextRetryAt, Option::<chrono::DateTime<Utc>>::None.into());
    if reset_retries {
        update = update.col_expr(jobs::Column::RetryCount, 0.into());
    }
    transition(db, job_type, from, JobStatus::Pending, update).await
}

/// Pauses a job that is not running (→ PAUSED; a waiting retry is dropped).
pub async fn pause(db: &impl ConnectionTrait, job_type: JobType, from: JobStatus) -> Result<bool, DbErr> {
    let update =
        jobs::Entity::update_many().col_expr(jobs::Column::NextRetryAt, Option::<chrono::DateTime<Utc>>::None.into());
    transition(db, job_type, &[from], JobStatus::Paused, update).await
}

/// Marks a running job's force stop as requested (shown on the dashboard until it stops).
pub async fn request_stop(db: &impl ConnectionTrait, job_type: JobType) -> Result<(), DbErr> {
    set_flag(db, job_type, jobs::Column::StopRequested).await
}

/// Marks a running job's pause as requested (it pauses at its next request).
pub async fn request_pause(db: &impl ConnectionTrait, job_type: JobType) -> Result<(), DbErr> {
    set_flag(db, job_type, jobs::Column::PauseRequested).await
}

async fn set_flag(db: &impl ConnectionTrait, job_type: JobType, flag: jobs::Column) -> Result<(), DbErr> {
    jobs::Entity::update_many()
        .col_expr(flag, true.into())
        .filter(jobs::Column::JobType.eq(job_type))
        .exec(db)
        .await?;
    Ok(())
}

/// PENDING or PAUSED → RUNNING, only if no job is RUNNING (one statement, so two concurrent
/// starts can never both win).
pub async fn claim_running(
    db: &impl ConnectionTrait,
    job_type: JobType,
    owner: &str,
    run_id: i64,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let now = Utc::now();
    let other = Alias::new("other_jobs");
    let running_elsewhere = Query::select()
        .expr(Expr::val(1))
        .from_as(jobs::Entity, other.clone())
        .and_where(Expr::col((other, jobs::Column::Status)).eq(JobStatus::Running))
        .to_owned();
    let stmt = Query::update()
        .table(jobs::Entity)
        .value(jobs::Column::Status, JobStatus::Running)
        .value(jobs::Column::LastStartedAt, now)
        .value(jobs::Column::Progress, 0)
        .value(jobs::Column::ProgressMessage, "Starting")
        .value(jobs::Column::StopRequested, false)
        .value(jobs::Column::PauseRequested, false)
        .value(jobs::Column::LeaseOwner, owner)
        .value(jobs::Column::HeartbeatAt, now)
        .value(jobs::Column::CurrentRunId, run_id)
        .value(jobs::Column::UpdatedAt, now)
        .and_where(Expr::col(jobs::Column::JobType).eq(job_type))
        .and_where(Expr::col(jobs::Column::Status).is_in([JobStatus::Pending, JobStatus::Paused]))
        .and_where(Expr::exists(running_elsewhere).not())
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected() == 1)
}

/// How a run ended, for the job row.
pub struct Finish<'a> {
    pub to: JobStatus,
    pub success: bool,
    pub error: Option<&'a str>,
    pub retry_count: i32,
    pub next_retry_at: Option<chrono::DateTime<Utc>>,
}

/// RUNNING → FINISHED / FAILED / PAUSED (conditional on still being RUNNING under `owner`'s lease).
pub async fn finish(db: &impl ConnectionTrait, job_type: JobType, owner: &str, f: &Finish<'_>) -> Result<bool, DbErr> {
    let now = Utc::now();
    let mut update = jobs::Entity::update_many()
        .filter(jobs::Column::LeaseOwner.eq(owner))
        .col_expr(jobs::Column::LastFinishedAt, Some(now).into())
        .col_expr(jobs::Column::LastError, f.error.map(String::from).into())
        .col_expr(jobs::Column::RetryCount, f.retry_count.into())
        .col_expr(jobs::Column::NextRetryAt, f.next_retry_at.into())
        .col_expr(jobs::Column::LeaseOwner, Option::<String>::None.into())
        .col_expr(jobs::Column::HeartbeatAt, Option::<chrono::DateTime<Utc>>::None.into())
        .col_expr(jobs::Column::CurrentRunId, Option::<i64>::None.into())
        .col_expr(jobs::Column::StopRequested, false.into())
        .col_expr(jobs::Column::PauseRequested, false.into());
    if f.success {
        update = update
            .col_expr(jobs::Column::LastSuccessAt, Some(now).into())
            .col_expr(jobs::Column::Progress, 100.into());
    }
    transition(db, job_type, &[JobStatus::Running], f.to, update).await
}

pub async fn set_progress(
    db: &impl ConnectionTrait,
    job_type: JobType,
    owner: &str,
    progress: i32,
    message: &str,
) -> Result<(), DbErr> {
    jobs::Entity::update_many()
        .col_expr(jobs::Column::Progress, progress.into())
        .col_expr(jobs::Column::ProgressMessage, Some(message.to_string()).into())
        .filter(jobs::Column::JobType.eq(job_type))
        .filter(jobs::Column::LeaseOwner.eq(owner))
        .filter(jobs::Column::Status.eq(JobStatus::Running))
        .exec(db)
        .await?;
    Ok(())
}

/// Renews the lease of a job this process runs.
pub async fn heartbeat(db: &impl ConnectionTrait, job_type: JobType, owner: &str) -> Result<bool, DbErr> {
    let res = jobs::Entity::update_many()
        .col_expr(jobs::Column::HeartbeatAt, Some(Utc::now()).into())
        .filter(jobs::Column::JobType.eq(job_type))
        .filter(jobs::Column::Status.eq(JobStatus::Running))
        .filter(jobs::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Which RUNNING rows belong to a process that is gone.
pub enum Stale<'a> {
    /// Heartbeat older than the job lease (a crashed or killed process).
    HeartbeatOlderThan(chrono::Duration),
    /// The same, except the rows of `owner`: the caller's own job is alive even when the
    /// database kept its heartbeats out for longer than the lease (locked or unreachable).
    HeartbeatOlderThanExcept(chrono::Duration, &'a str),
    /// Run under another owner: this replica just took the leader lease over, so the previous
    /// leader's lease has expired and its job has stopped (or its writes are fenced off).
    NotOwnedBy(&'a str),
}

/// RUNNING rows left by a dead process (see [`Stale`]) become FAILED "interrupted" and are
/// queued for a retry right away (they resume from their checkpoint).
pub async fn reap_stale(db: &impl ConnectionTrait, which: Stale<'_>) -> Result<Vec<JobType>, DbErr> {
    let condition = match which {
        Stale::HeartbeatOlderThan(lease) => jobs::Column::HeartbeatAt
            .is_null()
            .or(jobs::Column::HeartbeatAt.lt(Utc::now() - lease)),
        Stale::HeartbeatOlderThanExcept(lease, owner) => jobs::Column::HeartbeatAt
            .is_null()
            .or(jobs::Column::HeartbeatAt.lt(Utc::now() - lease))
            .and(
                jobs::Column::LeaseOwner
                    .is_null()
                    .or(jobs::Column::LeaseOwner.ne(owner)),
            ),
        Stale::NotOwnedBy(owner) => jobs::Column::LeaseOwner
            .is_null()
            .or(jobs::Column::LeaseOwner.ne(owner)),
    };
    let stale: Vec<jobs::Model> = jobs::Entity::find()
        .filter(jobs::Column::Status.eq(JobStatus::Running))
        .filter(condition)
        .all(db)
        .await?;
    let mut reaped = Vec::new();
    for job in stale {
        let update = jobs::Entity::update_many()
            .col_expr(
                jobs::Column::LastError,
                Some("interrupted: the process running it stopped unexpectedly".to_string()).into(),
            )
            .col_expr(jobs::Column::LastFinishedAt, Some(Utc::now()).into())
            .col_expr(jobs::Column::NextRetryAt, Some(Utc::now()).into())
            .col_expr(jobs::Column::LeaseOwner, Option::<String>::None.into())
            .col_expr(jobs::Column::CurrentRunId, Option::<i64>::None.into())
            .filter(jobs::Column::HeartbeatAt.eq(job.heartbeat_at));
        if transition(db, job.job_type, &[JobStatus::Running], JobStatus::Failed, update).await? {
            if let Some(run) = job.current_run_id {
                super::runs::finish(
                    db,
                    run,
                    RunOutcome::Interrupted,
                    &serde_json::json!({}),
                    0,
                    0,
                    Some("interrupted: the process running it stopped unexpectedly"),
                )
                .await?;
            }
            reaped.push(job.job_type);
        }
    }
    Ok(reaped)
}

pub async fn set_active(db: &impl ConnectionTrait, job_type: JobType, active: bool) -> Result<(), DbErr> {
    jobs::Entity::update_many()
        .col_expr(jobs::Column::Active, active.into())
        .col_expr(jobs::Column::UpdatedAt, Utc::now().into())
        .filter(jobs::Column::JobType.eq(job_type))
        .exec(db)
        .await?;
    Ok(())
}
