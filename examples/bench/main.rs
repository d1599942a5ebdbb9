//! `make bench`: the performance table of README.md. Runs against release binaries:
//! the simulators in their own process, each sync in its own process (so its peak memory is its
//! own), and the service started cold. Prints one Markdown table.
//!
//! Usage: `bench [--issues N] [--prs N] [--quick] [--db sqlite|postgres] [--no-service] [--keep-db]`
//! (defaults: 100,000 issues, 20,000 PRs, both databases, the service rows too; `--keep-db`
//! leaves the synced databases in place and prints their URLs, for profiling; `--pages URL KEY`
//! times only the analytics pages against such a database; `--load SECS` runs only the mixed
//! traffic load, `--soak SECS` the same as a soak, watching memory: see `load.rs`; `--latency
//! MS,MS…` runs only the concurrent syncs at that simulated latency: see `latency.rs`;
//! `--incremental [--scale5]` the syncs as the service runs them, analytics included, at this
//! size or at 500k issues / 100k PRs: see `incremental.rs`; `--gitlab` the GitLab full sync
//! beside GitHub's at 0 and 250 ms latency: see `gitlab.rs`).
#![allow(clippy::unwrap_used)]

mod gitlab;
mod incremental;
mod latency;
mod load;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pulse_etl::crypto::Vault;
use pulse_etl::domain::integration::IntegrationInput;
use pulse_sim::generate::{self, SizeOptions};
use serde_json::{Value, json};

struct Row(String, String, String);

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let quick = args.iter().any(|a| a == "--quick");
    let issues = arg("--issues").unwrap_or(if quick { 20_000 } else { 100_000 });
    let prs = arg("--prs").unwrap_or(if quick { 4_000 } else { 20_000 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // `--pages URL KEY`: only the analytics page timings, against a database kept by `--keep-db`.
    let pages = args
        .iter()
        .position(|a| a == "--pages")
        .map(|i| (args[i + 1].clone(), args[i + 2].clone()));
    let secs = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let latencies: Option<Vec<u64>> = args
        .iter()
        .position(|a| a == "--latency")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').filter_map(|l| l.trim().parse().ok()).collect());
    if let Some(latencies) = latencies {
        let db = args.iter().skip_while(|a| *a != "--db").nth(1).cloned();
        let rows = rt.block_on(latency::run(&latencies, issues, prs, db.as_deref().unwrap_or("sqlite")));
        println!("\n| measurement | result | target |\n|---|---|---|");
        for Row(what, result, target) in rows {
            println!("| {what} | {result} | {target} |");
        }
        return;
    }
    if args.iter().any(|a| a == "--gitlab") {
        let db = args.iter().skip_while(|a| *a != "--db").nth(1).cloned();
        let rows = rt.block_on(gitlab::run(prs, db.as_deref().unwrap_or("sqlite")));
        println!("\n| measurement | result | target |\n|---|---|---|");
        for Row(what, result, target) in rows {
            println!("| {what} | {result} | {target} |");
        }
        return;
    }
    // `--incremental [--scale5]`: syncs through the service, analytics ready (incremental.rs).
    let scale5 = args.iter().any(|a| a == "--scale5");
    let only_db = args.iter().skip_while(|a| *a != "--db").nth(1).cloned();
    let rows = match (pages, secs("--load"), secs("--soak")) {
        _ if args.iter().any(|a| a == "--incremental") => rt.block_on(incremental::run(
            if scale5 { 500_000 } else { issues },
            if scale5 { 100_000 } else { prs },
            only_db,
        )),
        (Some((url, key)), _, _) => rt.block_on(pages_only(&url, &key)),
        (_, Some(s), _) => load::run(s, false),
        (_, _, Some(s)) => load::run(s, true),
        _ => rt.block_on(run(issues, prs, quick)),
    };
    println!("\n| measurement | result | target |\n|---|---|---|");
    for Row(what, result, target) in rows {
        println!("| {what} | {result} | {target} |");
    }
}

fn bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("pulse-etl")
}

