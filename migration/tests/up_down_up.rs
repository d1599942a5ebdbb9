//! Migration round trip (up, down all, up) and schema constraints, on a fresh
//! SQLite file and a fresh PostgreSQL database.
//!
//! PostgreSQL: a database `pulse_mig_<uuid>` is created through
//! `PULSE_TEST_PG_URL` (server part, default `postgres://postgres@127.0.0.1:5432`)
//! and dropped again when the test ends. Test bodies return errors instead of
//! panicking so that the clean-up always runs.

use entity::enums::{AuthKind, Flavour, IntegrationKind, JobStatus};
use std::{future::Future, path::PathBuf};

use chrono::{TimeDelta, Utc};
use entity::{
    flow_steps, integrations, issue_type_mappings, jobs, orchestrator_settings, pull_requests, repositories,
    status_mappings,
};
use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, SqlErr, Statement,
};
use serde_json::json;

/// Server part of the URL; databases are created beside `postgres` (same convention as `tests/app`).
const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432";

/// Every table the migrations create, in creation order.
const TABLES: [&str; 28] = [
    "integrations",
    "jobs",
    "job_runs",
    "job_run_events",
    "orchestrator_settings",
    "jira_projects",
    "jira_issue_types",
    "jira_statuses",
    "jira_issues",
    "jira_status_transitions",
    "flow_steps",
    "issue_type_mappings",
    "status_mappings",
    "repositories",
    "pull_requests",
    "pr_reviews",
    "pr_commits",
    "pr_comments",
    "deployments",
    "pr_issue_links",
    "pr_stage_times",
    "issue_flow_times",
    "analytics_refresh",
    "leader_lease",
    "orchestrator_commands",
    "notification_settings",
    "teams",
    "analytics_changes",
];

/// A throw-away database, removed by [`TestDb::finish`].
struct TestDb {
    conn: DatabaseConnection,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres { admin: DatabaseConnection, name: String },
}

fn fresh_name() -> String {
    format!("pulse_mig_{}", uuid::Uuid::new_v4().simple())
}

impl TestDb {
    async fn sqlite() -> Result<Self, DbErr> {
        let dir = std::env::temp_dir().join(fresh_name());
        std::fs::create_dir_all(&dir).map_err(|e| DbErr::Custom(e.to_string()))?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("x.db").display());
        let conn = Database::connect(url).await?;
        Ok(Self {
            conn,
            cleanup: Cleanup::Sqlite(dir),
        })
    }

    async fn postgres() -> Result<Self, DbErr> {
        let base = std::env::var("PULSE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
        let admin = Database::connect(format!("{base}/postgres")).await?;
        let name = fresh_name();
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await?;
        let conn = match Database::connect(format!("{base}/{name}")).await {
            Ok(conn) => conn,
            Err(err) => {
                drop_pg_database(&admin, &name).await?;
                return Err(err);
            }
        };
        Ok(Self {
            conn,
            cleanup: Cleanup::Postgres { admin, name },
        })
    }

    async fn finish(self) -> Result<(), DbErr> {
        self.conn.close().await?;
        match self.cleanup {
            Cleanup::Sqlite(dir) => std::fs::remove_dir_all(dir).map_err(|e| DbErr::Custom(e.to_string())),
            Cleanup::Postgres { admin, name } => {
                drop_pg_database(&admin, &name).await?;
                admin.close().await
            }
        }
    }
}

async fn drop_pg_database(admin: &DatabaseConnection, name: &str) -> Result<(), DbErr> {
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .map(|_| ())
}

/// Replaces the database path of a `postgres://` URL, keeping any query string.
/// Runs `body` on `db`, then always removes the database.
async fn run<F, Fut>(db: TestDb, body: F) -> Result<(), DbErr>
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: Future<Output = Result<(), DbErr>>,
{
    let result = body(db.conn.clone()).await;
    let cleanup = db.finish().await;
    result.and(cleanup)
}

fn ensure(cond: bool, msg: impl Into<String>) -> Result<(), DbErr> {
    if cond { Ok(()) } else { Err(DbErr::Custom(msg.into())) }
}

/// SELECTs every column of every entity, proving entities and tables agree.
async fn select_every_entity(db: &DatabaseConnection) -> Result<(), DbErr> {
    macro_rules! select_all {
        ($($table:ident),* $(,)?) => {
            $( entity::$table::Entity::find().all(db).await?; )*
        };
    }
    select_all!(
        integrations,
        jobs,
        job_runs,
        job_run_events,
        orchestrator_settings,
        jira_projects,
        jira_issue_types,
        jira_statuses,
        jira_issues,
        jira_status_transitions,
        flow_steps,
        issue_type_mappings,
        status_mappings,
        repositories,
        pull_requests,
        pr_reviews,
        pr_commits,
        pr_comments,
        deployments,
        pr_issue_links,
        notification_settings,
        teams,
        analytics_changes,
    );
    Ok(())
}

