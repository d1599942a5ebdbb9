//! Concurrent syncs (issue #20): requests side by side within each upstream's limits store
//! exactly the rows a sequential sync stores, on both databases, also when the upstream refuses
//! what exceeds its concurrency cap.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use pulse_etl::integrations::control::{RunContext, RunControl};
use pulse_etl::integrations::{github, jira};
use pulse_sim::generate::SizeOptions;
use pulse_sim::model::STORY_POINTS_FIELD;
use pulse_sim::state::SimConfig;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::db_test;
use crate::github_sync::truth::{self as gh_truth, Setup};
use crate::github_sync::{github_body, jira_projects_body};
use crate::helpers::{Db, Options, TestApp, select_attr, spawn_app_with};
use crate::jira_sync::{self, assert_matches_sim};

async fn post_integration(app: &TestApp, body: &Value) -> (u16, Value) {
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let res = app
        .client
        .post(app.url("/api/v1/integrations?test=false"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn jira_body(app: &TestApp, flavour: &str, max_concurrency: i64) -> Value {
    let sim = app.sim.as_ref().unwrap();
    let projects: Vec<String> = sim.state.data().jira.projects.iter().map(|p| p.key.clone()).collect();
    let (url, user, secret) = match flavour {
        "cloud" => (sim.urls.jira_cloud.clone(), Some("sim@example.com"), "sim-token"),
        _ => (sim.urls.jira_dc.clone(), None, "sim-pat"),
    };
    json!({"kind": "jira", "name": "Jira", "flavour": flavour, "base_url": url, "username": user,
           "secret": secret, "settings": {"projects": projects, "story_points_field": STORY_POINTS_FIELD,
                        "max_concurrency": max_concurrency}})
}

/// A fresh app whose simulator has several pages per project and repository.
async fn spawn(db: Db, cfg: SimConfig) -> TestApp {
    spawn_with_repos(db, cfg, SizeOptions::small().repos).await
}

async fn spawn_with_repos(db: Db, cfg: SimConfig, repos: usize) -> TestApp {
    let mut opts = Options::new(db);
    opts.sim.size = SizeOptions {
        issues: 400,
        prs: 500,
        repos,
        ..SizeOptions::small()
    };
    let app = spawn_app_with(opts).await;
    app.sim.as_ref().unwrap().state.set_config(cfg);
    app
}

/// A run whose progress messages are kept.
fn watched() -> (RunContext, Arc<Mutex<Vec<String>>>) {
    let messages = Arc::new(Mutex::new(Vec::new()));
    let sink = messages.clone();
    let ctx = RunContext::new(
        RunControl::new(),
        Arc::new(move |_, m: String| sink.lock().unwrap().push(m)),
    );
    (ctx, messages)
}

async fn jira_sync(app: &TestApp) -> RunContext {
    jira_sync_watched(app).await.0
}

async fn jira_sync_watched(app: &TestApp) -> (RunContext, Vec<String>) {
    let state = app.state();
    let deps = jira::sync::Deps {
        db: &state.db,
        vault: &state.vault,
        outbound: state.outbound,
    };
    let (ctx, messages) = watched();
    jira::sync::run(&deps, &ctx).await.unwrap();
    let messages = messages.lock().unwrap().clone();
    (ctx, messages)
}

async fn github_sync(app: &TestApp) -> RunContext {
    let state = app.state();
    let deps = github::sync::Deps {
        db: &state.db,
        vault: &state.vault,
        outbound: state.outbound,
    };
    let ctx = RunContext::detached();
    github::sync::run(&deps, &ctx).await.unwrap();
    ctx
}

/// Small pages and a little latency, so that requests overlap when they may.
fn paged() -> SimConfig {
    SimConfig {
        latency_ms: 5,
        jira_max_results: 20,
        ..SimConfig::default()
    }
}

async fn a_concurrent_jira_sync_stores_exactly_what_a_sequential_one_stores(db: Db) {
    for flavour in ["cloud", "data_center"] {
        let sequential = spawn(db, paged()).await;
        assert_eq!(
            post_integration(&sequential, &jira_body(&sequential, flavour, 1))
                .await
                .0,
            201
        );
        let seq = jira_sync(&sequential).await;
        let concurrent = spawn(db, paged()).await;
        assert_eq!(
            post_integration(&concurrent, &jira_body(&concurrent, flavour, 8))
                .await
                .0,
            201
        );
        let (conc, progress) = jira_sync_watched(&concurrent).await;
        // Progress says how many slices are in flight and the rate.
        let paging: Vec<&String> = progress.iter().filter(|m| m.contains("issues stored")).collect();
        assert!(!paging.is_empty(), "{progress:?}");
        assert!(
            paging.iter().all(
                |m| (m.contains(" stream in flight") || m.contains(" streams in flight")) && m.ends_with(" issues/s")
            ),
            "{paging:?}"
        );
        assert_eq!(
            seq.stats.peak_in_flight.load(Ordering::Relaxed),
            1,
            "{flavour}: one at a time"
        );
        assert!(
            conc.stats.peak_in_flight.load(Ordering::Relaxed) > 1,
            "{flavour}: requests overlapped"
        );
        assert!(conc.stats.peak_in_flight.load(Ordering::Relaxed) <= 8, "{flavour}");
        let (a, b) = (
            jira_sync::stored(&sequential.db).await,
            jira_sync::stored(&concurrent.db).await,
        );
        assert_eq!(a.0, b.0, "{flavour}: issues");
        assert_eq!(a.1, b.1, "{flavour}: status histories");
        assert_matches_sim(concurrent.sim.as_ref().unwrap(), &concurrent.db).await;
        assert!(
            pulse_etl::db::jobs::checkpoint(&concurrent.db, jira::sync::JOB)
                .await
                .unwrap()
                .is_none(),
            "{flavour}: every slice finished, the checkpoint is cleared"
        );
    }
}
db_test!(a_concurrent_jira_sync_stores_exactly_what_a_sequential_one_stores);

async fn add_github(app: &TestApp, max_concurrency: i64) -> Setup {
    let sim = app.sim.as_ref().unwrap();
    assert_eq!(post_integration(app, &jira_projects_body(sim)).await.0, 201);
    let (mut body, setup) = github_body(sim, "github", "deployments", None);
    body["settings"]["max_concurrency"] = json!(max_concurrency);
    assert_eq!(post_integration(app, &body).await.0, 201);
    setup
}

async fn a_concurrent_github_sync_stores_exactly_what_a_sequential_one_stores(db: Db) {
    let sequential = spawn(db, paged()).await;
    add_github(&sequential, 1).await;
    let seq = github_sync(&sequential).await;
    let concurrent = spawn(db, paged()).await;
    let setup = add_github(&concurrent, 4).await;
    let conc = github_sync(&concurrent).await;
    assert_eq!(seq.stats.peak_in_flight.load(Ordering::Relaxed), 1);
    assert!(
        conc.stats.peak_in_flight.load(Ordering::Relaxed) > 1,
        "repositories overlapped"
    );
    assert!(conc.stats.peak_in_flight.load(Ordering::Relaxed) <= 4);
    assert_eq!(
        gh_truth::stored_in(&sequential.db).await,
        gh_truth::stored_in(&concurrent.db).await
    );
    gh_truth::assert_matches_sim(concurrent.sim.as_ref().unwrap(), &concurrent.db, &setup).await;
}
db_test!(a_concurrent_github_sync_stores_exactly_what_a_sequential_one_stores);

/// More repositories than streams: one GraphQL request sizes them (the simulator answers its
/// totals) and they are read largest first; the rows are a sequential sync's.
async fn more_repositories_than_streams_are_sized_in_one_request_and_stored_exactly(db: Db) {
    let graphql = |app: &TestApp| app.sim.as_ref().unwrap().stats.served_with("/graphql", "200");
    let sequential = spawn_with_repos(db, paged(), 20).await;
    add_github(&sequential, 1).await;
    let seq = github_sync(&sequential).await;
    // Two in flight: 2 × STREAMS_PER_SLOT repositories side by side, fewer than the 19 read.
    const { assert!(2 * github::sync::STREAMS_PER_SLOT < 19) };
    let concurrent = spawn_with_repos(db, paged(), 20).await;
    let setup = add_github(&concurrent, 2).await;
    let conc = github_sync(&concurrent).await;
    assert_eq!(graphql(&concurrent), graphql(&sequential) + 1, "one sizing request");
    assert_eq!(conc.stats.requests(), seq.stats.requests() + 1);
    assert_eq!(
        gh_truth::stored_in(&sequential.db).await,
        gh_truth::stored_in(&concurrent.db).await
    );
    gh_truth::assert_matches_sim(concurrent.sim.as_ref().unwrap(), &concurrent.db, &setup).await;
}
db_test!(more_repositories_than_streams_are_sized_in_one_request_and_stored_exactly);

async fn max_concurrency_outside_1_to_32_is_refused_with_the_field_named(db: Db) {
    let app = spawn(db, SimConfig::default()).await;
    for bad in [json!(0), json!(33), json!(-4)] {
        let mut body = jira_body(&app, "cloud", 8);
        body["settings"]["max_concurrency"] = bad.clone();
        let (status, answer) = post_integration(&app, &body).await;
        assert_eq!(status, 422, "{bad}: {answer}");
        assert_eq!(answer["fields"][0]["field"], "max_concurrency", "{bad}: {answer}");
    }
    let (status, answer) = post_integration(&app, &jira_body(&app, "cloud", 32)).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["settings"]["max_concurrency"], 32, "{answer}");
    // The edit form shows it, and a form post outside the range is refused next to the field.
    app.login_admin().await;
    let edit = format!("/integrations/{}/edit", answer["id"]);
    let html = app
        .client
        .get(app.url(&edit))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(select_attr(&html, "#max_concurrency", "value").as_deref(), Some("32"));
    let csrf = app.csrf(&edit).await;
    let res = app
        .client
        .post(app.url(&format!("/integrations/{}", answer["id"])))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("kind", "jira"),
            ("name", "Jira"),
            ("flavour", "cloud"),
            ("base_url", app.sim.as_ref().unwrap().urls.jira_cloud.as_str()),
            ("username", "sim@example.com"),
            ("projects", "PAY"),
            ("max_concurrency", "40"),
            ("skip_test", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(
        select_attr(&html, "#max_concurrency", "aria-invalid").as_deref(),
        Some("true")
    );
}
db_test!(max_concurrency_outside_1_to_32_is_refused_with_the_field_named);

/// The simulator refuses what exceeds 3 in flight (Jira: 429 + Retry-After): the limiter halves
/// and the sync still stores every row; the integration keeps what its last run saw.
async fn a_jira_capped_below_the_setting_refuses_some_and_every_row_is_stored(db: Db) {
    let capped = SimConfig {
        jira_max_concurrent: Some(3),
        ..paged()
    };
    let app = spawn(db, capped).await;
    let (status, created) = post_integration(&app, &jira_body(&app, "cloud", 8)).await;
    assert_eq!(status, 201);
    let ctx = jira_sync(&app).await;
    assert_matches_sim(app.sim.as_ref().unwrap(), &app.db).await;
    let sim = app.sim.as_ref().unwrap();
    let refused = sim.stats.served_with("/jira-cloud", "429");
    assert!(refused > 0, "the cap was met");
    assert_eq!(ctx.stats.throttled.load(Ordering::Relaxed), refused);
    assert!(sim.state.max_in_flight().jira > 3);
    let row = entity::integrations::Entity::find_by_id(created["id"].as_i64().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let seen = row.last_sync_stats.expect("the last run's figures");
    assert_eq!(seen["throttled"].as_u64(), Some(refused), "{seen}");
    assert_eq!(seen["max_concurrency"], 8, "{seen}");
    let peak = seen["peak_in_flight"].as_u64().unwrap();
    assert!(peak > 1 && peak <= 8, "{seen}");
    // The integrations page shows them.
    app.login_admin().await;
    let html = app
        .client
        .get(app.url("/integrations"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        select_attr(&html, ".sync-figures", "data-throttled"),
        Some(refused.to_string())
    );
    assert_eq!(select_attr(&html, ".sync-figures", "data-peak"), Some(peak.to_string()));
    // And /metrics counts the upstream's answers by status class, and the time waited.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        r#"pulse_upstream_requests_total{upstream="jira",status="429"}"#,
        r#"pulse_upstream_requests_total{upstream="jira",status="2xx"}"#,
        r#"pulse_upstream_request_duration_seconds_count{upstream="jira"}"#,
        r#"pulse_rate_limit_wait_seconds_total{upstream="jira"}"#,
    ] {
        assert!(metrics.lines().any(|l| l.starts_with(series)), "{series} in\n{metrics}");
    }
}
db_test!(a_jira_capped_below_the_setting_refuses_some_and_every_row_is_stored);

/// GitHub capped at 2 in flight answers the rest with its secondary-limit 403: nothing is lost.
async fn a_github_capped_below_the_setting_refuses_some_and_every_row_is_stored(db: Db) {
    // Answers slow enough that the repositories' first pages are all in flight together.
    let capped = SimConfig {
        github_max_concurrent: Some(2),
        latency_ms: 500,
        ..paged()
    };
    let app = spawn(db, capped).await;
    let setup = add_github(&app, 4).await;
    let ctx = github_sync(&app).await;
    gh_truth::assert_matches_sim(app.sim.as_ref().unwrap(), &app.db, &setup).await;
    let sim = app.sim.as_ref().unwrap();
    let refused = sim.stats.served_with("", "403");
    let requests = sim.stats.0.lock().unwrap().clone();
    assert!(refused > 0, "the cap was met: {requests:?}");
    assert_eq!(ctx.stats.throttled.load(Ordering::Relaxed), refused);
    assert!(sim.state.max_in_flight().github > 2);
}
db_test!(a_github_capped_below_the_setting_refuses_some_and_every_row_is_stored);
