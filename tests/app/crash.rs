//! A real `pulse-etl serve` child process killed with SIGKILL in the middle of a Jira sync:
//! the next process recovers the job from its checkpoint and ends with the simulator's rows.

use entity::enums::{JobStatus, JobType, RunOutcome, RunTrigger};
use std::process::Stdio;
use std::time::{Duration, Instant};

use entity::{jira_issues, jobs};
use pulse_sim::model::STORY_POINTS_FIELD;
use pulse_sim::state::SimConfig;
use pulse_sim::{SimHandle, SimOptions};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::db_test;
use crate::helpers::{Db, fresh_database, init, random_key};
use crate::jira_sync::assert_matches_sim;

/// One `pulse-etl serve` process on a free port, with short job and leader leases (3 s).
pub struct Serve {
    child: Child,
    pub base: String,
}

impl Serve {
    pub async fn start(database_url: &str, encryption_key: &str, sim: &SimHandle) -> Self {
        Self::start_with(database_url, encryption_key, sim, &[]).await
    }

    /// [`Serve::start`] with more (or overridden) environment variables.
    pub async fn start_with(database_url: &str, encryption_key: &str, sim: &SimHandle, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Self::command(database_url, encryption_key, sim);
        cmd.envs(env.iter().copied());
        let child = cmd
            .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while !reqwest::get(format!("{base}/health/ready"))
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
        {
            assert!(started.elapsed() < Duration::from_secs(30), "serve did not get ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, base }
    }

    /// `pulse-etl serve` with the test environment (no bind address, no stdio set).
    pub fn command(database_url: &str, encryption_key: &str, sim: &SimHandle) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pulse-etl"));
        cmd.arg("serve")
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("BACKEND_SERVICE_URL", &sim.urls.backend)
            .env("SECRET_KEY", "k".repeat(64))
            .env("ENCRYPTION_KEY", encryption_key)
            .env("ALLOW_PRIVATE_INTEGRATION_HOSTS", "true")
            .env("JOB_LEASE_SECONDS", "3")
            .env("LEADER_LEASE_SECONDS", "3")
            // `SERVE_LOG=pulse_etl=debug` shows the children's logs when debugging a test.
            .env(
                "LOG_LEVEL",
                std::env::var("SERVE_LOG").unwrap_or_else(|_| "warn".into()),
            );
        cmd
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// `/health/ready`'s `replica` part: `{"id", "role", "leader"}`.
    pub async fn replica(&self) -> Value {
        let body: Value = reqwest::get(format!("{}/health/ready", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["replica"].clone()
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// SIGKILL: no shutdown hook runs, the job row stays RUNNING with its last heartbeat.
    pub async fn kill(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

/// A Backend Service token for the demo admin, for Bearer API calls.
pub async fn admin_token(sim: &SimHandle) -> String {
    let token: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", sim.urls.backend))
        .json(&json!({"email": "admin@example.com", "password": "pulse-admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["token"].as_str().unwrap().to_string()
}

pub async fn job(db: &DatabaseConnection, name: &str) -> jobs::Model {
    jobs::Entity::find()
        .filter(jobs::Column::JobType.eq(name))
        .one(db)
        .await
        .unwrap()
        .unwrap()
}

async fn sigkill_mid_jira_sync_then_restart_completes_with_identical_rows(db: Db) {
    init();
    let sim = pulse_sim::server::start(SimOptions::default()).unwrap();
    // Small pages and some latency: the sync takes several seconds, so the kill lands mid-way.
    sim.state.set_config(SimConfig {
        latency_ms: 15,
        jira_max_results: 10,
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(db, &dir).await;
    let key = random_key(32);
    let token = admin_token(&sim).await;

    let first = Serve::start(&database_url, &key, &sim).await;
    let conn = pulse_etl::db::connect(&database_url).await.unwrap();
    let projects: Vec<String> = sim.state.data().jira.projects.iter().map(|p| p.key.clone()).collect();
    let res = first
        .post(
            &token,
            "/api/v1/integrations?test=false",
            json!({"kind": "jira", "name": "Jira", "flavour": "cloud", "base_url": sim.urls.jira_cloud,
                   "username": "sim@example.com", "secret": "sim-token",
                   "settings": {"projects": projects, "story_points_field": STORY_POINTS_FIELD}}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = first.post(&token, "/api/v1/jobs/jira_sync/start", json!({})).await;
    assert_eq!(res.status(), 200);

    // Kill once some pages are stored, but long before the end.
    let total = sim.state.data().jira.issues.len() as u64;
    let started = Instant::now();
    loop {
        let stored = jira_issues::Entity::find().count(&conn).await.unwrap();
        if stored >= 30 {
            assert!(
                stored < total,
                "the sync finished before the kill ({stored} of {total})"
            );
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no page stored in 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().await;
    let left = job(&conn, "jira_sync").await;
    assert_eq!(
        left.status,
        JobStatus::Running,
        "a killed process leaves its job RUNNING"
    );
    let stored_at_kill = jira_issues::Entity::find().count(&conn).await.unwrap();

    // The next process sees the stale lease (3 s), marks the job FAILED "interrupted" and
    // retries it at once from the checkpoint.
    sim.state.set_config(SimConfig::default());
    let second = Serve::start(&database_url, &key, &sim).await;
    let started = Instant::now();
    let done = loop {
        let row = job(&conn, "jira_sync").await;
        if row.status == JobStatus::Finished {
            break row;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not recovered in 60 s: {} {:?}",
            row.status,
            row.last_error
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done.last_error, None);
    assert_matches_sim(&sim, &conn).await;
    let (runs, _) = pulse_etl::db::runs::list(&conn, JobType::JiraSync, 0, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 2, "the killed run and its recovery");
    assert_eq!(runs[1].outcome, RunOutcome::Interrupted);
    assert_eq!(runs[0].trigger, RunTrigger::Retry);
    assert_eq!(runs[0].outcome, RunOutcome::Success);
    let fetched = runs[0].counts["issues"]["fetched"].as_u64().unwrap_or(0);
    assert!(
        fetched < total,
        "resumed from the checkpoint: fetched {fetched} of {total} again ({stored_at_kill} stored at the kill)"
    );
    second.kill().await;
}
db_test!(sigkill_mid_jira_sync_then_restart_completes_with_identical_rows);
