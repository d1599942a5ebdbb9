//! `bench --gitlab [--prs N] [--db sqlite|postgres]`: the GitLab full sync (merge requests
//! through GraphQL with nested approvals, notes and commits; deployments through REST) beside
//! the GitHub full sync of the same generated history (the simulated GitLab serves the GitHub
//! repositories as projects), each into its own fresh database, at 0 ms and at 250 ms
//! simulated latency (`pulse-etl sim --latency-ms`).

use pulse_etl::domain::integration::IntegrationInput;
use pulse_sim::generate::SizeOptions;
use serde_json::{Value, json};

use super::{CpuSplit, Row, fresh_db, integration_setup, random_key, sync_job};

/// The latencies of the rows: none, and the latency the concurrent syncs are measured at.
const LATENCIES_MS: [u64; 2] = [0, 250];

pub async fn run(prs: usize, db: &str) -> Vec<Row> {
    let size = SizeOptions {
        projects: 10,
        issues: 1_000,
        repos: 20,
        prs,
        days: 730,
    };
    let mut rows = Vec::new();
    for latency in LATENCIES_MS {
        let (mut sim, urls) = super::latency::start_sim(&size, &["--latency-ms", &latency.to_string()]);
        for kind in ["gitlab", "github"] {
            let (url, cleanup) = fresh_db(db).await;
            let key = random_key();
            add(&url, &key, &urls, kind).await;
            let cpu = CpuSplit::start(sim.id(), &url).await;
            let run = sync_job(&url, &key, "github_sync");
            let cpu = cpu.report();
            cleanup.await;
            rows.push(row(kind, latency, db, &run, &cpu));
        }
        let _ = sim.kill();
        let _ = sim.wait();
    }
    rows
}

fn row(kind: &str, latency: u64, db: &str, run: &Value, cpu: &str) -> Row {
    let mrs = run["counts"]["pull_requests"]["fetched"].as_u64().unwrap_or(0);
    let requests = run["api_requests"].as_u64().unwrap_or(0);
    let (what, items) = if kind == "gitlab" {
        ("GitLab", "MRs")
    } else {
        ("GitHub", "PRs")
    };
    Row(
        format!("{what} full sync, {latency} ms latency, default concurrency ({db}, {mrs} {items}, 20 repositories)"),
        format!(
            "{:.1} s, {requests} requests ({:.1} per 1,000 {items}), peak RSS {} MB; {cpu}{}",
            run["seconds"].as_f64().unwrap_or(0.0),
            requests as f64 * 1000.0 / mrs.max(1) as f64,
            run["peak_rss_kb"].as_u64().unwrap_or(0) / 1024,
            if run["ok"] == true {
                String::new()
            } else {
                format!(" (FAILED: {})", run["error"])
            }
        ),
        if kind == "gitlab" {
            "≤ 25 requests per 1,000 MRs; the GitHub sync's speed class".into()
        } else {
            "—".into()
        },
    )
}

/// One integration of `kind` over the simulated group / organisation `acme`.
async fn add(url: &str, key: &str, urls: &Value, kind: &str) {
    if kind != "gitlab" {
        return super::add_github(url, key, urls).await;
    }
    let (conn, vault, _) = integration_setup(url, key, urls).await;
    let input = IntegrationInput {
        kind: "gitlab".into(),
        name: "bench GitLab".into(),
        base_url: urls["gitlab"].as_str().unwrap().into(),
        flavour: "self_managed".into(),
        username: None,
        secret: Some("sim-gitlab-token".into()),
        settings: json!({"group": "acme", "deployment_source": {"kind": "deployments"}}),
        active: Some(true),
    };
    let valid = input.validate(false).unwrap();
    pulse_etl::db::integrations::create(&conn, &vault, &valid, None)
        .await
        .unwrap();
}
