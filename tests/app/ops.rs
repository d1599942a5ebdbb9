//! What ops and integrators rely on besides `/metrics` (see `tests/metrics`): a failing webhook
//! never affects a job, webhooks pass the private-address guard, the run history as CSV.

use std::time::{Duration, Instant};

use pulse_sim::state::SimConfig;
use serde_json::{Value, json};

use crate::helpers::{Db, Options, TestApp, spawn_app, spawn_app_with};

pub async fn admin(app: &TestApp) -> String {
    app.backend_token("admin@example.com", "pulse-admin").await
}

pub async fn call(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
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
pub async fn run_job(app: &TestApp, token: &str, job: &str) -> String {
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
pub async fn wait_idle(app: &TestApp, token: &str, job: &str, runs_wanted: u64) -> String {
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

pub async fn add_integrations(app: &TestApp, token: &str) {
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

/// A webhook that does not answer never affects a job: the run succeeds, the failure is
/// recorded for the dashboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_never_affects_a_job() {
    let app = spawn_app(Db::Sqlite).await;
    let token = admin(&app).await;
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", dead.local_addr().unwrap());
    drop(dead);
    let (code, _) = call(
        &app,
        &token,
        reqwest::Method::PUT,
        "/api/v1/notifications",
        Some(json!({ "webhook_url": url })),
    )
    .await;
    assert_eq!(code, 200);
    let (code, answer) = call(&app, &token, reqwest::Method::POST, "/api/v1/notifications/test", None).await;
    assert_eq!(code, 502, "{answer}");
    add_integrations(&app, &token).await;
    let sim = app.sim.as_ref().unwrap();
    sim.state.set_config(SimConfig {
        github_graphql_budget: 0,
        ..SimConfig::default()
    });
    // The rate-limited run notifies (and fails to), and ends as it would without a webhook.
    assert_eq!(run_job(&app, &token, "github_sync").await, "FAILED");
    let (_, s) = call(&app, &token, reqwest::Method::GET, "/api/v1/notifications", None).await;
    let started = Instant::now();
    let mut s = s;
    while s["last_message"]
        .as_str()
        .is_none_or(|m| !m.contains("job_rate_limited"))
    {
        assert!(started.elapsed() < Duration::from_secs(20), "{s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        s = call(&app, &token, reqwest::Method::GET, "/api/v1/notifications", None)
            .await
            .1;
    }
    assert_eq!(s["last_ok"], false, "{s}");
    sim.state.set_config(SimConfig::default());
    sim.state.reset_limits();
    assert_eq!(run_job(&app, &token, "jira_sync").await, "FINISHED");
}

/// Without `ALLOW_PRIVATE_INTEGRATION_HOSTS` a webhook on a private address is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_on_a_private_address_is_refused() {
    let mut opts = Options::new(Db::Sqlite);
    opts.env.insert("ALLOW_PRIVATE_INTEGRATION_HOSTS", "false".into());
    let app = spawn_app_with(opts).await;
    let token = admin(&app).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/",
        "http://localhost/x",
        "ftp://example.com/",
    ] {
        let (code, answer) = call(
            &app,
            &token,
            reqwest::Method::PUT,
            "/api/v1/notifications",
            Some(json!({ "webhook_url": url })),
        )
        .await;
        assert_eq!(code, 422, "{url}: {answer}");
    }
    let viewer = app.backend_token("viewer@example.com", "pulse-viewer").await;
    let (code, _) = call(
        &app,
        &viewer,
        reqwest::Method::PUT,
        "/api/v1/notifications",
        Some(json!({ "webhook_url": "https://hooks.example.com/x" })),
    )
    .await;
    assert_eq!(code, 403);
}

/// Every run of a job as CSV: a header, then one parseable row per run, newest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_history_downloads_as_csv() {
    let app = spawn_app(Db::Postgres).await;
    let token = admin(&app).await;
    add_integrations(&app, &token).await;
    for _ in 0..3 {
        run_job(&app, &token, "jira_sync").await;
    }
    let res = app
        .client
        .get(app.url("/api/v1/jobs/jira_sync/runs?format=csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "trigger",
            "started_at",
            "finished_at",
            "duration_seconds",
            "outcome",
            "api_requests",
            "rate_limit_wait_ms",
            "error",
            "counts"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3);
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    for r in &rows {
        assert_eq!(&r[1], "manual");
        assert_eq!(&r[5], "success");
        assert!(r[4].parse::<f64>().unwrap() >= 0.0);
        let counts: Value = serde_json::from_str(&r[9]).unwrap();
        assert!(counts.is_object());
    }
}

async fn run_log(app: &TestApp, token: &str, job: &str) -> Vec<String> {
    let (_, runs) = call(
        app,
        token,
        reqwest::Method::GET,
        &format!("/api/v1/jobs/{job}/runs"),
        None,
    )
    .await;
    let run = runs["runs"][0]["id"].as_i64().unwrap();
    let (code, events) = call(
        app,
        token,
        reqwest::Method::GET,
        &format!("/api/v1/jobs/{job}/runs/{run}/events"),
        None,
    )
    .await;
    assert_eq!(code, 200, "{events}");
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

/// The number before `what` in a run-log line ("12 pages, 1,130 issues; …").
fn figure(line: &str, what: &str) -> u64 {
    let at = line
        .find(&format!(" {what}"))
        .unwrap_or_else(|| panic!("no {what:?} in {line:?}"));
    let digits: String = line[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .collect::<String>()
        .chars()
        .rev()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// A run's log says, per Jira project and GitHub repository, how many pages it read, how many
/// items they held (exactly the simulator's), and its retries and rate-limit waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_log_tells_each_project_and_repository() {
    let app = spawn_app(Db::Sqlite).await;
    let token = admin(&app).await;
    add_integrations(&app, &token).await;
    run_job(&app, &token, "jira_sync").await;
    wait_idle(&app, &token, "github_sync", 1).await;
    let data = app.sim.as_ref().unwrap().state.data().clone();

    let jira = run_log(&app, &token, "jira_sync").await;
    for project in &data.jira.projects {
        let line = jira
            .iter()
            .find(|l| l.starts_with(&format!("Jira: project {} — ", project.key)))
            .unwrap_or_else(|| panic!("no line for {}: {jira:#?}", project.key));
        let issues = data.jira.issues.iter().filter(|i| i.project_id == project.id).count() as u64;
        assert_eq!(figure(line, "issues"), issues, "{line}");
        assert!(figure(line, "page") >= issues.div_ceil(100).max(1), "{line}");
        assert!(line.ends_with("; 0 retries; no rate-limit waits"), "{line}");
    }
    let github = run_log(&app, &token, "github_sync").await;
    for repo in data.github.repos.iter().filter(|r| !r.archived) {
        let line = github
            .iter()
            .find(|l| l.starts_with(&format!("GitHub: repository {}/{} — ", repo.owner, repo.name)))
            .unwrap_or_else(|| panic!("no line for {}: {github:#?}", repo.name));
        if !repo.pulls.is_empty() {
            assert_eq!(figure(line, "pull requests"), repo.pulls.len() as u64, "{line}");
        }
        assert!(figure(line, "page") >= 1, "{line}");
    }

    // Answers that fail are retried and said so, under the project they belong to: a full sync
    // (dozens of project requests) where a third of the answers are 5xx or 429.
    let app = spawn_app(Db::Sqlite).await;
    let token = admin(&app).await;
    add_integrations(&app, &token).await;
    app.sim.as_ref().unwrap().state.set_config(SimConfig {
        fault_rate: 0.3,
        ..SimConfig::default()
    });
    assert_eq!(run_job(&app, &token, "jira_sync").await, "FINISHED");
    let jira = run_log(&app, &token, "jira_sync").await;
    let scoped: Vec<&String> = jira.iter().filter(|l| l.starts_with("Jira: project ")).collect();
    assert_eq!(scoped.len(), data.jira.projects.len(), "{jira:#?}");
    let troubles: u64 = scoped
        .iter()
        .map(|l| {
            let retries = if l.contains("; 1 retry;") {
                1
            } else {
                figure(l, "retries")
            };
            let waits = if l.contains("no rate-limit waits") {
                0
            } else if l.contains("; 1 rate-limit wait ") {
                1
            } else {
                figure(l, "rate-limit waits")
            };
            retries + waits
        })
        .sum();
    assert!(troubles > 0, "a third of the answers failed, yet: {scoped:#?}");
}
