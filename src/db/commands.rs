//! Job controls a follower received, queued for the leader (replicas on one PostgreSQL).
//! States: `queued` → `taken` (the leader claimed it) → `done` (with the refusal, if any), or
//! `queued` → `expired` (nobody took it in time; the follower answered 503).

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// A queued control, as the leader takes it.
#[derive(Debug)]
pub struct Queued {
    pub id: i64,
    pub job_type: String,
    pub action: String,
    pub requested_by: String,
}

fn stmt(sql: &str, values: impl IntoIterator<Item = sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

pub async fn enqueue(db: &impl ConnectionTrait, job_type: &str, action: &str, user: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(stmt(
            "INSERT INTO orchestrator_commands (job_type, action, requested_by) VALUES ($1, $2, $3) RETURNING id",
            [job_type.into(), action.into(), user.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotInserted)?;
    row.try_get("", "id")
}

/// Claims the oldest queued control younger than `max_age_secs` (an older one was asked of a
/// follower that gave up waiting and must not run late). Concurrent takers never share a row.
pub async fn take(db: &impl ConnectionTrait, max_age_secs: f64) -> Result<Option<Queued>, DbErr> {
    let row = db
        .query_one_raw(stmt(
            "UPDATE orchestrator_commands SET state = 'taken', updated_at = now() WHERE id = \
             (SELECT id FROM orchestrator_commands WHERE state = 'queued' \
              AND created_at > now() - $1::float8 * interval '1 second' \
              ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) \
             RETURNING id, job_type, action, requested_by",
            [max_age_secs.into()],
        ))
        .await?;
    row.map(|r| {
        Ok(Queued {
            id: r.try_get("", "id")?,
            job_type: r.try_get("", "job_type")?,
            action: r.try_get("", "action")?,
            requested_by: r.try_get("", "requested_by")?,
        })
    })
    .transpose()
}

/// The leader carried it out (`error`: why it was refused).
pub async fn complete(db: &impl ConnectionTrait, id: i64, error: Option<&str>) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        "UPDATE orchestrator_commands SET state = 'done', error = $2, updated_at = now() WHERE id = $1",
        [id.into(), error.map(String::from).into()],
    ))
    .await?;
    Ok(())
}

/// Withdraws a control nobody took; false when the leader took it meanwhile.
pub async fn expire(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    let res = db
        .execute_raw(stmt(
            "UPDATE orchestrator_commands SET state = 'expired', updated_at = now() \
             WHERE id = $1 AND state = 'queued'",
            [id.into()],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// The control's state and refusal.
pub async fn state(db: &impl ConnectionTrait, id: i64) -> Result<Option<(String, Option<String>)>, DbErr> {
    let row = db
        .query_one_raw(stmt(
            "SELECT state, error FROM orchestrator_commands WHERE id = $1",
            [id.into()],
        ))
        .await?;
    row.map(|r| Ok((r.try_get("", "state")?, r.try_get("", "error")?)))
        .transpose()
}

/// Forgets answered controls older than a day.
pub async fn prune(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        "DELETE FROM orchestrator_commands WHERE state IN ('done', 'expired') \
         AND created_at < now() - interval '1 day'",
        [],
    ))
    .await?;
    Ok(())
}
