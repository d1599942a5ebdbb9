//! Several replicas on one PostgreSQL (issue #11): real `pulse-etl serve` processes on loopback
//! sharing one database. One leads and runs the jobs; a killed leader is replaced within the
//! lease and its job resumes from the checkpoint; controls and live status work on any replica.
//! Leases are 3 s here (`Serve`); run with `--nocapture` to see the measured times.

use entity::enums::{JobStatus, JobType, RunOutcome};
use std::time::{Duration, Instant};

use entity::jira_issues;
use pulse_sim::model::STORY_POINTS_FIELD;
use pulse_sim::state::SimConfig;
use pulse_sim::{SimHandle, SimOptions};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::crash::{Serve, job};
use crate::helpers::{Db, assert_force_stopped_and_idle, fresh_database, init, random_key, select_attr};
use crate::jira_sync::assert_matches_sim;

/// Two replicas on one fresh PostgreSQL database; `a` started first, so it leads.
struct Pair {
    sim: SimHandle,
    token: String,
    conn: DatabaseConnection,
    a: Serve,
    b: Serve,
    _dir: TempDir,
}

async fn two_replicas(cfg: SimConfig) -> Pair {
    two_replicas_with(cfg, &[]).await
}

/// [`two_replicas`] with more (or overridden) environment variables for both.
async fn two_replicas_with(cfg: SimConfig, env: &[(&str, &str)]) -> Pair {
    init();
    let sim = pulse_sim::server::start(SimOptions::default()).unwrap();
    sim.state.set_config(cfg);
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(Db::Postgres, &dir).await;
    let key = random_key(32);
    let token: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", sim.urls.backend))
        .json(&json!({"email": "admin@example.com", "password": "pulse-admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let a = Serve::start_with(&database_url, &key, &sim, env).await;
    let b = Serve::start_with(&database_url, &key, &sim, env).await;
    let conn = pulse_etl::db::connect(&database_url).await.unwrap();
    Pair {
        sim,
        token,
        conn,
        a,
        b,
        _dir: dir,
    }
}

impl Pair {
    /// Adds the simulated Jira Cloud through `via`.
    async fn add_jira(&self, via: &Serve) {
        let projects: Vec<String> = self
            .sim
            .state
            .data()
            .jira
            .projects
            .iter()
            .map(|p| p.key.clone())
            .collect();
        let body = json!({"kind": "jira", "name": "Jira", "flavour": "cloud", "base_url": self.sim.urls.jira_cloud,
                          "username": "sim@example.com", "secret": "sim-token",
                          "settings": {"projects": projects, "story_points_field": STORY_POINTS_FIELD}});
        let res = via.post(&self.token, "/api/v1/integrations?test=false", body).await;
        assert_eq!(res.status(), 201);
    }

    async fn control(&self, via: &Serve, job: &str, action: &str) -> (u16, Value) {
        let res = via
            .post(&self.token, &format!("/api/v1/jobs/{job}/{action}"), json!({}))
            .await;
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    /// Waits for the job to reach `want`; every RUNNING row seen meanwhile must belong to
    /// `runner` (only the leader runs jobs).
    async fn wait_for(&self, want: &str, runner: &str, limit: Duration) -> entity::jobs::Model {
        let started = Instant::now();
        loop {
            let all = entity::jobs::Entity::find().all(&self.conn).await.unwrap();
            for row in all.iter().filter(|j| j.status == JobStatus::Running) {
                assert_eq!(row.lease_owner.as_deref(), Some(runner), "run by a non-leader: {row:?}");
            }
            let row = all.into_iter().find(|j| j.job_type == JobType::JiraSync).unwrap();
            if row.status.as_str() == want {
                return row;
            }
            assert!(
                started.elapsed() < limit,
                "jira_sync is {} after {limit:?}, wanted {want}: {:?}",
                row.status,
                row.last_error
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn stored(conn: &DatabaseConnection) -> u64 {
    jira_issues::Entity::find().count(conn).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_leads_and_a_killed_leader_is_replaced_with_identical_rows() {
    let p = two_replicas(SimConfig {
        latency_ms: 15,
        jira_max_results: 10,
        ..SimConfig::default()
    })
    .await;
    let (ra, rb) = (p.a.replica().await, p.b.replica().await);
    assert_eq!(
        (ra["role"].as_str(), rb["role"].as_str()),
        (Some("leader"), Some("follower"))
    );
    assert_eq!(rb["leader"], ra["id"], "the follower names the leader");
    let (a_id, b_id) = (ra["id"].as_str().unwrap(), rb["id"].as_str().unwrap());

    // Everything through the follower: it writes configuration itself and forwards the start.
    p.add_jira(&p.b).await;
    let (code, body) = p.control(&p.b, "jira_sync", "start").await;
    assert_eq!(code, 200, "{body}");
    let total = p.sim.state.data().jira.issues.len() as u64;
    let started = Instant::now();
    loop {
        let row = job(&p.conn, "jira_sync").await;
        if row.status == JobStatus::Running {
            assert_eq!(row.lease_owner.as_deref(), Some(a_id), "the leader runs it");
        }
        let n = stored(&p.conn).await;
        if n >= 30 {
            assert!(n < total, "the sync finished before the kill ({n} of {total})");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no page stored in 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let Pair { a, b, sim, conn, .. } = p;
    let before = pulse_etl::db::leader::current(&conn).await.unwrap().unwrap();
    assert_eq!(before.holder.as_deref(), Some(a_id), "the lease names the leader");
    a.kill().await;
    let killed = Instant::now();
    let stored_at_kill = stored(&conn).await;
    // Waits are hang guards (the lease is 3 s); how long a takeover takes is printed, not judged.
    while b.replica().await["role"] != "leader" {
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "hang guard: the follower did not take over in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let takeover = killed.elapsed();
    let after = pulse_etl::db::leader::current(&conn).await.unwrap().unwrap();
    assert_eq!(
        (after.holder.as_deref(), after.epoch),
        (Some(b_id), before.epoch + 1),
        "the lease changed hands once, to the follower"
    );
    let resumed = loop {
        let row = job(&conn, "jira_sync").await;
        if row.status == JobStatus::Running && row.lease_owner.as_deref() == Some(b_id) {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "hang guard: the job was not resumed by the new leader in 60 s: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!(
        "replicas: leader lease 3 s; SIGKILL → follower leads after {takeover:.2?}, job running again after {resumed:.2?}"
    );
    let pair = PairRef { conn: &conn };
    let done = pair.wait_finished(b_id).await;
    assert_eq!(done.last_error, None);
    assert_matches_sim(&sim, &conn).await;
    let (runs, _) = pulse_etl::db::runs::list(&conn, JobType::JiraSync, 0, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 2, "the killed run and its recovery");
    assert_eq!(runs[1].outcome, RunOutcome::Interrupted);
    assert_eq!(
        (runs[0].trigger.as_str(), runs[0].outcome.as_str()),
        ("retry", "success")
    );
    let fetched = runs[0].counts["issues"]["fetched"].as_u64().unwrap_or(0);
    assert!(
        fetched < total,
        "resumed from the checkpoint: fetched {fetched} of {total} again ({stored_at_kill} stored at the kill)"
    );
    b.kill().await;
}

/// The survivor alone, after the pair was taken apart.
struct PairRef<'a> {
    conn: &'a DatabaseConnection,
}

impl PairRef<'_> {
    async fn wait_finished(&self, runner: &str) -> entity::jobs::Model {
        let started = Instant::now();
        loop {
            let row = job(self.conn, "jira_sync").await;
            if row.status == JobStatus::Running {
                assert_eq!(row.lease_owner.as_deref(), Some(runner));
            }
            if row.status == JobStatus::Finished {
                return row;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "not finished in 60 s: {} {:?}",
                row.status,
                row.last_error
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The simulator holds the leader's request for an hour and the leader's client gives up on it
/// only after ten minutes: a run that ends at all after the stop has dropped it. How fast a
/// stop is is measured in `make bench`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_force_stop_sent_to_the_follower_drops_the_leaders_request_in_flight() {
    let p = two_replicas_with(
        SimConfig {
            latency_ms: 3_600_000,
            ..SimConfig::default()
        },
        &[("INTEGRATION_TIMEOUT_SECONDS", "600")],
    )
    .await;
    let leader = p.a.replica().await["id"].as_str().unwrap().to_string();
    p.add_jira(&p.a).await;
    p.sim.state.reset_max_in_flight();
    let answered_before = p.sim.stats.served("/jira-cloud");
    assert_eq!(p.control(&p.a, "jira_sync", "start").await.0, 200);
    p.wait_for("RUNNING", &leader, Duration::from_secs(10)).await;
    // The leader's first request reaches the simulator, which holds it.
    let asked = Instant::now();
    while p.sim.state.max_in_flight().jira == 0 {
        assert!(
            asked.elapsed() < Duration::from_secs(60),
            "hang guard: the leader sent no request in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, body) = p.control(&p.b, "jira_sync", "stop").await;
    assert_eq!(code, 200, "{body}");
    // A hang guard: a leader that waited for its request would stay RUNNING for ten minutes.
    let stopped = p.wait_for("FAILED", &leader, Duration::from_secs(60)).await;
    eprintln!(
        "replicas: force stop sent to the follower; job FAILED after {:.2?}",
        asked.elapsed()
    );
    assert_eq!(
        p.sim.stats.served("/jira-cloud"),
        answered_before,
        "the run ended before the simulator answered its request: the leader dropped it"
    );
    assert_force_stopped_and_idle(&stopped);
    let (runs, _) = pulse_etl::db::runs::list(&p.conn, JobType::JiraSync, 0, 10)
        .await
        .unwrap();
    assert_eq!(runs[0].outcome, RunOutcome::Stopped, "{:?}", runs[0].error);
    assert_eq!(stored(&p.conn).await, 0, "no partial page");
    // The leader's refusal reaches the follower's caller.
    let (code, body) = p.control(&p.b, "jira_sync", "resume").await;
    assert_eq!(code, 409, "{body}");
    assert!(body["error"].as_str().unwrap().len() > 10, "{body}");
}

/// awc (actix's client) spawns local tasks, so the socket lives in a `LocalSet`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_on_the_follower_receives_the_leaders_status_and_progress() {
    tokio::task::LocalSet::new().run_until(websocket_body()).await;
}

async fn websocket_body() {
    use futures_util::StreamExt;
    let p = two_replicas(SimConfig {
        latency_ms: 15,
        jira_max_results: 10,
        ..SimConfig::default()
    })
    .await;
    let leader = p.a.replica().await["id"].as_str().unwrap().to_string();
    // A browser on the follower: log in, open the dashboard, then the socket.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = browser.get(format!("{}/login", p.b.base)).send().await.unwrap();
    let csrf = select_attr(&login.text().await.unwrap(), "input[name=csrf_token]", "value").unwrap();
    let res = browser
        .post(format!("{}/login", p.b.base))
        .form(&[
            ("email", "admin@example.com"),
            ("password", "pulse-admin"),
            ("csrf_token", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = browser
        .get(format!("{}/", p.b.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        select_attr(&page, "[data-replica] [data-leader]", "data-leader").as_deref(),
        Some(leader.as_str()),
        "the follower's health panel names the leader"
    );
    let cookie = reqwest::cookie::CookieStore::cookies(&*jar, &p.b.base.parse().unwrap())
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap();
    let (_, mut socket) = awc::Client::new()
        .ws(format!("{}/ws", p.b.base.replace("http://", "ws://")))
        .header("Origin", p.b.base.clone())
        .header("Cookie", cookie)
        .connect()
        .await
        .expect("handshake");

    p.add_jira(&p.a).await;
    let asked = Instant::now();
    let (code, _) = p.control(&p.a, "jira_sync", "start").await;
    assert_eq!(code, 200);
    let mut seen: Vec<String> = Vec::new();
    let mut running_after = None;
    let mut progress = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_secs(5), socket.next()).await else {
            break;
        };
        let awc::ws::Frame::Text(text) = frame else { continue };
        let msg: Value = serde_json::from_slice(&text).unwrap();
        match msg["type"].as_str().unwrap() {
            "job_status" if msg["job_type"] == "jira_sync" => {
                let s = msg["status"].as_str().unwrap().to_string();
                if s == "RUNNING" && running_after.is_none() {
                    running_after = Some(asked.elapsed());
                }
                if seen.last() != Some(&s) {
                    seen.push(s);
                }
            }
            "progress_update" if msg["job_type"] == "jira_sync" => progress.push(msg["progress"].as_i64().unwrap()),
            _ => {}
        }
        if seen.last().map(String::as_str) == Some("FINISHED") {
            break;
        }
    }
    let running_after = running_after.expect("RUNNING reached the follower's socket");
    eprintln!(
        "replicas: follower socket saw RUNNING {running_after:.2?} after the start; {} progress updates; statuses {seen:?}",
        progress.len()
    );
    assert_eq!(
        seen.first().map(String::as_str),
        Some("NOT_STARTED"),
        "a snapshot first: {seen:?}"
    );
    assert_eq!(seen.last().map(String::as_str), Some("FINISHED"), "{seen:?}");
    assert!(seen.contains(&"RUNNING".to_string()), "{seen:?}");
    assert!(progress.len() >= 2, "progress reached the follower: {progress:?}");
}

fn signal(who: &Serve, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &who.pid().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// A leader frozen (SIGSTOP) past its lease is like one cut off from the database: the follower
/// takes over; when the old leader wakes it steps down and stops its job (a page it was writing
/// rolls back: the job row names the new owner, so its checkpoint cannot be saved).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_steps_down_when_it_wakes_and_only_the_new_leader_runs_the_job() {
    let p = two_replicas(SimConfig {
        latency_ms: 15,
        jira_max_results: 10,
        ..SimConfig::default()
    })
    .await;
    let b_id = p.b.replica().await["id"].as_str().unwrap().to_string();
    p.add_jira(&p.a).await;
    assert_eq!(p.control(&p.a, "jira_sync", "start").await.0, 200);
    let started = Instant::now();
    while stored(&p.conn).await < 30 {
        assert!(started.elapsed() < Duration::from_secs(30), "no page stored in 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a_id = p.a.replica().await["id"].as_str().unwrap().to_string();
    let before = pulse_etl::db::leader::current(&p.conn).await.unwrap().unwrap();
    assert_eq!(
        before.holder.as_deref(),
        Some(a_id.as_str()),
        "the lease names the leader"
    );
    signal(&p.a, "-STOP");
    let frozen = Instant::now();
    // Waits are hang guards (the lease is 3 s); how long each step takes is not judged here.
    while p.b.replica().await["role"] != "leader" {
        assert!(
            frozen.elapsed() < Duration::from_secs(60),
            "hang guard: the follower did not take over in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = pulse_etl::db::leader::current(&p.conn).await.unwrap().unwrap();
    assert_eq!(
        (after.holder.as_deref(), after.epoch),
        (Some(b_id.as_str()), before.epoch + 1),
        "the lease changed hands once, to the follower"
    );
    loop {
        let row = job(&p.conn, "jira_sync").await;
        if row.status == JobStatus::Running && row.lease_owner.as_deref() == Some(b_id.as_str()) {
            break;
        }
        // Takeover, then the reap waits until PostgreSQL ends the frozen leader's open
        // transaction (idle_in_transaction_session_timeout = the 3 s lease).
        assert!(
            frozen.elapsed() < Duration::from_secs(60),
            "hang guard: the job was not resumed by the new leader in 60 s: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal(&p.a, "-CONT");
    let woke = Instant::now();
    while p.a.replica().await["role"] != "follower" {
        assert!(
            woke.elapsed() < Duration::from_secs(60),
            "hang guard: the woken leader did not step down in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lease = pulse_etl::db::leader::current(&p.conn).await.unwrap().unwrap();
    assert_eq!(
        (lease.holder.as_deref(), lease.epoch),
        (Some(b_id.as_str()), after.epoch),
        "the woken leader did not take the lease back"
    );
    eprintln!("replicas: the woken leader stepped down after {:.2?}", woke.elapsed());
    // Until the end, only the new leader runs the job; its rows are the simulator's.
    p.wait_for("FINISHED", &b_id, Duration::from_secs(60)).await;
    assert_matches_sim(&p.sim, &p.conn).await;
    let lease = pulse_etl::db::leader::current(&p.conn).await.unwrap().unwrap();
    assert_eq!(lease.holder.as_deref(), Some(b_id.as_str()));
    let (runs, _) = pulse_etl::db::runs::list(&p.conn, JobType::JiraSync, 0, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 2, "the frozen leader's run and the new leader's");
    assert_eq!(runs[1].outcome, RunOutcome::Interrupted, "{:?}", runs[1].error);
    assert_eq!(runs[0].outcome, RunOutcome::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_has_one_holder_and_changes_hands_only_after_it_expires() {
    use pulse_etl::db::leader::{acquire, release};
    init();
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(Db::Postgres, &dir).await;
    let db = pulse_etl::db::connect(&url).await.unwrap();
    pulse_etl::db::migrate(&db).await.unwrap();
    let lease = Duration::from_secs(1);
    assert_eq!(acquire(&db, "a", lease).await.unwrap(), Some(1));
    assert_eq!(acquire(&db, "b", lease).await.unwrap(), None, "held by a");
    assert_eq!(
        acquire(&db, "a", lease).await.unwrap(),
        Some(1),
        "a renewal keeps the epoch"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        acquire(&db, "b", lease).await.unwrap(),
        Some(2),
        "expired: b takes over"
    );
    assert_eq!(acquire(&db, "a", lease).await.unwrap(), None, "a lost it");
    release(&db, "a").await.unwrap();
    assert_eq!(
        acquire(&db, "a", lease).await.unwrap(),
        None,
        "only the holder releases"
    );
    release(&db, "b").await.unwrap();
    assert_eq!(
        acquire(&db, "a", lease).await.unwrap(),
        Some(3),
        "released: free at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_sqlite_file_is_refused() {
    init();
    let sim = pulse_sim::server::start(SimOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(Db::Sqlite, &dir).await;
    let key = random_key(32);
    let first = Serve::start(&url, &key, &sim).await;
    let second = tokio::time::timeout(
        Duration::from_secs(30),
        Serve::command(&url, &key, &sim)
            .env("BIND_ADDRESS", "127.0.0.1:0")
            .output(),
    )
    .await
    .expect("refused at once")
    .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("another pulse-etl process is already using the SQLite database"),
        "{stderr}"
    );
    assert!(stderr.contains("PostgreSQL"), "says what to use instead: {stderr}");
    // The lock dies with its process (even by SIGKILL): the next one starts.
    first.kill().await;
    Serve::start(&url, &key, &sim).await.kill().await;
}
