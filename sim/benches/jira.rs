//! Throughput of the Jira simulator: rendering issues only, and paging through them over HTTP as
//! the Jira sync does (Cloud `search/jql` with tokens, Data Center `search` with `startAt`).
//! Part of `make bench`; alone: `cargo bench -p pulse-sim --bench jira [-- --quick]`.
//! Prints one Markdown table.
#![allow(clippy::unwrap_used)] // a benchmark stops at the first surprise

#[path = "../tests/jira/dataset.rs"]
mod dataset;

use std::time::Instant;

use chrono::Duration;
use pulse_sim::jira::json::Out;
use pulse_sim::jira::render::{Ctx, Embed, FieldSet, Flavor};
use pulse_sim::model::{Dataset, JiraChangeItem, JiraHistory};
use pulse_sim::upstream::{JIRA_CLOUD_EMAIL, JIRA_CLOUD_TOKEN, JIRA_DC_PAT};
use pulse_sim::{SimHandle, SimOptions};
use reqwest::StatusCode;

struct Row(String, String);

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let quick = std::env::args().any(|a| a == "--quick");
    let mut rows = Vec::new();
    render_only(if quick { 4_000 } else { 20_000 }, 30, &mut rows);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    if quick {
        rt.block_on(http_paging(4_000, 30, &mut rows));
    } else {
        rt.block_on(http_paging(20_000, 30, &mut rows));
        rt.block_on(http_paging(100_000, 8, &mut rows));
    }
    println!("\n| measurement | result |\n|---|---|");
    for Row(what, result) in rows {
        println!("| {what} | {result} |");
    }
}

/// `n` issues with `h` histories each (one or two items), on top of the test dataset's
/// reference data.
fn big_dataset(n: usize, h: usize) -> Dataset {
    let mut d = dataset::dataset();
    let template = d.jira.issues[1].clone();
    let mut issues = Vec::with_capacity(n);
    let mut hid = 1_000_000u64;
    for i in 0..n {
        let mut issue = template.clone();
        issue.id = format!("{}", 100_000 + i);
        issue.key = format!("{}-{}", ["ALPHA", "BETA", "GAMMA"][i % 3], i + 1);
        issue.project_id = ["10000", "10001", "10002"][i % 3].into();
        issue.created = dataset::base() + Duration::minutes(i as i64);
        issue.updated = issue.created + Duration::hours(40);
        issue.parent_id = None;
        issue.changelog = (0..h)
            .map(|j| {
                hid += 1;
                let mut items = vec![JiraChangeItem {
                    field: "status".into(),
                    field_type: "jira".into(),
                    field_id: Some("status".into()),
                    from: Some("1".into()),
                    from_string: Some("Open".into()),
                    to: Some("3".into()),
                    to_string: Some("In Progress".into()),
                }];
                if j % 2 == 0 {
                    items.push(JiraChangeItem {
                        field: "summary".into(),
                        field_type: "jira".into(),
                        field_id: Some("summary".into()),
                        from: None,
                        from_string: Some("old summary text".into()),
                        to: None,
                        to_string: Some("new summary text".into()),
                    });
                }
                JiraHistory {
                    id: hid.to_string(),
                    author: (i + j) % 5,
                    created: issue.created + Duration::minutes(j as i64 + 1),
                    items,
                }
            })
            .collect();
        issues.push(issue);
    }
    d.jira.issues = issues;
    d
}

fn name(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Cloud => "Cloud",
        Flavor::Dc => "Data Center",
    }
}

/// Renders every issue with all fields and embedded changelogs, pages of 100, no HTTP.
fn render_only(n: usize, h: usize, rows: &mut Vec<Row>) {
    let d = big_dataset(n, h);
    for (flavor, embed) in [
        (Flavor::Cloud, Embed::NewestFirst { cap: 40 }),
        (Flavor::Dc, Embed::All),
    ] {
        let start = Instant::now();
        let mut bytes = 0;
        for chunk in d.jira.issues.chunks(100) {
            let cx = Ctx::new(flavor, &d.jira, "http://127.0.0.1:1/jira".into());
            let mut out = Out::with_capacity(1 << 20);
            for issue in chunk {
                cx.issue(&mut out, issue, FieldSet::ALL, embed);
            }
            bytes += out.buf.len();
        }
        let secs = start.elapsed().as_secs_f64();
        rows.push(Row(
            format!("Jira {} render only, {n} issues x {h} histories", name(flavor)),
            format!(
                "{secs:.3} s = {:.0} issues/s, {:.1} KB/issue",
                n as f64 / secs,
                bytes as f64 / n as f64 / 1024.0
            ),
        ));
    }
}

