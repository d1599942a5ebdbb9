//! `bench --latency 250,1000 [--issues N] [--prs N] [--db sqlite|postgres]`: the concurrent
//! syncs (issue #20) against a simulator that adds that much latency to every answer, each
//! beside the sequential figure (the sequential sync's requests × the latency) and its request
//! count; then the same with the simulator capped at 3 requests in flight.
//!
//! The sequential request counts come from a sequential sync (`max_concurrency` 1) at zero
//! latency: requests do not depend on latency, and waiting `requests × latency` for it would
//! take minutes per row.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use pulse_etl::domain::integration::IntegrationInput;
use pulse_sim::generate::SizeOptions;
use serde_json::{Value, json};

use super::{Row, bin, fresh_db, integration_setup, random_key, sync_job};

/// What one sync of one job did.
struct Run {
    seconds: f64,
    requests: u64,
    peak: u64,
    throttled: u64,
    items: u64,
    ok: bool,
    error: String,
}

impl Run {
    fn of(v: &Value, item: &str) -> Self {
        Run {
            seconds: v["seconds"].as_f64().unwrap_or(0.0),
            requests: v["api_requests"].as_u64().unwrap_or(0),
            peak: v["peak_in_flight"].as_u64().unwrap_or(0),
            throttled: v["throttled"].as_u64().unwrap_or(0),
            items: v["counts"][item]["fetched"].as_u64().unwrap_or(0),
            ok: v["ok"] == true,
            error: v["error"].to_string(),
        }
    }
}

pub async fn run(latencies: &[u64], issues: usize, prs: usize, db: &str) -> Vec<Row> {
    let size = SizeOptions {
        projects: 10,
        issues,
        repos: 20,
        prs,
        days: 730,
    };
    let mut rows = Vec::new();
    // The sequential baseline: request counts and rows.
    let (mut sim, urls) = start_sim(&size, &[]);
    let (seq_url, seq_cleanup) = fresh_db(db).await;
    let key = random_key();
    add_integrations(&seq_url, &key, &urls, Some(1)).await;
    let seq_jira = Run::of(&sync_job(&seq_url, &key, "jira_sync"), "issues");
    let seq_gh = Run::of(&sync_job(&seq_url, &key, "github_sync"), "pull_requests");
    let seq_rows = row_counts(&seq_url).await;
    let _ = sim.kill();
    let _ = sim.wait();
    rows.push(Row(
        format!("sequential syncs at 0 ms latency (max_concurrency 1, {db}): the request counts below"),
        format!(
            "Jira {} issues, {} requests ({:.1} s); GitHub {} PRs, {} requests ({:.1} s){}{}",
            seq_jira.items,
            seq_jira.requests,
            seq_jira.seconds,
            seq_gh.items,
            seq_gh.requests,
            seq_gh.seconds,
            failed(&seq_jira),
            failed(&seq_gh)
        ),
        "—".into(),
    ));
    for &latency in latencies {
        let (mut sim, urls) = start_sim(&size, &["--latency-ms", &latency.to_string()]);
        let (url, cleanup) = fresh_db(db).await;
        let key = random_key();
        add_integrations(&url, &key, &urls, None).await;
        let jira = Run::of(&sync_job(&url, &key, "jira_sync"), "issues");
        let gh = Run::of(&sync_job(&url, &key, "github_sync"), "pull_requests");
        let same = row_counts(&url).await == seq_rows;
        let _ = sim.kill();
        let _ = sim.wait();
        cleanup.await;
        let (jira_target, gh_target) = match latency {
            250 => ("≤ 60 s".to_string(), "≤ 15 s".to_string()),
            l => (
                format!(
                    "≤ {:.0} s (1.3 × requests × latency / 8)",
                    1.3 * seq_jira.requests as f64 * l as f64 / 8000.0
                ),
                format!(
                    "≤ {:.0} s (1.3 × requests × latency / 4)",
                    1.3 * seq_gh.requests as f64 * l as f64 / 4000.0
                ),
            ),
        };
        rows.push(row(
            &format!(
                "Jira full sync, {latency} ms latency, max_concurrency 8 ({db}, {} issues)",
                jira.items
            ),
            &jira,
            &seq_jira,
            latency,
            same,
            &format!("{jira_target}; requests within 5 %"),
        ));
        rows.push(row(
            &format!(
                "GitHub full sync, {latency} ms latency, max_concurrency 4 ({db}, {} PRs)",
                gh.items
            ),
            &gh,
            &seq_gh,
            latency,
            same,
            &format!("{gh_target}; requests within 5 %"),
        ));
    }
    // The simulator refusing what exceeds 3 in flight, at the first latency.
    let latency = latencies.first().copied().unwrap_or(250);
    let (mut sim, urls) = start_sim(
        &size,
        &[
            "--latency-ms",
            &latency.to_string(),
            "--jira-max-concurrent",
            "3",
            "--github-max-concurrent",
            "3",
        ],
    );
    let (url, cleanup) = fresh_db(db).await;
    let key = random_key();
    add_integrations(&url, &key, &urls, None).await;
    let jira = Run::of(&sync_job(&url, &key, "jira_sync"), "issues");
    let gh = Run::of(&sync_job(&url, &key, "github_sync"), "pull_requests");
    let same = row_counts(&url).await == seq_rows;
    let max_in_flight = reqwest::get(format!("{}/sim/stats", urls["admin"].as_str().unwrap()))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["max_in_flight"]
        .clone();
    let _ = sim.kill();
    let _ = sim.wait();
    cleanup.await;
    for (what, r, seq) in [("Jira", &jira, &seq_jira), ("GitHub", &gh, &seq_gh)] {
        rows.push(Row(
            format!("{what} full sync, {latency} ms latency, simulator capped at 3 in flight ({db})"),
            format!(
                "{:.1} s, {} requests, {} refused ({:.1} %), up to {} in flight (simulator saw {}); rows {} the sequential sync's; sequential ≈ {:.0} s{}",
                r.seconds,
                r.requests,
                r.throttled,
                100.0 * r.throttled as f64 / r.requests.max(1) as f64,
                r.peak,
                max_in_flight,
                if same { "identical to" } else { "DIFFERENT from" },
                seq.requests as f64 * latency as f64 / 1000.0,
                failed(r)
            ),
            "identical rows, ≤ 10 % refused".into(),
        ));
    }
    seq_cleanup.await;
    rows
}

