#![allow(clippy::unwrap_used)] // tests fail loudly by design

//! `/metrics` after syncs that succeed, fail and stop at a rate limit, and the notifications a
//! webhook receives meanwhile. A test binary of its own with a single test: the Prometheus
//! recorder is one per process, so every counter here is this test's alone and is checked
//! exactly.

/// The service's allocator, so the heap gauges read what this process allocated.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "../app/helpers.rs"]
#[allow(dead_code)] // shared with the app tests, which use all of it
mod helpers;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use helpers::{Db, TestApp, spawn_app};
use pulse_sim::state::{Outage, SimConfig};
use serde_json::{Value, json};

/// A webhook that keeps every JSON body it is sent; answers 500 while `failing` is set.
struct Webhook {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

fn webhook() -> Webhook {
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let keep = bodies.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let keep = keep.clone();
        App::new().route(
            "/hook",
            web::post().to(move |body: web::Json<Value>| {
                let keep = keep.clone();
                async move {
                    keep.lock().unwrap().push(body.into_inner());
                    HttpResponse::Ok().body("ok")
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Webhook {
        url: format!("http://127.0.0.1:{port}/hook"),
        bodies,
    }
}

async fn admin(app: &TestApp) -> String {
    app.backend_token("admin@example.com", "pulse-admin").await
}

async fn call(app: &TestApp, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Starts `job` and waits until it has run (its status leaves PENDING/RUNNING, and its run is in
/// the history).
async fn run_job(app: &TestApp, token: &str, job: &str) -> String {
    let runs_before = runs(app, token, job).await;
    let (code, body) = call(
        app,
        token,
        reqwest::Method::POST,
        &format!("/api/v1/jobs/{job}/start"),
        None,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    wait_idle(app, token, job, runs_before + 1).await
}

async fn runs(app: &TestApp, token: &str, job: &str) -> u64 {
    call(
        app,
        token,
        reqwest::Method::GET,
        &format!("/api/v1/jobs/{job}/runs"),
        None,
    )
    .await
    .1["total"]
        .as_u64()
        .unwrap()
}

/// Waits until `job` has at least `runs` runs and is neither PENDING nor RUNNING; its status.
async fn wait_idle(app: &TestApp, token: &str, job: &str, runs_wanted: u64) -> String {
    let started = Instant::now();
    loop {
        // The run count first: a run is recorded only after the job left NOT_STARTED (queued),
        // so a status read after it cannot be the one from before the start. Read the other way
        // round, a start landing between the two reads returned NOT_STARTED (seen once on
        // PostgreSQL under load).
        let enough = runs(app, token, job).await >= runs_wanted;
        let (_, s) = call(app, token, reqwest::Method::GET, "/api/v1/jobs/status", None).await;
        let row = s["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["job_type"] == job)
            .unwrap()
            .clone();
        let status = row["status"].as_str().unwrap().to_string();
        if enough && !["PENDING", "RUNNING"].contains(&status.as_str()) {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{job} still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Prometheus text: every sample as (name, labels) → value, and the families with HELP and TYPE.
struct Scrape {
    samples: BTreeMap<(String, BTreeMap<String, String>), f64>,
    help: Vec<String>,
    types: Vec<String>,
}

fn parse(text: &str) -> Scrape {
    let mut s = Scrape {
        samples: BTreeMap::new(),
        help: vec![],
        types: vec![],
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            s.help.push(rest.split(' ').next().unwrap().to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            s.types.push(rest.split(' ').next().unwrap().to_string());
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), v.trim_matches('"').to_string())
            })
            .collect();
        s.samples.insert((name.to_string(), labels), value);
    }
    s
}

impl Scrape {
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.samples.get(&(name.to_string(), want)).copied()
    }
}

async fn scrape(app: &TestApp) -> Scrape {
    parse(&app.get("/metrics").await.text().await.unwrap())
}

async fn add_integrations(app: &TestApp, token: &str) {
    let sim = app.sim.as_ref().unwrap();
    let projects: Vec<String> = sim.state.data().jira.projects.iter().map(|p| p.key.clone()).collect();
    let jira = json!({"kind": "jira", "name": "Jira", "flavour": "cloud", "base_url": sim.urls.jira_cloud,
                      "username": "sim@example.com", "secret": "sim-token", "settings": {"projects": projects}});
    let github = json!({"kind": "github", "name": "GitHub", "flavour": "github", "base_url": sim.urls.github,
                        "secret": "sim-github-token", "settings": {"organization": "acme"}});
    for body in [jira, github] {
        let (code, answer) = call(app, token, reqwest::Method::POST, "/api/v1/integrations", Some(body)).await;
        assert_eq!(code, 201, "{answer}");
    }
}

async fn wait_for_bodies(hook: &Webhook, n: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let got = hook.bodies.lock().unwrap().clone();
        if got.len() >= n || started.elapsed() > Duration::from_secs(20) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Syncs that succeed, stop at a rate limit, fail and succeed again: the job families count
/// exactly that, every family has HELP and TYPE, and the webhook hears of the rate limit, the
/// failure and both recoveries (with a test before them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_notifications_follow_the_runs() {
    let app = spawn_app(Db::Sqlite).await;
    let token = admin(&app).await;
    let hook = webhook();
    let (code, saved) = call(
        &app,
        &token,
        reqwest::Method::PUT,
        "/api/v1/notifications",
        Some(json!({ "webhook_url": hook.url })),
    )
    .await;
    assert_eq!(code, 200, "{saved}");
    assert_eq!(saved["configured"], true);
    assert!(
        !saved.to_string().contains("/hook"),
        "the address is never shown again: {saved}"
    );
    let (code, _) = call(&app, &token, reqwest::Method::POST, "/api/v1/notifications/test", None).await;
    assert_eq!(code, 200);
    let test = wait_for_bodies(&hook, 1).await;
    assert_eq!(test[0]["event"], "test");
    assert!(test[0]["text"].as_str().unwrap().contains("test notification"));

    add_integrations(&app, &token).await;
    let sim = app.sim.as_ref().unwrap();
    let issues = sim.state.data().jira.issues.len() as f64;

    // 1. Jira succeeds (and queues GitHub, which succeeds too).
    assert_eq!(run_job(&app, &token, "jira_sync").await, "FINISHED");
    assert_eq!(wait_idle(&app, &token, "github_sync", 1).await, "FINISHED");
    let m = scrape(&app).await;
    assert_eq!(
        m.get("pulse_sync_items_total", &[("job", "jira_sync"), ("item", "issues")]),
        Some(issues)
    );
    let last = m
        .get("pulse_job_last_success_timestamp_seconds", &[("job", "jira_sync")])
        .unwrap();
    assert!((chrono::Utc::now().timestamp() as f64 - last).abs() < 120.0, "{last}");
    // The budget GitHub's headers say is left, per integration and resource: spent a little.
    let graphql = m
        .get(
            "pulse_rate_limit_remaining",
            &[("integration", "GitHub"), ("resource", "graphql")],
        )
        .expect("the GraphQL budget left");
    assert!(graphql > 0.0 && graphql < 5000.0, "{graphql}");

    // 2. GitHub's GraphQL budget is spent: the run stops at the rate limit.
    sim.state.set_config(SimConfig {
        github_graphql_budget: 0,
        ..SimConfig::default()
    });
    assert_eq!(run_job(&app, &token, "github_sync").await, "FAILED");
    let m = scrape(&app).await;
    assert_eq!(
        m.get(
            "pulse_rate_limit_remaining",
            &[("integration", "GitHub"), ("resource", "graphql")]
        ),
        Some(0.0),
        "a spent budget reads 0 (what the PulseRateLimitExhausted alert watches)"
    );

    // 3. Jira's site is down: the run fails after its retries.
    sim.state.set_config(SimConfig {
        outage: Some(Outage {
            from: chrono::Utc::now() - chrono::Duration::minutes(1),
            until: chrono::Utc::now() + chrono::Duration::hours(1),
        }),
        ..SimConfig::default()
    });
    assert_eq!(run_job(&app, &token, "jira_sync").await, "FAILED");

    // 4. Back up: Jira recovers (and queues GitHub, which succeeds with a fresh budget).
    sim.state.set_config(SimConfig::default());
    sim.state.reset_limits();
    assert_eq!(run_job(&app, &token, "jira_sync").await, "FINISHED");
    assert_eq!(wait_idle(&app, &token, "github_sync", 3).await, "FINISHED");

    let m = scrape(&app).await;
    let runs = |job: &str, outcome: &str| m.get("pulse_job_runs_total", &[("job", job), ("outcome", outcome)]);
    assert_eq!(runs("jira_sync", "success"), Some(2.0));
    assert_eq!(runs("jira_sync", "failed"), Some(1.0));
    assert_eq!(runs("github_sync", "success"), Some(2.0));
    assert_eq!(runs("github_sync", "rate_limited"), Some(1.0));
    assert_eq!(
        m.get("pulse_job_duration_seconds_count", &[("job", "jira_sync")]),
        Some(3.0)
    );
    assert_eq!(
        m.get("pulse_job_duration_seconds_count", &[("job", "github_sync")]),
        Some(3.0)
    );
    assert_eq!(m.get("pulse_leader", &[]), Some(1.0));
    // The allocator's counts: this process has allocated some MB (the app, the simulator's
    // data), and the allocator holds at least that much.
    let allocated = m.get("pulse_heap_allocated_bytes", &[]).expect("heap allocated");
    let resident = m.get("pulse_heap_resident_bytes", &[]).expect("heap resident");
    assert!(allocated > 1e6 && resident >= allocated, "{allocated} / {resident}");
    // The outage's 503s, retried, and the successful answers, per upstream.
    let upstream = |up: &str, status: &str| {
        m.get("pulse_upstream_requests_total", &[("upstream", up), ("status", status)])
            .unwrap_or(0.0)
    };
    assert!(upstream("jira", "5xx") >= 6.0, "the failed run's attempts");
    assert!(upstream("jira", "2xx") > 0.0 && upstream("github", "2xx") > 0.0);
    assert_eq!(
        m.get("pulse_upstream_request_duration_seconds_count", &[("upstream", "jira")]),
        Some(
            ["2xx", "3xx", "4xx", "429", "5xx", "error"]
                .iter()
                .map(|s| upstream("jira", s))
                .sum::<f64>()
        ),
        "every request timed"
    );
    assert!(
        m.get("pulse_sync_items_total", &[("job", "jira_sync"), ("item", "issues")])
            .unwrap()
            >= issues
    );
    for family in [
        "pulse_job_runs_total",
        "pulse_job_duration_seconds",
        "pulse_job_last_success_timestamp_seconds",
        "pulse_sync_items_total",
        "pulse_leader",
        "pulse_rate_limit_remaining",
        "pulse_upstream_requests_total",
        "pulse_upstream_request_duration_seconds",
        "pulse_analytics_rebuild_seconds",
        "pulse_websocket_clients",
        "pulse_rate_limit_wait_seconds_total",
        "pulse_build_info",
        "pulse_notifications_total",
        "pulse_heap_allocated_bytes",
        "pulse_heap_resident_bytes",
        "http_requests_total",
    ] {
        assert!(m.help.iter().any(|h| h == family), "HELP for {family}");
        assert!(m.types.iter().any(|t| t == family), "TYPE for {family}");
    }

    let bodies = wait_for_bodies(&hook, 5).await;
    let events: Vec<(&str, &str)> = bodies
        .iter()
        .map(|b| (b["event"].as_str().unwrap(), b["job"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        events,
        [
            ("test", ""),
            ("job_rate_limited", "github_sync"),
            ("job_failed", "jira_sync"),
            ("job_recovered", "jira_sync"),
            ("job_recovered", "github_sync"),
        ]
    );
    assert!(
        bodies[2]["text"].as_str().unwrap().contains("Jira sync failed"),
        "{}",
        bodies[2]
    );
    let m = scrape(&app).await;
    assert_eq!(
        m.get(
            "pulse_notifications_total",
            &[("event", "job_failed"), ("result", "ok")]
        ),
        Some(1.0)
    );
}
