//! The only place SeaORM queries live: free functions over `&impl ConnectionTrait`.

pub mod analytics;
mod batch;
pub mod flow;
pub mod github;
pub mod integrations;
pub mod jira;
pub mod jobs;
pub mod runs;
pub mod settings;

use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};

/// How long a query waits for SQLite's write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a pooled connection before calling the database unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a pool. SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL the defaults.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .max_connections(if url.starts_with("sqlite:") { 8 } else { 16 })
        // Prepared statements are cached per connection; PostgreSQL would keep the generic plan
        // it made while the tables were empty (sequential scans) for the whole sync.
        .map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]))
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
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
