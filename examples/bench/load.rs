//! `bench --load SECS` and `bench --soak SECS`: mixed traffic (pages, analytics, API, health,
//! metrics) from concurrent clients plus 200 open WebSockets against one `serve` process while
//! Jira and GitHub syncs run, on SQLite and PostgreSQL. Prints errors and p50/p99 per route and
//! the service's memory over the run (the soak compares minute 3 with the last minute).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Row, add_github, add_jira, fresh_db, ms, pct, random_key, rss_kb, spawn_serve, start_sim};
use pulse_sim::generate::SizeOptions;

/// What the clients ask for, in turn.
const ROUTES: [&str; 10] = [
    "/",
    "/analytics/dora?range=90",
    "/analytics/prs?range=90",
    "/analytics/flow?range=90",
    "/api/v1/metrics/flow?range=365",
    "/api/v1/metrics/dora?range=365",
    "/api/v1/jobs/status",
    "/jobs/jira_sync",
    "/health/ready",
    "/metrics",
];

/// Concurrent HTTP clients, each sending its next request as soon as the last one is answered.
const CLIENTS: usize = 8;
/// Open WebSockets for the whole run.
const SOCKETS: usize = 200;

pub fn run(secs: u64, soak: bool) -> Vec<Row> {
    let only_db = std::env::args().skip_while(|a| a != "--db").nth(1);
    let mut rows = Vec::new();
    for db in ["sqlite", "postgres"] {
        if only_db.as_deref().is_some_and(|d| d != db) {
            continue;
        }
        rows.extend(
            std::thread::spawn(move || actix_web::rt::System::new().block_on(one(db, secs, soak)))
                .join()
                .unwrap(),
        );
    }
    rows
}

#[derive(Default)]
struct Route {
    times: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

async fn one(db: &'static str, secs: u64, soak: bool) -> Vec<Row> {
    let size = SizeOptions {
        projects: 5,
        issues: 20_000,
        repos: 10,
        prs: 4_000,
        days: 365,
    };
    let (mut sim, urls) = start_sim(&size);
    let admin = urls["admin"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    // Upstream answers take 100–200 ms, so the first full syncs (20k issues, 4k PRs) take most of
    // a minute, then incremental ones follow with the simulator's new changes.
    http.post(format!("{admin}/sim/config"))
        .json(&json!({"latency_ms": 100, "jitter_ms": 100}))
        .send()
        .await
        .unwrap();
    let (url, cleanup) = fresh_db(db).await;
    let key = random_key();
    add_jira(&url, &key, &urls).await;
    add_github(&url, &key, &urls).await;
    let (mut child, base, token) = spawn_serve(&url, &key, &urls).await;
    let pid = child.id();
    let port = base.rsplit(':').next().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));

    // The syncs: whenever one is not running, the simulated data moves on an hour and it starts
    // again (a full sync first, then incremental ones with real changes).
    let running = Arc::new(AtomicUsize::new(0));
    let samples = Arc::new(AtomicUsize::new(0));
    let syncs = {
        let (http, base, token, admin, stop) = (http.clone(), base.clone(), token.clone(), admin.clone(), stop.clone());
        let (running, samples) = (running.clone(), samples.clone());
        actix_web::rt::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let status: Value = match http
                    .get(format!("{base}/api/v1/jobs/status"))
                    .bearer_auth(&token)
                    .send()
                    .await
                {
                    Ok(r) => r.json().await.unwrap_or_default(),
                    Err(_) => Value::Null,
                };
                let jobs = status["jobs"].as_array().cloned().unwrap_or_default();
                let is_running = |job: &str| jobs.iter().any(|j| j["job_type"] == job && j["status"] == "RUNNING");
                samples.fetch_add(1, Ordering::Relaxed);
                if is_running("jira_sync") || is_running("github_sync") {
                    running.fetch_add(1, Ordering::Relaxed);
                }
                for job in ["jira_sync", "github_sync"] {
                    if !jobs.is_empty() && !is_running(job) {
                        let _ = http.post(format!("{admin}/sim/advance?minutes=60")).send().await;
                        let _ = http.post(format!("{admin}/sim/reset-limits")).send().await;
                        let _ = http
                            .post(format!("{base}/api/v1/jobs/{job}/start"))
                            .bearer_auth(&token)
                            .send()
                            .await;
                    }
                }
                actix_web::rt::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };

    // The sockets: each counts the frames it gets; a socket that closes early is an error.
    let frames = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let mut connected = 0;
    for _ in 0..SOCKETS {
        let req = awc::Client::new()
            .ws(format!("ws://127.0.0.1:{port}/ws"))
            .header("Origin", base.clone())
            .bearer_auth(&token);
        let Ok((_, mut socket)) = req.connect().await else {
            continue;
        };
        connected += 1;
        let (frames, closed, stop) = (frames.clone(), closed.clone(), stop.clone());
        actix_web::rt::spawn(async move {
            use futures_util::{SinkExt, StreamExt};
            while let Some(Ok(frame)) = socket.next().await {
                match frame {
                    awc::ws::Frame::Text(_) => {
                        frames.fetch_add(1, Ordering::Relaxed);
                    }
                    awc::ws::Frame::Ping(b) => {
                        let _ = socket.send(awc::ws::Message::Pong(b)).await;
                    }
                    awc::ws::Frame::Close(_) => break,
                    _ => {}
                }
            }
            if !stop.load(Ordering::Relaxed) {
                closed.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    // Memory, once a second.
    let rss = Arc::new(std::sync::Mutex::new(Vec::<(Duration, u64)>::new()));
    let began = Instant::now();
    {
        let (rss, stop) = (rss.clone(), stop.clone());
        actix_web::rt::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = rss_kb(pid) {
                    rss.lock().unwrap().push((began.elapsed(), kb));
                }
                actix_web::rt::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    // The clients.
    let results: Arc<std::sync::Mutex<BTreeMap<&'static str, Route>>> = Default::default();
    let deadline = began + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for w in 0..CLIENTS {
        let (http, base, token, results) = (http.clone(), base.clone(), token.clone(), results.clone());
        workers.push(actix_web::rt::spawn(async move {
            let mut n = w;
            while Instant::now() < deadline {
                let route = ROUTES[n % ROUTES.len()];
                n += 1;
                let started = Instant::now();
                let outcome = match http.get(format!("{base}{route}")).bearer_auth(&token).send().await {
                    Ok(r) if r.status() == 200 => r.bytes().await.map(|_| ()).map_err(|e| e.to_string()),
                    Ok(r) => Err(format!("HTTP {}", r.status())),
                    Err(e) => Err(e.to_string()),
                };
                let took = started.elapsed();
                let mut results = results.lock().unwrap();
                let entry = results.entry(route).or_default();
                entry.times.push(took);
                if let Err(e) = outcome {
                    entry.errors += 1;
                    entry.first_error.get_or_insert(e);
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = syncs.await;
    let elapsed = began.elapsed();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    let _ = sim.kill();
    let _ = sim.wait();
    let runs = outcomes(&url).await;
    cleanup.await;

    let kind = if soak { "soak" } else { "load" };
    let mut results = std::mem::take(&mut *results.lock().unwrap());
    let total: usize = results.values().map(|r| r.times.len()).sum();
    let errors: usize = results.values().map(|r| r.errors).sum();
    let share = |n: &AtomicUsize| n.load(Ordering::Relaxed);
    let running_pct = 100 * share(&running) / share(&samples).max(1);
    let mut rows = vec![Row(
        format!(
            "{kind}: {}s of mixed traffic on {db} ({CLIENTS} clients, {connected} of {SOCKETS} WebSockets open, a sync running {running_pct} % of the time)",
            elapsed.as_secs()
        ),
        format!(
            "{total} requests ({:.0}/s), {errors} errors, {} WebSockets closed early, {} WebSocket frames",
            total as f64 / elapsed.as_secs_f64(),
            share(&closed),
            share(&frames)
        ),
        "0 errors".into(),
    )];
    rows.push(Row(
        format!("{kind}: the syncs' runs during it ({db})"),
        runs,
        "none failed".into(),
    ));
    let cells: Vec<String> = results
        .iter_mut()
        .map(|(route, r)| {
            format!(
                "`{route}` {} / {} ms{}",
                ms(pct(&mut r.times, 0.5)),
                ms(pct(&mut r.times, 0.99)),
                match &r.first_error {
                    Some(e) => format!(" ({} errors, first: {e})", r.errors),
                    None => String::new(),
                }
            )
        })
        .collect();
    rows.push(Row(
        format!("{kind}: p50 / p99 per route ({db})"),
        cells.join("; "),
        "—".into(),
    ));
    let rss = rss.lock().unwrap().clone();
    let mb = |kb: u64| kb as f64 / 1024.0;
    let mean = |part: &[(Duration, u64)]| part.iter().map(|s| s.1).sum::<u64>() as f64 / part.len().max(1) as f64;
    // The first full syncs grow the data (and what the analytics pages hold of it); the soak
    // compares minute 3, after them, with the last minute.
    let window = |from: u64, to: u64| -> Vec<(Duration, u64)> {
        rss.iter()
            .copied()
            .filter(|(t, _)| t.as_secs() >= from && t.as_secs() < to)
            .collect()
    };
    let end = elapsed.as_secs();
    let (first, last) = (window(120, 180), window(end.saturating_sub(60), end + 1));
    rows.push(Row(
        format!("{kind}: service memory (RSS, sampled each second, {db})"),
        format!(
            "start {:.0} MB, peak {:.0} MB, end {:.0} MB{}",
            mb(rss.first().map_or(0, |s| s.1)),
            mb(rss.iter().map(|s| s.1).max().unwrap_or(0)),
            mb(rss.last().map_or(0, |s| s.1)),
            if soak && end >= 240 {
                format!(
                    "; mean over minute 3 {:.1} MB, over the last minute {:.1} MB",
                    mb(mean(&first) as u64),
                    mb(mean(&last) as u64)
                )
            } else {
                String::new()
            }
        ),
        if soak {
            "flat: no growth beyond noise".into()
        } else {
            "—".into()
        },
    ));
    rows
}

/// The runs' outcomes by job, the first error, and what was stored.
async fn outcomes(url: &str) -> String {
    use entity::enums::RunOutcome;
    use entity::{job_runs, jobs};
    use sea_orm::{EntityTrait, PaginatorTrait};
    let conn = pulse_etl::db::connect(url).await.unwrap();
    let names: BTreeMap<i64, String> = jobs::Entity::find()
        .all(&conn)
        .await
        .unwrap()
        .into_iter()
        .map(|j| (j.id, j.job_type.to_string()))
        .collect();
    let mut by: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut first_error = None;
    for r in job_runs::Entity::find().all(&conn).await.unwrap() {
        let job = names.get(&r.job_id).cloned().unwrap_or_default();
        *by.entry((job, r.outcome.to_string())).or_default() += 1;
        if !matches!(r.outcome, RunOutcome::Success | RunOutcome::Running) {
            first_error.get_or_insert(r.error.unwrap_or(r.outcome.to_string()));
        }
    }
    let issues = entity::jira_issues::Entity::find().count(&conn).await.unwrap();
    let prs = entity::pull_requests::Entity::find().count(&conn).await.unwrap();
    conn.close().await.ok();
    let mut out: Vec<String> = by
        .into_iter()
        .map(|((job, outcome), n)| format!("{job} {outcome} {n}"))
        .collect();
    out.push(format!("{issues} issues and {prs} PRs stored"));
    if let Some(e) = first_error {
        out.push(format!("first run that did not succeed: {e}"));
    }
    out.join(", ")
}