async fn run(issues: usize, prs: usize, quick: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    let size = SizeOptions {
        projects: 10,
        issues,
        repos: 20,
        prs,
        days: 730,
    };

    let started = Instant::now();
    let data = generate::generate(1, &size, chrono::Utc::now());
    let transitions: usize = data.jira.issues.iter().map(|i| i.changelog.len()).sum();
    rows.push(Row(
        format!("dataset generation ({issues} issues, {transitions} histories, {prs} PRs)"),
        format!("{:.2} s", started.elapsed().as_secs_f64()),
        "< 5 s".into(),
    ));
    drop(data);

    let (mut sim, urls) = start_sim(&size);
    rows.push(jira_throughput(&urls, issues).await);
    rows.push(graphql_throughput(&urls).await);

    let only_db = std::env::args().skip_while(|a| a != "--db").nth(1);
    for db in ["sqlite", "postgres"] {
        if only_db.as_deref().is_some_and(|d| d != db) {
            continue;
        }
        let (url, cleanup) = fresh_db(db).await;
        let key = random_key();
        add_jira(&url, &key, &urls).await;
        let cpu = CpuSplit::start(sim.id(), &url).await;
        let full = sync(&url, &key);
        let cpu = cpu.report();
        let target = if db == "sqlite" {
            "≤ 20 s, < 150 MB"
        } else {
            "≤ 40 s, < 150 MB"
        };
        rows.push(Row(
            format!(
                "Jira full sync into {db} ({} issues)",
                full["counts"]["issues"]["fetched"]
            ),
            format!(
                "{:.1} s, {} requests ({:.1} per 1,000 issues), peak RSS {} MB; {cpu}{}",
                full["seconds"].as_f64().unwrap_or(0.0),
                full["api_requests"],
                full["api_requests"].as_f64().unwrap_or(0.0) * 1000.0 / issues.max(1) as f64,
                full["peak_rss_kb"].as_u64().unwrap_or(0) / 1024,
                if full["ok"] == true {
                    String::new()
                } else {
                    format!(" (FAILED: {})", full["error"])
                }
            ),
            target.into(),
        ));
        let again = sync(&url, &key);
        rows.push(Row(
            format!("Jira incremental sync, nothing changed ({db})"),
            format!(
                "{:.2} s, {} requests",
                again["seconds"].as_f64().unwrap_or(0.0),
                again["api_requests"]
            ),
            "one search request per project (+3 reference, +1 per project lookup)".into(),
        ));
        add_github(&url, &key, &urls).await;
        // Each full sync starts with a fresh GraphQL budget (5,000 points an hour).
        let admin = urls["admin"].as_str().unwrap();
        reqwest::Client::new()
            .post(format!("{admin}/sim/reset-limits"))
            .send()
            .await
            .unwrap();
        let cpu = CpuSplit::start(sim.id(), &url).await;
        let full = sync_job(&url, &key, "github_sync");
        let cpu = cpu.report();
        let points = graphql_points_used(&urls).await;
        let prs_fetched = full["counts"]["pull_requests"]["fetched"].as_u64().unwrap_or(0);
        let per_k = |n: &Value| n.as_f64().unwrap_or(0.0) * 1000.0 / prs.max(1) as f64;
        rows.push(Row(
            format!("GitHub full sync into {db} ({prs_fetched} PRs, 20 repositories)"),
            format!(
                "{:.1} s, {} requests ({:.1} per 1,000 PRs), {points} GraphQL points, peak RSS {} MB; {cpu}{}",
                full["seconds"].as_f64().unwrap_or(0.0),
                full["api_requests"],
                per_k(&full["api_requests"]),
                full["peak_rss_kb"].as_u64().unwrap_or(0) / 1024,
                failed(&full)
            ),
            if db == "sqlite" {
                "≤ 15 s, ≤ 25 requests per 1,000 PRs"
            } else {
                "≤ 25 requests per 1,000 PRs"
            }
            .into(),
        ));
        let again = sync_job(&url, &key, "github_sync");
        rows.push(Row(
            format!("GitHub incremental sync, nothing changed ({db})"),
            format!(
                "{:.2} s, {} requests{}",
                again["seconds"].as_f64().unwrap_or(0.0),
                again["api_requests"],
                failed(&again)
            ),
            "one request per repository (+ listing and rate limit)".into(),
        ));
        rows.extend(analytics(&url, db).await);
        rows.extend(analytics_pages(&url, db, &key, &urls).await);
        if std::env::args().any(|a| a == "--keep-db") {
            eprintln!("kept {db} database: {url} (ENCRYPTION_KEY={key})");
            std::mem::forget(cleanup);
        } else {
            cleanup.await;
        }
    }
    let _ = sim.kill();
    let _ = sim.wait();

    if !std::env::args().any(|a| a == "--no-service") {
        rows.extend(live_service(if quick { 500 } else { 2_000 }));
        rows.extend(load::run(if quick { 30 } else { 60 }, false));
        rows.extend(service_start().await);
    }
    rows
}

