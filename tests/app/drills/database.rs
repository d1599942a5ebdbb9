//! The database unavailable for 30 s in the middle of a Jira sync.
//!
//! PostgreSQL: the service reaches the server through a TCP proxy; the drill cuts it (every open
//! connection closed, new ones refused) for 30 s. The running sync fails cleanly (its run ends
//! with an error, the job is not left RUNNING, no partial page is stored), `/health/ready` says
//! 503 while `/health` stays 200, and once the database is back readiness is 200 again and the
//! next run ends with the simulator's rows.
//!
//! SQLite has no server to lose: the file is in the process. What can make it unavailable to
//! the service while the process lives is another writer holding the database's write lock (an
//! operator's `sqlite3` shell in a transaction, a backup tool). The drill holds it for 30 s:
//! every write fails after the busy timeout, the run fails cleanly and the next one completes.
//! Reads still work under WAL, so the pages and `/health/ready` keep answering 200 (readiness
//! is about serving; there is one process on SQLite, nothing to route around it).

use entity::enums::{JobType, RunOutcome};
use std::time::{Duration, Instant};

use entity::{jira_issues, job_runs};
use pulse_sim::SimOptions;
use pulse_sim::state::SimConfig;
use sea_orm::sqlx::{self, Connection};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};

use super::tcp_proxy::TcpProxy;
use super::{add_integration, jira_body, start_job, wait_finished};
use crate::crash::{Serve, admin_token, job};
use crate::db_test;
use crate::helpers::{Db, fresh_database, init, pg_base, random_key};
use crate::jira_sync::{assert_matches_sim, assert_no_partial_issue};

