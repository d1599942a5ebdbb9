//! Jira Data Center `GET|POST /rest/api/2/search` under the context path.

use std::collections::HashSet;

use pulse_sim::model::{JiraIssue, cmp_numeric};
use pulse_sim::state::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{BIG, Sim, error_message, ids, is_jira_time};

const PATH: &str = "/rest/api/2/search";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_at_paging_returns_every_match_exactly_once_in_order() {
    let sim = Sim::start().await;
    assert!(sim.handle.urls.jira_dc.ends_with("/jira-dc/jira"));
    let mut want: Vec<&JiraIssue> = sim
        .truth
        .jira
        .issues
        .iter()
        .filter(|i| i.project_id != "10001")
        .collect();
    want.sort_by(|a, b| {
        a.created
            .cmp(&b.created)
            .reverse()
            .then_with(|| cmp_numeric(&a.id, &b.id))
    });
    let want: Vec<String> = want.iter().map(|i| i.id.clone()).collect();
    let jql = "project in (ALPHA, GAMMA) ORDER BY created DESC";
    for max in [1usize, 7, 50, 100] {
        for post in [false, true] {
            let mut got: Vec<Value> = Vec::new();
            let mut start = 0usize;
            loop {
                let (status, body) = if post {
                    sim.dc_post(
                        PATH,
                        json!({ "jql": jql, "startAt": start, "maxResults": max, "fields": ["created"] }),
                    )
                    .await
                } else {
                    let (s, m) = (start.to_string(), max.to_string());
                    sim.dc_get(
                        PATH,
                        &[("jql", jql), ("startAt", &s), ("maxResults", &m), ("fields", "created")],
                    )
                    .await
                };
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_eq!(body["startAt"], start);
                assert_eq!(body["maxResults"], max);
                assert_eq!(body["total"], want.len());
                assert!(body.get("nextPageToken").is_none() && body.get("isLast").is_none());
                let page = body["issues"].as_array().unwrap();
                assert!(page.len() <= max);
                if page.is_empty() {
                    break;
                }
                got.extend(page.iter().cloned());
                start += page.len();
                assert!(start <= 10_000);
            }
            let got = ids(&got);
            assert_eq!(got.len(), got.iter().collect::<HashSet<_>>().len(), "duplicates");
            assert_eq!(got, want, "maxResults {max} post {post}");
        }
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_results_is_capped_and_stated_and_defaults_to_navigable_fields() {
    let sim = Sim::with_config(SimConfig {
        jira_max_results: 25,
        ..SimConfig::default()
    })
    .await;
    let (status, body) = sim
        .dc_get(PATH, &[("jql", "project = ALPHA"), ("maxResults", "1000")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["maxResults"], 25);
    assert_eq!(body["issues"].as_array().unwrap().len(), 25);
    assert_eq!(body["total"], crate::ISSUES / 3);
    // maxResults=0 counts without issues; unbounded JQL is allowed on DC.
    let (_, body) = sim.dc_get(PATH, &[("jql", ""), ("maxResults", "0")]).await;
    assert_eq!(body["total"], crate::ISSUES);
    assert_eq!(body["issues"], json!([]));
    // Default fields: *navigable; users carry name/key; self URLs include the context path.
    let (_, body) = sim.dc_get(PATH, &[("jql", "key = ALPHA-2")]).await;
    let issue = &body["issues"][0];
    assert!(
        issue["self"]
            .as_str()
            .unwrap()
            .ends_with("/jira-dc/jira/rest/api/2/issue/10004"),
        "{issue}"
    );
    let f = &issue["fields"];
    for k in [
        "summary",
        "status",
        "issuetype",
        "project",
        "priority",
        "assignee",
        "reporter",
        "created",
        "updated",
        "resolutiondate",
        "resolution",
        "parent",
        "customfield_10016",
        "labels",
    ] {
        assert!(f.get(k).is_some(), "{k} missing: {f}");
    }
    let assignee = &f["assignee"];
    let user = &sim.truth.jira.users[sim.issue("10004").assignee.unwrap()];
    assert_eq!(assignee["name"], user.name);
    assert_eq!(assignee["key"], user.name);
    assert!(assignee.get("accountId").is_none());
    assert!(
        assignee["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/jira-dc/jira/rest/api/2/user?username={}", user.name))
    );
    assert!(
        f["status"]["self"]
            .as_str()
            .unwrap()
            .contains("/jira-dc/jira/rest/api/2/status/")
    );
    assert!(f["issuetype"].get("hierarchyLevel").is_none());
    let (status, body) = sim.dc_get(PATH, &[("jql", "project = ALPHA AND")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_message(&body).starts_with("Error in the JQL Query:"));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expand_changelog_returns_the_whole_history_oldest_first() {
    let sim = Sim::start().await;
    let (status, body) = sim
        .dc_post(
            PATH,
            json!({ "jql": format!("id = {BIG}"), "expand": ["changelog"], "fields": ["status"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let cl = &body["issues"][0]["changelog"];
    assert_eq!(cl["startAt"], 0);
    assert_eq!(cl["total"], 150);
    assert_eq!(cl["maxResults"], 150);
    let got: Vec<&str> = cl["histories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = sim.issue(BIG).changelog.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(got, want);
    let h = &cl["histories"][0];
    assert!(is_jira_time(h["created"].as_str().unwrap()));
    assert!(h["author"]["name"].is_string() && h["author"].get("accountId").is_none());
    assert!(h["items"][0].get("fieldId").is_none(), "DC items carry no fieldId");
    // GET with a comma list works too; Cloud's follow-up endpoints do not exist on DC.
    let (_, body) = sim
        .dc_get(PATH, &[("jql", "id = 10004"), ("expand", "names,changelog")])
        .await;
    assert_eq!(
        body["issues"][0]["changelog"]["total"],
        sim.issue("10004").changelog.len()
    );
    let res = sim
        .dc(reqwest::Method::GET, &format!("/rest/api/2/issue/{BIG}/changelog"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    sim.stop().await;
}