async fn check_migrated(db: &DatabaseConnection) -> Result<(), DbErr> {
    let manager = SchemaManager::new(db);
    for table in TABLES {
        ensure(manager.has_table(table).await?, format!("{table} missing"))?;
    }
    select_every_entity(db).await?;

    let rows = jobs::Entity::find().order_by_asc(jobs::Column::Id).all(db).await?;
    let types: Vec<&str> = rows.iter().map(|j| j.job_type.as_str()).collect();
    ensure(types == ["jira_sync", "github_sync"], format!("jobs: {types:?}"))?;
    for job in &rows {
        ensure(
            job.status == JobStatus::NotStarted
                && job.active
                && job.progress == 0
                && job.retry_count == 0
                && !job.stop_requested
                && !job.pause_requested
                && job.checkpoint.is_none(),
            format!("unexpected seed job {job:?}"),
        )?;
    }

    let seeded = (
        flow_steps::Entity::find().count(db).await?,
        issue_type_mappings::Entity::find().count(db).await?,
        status_mappings::Entity::find().count(db).await?,
    );
    ensure(
        seeded.0 >= 8 && seeded.1 >= 6 && seeded.2 >= 20,
        format!("default flow not seeded: {seeded:?}"),
    )?;

    let lease = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT name, holder, epoch FROM leader_lease",
        ))
        .await?;
    ensure(
        lease.len() == 1,
        format!("expected one leader lease row, got {}", lease.len()),
    )?;
    let holder: Option<String> = lease[0].try_get("", "holder")?;
    let epoch: i64 = lease[0].try_get("", "epoch")?;
    ensure(
        holder.is_none() && epoch == 0,
        format!("unexpected lease {holder:?} {epoch}"),
    )?;

    let settings = orchestrator_settings::Entity::find().all(db).await?;
    ensure(settings.len() == 1, "expected one settings row")?;
    let s = &settings[0];
    ensure(
        s.id == 1
            && s.interval_minutes == 60
            && s.enabled
            && s.retry_enabled
            && s.retry_interval_minutes == 15
            && s.max_retry_attempts == 3
            && s.next_run_at.is_none(),
        format!("unexpected settings {s:?}"),
    )
}

async fn up_down_up(db: DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(&db, None).await?;
    check_migrated(&db).await?;

    // The default flow is data only: its down empties the flow tables and keeps them. (It is the
    // 5th migration: every one after it goes down first, then it.)
    let down_to_flow_defaults = Migrator::migrations().len() as u32 - 4;
    Migrator::down(&db, Some(down_to_flow_defaults)).await?;
    let left = flow_steps::Entity::find().count(&db).await?
        + issue_type_mappings::Entity::find().count(&db).await?
        + status_mappings::Entity::find().count(&db).await?;
    ensure(left == 0, format!("{left} default flow rows left after its down"))?;
    ensure(
        transitions_key(&db).await? == (db.get_database_backend() == DbBackend::Postgres),
        "the transitions' key is back on PostgreSQL after 000009's down",
    )?;
    ensure(
        SchemaManager::new(&db).has_table("flow_steps").await?,
        "flow_steps dropped by a data migration",
    )?;
    Migrator::up(&db, None).await?;
    check_migrated(&db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        ensure(
            !transitions_key(&db).await?,
            "the transitions' key is dropped on PostgreSQL",
        )?;
    }

    Migrator::down(&db, None).await?;
    let manager = SchemaManager::new(&db);
    for table in TABLES {
        ensure(
            !manager.has_table(table).await?,
            format!("{table} still exists after down"),
        )?;
    }
    ensure(
        Migrator::get_applied_migrations(&db).await?.is_empty(),
        "migrations still recorded as applied",
    )?;

    Migrator::up(&db, None).await?;
    check_migrated(&db).await
}

/// Whether PostgreSQL has the status transitions' foreign key to their issue (false on SQLite,
/// where the question is not asked of the catalogue).
async fn transitions_key(db: &DatabaseConnection) -> Result<bool, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(false);
    }
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM pg_constraint WHERE conname = 'fk_jira_status_transitions_issue_id'",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no answer from pg_constraint".into()))?;
    Ok(row.try_get::<i64>("", "n")? == 1)
}