fn outage() -> Duration {
    let secs = std::env::var("DRILL_OUTAGE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

async fn issues(conn: &DatabaseConnection) -> u64 {
    jira_issues::Entity::find().count(conn).await.unwrap()
}

/// The way the drill takes the database away and gives it back.
enum Fault {
    Proxy(TcpProxy),
    /// The SQLite file, and the connection holding its write lock while it is taken.
    SqliteLock(String, Option<sqlx::SqliteConnection>),
}

impl Fault {
    async fn take(&mut self) {
        match self {
            Fault::Proxy(p) => p.cut(),
            Fault::SqliteLock(url, held) => {
                let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN EXCLUSIVE").execute(&mut c).await.unwrap();
                *held = Some(c);
            }
        }
    }

    async fn give_back(&mut self) {
        match self {
            Fault::Proxy(p) => p.restore(),
            Fault::SqliteLock(_, held) => {
                let mut c = held.take().unwrap();
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
                c.close().await.unwrap();
            }
        }
    }
}

async fn status(client: &reqwest::Client, url: String) -> Option<u16> {
    client.get(url).send().await.ok().map(|r| r.status().as_u16())
}

async fn the_database_unavailable_for_30_s_fails_the_run_cleanly_and_recovers(db: Db) {
    init();
    let began = Instant::now();
    let sim = pulse_sim::server::start(SimOptions::default()).unwrap();
    sim.state.set_config(SimConfig {
        latency_ms: 25,
        jira_max_results: 10,
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let direct_url = fresh_database(db, &dir).await;
    // The test reads the database directly; the service goes through the fault.
    let (service_url, mut fault) = match db {
        Db::Postgres => {
            let target = pg_base()
                .rsplit('@')
                .next()
                .unwrap()
                .trim_end_matches('/')
                .parse()
                .expect("PULSE_TEST_PG_URL host:port");
            let proxy = TcpProxy::start(target);
            let name = direct_url.rsplit('/').next().unwrap();
            let user = pg_base().split('@').next().unwrap().to_string();
            (format!("{user}@{}/{name}", proxy.addr), Fault::Proxy(proxy))
        }
        Db::Sqlite => (direct_url.clone(), Fault::SqliteLock(direct_url.clone(), None)),
    };
    let key = random_key(32);
    let token = admin_token(&sim).await;
    let conn = pulse_etl::db::connect(&direct_url).await.unwrap();
    let serve = Serve::start(&service_url, &key, &sim).await;
    add_integration(&serve, &token, jira_body(&sim)).await;
    start_job(&serve, &token, "jira_sync").await;
    let total = sim.state.data().jira.issues.len() as u64;
    let started = Instant::now();
    while issues(&conn).await < 10 {
        assert!(started.elapsed() < Duration::from_secs(30), "no page stored in 30 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first_run = job(&conn, "jira_sync").await.current_run_id.expect("a run in progress");

    fault.take().await;
    let cut = Instant::now();
    let at_cut = issues(&conn).await;
    assert!(at_cut < total, "the sync finished before the database went away");
    eprintln!(
        "drill database on {db:?}: unavailable for {:?} with {at_cut} of {total} issues stored",
        outage()
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let (mut live, mut ready) = (Vec::new(), Vec::new());
    while cut.elapsed() < outage() {
        live.push(status(&client, format!("{}/health", serve.base)).await);
        ready.push(status(&client, format!("{}/health/ready", serve.base)).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Nothing the service started while the database was away is half-stored.
    let at_end = issues(&conn).await;
    assert_no_partial_issue(&sim, &conn).await;
    fault.give_back().await;
    let back = Instant::now();
    eprintln!(
        "  /health during the outage: {live:?}\n  /health/ready during the outage: {ready:?}\n  issues stored: {at_cut} at the cut, {at_end} when it ended"
    );
    assert!(live.iter().all(|s| *s == Some(200)), "liveness stays 200: {live:?}");
    assert_eq!(at_end, at_cut, "nothing written while the database was away");
    match db {
        Db::Postgres => assert!(
            ready.iter().all(|s| *s == Some(503)),
            "not ready while the database is away: {ready:?}"
        ),
        Db::Sqlite => assert!(ready.iter().all(|s| *s == Some(200)), "reads still work: {ready:?}"),
    }
    // Waits from here are hang guards; how long recovery takes is printed, not judged.
    while status(&client, format!("{}/health/ready", serve.base)).await != Some(200) {
        assert!(
            back.elapsed() < Duration::from_secs(90),
            "hang guard: not ready 90 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready_after = back.elapsed();

    // The run the outage hit ends with an error, and the job does not stay RUNNING with it.
    let ended = loop {
        let run = job_runs::Entity::find_by_id(first_run)
            .one(&conn)
            .await
            .unwrap()
            .unwrap();
        if run.finished_at.is_some() {
            break run;
        }
        let row = job(&conn, "jira_sync").await;
        assert!(
            back.elapsed() < Duration::from_secs(90),
            "hang guard: the run hit by the outage has not ended 90 s after the database came back: job {} {:?}",
            row.status,
            row.last_error
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "  ready again {ready_after:.1?} after the database came back; the run hit ended '{}': {:?}",
        ended.outcome, ended.error
    );
    assert_ne!(ended.outcome, RunOutcome::Success);
    let error = ended.error.clone().unwrap_or_default();
    assert!(!error.is_empty(), "the failed run says why");
    assert!(
        !error.contains("stopped unexpectedly"),
        "the process did not stop; the run must say what happened: {error}"
    );
    let row = job(&conn, "jira_sync").await;
    assert_ne!(
        row.current_run_id,
        Some(first_run),
        "the job let go of the failed run: {row:?}"
    );

    let done = wait_finished(&conn, &serve, &token, "jira_sync", Duration::from_secs(90)).await;
    assert_eq!(done.last_error, None);
    assert_matches_sim(&sim, &conn).await;
    let (runs, _) = pulse_etl::db::runs::list(&conn, JobType::JiraSync, 0, 10)
        .await
        .unwrap();
    assert_eq!(runs[0].outcome, RunOutcome::Success);
    eprintln!(
        "  runs (newest first): {:?}; drill took {:.1?}",
        runs.iter()
            .map(|r| (&r.trigger, &r.outcome, &r.error))
            .collect::<Vec<_>>(),
        began.elapsed()
    );
    // No connection of the test is left in a transaction.
    conn.execute_unprepared("SELECT 1").await.unwrap();
    serve.kill().await;
}
db_test!(the_database_unavailable_for_30_s_fails_the_run_cleanly_and_recovers);
