//! Cloud changelogs: truncated when embedded, complete through `/issue/{id}/changelog` and
//! `/changelog/bulkfetch`.

use std::collections::BTreeMap;

use pulse_sim::model::cmp_numeric;
use pulse_sim::state::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{BIG, Sim, error_message, is_jira_time};

fn history_ids(histories: &Value) -> Vec<String> {
    histories
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

fn truth_ids(sim: &Sim, id: &str) -> Vec<String> {
    sim.issue(id).changelog.iter().map(|h| h.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_changelog_is_truncated_newest_first_and_the_follow_ups_complete_it() {
    let sim = Sim::start().await;
    let truth = truth_ids(&sim, BIG);
    assert_eq!(truth.len(), 150);

    // Search with expand=changelog: at most 40 (the default cap), newest first, total = 150.
    let (status, body) = sim
        .cloud_get(
            "/rest/api/3/search/jql",
            &[
                ("jql", &format!("id = {BIG}")),
                ("expand", "changelog"),
                ("fields", "status"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cl = &body["issues"][0]["changelog"];
    assert_eq!(cl["startAt"], 0);
    assert_eq!(cl["total"], 150);
    assert_eq!(cl["maxResults"], 40);
    let newest: Vec<String> = truth.iter().rev().take(40).cloned().collect();
    assert_eq!(history_ids(&cl["histories"]), newest);
    let first = &cl["histories"][0];
    assert!(is_jira_time(first["created"].as_str().unwrap()));
    assert_eq!(first["items"][0]["field"], "status");
    assert_eq!(first["items"][0]["fieldId"], "status");

    // Follow-up 1: /issue/{id}/changelog, oldest first, startAt paging (default 100).
    for (key, page) in [(BIG, None), ("ALPHA-50", Some(7)), (BIG, Some(7)), (BIG, Some(100))] {
        let id = if key == BIG {
            BIG.to_string()
        } else {
            sim.truth.jira.issues.iter().find(|i| i.key == key).unwrap().id.clone()
        };
        let mut got = Vec::new();
        let mut start = 0usize;
        loop {
            let start_s = start.to_string();
            let page_s = page.map(|p: usize| p.to_string());
            let mut q = vec![("startAt", start_s.as_str())];
            if let Some(p) = &page_s {
                q.push(("maxResults", p));
            }
            let (status, body) = sim.cloud_get(&format!("/rest/api/3/issue/{key}/changelog"), &q).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let max = page.unwrap_or(100);
            assert_eq!(body["maxResults"], max);
            assert_eq!(body["startAt"], start);
            assert_eq!(body["total"], sim.issue(&id).changelog.len());
            assert!(
                body["self"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("/jira-cloud/rest/api/3/issue/{key}/changelog?startAt={start}"))
            );
            let values = body["values"].as_array().unwrap();
            got.extend(history_ids(&body["values"]));
            start += values.len();
            if body["isLast"] == true {
                assert!(body.get("nextPage").is_none());
                break;
            }
            assert!(body["nextPage"].as_str().unwrap().contains(&format!("startAt={start}")));
            assert_eq!(values.len(), max);
        }
        assert_eq!(got, truth_ids(&sim, &id), "{key} page {page:?}");
    }
    let (status, body) = sim.cloud_get("/rest/api/3/issue/NOPE-1/changelog", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        error_message(&body),
        "Issue does not exist or you do not have permission to see it."
    );
    sim.stop().await;
}

/// All pages of a bulkfetch: per page, (issue id, history) in response order.
async fn bulk_pages(sim: &Sim, keys: &[String], field_ids: &[&str], max: Option<usize>) -> Vec<Vec<(String, Value)>> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10_000 {
        let mut body = json!({ "issueIdsOrKeys": keys });
        if !field_ids.is_empty() {
            body["fieldIds"] = json!(field_ids);
        }
        if let Some(m) = max {
            body["maxResults"] = json!(m);
        }
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let (status, page) = sim.cloud_post("/rest/api/3/changelog/bulkfetch", body).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut n = 0;
        let mut this = Vec::new();
        for log in page["issueChangeLogs"].as_array().unwrap() {
            let id = log["issueId"].as_str().unwrap().to_string();
            for h in log["changeHistories"].as_array().unwrap() {
                this.push((id.clone(), h.clone()));
                n += 1;
            }
        }
        pages.push(this);
        assert!(n <= max.unwrap_or(1000));
        match page.get("nextPageToken").and_then(Value::as_str) {
            Some(t) => {
                assert_eq!(n, max.unwrap_or(1000));
                token = Some(t.to_string());
            }
            None => return pages,
        }
    }
    panic!("runaway bulkfetch paging");
}

async fn bulk(sim: &Sim, keys: &[String], field_ids: &[&str], max: Option<usize>) -> Vec<(String, Value)> {
    bulk_pages(sim, keys, field_ids, max)
        .await
        .into_iter()
        .flatten()
        .collect()
}

fn created(h: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_str(h["created"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.3f%z").unwrap()
}

/// Bulkfetch order: changelog date, then issue id.
fn bulk_order(a: &(String, Value), b: &(String, Value)) -> std::cmp::Ordering {
    created(&a.1).cmp(&created(&b.1)).then_with(|| cmp_numeric(&a.0, &b.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulkfetch_returns_complete_changelogs_oldest_first() {
    let sim = Sim::with_config(SimConfig {
        jira_cloud_changelog_cap: 3,
        ..SimConfig::default()
    })
    .await;
    // A mix of ids and keys, including the long one and issues without history.
    let chosen: Vec<&pulse_sim::model::JiraIssue> = sim
        .truth
        .jira
        .issues
        .iter()
        .filter(|i| i.id.as_str() >= "10140" && i.id.as_str() <= "10160")
        .collect();
    let keys: Vec<String> = chosen
        .iter()
        .enumerate()
        .map(|(n, i)| if n % 2 == 0 { i.id.clone() } else { i.key.clone() })
        .collect();
    for max in [None, Some(1), Some(13), Some(100)] {
        let pages = bulk_pages(&sim, &keys, &[], max).await;
        // Pages follow the global order (changelog date, then issue id): everything on a
        // page sorts at or after everything on the pages before it.
        for w in pages.windows(2) {
            let last = w[0].iter().max_by(|a, b| bulk_order(a, b)).unwrap();
            let first = w[1].iter().min_by(|a, b| bulk_order(a, b)).unwrap();
            assert!(
                bulk_order(last, first).is_lt(),
                "{} {} before {} {}",
                first.0,
                first.1["id"],
                last.0,
                last.1["id"]
            );
        }
        let got: Vec<(String, Value)> = pages.into_iter().flatten().collect();
        // Per issue: the whole changelog, oldest first.
        let mut per_issue: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, h) in &got {
            per_issue
                .entry(id.clone())
                .or_default()
                .push(h["id"].as_str().unwrap().to_string());
        }
        for issue in &chosen {
            let want = truth_ids(&sim, &issue.id);
            assert_eq!(
                per_issue.remove(&issue.id).unwrap_or_default(),
                want,
                "{} max {max:?}",
                issue.key
            );
        }
        assert!(per_issue.is_empty());
    }
    // The embedded changelog was capped at 3 meanwhile; search and the follow-up agree.
    let (_, body) = sim
        .cloud_get(
            "/rest/api/3/search/jql",
            &[
                ("jql", "id >= 10140 and id <= 10160"),
                ("expand", "changelog"),
                ("maxResults", "100"),
            ],
        )
        .await;
    let mut truncated = 0;
    for issue in body["issues"].as_array().unwrap() {
        let cl = &issue["changelog"];
        let total = cl["total"].as_u64().unwrap() as usize;
        let shown = history_ids(&cl["histories"]);
        assert_eq!(shown.len(), total.min(3));
        let truth = truth_ids(&sim, issue["id"].as_str().unwrap());
        assert_eq!(total, truth.len());
        let newest: Vec<String> = truth.iter().rev().take(3).cloned().collect();
        assert_eq!(shown, newest);
        if total > shown.len() {
            truncated += 1;
        }
    }
    assert!(truncated >= 2, "{truncated}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulkfetch_filters_fields_and_validates_its_body() {
    let sim = Sim::start().await;
    let keys = vec![BIG.to_string(), "ALPHA-2".to_string()];
    let got = bulk(&sim, &keys, &["assignee"], Some(10)).await;
    let want: usize = [BIG, "10004"]
        .iter()
        .map(|id| {
            sim.issue(id)
                .changelog
                .iter()
                .filter(|h| h.items.iter().any(|i| i.field == "assignee"))
                .count()
        })
        .sum();
    assert_eq!(got.len(), want);
    assert!(want > 0);
    for (_, h) in &got {
        let items = h["items"].as_array().unwrap();
        assert!(!items.is_empty());
        assert!(items.iter().all(|i| i["fieldId"] == "assignee"), "{h}");
    }
    let too_many: Vec<String> = (0..1001).map(|n| format!("{}", 10_001 + n)).collect();
    for body in [
        json!({ "issueIdsOrKeys": [] }),
        json!({ "issueIdsOrKeys": too_many }),
        json!({}),
        json!({ "issueIdsOrKeys": ["ALPHA-1"], "maxResults": 0 }),
        json!({ "issueIdsOrKeys": ["ALPHA-1"], "startAt": 0 }),
        json!({ "issueIdsOrKeys": ["ALPHA-1"], "nextPageToken": "bogus" }),
    ] {
        let (status, res) = sim.cloud_post("/rest/api/3/changelog/bulkfetch", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {res}");
        assert!(!error_message(&res).is_empty());
    }
    sim.stop().await;
}
