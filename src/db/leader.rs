//! The leader lease (replicas on one PostgreSQL): one row, taken and renewed with one conditional
//! UPDATE on the database clock, so replicas' clocks never have to agree.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// Who holds the lease now, as the health panel shows it.
#[derive(Clone, Debug)]
pub struct Lease {
    pub holder: Option<String>,
    pub epoch: i64,
    pub expires_at: Option<DateTime<Utc>>,
    /// Not expired by the database clock.
    pub valid: bool,
}

/// Takes the lease when it is free or expired, or renews it when `holder` has it. Answers the
/// epoch when `holder` holds it now; the epoch grows whenever the lease changes hands (or comes
/// back after expiring), so a replica can tell a renewal from a takeover.
pub async fn acquire(db: &impl ConnectionTrait, holder: &str, lease: Duration) -> Result<Option<i64>, DbErr> {
    let sql = "UPDATE leader_lease SET \
               epoch = CASE WHEN holder = $1 AND expires_at >= now() THEN epoch ELSE epoch + 1 END, \
               holder = $1, expires_at = now() + $2::float8 * interval '1 second', updated_at = now() \
               WHERE name = 'orchestrator' \
               AND (holder = $1 OR holder IS NULL OR expires_at IS NULL OR expires_at < now()) \
               RETURNING epoch";
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [holder.into(), lease.as_secs_f64().into()],
        ))
        .await?;
    row.map(|r| r.try_get::<i64>("", "epoch")).transpose()
}

/// Gives the lease up (graceful shutdown) so another replica takes over at once.
pub async fn release(db: &impl ConnectionTrait, holder: &str) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE leader_lease SET holder = NULL, expires_at = NULL, updated_at = now() \
         WHERE name = 'orchestrator' AND holder = $1",
        [holder.into()],
    ))
    .await?;
    Ok(())
}

pub async fn current(db: &impl ConnectionTrait) -> Result<Option<Lease>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT holder, epoch, expires_at, coalesce(expires_at >= now(), false) AS valid \
             FROM leader_lease WHERE name = 'orchestrator'",
        ))
        .await?;
    row.map(|r| {
        Ok(Lease {
            holder: r.try_get("", "holder")?,
            epoch: r.try_get("", "epoch")?,
            expires_at: r.try_get("", "expires_at")?,
            valid: r.try_get("", "valid")?,
        })
    })
    .transpose()
}

/// `NOTIFY channel, payload` (delivered when the statement's transaction commits).
pub async fn notify(db: &impl ConnectionTrait, channel: &str, payload: &str) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [channel.into(), payload.into()],
    ))
    .await?;
    Ok(())
}

/// A connection of its own that receives `NOTIFY`s on `channels` (PostgreSQL only).
pub async fn listen(
    db: &sea_orm::DatabaseConnection,
    channels: &[&str],
) -> Result<sea_orm::sqlx::postgres::PgListener, sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(db.get_postgres_connection_pool()).await?;
    listener.listen_all(channels.iter().copied()).await?;
    Ok(listener)
}