async fn pages_only(url: &str, key: &str) -> Vec<Row> {
    let (mut sim, urls) = start_sim(&SizeOptions::small());
    let db = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let rows = analytics_pages(url, db, key, &urls).await;
    let _ = sim.kill();
    let _ = sim.wait();
    rows
}

/// GraphQL points spent in the current rate-limit window (`GET /rate_limit`, which is free).
async fn graphql_points_used(urls: &Value) -> u64 {
    let body: Value = reqwest::Client::new()
        .get(format!("{}/rate_limit", urls["github"].as_str().unwrap()))
        .bearer_auth("sim-github-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or_default();
    body["resources"]["graphql"]["used"].as_u64().unwrap_or(0)
}

fn failed(run: &Value) -> String {
    if run["ok"] == true {
        String::new()
    } else {
        format!(" (FAILED: {})", run["error"])
    }
}

fn start_sim(size: &SizeOptions) -> (Child, Value) {
    let mut child = Command::new(bin())
        .args(["sim", "--bind", "127.0.0.1:0", "--seed", "1"])
        .args([
            "--projects",
            &size.projects.to_string(),
            "--issues",
            &size.issues.to_string(),
        ])
        .args([
            "--repos",
            &size.repos.to_string(),
            "--prs",
            &size.prs.to_string(),
            "--days",
            &size.days.to_string(),
        ])
        .args(["--size", "large"])
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

async fn jira_throughput(urls: &Value, issues: usize) -> Row {
    let http = reqwest::Client::new();
    let base = urls["jira_cloud"].as_str().unwrap();
    let started = Instant::now();
    let mut token: Option<String> = None;
    let mut seen = 0;
    loop {
        let mut body = json!({"jql": "created >= \"1970/01/01\" ORDER BY key ASC", "fields": ["*navigable"], "expand": "changelog", "maxResults": 100});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let page: Value = http
            .post(format!("{base}/rest/api/3/search/jql"))
            .basic_auth("sim@example.com", Some("sim-token"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen += page["issues"].as_array().map(Vec::len).unwrap_or(0);
        match page["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let rate = seen as f64 / started.elapsed().as_secs_f64();
    Row(
        format!("simulated Jira Cloud search/jql, pages of 100 with changelogs ({seen} of {issues} issues)"),
        format!("{rate:.0} issues/s"),
        "≥ 10,000 issues/s".into(),
    )
}

const PR_QUERY: &str = "query PRs($owner: String!, $name: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining }
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes { id number title state createdAt updatedAt mergedAt author { login }
        reviews(first: 50) { pageInfo { hasNextPage endCursor } nodes { id state submittedAt author { login } } }
        commits(first: 50) { pageInfo { hasNextPage endCursor } nodes { commit { oid authoredDate message } } }
        comments(first: 50) { pageInfo { hasNextPage endCursor } nodes { id createdAt author { login } } } } } } }";

async fn graphql_throughput(urls: &Value) -> Row {
    let http = reqwest::Client::new();
    let base = urls["github"].as_str().unwrap();
    let repos: Vec<Value> = http
        .get(format!("{base}/orgs/acme/repos?per_page=100"))
        .bearer_auth("sim-github-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started = Instant::now();
    let mut seen = 0;
    for repo in &repos {
        let mut after: Option<String> = None;
        loop {
            let body = json!({"query": PR_QUERY, "variables": {"owner": "acme", "name": repo["name"], "first": 50, "after": after}});
            let page: Value = http
                .post(format!("{base}/graphql"))
                .bearer_auth("sim-github-token")
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let conn = &page["data"]["repository"]["pullRequests"];
            seen += conn["nodes"].as_array().map(Vec::len).unwrap_or(0);
            if conn["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = conn["pageInfo"]["endCursor"].as_str().map(String::from);
        }
    }
    let rate = seen as f64 / started.elapsed().as_secs_f64();
    Row(
        format!("simulated GitHub GraphQL, pages of 50 PRs with reviews, commits, comments ({seen} PRs)"),
        format!("{rate:.0} PRs/s"),
        "≥ 5,000 PRs/s".into(),
    )
}

fn random_key() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut k = [0u8; 32];
    rand::rng().fill_bytes(&mut k);
    base64::engine::general_purpose::STANDARD.encode(k)
}

async fn fresh_db(kind: &str) -> (String, std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>) {
    use sea_orm::ConnectionTrait;
    if kind == "sqlite" {
        let dir = tempfile::tempdir().unwrap().keep();
        let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
        return (
            url,
            Box::pin(async move {
                let _ = std::fs::remove_dir_all(dir);
            }),
        );
    }
    let base = std::env::var("PULSE_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("pulse_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(format!("{base}/postgres")).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let url = format!("{base}/{name}");
    (
        url,
        Box::pin(async move {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }),
    )
}

/// A migrated connection, the vault of `key`, and the simulated Jira Cloud's project keys: what
/// every bench integration is saved with.
async fn integration_setup(url: &str, key: &str, urls: &Value) -> (sea_orm::DatabaseConnection, Vault, Vec<Value>) {
    let conn = pulse_etl::db::connect(url).await.unwrap();
    pulse_etl::db::migrate(&conn).await.unwrap();
    let key = pulse_etl::config::decode_key(key).unwrap();
    let vault = Vault::new(&secrecy::SecretBox::new(Box::new(key)), &[]);
    let projects: Vec<Value> = reqwest::Client::new()
        .get(format!(
            "{}/rest/api/3/project/search?maxResults=100",
            urls["jira_cloud"].as_str().unwrap()
        ))
        .basic_auth("sim@example.com", Some("sim-token"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].clone())
        .collect();
    (conn, vault, projects)
}

async fn add_jira(url: &str, key: &str, urls: &Value) {
    let (conn, vault, projects) = integration_setup(url, key, urls).await;
    let input = IntegrationInput {
        kind: "jira".into(),
        name: "bench".into(),
        base_url: urls["jira_cloud"].as_str().unwrap().into(),
        flavour: "cloud".into(),
        username: Some("sim@example.com".into()),
        secret: Some("sim-token".into()),
        settings: json!({"projects": projects, "story_points_field": "customfield_10016"}),
        active: Some(true),
    };
    let valid = input.validate(false).unwrap();
    pulse_etl::db::integrations::create(&conn, &vault, &valid, None)
        .await
        .unwrap();
}

/// The analytics precompute over the synced issues and PRs (default flow), the snapshot the
/// reports read, then each report in-process (no HTTP, no rendering).
async fn analytics(url: &str, db: &str) -> Vec<Row> {
    use pulse_etl::analytics::{dora, filters::Filters, flow, prs};
    let conn = pulse_etl::db::connect(url).await.unwrap();
    let started = Instant::now();
    pulse_etl::db::analytics::refresh(&conn, &Default::default())
        .await
        .unwrap();
    let mut rows = vec![Row(
        format!("analytics precompute: every merged PR's stages and every issue's flow times ({db})"),
        format!("{:.2} s", started.elapsed().as_secs_f64()),
        "—".into(),
    )];
    let today = chrono::Utc::now().date_naive();
    let cache = pulse_etl::analytics::Cache::default();
    let started = Instant::now();
    cache.current(&conn).await.unwrap();
    rows.push(Row(
        format!("analytics snapshot load: the precomputed rows read into memory once per build ({db})"),
        format!("{} ms", started.elapsed().as_millis()),
        "— (after a sync, before the first view)".into(),
    ));
    for range in ["90", "365"] {
        let f = || Filters::parse(&format!("range={range}"), today).unwrap();
        let started = Instant::now();
        let issues = flow::report(&conn, &cache, f()).await.unwrap().current.issues;
        let flow_ms = started.elapsed().as_millis();
        let started = Instant::now();
        dora::report(&conn, &cache, f()).await.unwrap();
        let dora_ms = started.elapsed().as_millis();
        let started = Instant::now();
        prs::report(&conn, &cache, f()).await.unwrap();
        let prs_ms = started.elapsed().as_millis();
        rows.push(Row(
            format!("analytics reports, last {range} days ({db}; {issues} issues completed)"),
            format!("flow {flow_ms} ms, DORA {dora_ms} ms, PRs {prs_ms} ms"),
            "—".into(),
        ));
    }
    rows.extend(forecasting(&conn, &cache, db, today).await);
    conn.close().await.ok();
    rows
}

/// The forecasting flow analytics in-process (no HTTP, no rendering), each the median of a few
/// runs: aging as of now, the 365-day cumulative flow, a 10,000-trial forecast.
async fn forecasting(
    conn: &sea_orm::DatabaseConnection,
    cache: &pulse_etl::analytics::Cache,
    db: &str,
    today: chrono::NaiveDate,
) -> Vec<Row> {
    use pulse_etl::analytics::{FlowInputs, aging, cfd, filters::Filters, forecast};
    const RUNS: usize = 9;
    let f = |q: &str| Filters::parse(q, today).unwrap();
    let times = |mut run: Vec<Duration>| {
        run.sort();
        run[run.len() / 2].as_secs_f64() * 1000.0
    };
    let (mut a, mut c, mut m, mut s90, mut s365) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut items, mut days) = (0, 0);
    for _ in 0..RUNS {
        let started = Instant::now();
        let inputs = FlowInputs::load(conn, cache).await.unwrap();
        items = aging::aging(conn, &inputs, &f("range=90"), chrono::Utc::now(), None)
            .await
            .unwrap()
            .items
            .len();
        a.push(started.elapsed());
        let started = Instant::now();
        days = cfd::cfd(&FlowInputs::load(conn, cache).await.unwrap(), &f("range=365"))
            .days
            .len();
        c.push(started.elapsed());
        let filters = f("range=90");
        let q = forecast::ForecastQuery::parse("days=14&trials=10000", &filters).unwrap();
        let started = Instant::now();
        forecast::forecast(&FlowInputs::load(conn, cache).await.unwrap(), &filters, &q);
        m.push(started.elapsed());
        // The scatter the flow page draws beside them (a point per completed issue, the
        // outliers above p85 labelled and linked).
        for (range, into) in [("range=90", &mut s90), ("range=365", &mut s365)] {
            let started = Instant::now();
            forecast::scatter(
                &FlowInputs::load(conn, cache).await.unwrap(),
                &f(range),
                forecast::Labelled::Outliers,
            );
            into.push(started.elapsed());
        }
    }
    vec![
        Row(
            format!("aging work in progress as of now, in-process ({db}; {items} items, median of {RUNS})"),
            format!("{:.1} ms", times(a)),
            "—".into(),
        ),
        Row(
            format!("cumulative flow, {days} days, in-process ({db}; median of {RUNS})"),
            format!("{:.1} ms", times(c)),
            "< 100 ms".into(),
        ),
        Row(
            format!("cycle-time scatter with its Jira labels, in-process ({db}; median of {RUNS})"),
            format!("90 days {:.1} ms, 365 days {:.1} ms", times(s90), times(s365)),
            "—".into(),
        ),
        Row(
            format!("Monte Carlo forecast, 10,000 trials over 90 days, in-process ({db}; median of {RUNS})"),
            format!("{:.1} ms", times(m)),
            "< 50 ms".into(),
        ),
    ]
}

/// A `pulse-etl serve` process on `url` with the simulated Backend Service, ready; its base URL
/// and an admin token.
async fn spawn_serve(url: &str, key: &str, urls: &Value) -> (Child, String, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // `BENCH_SERVE_WRAPPER="heaptrack -o /tmp/serve"` runs the service under a profiler.
    let wrapper = std::env::var("BENCH_SERVE_WRAPPER").ok();
    let mut command = match wrapper.as_deref().map(str::split_whitespace) {
        Some(mut words) => {
            let mut c = Command::new(words.next().expect("a wrapper command"));
            c.args(words).arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    let child = command
        .arg("serve")
        .env_clear()
        .envs(wrapper.and(std::env::var_os("PATH")).map(|p| ("PATH", p)))
        .env("DATABASE_URL", url)
        .env("BACKEND_SERVICE_URL", urls["backend"].as_str().unwrap())
        .env("SECRET_KEY", "s".repeat(64))
        .env("ENCRYPTION_KEY", key)
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .env("ALLOW_PRIVATE_INTEGRATION_HOSTS", "true")
        // The load and the fan-out stand for many browsers and users, all from one address.
        .env("MAX_CONNECTIONS_PER_CLIENT", "0")
        .env("MAX_WEBSOCKETS_PER_USER", "0")
        .env("LOG_LEVEL", "error")
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("BENCH_SERVE_STDERR").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    while !http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let login: Value = http
        .post(format!("{}/api/v1/auth/login", urls["backend"].as_str().unwrap()))
        .json(&json!({"email": "admin@example.com", "password": "pulse-admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (child, base, login["token"].as_str().unwrap().to_string())
}

/// `{name} p50 … / p99 … ms` of GET `url`: one warm-up request, then `rounds` sequential ones.
async fn timed(http: &reqwest::Client, url: &str, token: &str, name: &str, rounds: usize) -> String {
    let get = || async {
        let started = Instant::now();
        let r = http.get(url).bearer_auth(token).send().await.unwrap();
        let ok = r.status() == 200;
        let _ = r.bytes().await;
        (started.elapsed(), ok)
    };
    get().await;
    let mut times = Vec::with_capacity(rounds);
    let mut errors = 0;
    for _ in 0..rounds {
        let (t, ok) = get().await;
        errors += usize::from(!ok);
        times.push(t);
    }
    format!(
        "{name} p50 {} / p99 {} ms{}",
        ms(pct(&mut times, 0.5)),
        ms(pct(&mut times, 0.99)),
        if errors > 0 {
            format!(" ({errors} errors)")
        } else {
            String::new()
        }
    )
}

/// Each analytics page over HTTP (rendered HTML, as a browser gets it) from a `serve` process on
/// the synced database: one warm-up request, then `ROUNDS` sequential requests per page.
async fn analytics_pages(url: &str, db: &str, key: &str, urls: &Value) -> Vec<Row> {
    const ROUNDS: usize = 30;
    let (mut child, base, token) = spawn_serve(url, key, urls).await;
    let http = reqwest::Client::new();
    let mut rows = Vec::new();
    // `BENCH_PAGE=/analytics/flow?range=365`: only that page (to profile one page), and its size
    // (`BENCH_PAGE_SAVE=FILE` keeps a copy of it).
    if let Ok(path) = std::env::var("BENCH_PAGE") {
        let url = format!("{base}{path}");
        let bytes = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        if let Ok(keep) = std::env::var("BENCH_PAGE_SAVE") {
            std::fs::write(keep, &bytes).unwrap();
        }
        let cell = timed(&http, &url, &token, &path, ROUNDS).await;
        rows.push(Row(
            format!("{path} over HTTP ({db})"),
            format!("{cell}, {} KB", bytes.len() / 1024),
            "—".into(),
        ));
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let _ = child.wait();
        return rows;
    }
    for range in ["90", "365"] {
        let mut cells = Vec::new();
        for page in ["dora", "prs", "flow"] {
            let url = format!("{base}/analytics/{page}?range={range}");
            cells.push(timed(&http, &url, &token, page, ROUNDS).await);
        }
        rows.push(Row(
            format!("analytics pages over HTTP, last {range} days ({db}; {ROUNDS} requests each)"),
            cells.join(", "),
            "p50 < 100 ms, p99 < 300 ms".into(),
        ));
    }
    // The forecasting APIs over HTTP (JSON as a client gets it).
    let mut cells = Vec::new();
    for (name, path) in [
        ("aging", "/api/v1/metrics/flow/aging?range=90"),
        ("cfd 365 d", "/api/v1/metrics/flow/cfd?range=365"),
        (
            "forecast 10k trials",
            "/api/v1/metrics/flow/forecast?range=90&days=14&trials=10000",
        ),
    ] {
        cells.push(timed(&http, &format!("{base}{path}"), &token, name, ROUNDS).await);
    }
    rows.push(Row(
        format!("forecasting flow APIs over HTTP ({db}; {ROUNDS} requests each)"),
        cells.join(", "),
        "CFD < 100 ms, forecast < 50 ms".into(),
    ));
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    rows
}

/// The bench's GitHub integration: the simulated organisation `acme`, deployments as the source.
async fn add_github(url: &str, key: &str, urls: &Value) {
    let (conn, vault, _) = integration_setup(url, key, urls).await;
    let input = IntegrationInput {
        kind: "github".into(),
        name: "bench GitHub".into(),
        base_url: urls["github"].as_str().unwrap().into(),
        flavour: "github".into(),
        username: None,
        secret: Some("sim-github-token".into()),
        settings: json!({"organization": "acme", "deployment_source": {"kind": "deployments"}}),
        active: Some(true),
    };
    let valid = input.validate(false).unwrap();
    pulse_etl::db::integrations::create(&conn, &vault, &valid, None)
        .await
        .unwrap();
}

fn sync(url: &str, key: &str) -> Value {
    sync_job(url, key, "jira_sync")
}

/// One sync run in its own process (`pulse-etl sync --json`): its last stdout line.
fn sync_job(url: &str, key: &str, job: &str) -> Value {
    let out = Command::new(bin())
        .args(["sync", "--job", job, "--json"])
        .env_clear()
        .env("DATABASE_URL", url)
        .env("ENCRYPTION_KEY", key)
        .env("ALLOW_PRIVATE_INTEGRATION_HOSTS", "true")
        .env(
            "LOG_LEVEL",
            std::env::var("BENCH_SYNC_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .output()
        .unwrap();
    // BENCH_SYNC_LOG=debug: the sync's log (its stderr) goes to the bench's stderr.
    if std::env::var_os("BENCH_SYNC_LOG").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let run: Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}"))
        .unwrap_or_else(|_| json!({"ok": false, "error": String::from_utf8_lossy(&out.stderr)}));
    if std::env::var_os("BENCH_SYNC_LOG").is_some() {
        eprintln!(
            "{job}: {}",
            serde_json::to_string_pretty(&run["scopes"]).unwrap_or_default()
        );
    }
    run
}

async fn service_start() -> Vec<Row> {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let mut child = Command::new(bin())
        .arg("serve")
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display()),
        )
        .env("BACKEND_SERVICE_URL", "http://127.0.0.1:9")
        .env("SECRET_KEY", "s".repeat(64))
        .env("ENCRYPTION_KEY", random_key())
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let ready_url = format!("http://127.0.0.1:{port}/health/ready");
    let mut ready = None;
    while started.elapsed() < Duration::from_secs(30) {
        if http.get(&ready_url).send().await.is_ok_and(|r| r.status() == 200) {
            ready = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = rss_kb(child.id());
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let size = std::fs::metadata(bin()).map(|m| m.len()).unwrap_or(0);
    vec![
        Row(
            "start-up to ready (fresh SQLite: migrations applied)".into(),
            ready
                .map(|d| format!("{} ms", d.as_millis()))
                .unwrap_or_else(|| "not ready in 30 s".into()),
            "—".into(),
        ),
        Row(
            "idle RSS after start-up".into(),
            format!("{} MB", rss.unwrap_or(0) / 1024),
            "—".into(),
        ),
        Row(
            "release binary size".into(),
            format!("{:.1} MB", size as f64 / 1_048_576.0),
            "—".into(),
        ),
    ]
}

/// CPU seconds (user + system) a process used itself and those of its children it has waited
/// for, from `/proc/PID/stat` (Linux, 100 ticks per second); None where that cannot be read.
fn cpu_secs(pid: &str) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some(((ticks(11)? + ticks(12)?) / 100.0, (ticks(13)? + ticks(14)?) / 100.0))
}

/// Where the CPU of a sync went: the sync process, the simulator and (PostgreSQL on this
/// machine) the database backends, which end with the sync's connections and are then counted
/// as the postmaster's children.
struct CpuSplit {
    sim: u32,
    postmaster: Option<String>,
    before: [f64; 3],
}

impl CpuSplit {
    async fn start(sim: u32, url: &str) -> Self {
        let postmaster = if url.starts_with("postgres") {
            use sea_orm::ConnectionTrait;
            let conn = pulse_etl::db::connect(url).await.unwrap();
            let row = conn
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT pg_backend_pid()::bigint AS pid",
                ))
                .await
                .unwrap()
                .unwrap();
            let backend: i64 = row.try_get("", "pid").unwrap();
            std::fs::read_to_string(format!("/proc/{backend}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("PPid:").map(|p| p.trim().to_string()))
                })
        } else {
            None
        };
        let mut split = Self {
            sim,
            postmaster,
            before: [0.0; 3],
        };
        split.before = split.now();
        split
    }

    fn now(&self) -> [f64; 3] {
        [
            cpu_secs("self").map_or(0.0, |c| c.1),
            cpu_secs(&self.sim.to_string()).map_or(0.0, |c| c.0),
            self.postmaster.as_deref().and_then(cpu_secs).map_or(0.0, |c| c.1),
        ]
    }

    /// "CPU: sync 12.1 s, simulator 9.8 s, PostgreSQL 18.2 s" since [`CpuSplit::start`].
    fn report(&self) -> String {
        // The backends end just after the sync's connections close; wait until they are counted.
        std::thread::sleep(Duration::from_millis(500));
        let now = self.now();
        let d = |i: usize| now[i] - self.before[i];
        let mut out = format!("CPU: sync {:.1} s, simulator {:.1} s", d(0), d(1));
        if self.postmaster.is_some() {
            out += &format!(", PostgreSQL {:.1} s", d(2));
        }
        out
    }
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Force-stop latency with 5 s of upstream latency, and WebSocket fan-out to `clients` sockets,
/// against a `serve` process on SQLite with the simulators in their own process. Runs on its own
/// thread with an actix system (the WebSocket client, awc, is single-threaded).
fn live_service(clients: usize) -> Vec<Row> {
    std::thread::spawn(move || actix_web::rt::System::new().block_on(live_service_inner(clients)))
        .join()
        .unwrap()
}

async fn live_service_inner(clients: usize) -> Vec<Row> {
    let (mut sim, urls) = start_sim(&SizeOptions::small());
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("live.db").display());
    let key = random_key();
    add_jira(&url, &key, &urls).await;
    let (mut child, base, token) = spawn_serve(&url, &key, &urls).await;
    let port = base.rsplit(':').next().unwrap().to_string();
    let http = reqwest::Client::new();
    let admin = urls["admin"].as_str().unwrap().to_string();
    let control = |job: &'static str, action: &'static str| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            http.post(format!("{base}/api/v1/jobs/{job}/{action}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let status = |job: &'static str| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let body: Value = http
                .get(format!("{base}/api/v1/jobs/status"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|j| j["job_type"] == job)
                .map(|j| j["status"].as_str().unwrap_or_default().to_string())
                .unwrap_or_default()
        }
    };

    // Force stop: every upstream answer takes 5 s, so each stop interrupts a request in flight.
    http.post(format!("{admin}/sim/config"))
        .json(&json!({"latency_ms": 5000}))
        .send()
        .await
        .unwrap();
    let mut stops = Vec::new();
    let rounds = 25;
    for _ in 0..rounds {
        control("jira_sync", "start").await;
        while status("jira_sync").await != "RUNNING" {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let asked = Instant::now();
        control("jira_sync", "stop").await;
        while status("jira_sync").await == "RUNNING" {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stops.push(asked.elapsed());
    }
    http.post(format!("{admin}/sim/config"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    // Fan-out: `clients` sockets; each status change must reach every one of them.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant, String)>();
    let mut connected = 0;
    for i in 0..clients {
        let req = awc::Client::new()
            .ws(format!("ws://127.0.0.1:{port}/ws"))
            .header("Origin", base.clone())
            .bearer_auth(&token);
        let Ok((_, mut socket)) = req.connect().await else {
            continue;
        };
        connected += 1;
        let tx = tx.clone();
        actix_web::rt::spawn(async move {
            use futures_util::{SinkExt, StreamExt};
            while let Some(Ok(frame)) = socket.next().await {
                match frame {
                    awc::ws::Frame::Text(text) => {
                        let at = Instant::now();
                        let msg: Value = serde_json::from_slice(&text).unwrap_or_default();
                        if msg["type"] == "job_status" && msg["job_type"] == "github_sync" {
                            let _ = tx.send((i, at, msg["status"].as_str().unwrap_or_default().to_string()));
                        }
                    }
                    awc::ws::Frame::Ping(b) => {
                        let _ = socket.send(awc::ws::Message::Pong(b)).await;
                    }
                    _ => {}
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    while rx.try_recv().is_ok() {} // the snapshots
    let mut fan = Vec::new();
    let mut missed = 0;
    for _ in 0..3 {
        let asked = Instant::now();
        control("github_sync", "start").await;
        let mut got = vec![None; clients];
        let deadline = asked + Duration::from_secs(10);
        while got.iter().filter(|g| g.is_some()).count() < connected {
            let Ok(Some((i, at, _))) = tokio::time::timeout_at(deadline.into(), rx.recv()).await else {
                break;
            };
            if got[i].is_none() {
                got[i] = Some(at - asked);
            }
        }
        missed += connected - got.iter().filter(|g| g.is_some()).count();
        fan.extend(got.into_iter().flatten());
        while !matches!(status("github_sync").await.as_str(), "FINISHED" | "FAILED") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        while rx.try_recv().is_ok() {}
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let _ = sim.kill();
    let _ = sim.wait();
    vec![
        Row(
            format!("force stop with 5 s upstream latency ({rounds} stops)"),
            format!(
                "p50 {} ms, p99 {} ms",
                ms(pct(&mut stops, 0.5)),
                ms(pct(&mut stops, 0.99))
            ),
            "< 1 s".into(),
        ),
        Row(
            format!("WebSocket fan-out: a status change reaches {connected} of {clients} clients (3 changes)"),
            format!(
                "p50 {} ms, p99 {} ms, max {} ms, {missed} missed",
                ms(pct(&mut fan, 0.5)),
                ms(pct(&mut fan, 0.99)),
                ms(pct(&mut fan, 1.0))
            ),
            "p99 ≤ 500 ms".into(),
        ),
    ]
}

/// The `q` quantile (nearest rank) of `xs`.
fn pct(xs: &mut [Duration], q: f64) -> Duration {
    if xs.is_empty() {
        return Duration::ZERO;
    }
    xs.sort();
    let rank = ((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
    xs[rank - 1]
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}
