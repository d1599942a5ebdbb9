//! The database: connections, migrations and every query (no SeaORM query lives outside
//! `db`): free functions over `&impl ConnectionTrait`, typed by the entity enums.

pub mod analytics;
mod batch;
pub mod commands;
pub mod flow;
pub mod github;
pub mod integrations;
pub mod jira;
pub mod jobs;
pub mod leader;
pub mod notifications;
pub mod runs;
pub mod settings;
pub mod teams;

use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};

/// How long a query waits for SQLite's write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements each SQLite connection keeps (sqlx's default is 100). A multi-row
/// statement is a distinct statement for every row count, and one of 100 rows holds ~0.5 MB of
/// SQLite's memory, so 8 connections kept hundreds of MB of them (docs/decisions.md, "Memory").
const SQLITE_STATEMENT_CACHE: usize = 16;
/// How long to wait for a pooled connection before calling the database unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long PostgreSQL lets a session sit idle inside a transaction for the one-off commands
/// and tools that open the database with [`connect`]; the service passes its leader lease.
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(15);

/// Opens a pool. SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL the defaults.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, IDLE_IN_TRANSACTION).await
}

/// [`connect`], where PostgreSQL ends a session left idle inside a transaction for longer than
/// `idle_in_transaction` (the leader lease): a replica frozen or cut off in the middle of a page
/// must not keep the job row locked from the replica taking over (our transactions never wait
/// on anything but the database, so a healthy one is never idle that long).
pub async fn connect_with(url: &str, idle_in_transaction: Duration) -> Result<DatabaseConnection, DbErr> {
    let idle_ms = idle_in_transaction.as_millis().to_string();
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .max_connections(if url.starts_with("sqlite:") { 8 } else { 16 })
        // Prepared statements are cached per connection; PostgreSQL would keep the generic plan
        // it made while the tables were empty (sequential scans) for the whole sync.
        .map_sqlx_postgres_opts(move |o| {
            o.options([
                ("plan_cache_mode", "force_custom_plan"),
                ("idle_in_transaction_session_timeout", idle_ms.as_str()),
            ])
        })
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .statement_cache_capacity(SQLITE_STATEMENT_CACHE)
        });
    Database::connect(opts).await
}

/// A transaction that will write. On SQLite it takes the write lock at `BEGIN IMMEDIATE` (waiting
/// up to the busy timeout): a deferred one that reads first cannot upgrade when another writer
/// committed meanwhile and fails at once with "database is locked". PostgreSQL: a plain `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// A sync page's transaction: a write transaction ([`begin_write`]) whose commit, on PostgreSQL,
/// does not wait for the WAL flush. A database crash can lose the last pages committed, but each
/// page's checkpoint is in the same transaction, so they are lost together and the next run
/// fetches them again. Nothing is silently skipped, and a page commits in under a millisecond
/// instead of an fsync.
pub async fn begin_page(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    let txn = begin_write(db).await?;
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL synchronous_commit = off").await?;
    }
    Ok(txn)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Round-trip latency of a trivial query, for readiness and the health panel.
pub async fn ping(db: &impl ConnectionTrait) -> Result<Duration, DbErr> {
    let started = Instant::now();
    db.execute_raw(Statement::from_string(db.get_database_backend(), "SELECT 1"))
        .await?;
    Ok(started.elapsed())
}

/// Number of migrations known to the binary but not applied to the database.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.len())
}

/// Another process already serves this SQLite file (SQLite is single-instance; replicas need
/// PostgreSQL).
#[derive(Debug, thiserror::Error)]
#[error(
    "another pulse-etl process is already using the SQLite database {db} (it holds {lock}); \
     SQLite supports one process only: stop the other one, or use PostgreSQL to run several replicas"
)]
pub struct AlreadyRunning {
    pub db: String,
    pub lock: String,
}

/// The SQLite file a `sqlite:` URL names (`None` for PostgreSQL and in-memory databases).
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.strip_prefix("//").unwrap_or(path);
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// Takes an exclusive lock on `<file>.lock` beside a SQLite database, held as long as the
/// returned file is open; PostgreSQL needs none. Fails with [`AlreadyRunning`] when another
/// process holds it (the OS releases it when that process dies, even by SIGKILL).
pub fn lock_single_instance(url: &str) -> anyhow::Result<Option<std::fs::File>> {
    use anyhow::Context;
    let Some(path) = sqlite_path(url) else {
        return Ok(None);
    };
    let mut lock = path.clone().into_os_string();
    lock.push(".lock");
    let lock = std::path::PathBuf::from(lock);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .with_context(|| format!("cannot open the lock file {}", lock.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(AlreadyRunning {
            db: path.display().to_string(),
            lock: lock.display().to_string(),
        }
        .into()),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", lock.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://data/p.db?mode=rwc"), Some("data/p.db".into()));
        assert_eq!(sqlite_path("sqlite:///tmp/p.db"), Some("/tmp/p.db".into()));
        assert_eq!(sqlite_path("sqlite:p.db"), Some("p.db".into()));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://x?mode=memory"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }
}