fn row(what: &str, r: &Run, seq: &Run, latency: u64, same: bool, target: &str) -> Row {
    let sequential = seq.requests as f64 * latency as f64 / 1000.0;
    Row(
        what.into(),
        format!(
            "{:.1} s ({:.1}× faster than sequential ≈ {sequential:.0} s = {} requests × {latency} ms); {} requests ({:+.1} % vs sequential), up to {} in flight, {} refused; rows {} the sequential sync's{}",
            r.seconds,
            sequential / r.seconds.max(0.001),
            seq.requests,
            r.requests,
            100.0 * (r.requests as f64 / seq.requests.max(1) as f64 - 1.0),
            r.peak,
            r.throttled,
            if same { "identical to" } else { "DIFFERENT from" },
            failed(r)
        ),
        target.into(),
    )
}

fn failed(r: &Run) -> String {
    if r.ok {
        String::new()
    } else {
        format!(" (FAILED: {})", r.error)
    }
}

/// Row counts of the synced tables: a concurrent sync must end with the sequential one's.
async fn row_counts(url: &str) -> Vec<(String, i64)> {
    use sea_orm::ConnectionTrait;
    let conn = pulse_etl::db::connect(url).await.unwrap();
    let mut out = Vec::new();
    for table in [
        "jira_issues",
        "jira_status_transitions",
        "pull_requests",
        "pr_reviews",
        "pr_commits",
        "pr_comments",
        "deployments",
        "pr_issue_links",
    ] {
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        out.push((table.to_string(), row.try_get::<i64>("", "n").unwrap_or(-1)));
    }
    out
}

pub(super) fn start_sim(size: &SizeOptions, extra: &[&str]) -> (Child, Value) {
    let mut child = Command::new(bin())
        .args(["sim", "--bind", "127.0.0.1:0", "--seed", "1", "--size", "large"])
        .args([
            "--projects",
            &size.projects.to_string(),
            "--issues",
            &size.issues.to_string(),
        ])
        .args(["--repos", &size.repos.to_string(), "--prs", &size.prs.to_string()])
        .args(["--days", &size.days.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the simulator (build with `cargo build --release`)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, serde_json::from_str(&line).unwrap())
}

/// The bench's Jira (every project) and GitHub (the organisation) integrations, with
/// `max_concurrency` set or left to the defaults.
async fn add_integrations(url: &str, key: &str, urls: &Value, max_concurrency: Option<i64>) {
    let (conn, vault, projects) = integration_setup(url, key, urls).await;
    let inputs = [
        IntegrationInput {
            kind: "jira".into(),
            name: "bench".into(),
            base_url: urls["jira_cloud"].as_str().unwrap().into(),
            flavour: "cloud".into(),
            username: Some("sim@example.com".into()),
            secret: Some("sim-token".into()),
            settings: json!({"projects": projects, "story_points_field": "customfield_10016",
                             "max_concurrency": max_concurrency}),
            active: Some(true),
        },
        IntegrationInput {
            kind: "github".into(),
            name: "bench GitHub".into(),
            base_url: urls["github"].as_str().unwrap().into(),
            flavour: "github".into(),
            username: None,
            secret: Some("sim-github-token".into()),
            settings: json!({"organization": "acme", "deployment_source": {"kind": "deployments"},
                             "max_concurrency": max_concurrency}),
            active: Some(true),
        },
    ];
    for input in inputs {
        let valid = input.validate(false).unwrap();
        pulse_etl::db::integrations::create(&conn, &vault, &valid, None)
            .await
            .unwrap();
    }
}
