//! The orchestrator: controls, the Jira → GitHub chain, retries, force stop, recovery, live events.

use entity::enums::{JobStatus, JobType, RunTrigger};
use std::time::{Duration, Instant};

use entity::jobs;
use pulse_sim::state::SimConfig;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use crate::db_test;
use crate::helpers::{Db, Options, TestApp, assert_force_stopped_and_idle, spawn_app, spawn_app_with};
use crate::jira_sync::{add_jira, assert_equals_ground_truth, set_sim};

async fn admin(app: &TestApp) -> String {
    app.backend_token("admin@example.com", "pulse-admin").await
}

async fn control(app: &TestApp, token: &str, job: &str, action: &str) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(&format!("/api/v1/jobs/{job}/{action}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn status(app: &TestApp, job: &str) -> jobs::Model {
    jobs::Entity::find()
        .filter(jobs::Column::JobType.eq(job))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

/// Waits until the job reaches `want` (panics after `limit`), checking that two jobs never run at once.
async fn wait_for(app: &TestApp, job: &str, want: &[&str], limit: Duration) -> jobs::Model {
    let started = Instant::now();
    loop {
        let all = jobs::Entity::find().all(&app.db).await.unwrap();
        assert!(
            all.iter().filter(|j| j.status == JobStatus::Running).count() <= 1,
            "two RUNNING jobs: {all:?}"
        );
        let row = all.into_iter().find(|j| j.job_type.as_str() == job).unwrap();
        if want.contains(&row.status.as_str()) {
            return row;
        }
        assert!(
            started.elapsed() < limit,
            "{job} is {} after {limit:?}, wanted {want:?}: {:?}",
            row.status,
            row.last_error
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_manual_start_runs_jira_then_github_and_records_the_runs(db: Db) {
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    let token = admin(&app).await;
    let (code, body) = control(&app, &token, "jira_sync", "start").await;
    assert_eq!(code, 200, "{body}");
    assert!(
        ["PENDING", "RUNNING", "FINISHED"].contains(&body["status"].as_str().unwrap()),
        "{body}"
    );
    let jira = wait_for(&app, "jira_sync", &["FINISHED"], Duration::from_secs(60)).await;
    assert_eq!(jira.progress, 100);
    assert!(jira.last_success_at.is_some());
    let github = wait_for(&app, "github_sync", &["FINISHED"], Duration::from_secs(60)).await;
    assert!(
        github.last_started_at.unwrap() >= jira.last_finished_at.unwrap(),
        "GitHub ran after Jira"
    );
    assert_equals_ground_truth(&app).await;
    let runs: Value = app
        .client
        .get(app.url("/api/v1/jobs/jira_sync/runs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run = &runs["runs"][0];
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["outcome"], "success");
    assert!(run["api_requests"].as_i64().unwrap() > 0);
    assert!(run["counts"]["issues"]["inserted"].as_i64().unwrap() > 0, "{run}");
    let events: Value = app
        .client
        .get(app.url(&format!("/api/v1/jobs/jira_sync/runs/{}/events", run["id"])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        events["total"].as_i64().unwrap() >= 2,
        "started and finished are logged: {events}"
    );
    // The history page lists the run.
    app.login_viewer().await;
    let html = app.get("/jobs/jira_sync").await.text().await.unwrap();
    assert_eq!(crate::helpers::count(&html, "#runs-table [data-outcome=success]"), 1);
}
db_test!(a_manual_start_runs_jira_then_github_and_records_the_runs);

async fn a_paused_github_stays_paused_when_jira_finishes(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    control(&app, &token, "jira_sync", "start").await;
    wait_for(&app, "github_sync", &["FINISHED"], Duration::from_secs(30)).await;
    assert_eq!(control(&app, &token, "github_sync", "pause").await.0, 200);
    control(&app, &token, "jira_sync", "start").await;
    wait_for(&app, "jira_sync", &["FINISHED"], Duration::from_secs(30)).await;
    app.state().orchestrator.tick().await;
    assert_eq!(
        status(&app, "github_sync").await.status,
        JobStatus::Paused,
        "never changed automatically"
    );
    let (code, _) = control(&app, &token, "github_sync", "resume").await;
    assert_eq!(code, 200);
    wait_for(&app, "github_sync", &["FINISHED"], Duration::from_secs(30)).await;
}
db_test!(a_paused_github_stays_paused_when_jira_finishes);

async fn refused_transitions_answer_409_with_the_reason(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    for (job, action) in [("jira_sync", "resume"), ("jira_sync", "stop"), ("github_sync", "pause")] {
        let (code, body) = control(&app, &token, job, action).await;
        assert_eq!(code, 409, "{job} {action}: {body}");
        assert!(body["error"].as_str().unwrap().len() > 10);
    }
    assert_eq!(control(&app, &token, "nope", "start").await.0, 404);
    let viewer = app.backend_token("viewer@example.com", "pulse-viewer").await;
    assert_eq!(control(&app, &viewer, "jira_sync", "start").await.0, 403);
    let status: Value = app
        .client
        .get(app.url("/api/v1/jobs/status"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["jobs"][0]["actions"],
        serde_json::json!(["start"]),
        "only allowed actions are offered"
    );
}
db_test!(refused_transitions_answer_409_with_the_reason);

/// A force stop drops the request in flight instead of waiting for its answer: the simulator
/// holds the run's request for an hour and the client gives up on it only after ten minutes,
/// so a run that ends at all has dropped it. How fast a stop is (milliseconds) is measured in
/// `make bench`.
async fn force_stop_drops_the_request_in_flight(db: Db) {
    let mut opts = Options::new(db);
    opts.env.insert("INTEGRATION_TIMEOUT_SECONDS", "600".into());
    let app = spawn_app_with(opts).await;
    add_jira(&app, "cloud").await;
    set_sim(
        &app,
        SimConfig {
            latency_ms: 3_600_000,
            ..SimConfig::default()
        },
    )
    .await;
    let sim = app.sim.as_ref().unwrap();
    sim.state.reset_max_in_flight();
    let answered_before = sim.stats.served("/jira-cloud");
    let token = admin(&app).await;
    control(&app, &token, "jira_sync", "start").await;
    wait_for(&app, "jira_sync", &["RUNNING"], Duration::from_secs(10)).await;
    // The run's first request reaches the simulator, which holds it.
    let asked = Instant::now();
    while sim.state.max_in_flight().jira == 0 {
        assert!(
            asked.elapsed() < Duration::from_secs(60),
            "hang guard: the run sent no request in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, body) = control(&app, &token, "jira_sync", "stop").await;
    assert_eq!(code, 200, "{body}");
    // A hang guard: a run that waited for its request would stay RUNNING for ten minutes.
    let stopped = wait_for(&app, "jira_sync", &["FAILED"], Duration::from_secs(60)).await;
    assert_eq!(
        sim.stats.served("/jira-cloud"),
        answered_before,
        "the run ended before the simulator answered its request: it dropped it"
    );
    assert_force_stopped_and_idle(&stopped);
    let runs = pulse_etl::db::runs::list(&app.db, JobType::JiraSync, 0, 10)
        .await
        .unwrap()
        .0;
    assert_eq!(
        runs[0].outcome,
        entity::enums::RunOutcome::Stopped,
        "{:?}",
        runs[0].error
    );
    assert!(runs[0].finished_at.is_some());
    assert_eq!(
        entity::jira_issues::Entity::find().all(&app.db).await.unwrap().len(),
        0,
        "no partial page"
    );
}
db_test!(force_stop_drops_the_request_in_flight);

/// The pause lands mid-run (part of the issues stored, the checkpoint kept), and the resumed run
/// continues from the checkpoint: it asks for fewer search pages than a whole sync takes, and ends
/// with exactly the simulator's rows.
async fn pause_mid_sync_then_resume_ends_with_identical_rows(db: Db) {
    use sea_orm::PaginatorTrait;
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    let slow = SimConfig {
        latency_ms: 40,
        jira_max_results: 10,
        ..SimConfig::default()
    };
    set_sim(&app, slow.clone()).await;
    let sim = app.sim.as_ref().unwrap();
    let data = sim.state.data().clone();
    let total = data.jira.issues.len() as u64;
    // Search pages of 10 a whole sync asks for: one run of pages per project.
    let whole_sync_pages: u64 = data
        .jira
        .projects
        .iter()
        .map(|p| (data.jira.issues.iter().filter(|i| i.project_id == p.id).count() as u64).div_ceil(10))
        .sum();
    let token = admin(&app).await;
    control(&app, &token, "jira_sync", "start").await;
    let started = Instant::now();
    while entity::jira_issues::Entity::find().count(&app.db).await.unwrap() < total / 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "the sync stores nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(control(&app, &token, "jira_sync", "pause").await.0, 200);
    let paused = wait_for(&app, "jira_sync", &["PAUSED"], Duration::from_secs(10)).await;
    let stored_at_pause = entity::jira_issues::Entity::find().count(&app.db).await.unwrap();
    assert!(
        stored_at_pause >= total / 3 && stored_at_pause < total,
        "the pause landed mid-run: {stored_at_pause} of {total} issues stored"
    );
    assert!(paused.checkpoint.is_some(), "the checkpoint is kept");
    let runs = pulse_etl::db::runs::list(&app.db, JobType::JiraSync, 0, 10)
        .await
        .unwrap()
        .0;
    assert_eq!(runs[0].outcome, entity::enums::RunOutcome::Paused);
    set_sim(&app, SimConfig { latency_ms: 0, ..slow }).await;
    let searched_before = sim.stats.served("search");
    assert_eq!(control(&app, &token, "jira_sync", "resume").await.0, 200);
    wait_for(&app, "jira_sync", &["FINISHED"], Duration::from_secs(60)).await;
    let resumed_pages = sim.stats.served("search") - searched_before;
    assert!(
        resumed_pages < whole_sync_pages,
        "the resumed run asked for {resumed_pages} search pages, a whole sync takes {whole_sync_pages}"
    );
    assert_equals_ground_truth(&app).await;
}
db_test!(pause_mid_sync_then_resume_ends_with_identical_rows);

async fn concurrent_starts_never_run_two_jobs(db: Db) {
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    set_sim(
        &app,
        SimConfig {
            latency_ms: 30,
            ..SimConfig::default()
        },
    )
    .await;
    let token = admin(&app).await;
    let mut handles = Vec::new();
    for i in 0..10 {
        let (client, url, token) = (app.client.clone(), app.url(""), token.clone());
        let job = if i % 2 == 0 { "jira_sync" } else { "github_sync" };
        handles.push(tokio::spawn(async move {
            client
                .post(format!("{url}/api/v1/jobs/{job}/start"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let codes: Vec<u16> = futures_util::future::join_all(handles)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert!(codes.iter().all(|c| [200, 409].contains(c)), "{codes:?}");
    wait_for(&app, "jira_sync", &["FINISHED"], Duration::from_secs(60)).await;
    wait_for(&app, "github_sync", &["FINISHED"], Duration::from_secs(60)).await;
}
db_test!(concurrent_starts_never_run_two_jobs);

async fn failures_are_retried_until_the_attempts_run_out(db: Db) {
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    // Every Jira request fails for the whole test.
    let now = chrono::Utc::now();
    set_sim(
        &app,
        SimConfig {
            outage: Some(pulse_sim::state::Outage {
                from: now - chrono::Duration::minutes(1),
                until: now + chrono::Duration::hours(1),
            }),
            ..SimConfig::default()
        },
    )
    .await;
    let token = admin(&app).await;
    control(&app, &token, "jira_sync", "start").await;
    // The first run plus three retries (max_retry_attempts = 3), then it waits for the main cycle.
    for attempt in 1..=4 {
        let failed = wait_for(&app, "jira_sync", &["FAILED"], Duration::from_secs(90)).await;
        assert_eq!(failed.retry_count, attempt);
        let next = failed.next_retry_at;
        if attempt < 4 {
            let next = next.expect("a retry is scheduled");
            let wait = next - chrono::Utc::now();
            assert!(
                wait > chrono::Duration::minutes(14) && wait <= chrono::Duration::minutes(15),
                "retry in the interval: {wait}"
            );
            // Test clock: make the retry due now instead of in 15 minutes.
            let mut row: jobs::ActiveModel = failed.into();
            row.next_retry_at = Set(Some(chrono::Utc::now()));
            sea_orm::ActiveModelTrait::update(row, &app.db).await.unwrap();
            app.state().orchestrator.tick().await;
            let runs = wait_for(&app, "jira_sync", &["RUNNING", "FAILED"], Duration::from_secs(5)).await;
            assert!(runs.status == JobStatus::Running || runs.retry_count == attempt + 1);
        } else {
            assert!(next.is_none(), "max retry attempts (3) respected");
        }
    }
}
db_test!(failures_are_retried_until_the_attempts_run_out);

#[tokio::test]
async fn a_running_job_left_by_a_dead_process_is_recovered_and_completed() {
    let app = spawn_app(Db::Sqlite).await;
    add_jira(&app, "cloud").await;
    // What a SIGKILLed process leaves behind: RUNNING with an old heartbeat.
    let row = status(&app, "jira_sync").await;
    let mut stale: jobs::ActiveModel = row.into();
    stale.status = Set(JobStatus::Running);
    stale.heartbeat_at = Set(Some(chrono::Utc::now() - chrono::Duration::minutes(5)));
    stale.lease_owner = Set(Some("dead-process".into()));
    sea_orm::ActiveModelTrait::update(stale, &app.db).await.unwrap();
    app.state().orchestrator.tick().await;
    let recovered = wait_for(&app, "jira_sync", &["FINISHED"], Duration::from_secs(60)).await;
    assert_eq!(recovered.last_error, None);
    assert_equals_ground_truth(&app).await;
    let runs = pulse_etl::db::runs::list(&app.db, JobType::JiraSync, 0, 10)
        .await
        .unwrap()
        .0;
    assert_eq!(runs[0].trigger, RunTrigger::Retry, "resumed by the retry path");
}

async fn ws_connect(
    app: &TestApp,
    origin: &str,
    with_cookie: bool,
) -> Result<actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>, String> {
    let url = app.url("/ws").replace("http://", "ws://");
    let mut req = awc::Client::new().ws(url).header("Origin", origin);
    if with_cookie {
        req = req.header("Cookie", app.cookie_header());
    }
    req.connect().await.map(|(_, framed)| framed).map_err(|e| e.to_string())
}

/// awc (actix's client) spawns local tasks, so the socket lives in a `LocalSet`.
async fn the_websocket_streams_a_runs_status_and_progress(db: Db) {
    tokio::task::LocalSet::new().run_until(websocket_body(db)).await;
}

async fn websocket_body(db: Db) {
    use futures_util::StreamExt;
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    assert!(
        ws_connect(&app, &app.url(""), false).await.is_err(),
        "no session, no socket"
    );
    app.login_admin().await;
    assert!(
        ws_connect(&app, "http://evil.example", true).await.is_err(),
        "foreign Origin refused"
    );
    let mut socket = ws_connect(&app, &app.url(""), true).await.expect("handshake");
    let token = admin(&app).await;
    control(&app, &token, "jira_sync", "start").await;
    let mut seen: Vec<String> = Vec::new();
    let mut progress = 0;
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
                if seen.last() != Some(&s) {
                    seen.push(s);
                }
            }
            "progress_update" if msg["job_type"] == "jira_sync" => progress += 1,
            _ => {}
        }
        if seen.last().map(String::as_str) == Some("FINISHED") {
            break;
        }
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("NOT_STARTED"),
        "a snapshot first: {seen:?}"
    );
    let tail: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .skip_while(|s| *s == "NOT_STARTED")
        .collect();
    assert!(
        tail == ["PENDING", "RUNNING", "FINISHED"] || tail == ["RUNNING", "FINISHED"],
        "{seen:?}"
    );
    assert!(progress > 0, "progress updates arrived");
}
db_test!(the_websocket_streams_a_runs_status_and_progress);