/// CPU seconds used so far by this process's threads whose name starts with `prefix`
/// (`actix` = the simulator's server threads; "" = the whole process).
fn cpu_seconds(prefix: &str) -> f64 {
    let tick = 100.0; // USER_HZ
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        total += rest[11].parse::<u64>().unwrap() + rest[12].parse::<u64>().unwrap();
    }
    total as f64 / tick
}

/// Pages through every issue with Cloud tokens and DC startAt (100 per page, all fields,
/// embedded changelogs); prints wall-clock and server-CPU throughput.
async fn http_paging(n: usize, h: usize, rows: &mut Vec<Row>) {
    let sim = pulse_sim::server::start(SimOptions::default()).unwrap();
    *sim.state.data_mut() = big_dataset(n, h);
    let http = reqwest::Client::new();
    let (cpu0, wall) = (cpu_seconds("actix"), Instant::now());
    let (mut got, mut bytes, mut token) = (0usize, 0usize, None::<String>);
    loop {
        let mut q = vec![
            (
                "jql",
                "project in (ALPHA, BETA, GAMMA) ORDER BY updated ASC".to_string(),
            ),
            ("maxResults", "100".into()),
            ("fields", "*all".into()),
            ("expand", "changelog".into()),
        ];
        if let Some(t) = &token {
            q.push(("nextPageToken", t.clone()));
        }
        let res = http
            .get(format!("{}/rest/api/3/search/jql", sim.urls.jira_cloud))
            .basic_auth(JIRA_CLOUD_EMAIL, Some(JIRA_CLOUD_TOKEN))
            .query(&q)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.bytes().await.unwrap();
        bytes += body.len();
        // Only the tail is read for the token (the client should cost little).
        let tail = String::from_utf8_lossy(&body[body.len().saturating_sub(400)..]).to_string();
        got += 100;
        match tail.split("\"nextPageToken\":\"").nth(1) {
            Some(rest) => token = Some(rest.split('"').next().unwrap().to_string()),
            None => break,
        }
    }
    let (secs, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds("actix") - cpu0);
    rows.push(Row(
        format!("Jira Cloud search/jql over HTTP, {n} issues x {h} histories"),
        format!(
            "{secs:.2} s = {:.0} issues/s; server CPU {cpu:.2} s = {:.0} issues/s per core; {:.1} KB/issue",
            n as f64 / secs,
            n as f64 / cpu,
            bytes as f64 / n as f64 / 1024.0
        ),
    ));
    assert!(got >= n);
    let (cpu0, wall) = (cpu_seconds("actix"), Instant::now());
    let mut at = 0;
    while at < n {
        let q = [
            (
                "jql",
                "project in (ALPHA, BETA, GAMMA) ORDER BY created ASC".to_string(),
            ),
            ("startAt", at.to_string()),
            ("maxResults", "100".into()),
            ("expand", "changelog".into()),
        ];
        let res = http
            .get(format!("{}/rest/api/2/search", sim.urls.jira_dc))
            .bearer_auth(JIRA_DC_PAT)
            .query(&q)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.bytes().await.unwrap();
        at += 100;
    }
    let (secs, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds("actix") - cpu0);
    rows.push(Row(
        format!("Jira Data Center search over HTTP, {n} issues x {h} histories"),
        format!(
            "{secs:.2} s = {:.0} issues/s; server CPU {cpu:.2} s = {:.0} issues/s per core",
            n as f64 / secs,
            n as f64 / cpu
        ),
    ));
    check_changelog(&http, &sim, h).await;
    sim.stop().await;
}

/// The pages carried the histories asked for (a fast but empty answer would time nothing).
async fn check_changelog(http: &reqwest::Client, sim: &SimHandle, h: usize) {
    let v: serde_json::Value = http
        .get(format!("{}/rest/api/2/search", sim.urls.jira_dc))
        .bearer_auth(JIRA_DC_PAT)
        .query(&[("jql", "key = ALPHA-1"), ("expand", "changelog")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["issues"][0]["changelog"]["total"], h);
}