fn pull_request(repository_id: i64, number: i32) -> pull_requests::ActiveModel {
    let now = Utc::now();
    pull_requests::ActiveModel {
        repository_id: Set(repository_id),
        number: Set(number),
        node_id: Set(format!("PR_{number}")),
        title: Set("Add feature".into()),
        state: Set("open".into()),
        created: Set(now),
        updated: Set(now),
        base_ref: Set("main".into()),
        head_ref: Set("PROJ-1-feature".into()),
        ..Default::default()
    }
}

async fn constraints(db: DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(&db, None).await?;

    let settings = json!({ "org": "acme", "repos": ["api", "web"], "nested": { "n": 1 } });
    let secret = vec![0u8, 1, 2, 254, 255];
    let integration = integrations::ActiveModel {
        kind: Set(IntegrationKind::Github),
        name: Set("GitHub".into()),
        base_url: Set("https://api.github.com".into()),
        flavour: Set(Flavour::Github),
        auth_kind: Set(AuthKind::Token),
        secret: Set(Some(secret.clone())),
        settings: Set(settings.clone()),
        ..Default::default()
    }
    .insert(&db)
    .await?;
    let stored = integrations::Entity::find_by_id(integration.id)
        .one(&db)
        .await?
        .ok_or_else(|| DbErr::Custom("integration not found".into()))?;
    ensure(stored.settings == settings, "JSON settings round trip")?;
    ensure(stored.secret.as_ref() == Some(&secret), "secret round trip")?;
    ensure(stored.active, "integrations.active defaults to true")?;
    // The defaulted created_at decodes as UTC "now" and compares correctly
    // with a bound DateTimeUtc (text comparison on SQLite).
    let recent = integrations::Entity::find()
        .filter(integrations::Column::CreatedAt.gt(Utc::now() - TimeDelta::minutes(1)))
        .filter(integrations::Column::CreatedAt.lt(Utc::now() + TimeDelta::minutes(1)))
        .count(&db)
        .await?;
    ensure(recent == 1, format!("created_at default: {}", stored.created_at))?;
    let debug = format!("{stored:?}");
    ensure(
        debug.contains("[REDACTED]") && !debug.contains("254"),
        format!("secret leaked by Debug: {debug}"),
    )?;

    let repo = repositories::ActiveModel {
        integration_id: Set(integration.id),
        owner: Set("acme".into()),
        name: Set("api".into()),
        ..Default::default()
    }
    .insert(&db)
    .await?;
    let pr = pull_request(repo.id, 7).insert(&db).await?;
    ensure(!pr.draft && pr.additions == 0, "pull_requests defaults")?;

    let duplicate = pull_request(repo.id, 7).insert(&db).await;
    ensure(
        matches!(
            duplicate.as_ref().map_err(DbErr::sql_err),
            Err(Some(SqlErr::UniqueConstraintViolation(_)))
        ),
        format!("duplicate (repository_id, number) not rejected: {duplicate:?}"),
    )?;

    let orphan = repositories::ActiveModel {
        integration_id: Set(integration.id + 1000),
        owner: Set("acme".into()),
        name: Set("ghost".into()),
        ..Default::default()
    }
    .insert(&db)
    .await;
    ensure(
        matches!(
            orphan.as_ref().map_err(DbErr::sql_err),
            Err(Some(SqlErr::ForeignKeyConstraintViolation(_)))
        ),
        format!("dangling integration_id not rejected: {orphan:?}"),
    )?;

    integrations::Entity::delete_by_id(integration.id).exec(&db).await?;
    let repos = repositories::Entity::find().count(&db).await?;
    let prs = pull_requests::Entity::find().count(&db).await?;
    ensure(
        repos == 0 && prs == 0,
        format!("cascade left {repos} repositories, {prs} pull requests"),
    )
}

#[tokio::test]
async fn sqlite_up_down_up() -> Result<(), DbErr> {
    run(TestDb::sqlite().await?, up_down_up).await
}

#[tokio::test]
async fn postgres_up_down_up() -> Result<(), DbErr> {
    run(TestDb::postgres().await?, up_down_up).await
}

#[tokio::test]
async fn sqlite_constraints() -> Result<(), DbErr> {
    run(TestDb::sqlite().await?, |db| async move {
        // sqlx turns `PRAGMA foreign_keys = ON` on for every SQLite connection.
        let row = db
            .query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA foreign_keys"))
            .await?
            .ok_or_else(|| DbErr::Custom("PRAGMA foreign_keys returned nothing".into()))?;
        ensure(row.try_get_by_index::<i32>(0)? == 1, "foreign keys are off")?;
        constraints(db).await
    })
    .await
}

#[tokio::test]
async fn postgres_constraints() -> Result<(), DbErr> {
    run(TestDb::postgres().await?, constraints).await
}
