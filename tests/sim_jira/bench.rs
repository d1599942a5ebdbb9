//! Throughput of the Jira simulator (ignored by default; run in release):
//! `cargo test --release --test sim_jira bench -- --ignored --nocapture`

use std::time::Instant;

use chrono::Duration;
use pulse_etl::sim::jira::json::Out;
use pulse_etl::sim::jira::render::{Ctx, Embed, FieldSet, Flavor};
use pulse_etl::sim::model::{Dataset, JiraChangeItem, JiraHistory};
use reqwest::StatusCode;
use serde_json::Value;

use crate::Sim;

/// `n` issues with `h` histories each (one or two items), on top of the test dataset's
/// reference data.
fn big_dataset(n: usize, h: usize) -> Dataset {
    let mut d = crate::dataset();
    let template = d.jira.issues[1].clone();
    let mut issues = Vec::with_capacity(n);
    let mut hid = 1_000_000u64;
    for i in 0..n {
        let mut issue = template.clone();
        issue.id = format!("{}", 100_000 + i);
        issue.key = format!("{}-{}", ["ALPHA", "BETA", "GAMMA"][i % 3], i + 1);
        issue.project_id = ["10000", "10001", "10002"][i % 3].into();
        issue.created = crate::base() + Duration::minutes(i as i64);
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

#[test]
#[ignore]
fn bench_render_only() {
    let d = big_dataset(20_000, 30);
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
        println!(
            "render {flavor:?}: {} issues x 30 histories in {secs:.3}s = {:.0} issues/s, {:.1} KB/issue",
            d.jira.issues.len(),
            d.jira.issues.len() as f64 / secs,
            bytes as f64 / d.jira.issues.len() as f64 / 1024.0
        );
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
async fn http_paging(n: usize, h: usize) {
    let sim = Sim::start().await;
    *sim.handle.state.data_mut() = big_dataset(n, h);
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
        let res = sim
            .cloud(reqwest::Method::GET, "/rest/api/3/search/jql")
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
    println!(
        "HTTP Cloud search/jql, {n} issues x {h} histories: {secs:.2}s wall = {:.0} issues/s; server CPU {cpu:.2}s = {:.0} issues/s per core; {:.1} KB/issue",
        n as f64 / secs,
        n as f64 / cpu,
        bytes as f64 / n as f64 / 1024.0
    );
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
        let res = sim
            .dc(reqwest::Method::GET, "/rest/api/2/search")
            .query(&q)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.bytes().await.unwrap();
        at += 100;
    }
    let (secs, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds("actix") - cpu0);
    println!(
        "HTTP DC search, {n} issues x {h} histories: {secs:.2}s wall = {:.0} issues/s; server CPU {cpu:.2}s = {:.0} issues/s per core",
        n as f64 / secs,
        n as f64 / cpu
    );
    let (_, v): (_, Value) = sim
        .dc_get(
            "/rest/api/2/search",
            &[("jql", "key = ALPHA-1"), ("expand", "changelog")],
        )
        .await;
    assert_eq!(v["issues"][0]["changelog"]["total"], h);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
#[ignore]
async fn bench_http_paging() {
    http_paging(20_000, 30).await;
    http_paging(100_000, 8).await;
}
