//! Jira Cloud `GET|POST /rest/api/3/search/jql`.

use std::cmp::Ordering;

use pulse_sim::model::{JiraIssue, cmp_numeric};
use pulse_sim::state::SimConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Sim, error_message, ids, is_jira_time};

const PATH: &str = "/rest/api/3/search/jql";

/// Every page of a search, following `nextPageToken`, checking the page invariants.
async fn all_pages(sim: &Sim, jql: &str, max: usize, post: bool, extra: &[(&str, &str)]) -> Vec<Value> {
    let mut token: Option<String> = None;
    let mut issues = Vec::new();
    let mut pages = 0;
    loop {
        let max_s = max.to_string();
        let (status, body) = if post {
            let mut b = json!({ "jql": jql, "maxResults": max, "fields": ["updated", "created"] });
            if let Some(t) = &token {
                b["nextPageToken"] = json!(t);
            }
            for (k, v) in extra {
                b[*k] = json!(v);
            }
            sim.cloud_post(PATH, b).await
        } else {
            let mut q: Vec<(&str, &str)> = vec![("jql", jql), ("maxResults", &max_s), ("fields", "updated,created")];
            if let Some(t) = &token {
                q.push(("nextPageToken", t));
            }
            q.extend_from_slice(extra);
            sim.cloud_get(PATH, &q).await
        };
        assert_eq!(status, StatusCode::OK, "{body}");
        for absent in ["total", "startAt", "maxResults"] {
            assert!(body.get(absent).is_none(), "{absent} in {body}");
        }
        let page = body["issues"].as_array().unwrap();
        assert!(page.len() <= max.min(100), "{} > {max}", page.len());
        issues.extend(page.iter().cloned());
        pages += 1;
        assert!(pages <= 1_000, "runaway paging");
        match body.get("nextPageToken") {
            Some(t) => {
                assert_eq!(body["isLast"], false);
                assert_eq!(page.len(), max.min(100), "a full page before the last");
                token = Some(t.as_str().unwrap().to_string());
            }
            None => {
                assert_eq!(body["isLast"], true);
                break;
            }
        }
    }
    issues
}

fn expected(
    sim: &Sim,
    keep: impl Fn(&JiraIssue) -> bool,
    cmp: impl Fn(&JiraIssue, &JiraIssue) -> Ordering,
) -> Vec<String> {
    let mut v: Vec<&JiraIssue> = sim.truth.jira.issues.iter().filter(|i| keep(i)).collect();
    v.sort_by(|a, b| cmp(a, b).then_with(|| cmp_numeric(&a.id, &b.id)));
    v.iter().map(|i| i.id.clone()).collect()
}

/// `ALPHA-10` → ("ALPHA", 10): keys sort by project, then number.
fn key_order(key: &str) -> (String, u64) {
    let (p, n) = key.rsplit_once('-').unwrap();
    (p.to_string(), n.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_paging_returns_every_match_exactly_once_in_order() {
    let sim = Sim::start().await;
    let alpha_beta = |i: &JiraIssue| i.project_id == "10000" || i.project_id == "10001";
    let by_updated = expected(&sim, alpha_beta, |a, b| a.updated.cmp(&b.updated));
    assert!(by_updated.len() > 150);
    for max in [1, 7, 50, 100] {
        for post in [false, true] {
            let got = all_pages(&sim, "project in (ALPHA, BETA) ORDER BY updated ASC", max, post, &[]).await;
            assert_eq!(ids(&got), by_updated, "maxResults {max}, post {post}");
        }
    }
    // Descending with a second key; ties broken by id.
    let want = expected(
        &sim,
        |i| i.project_id != "10002",
        |a, b| {
            b.updated
                .cmp(&a.updated)
                .then_with(|| key_order(&a.key).cmp(&key_order(&b.key)))
        },
    );
    let got = all_pages(
        &sim,
        "project not in (GAMMA) order by updated desc, key asc",
        7,
        false,
        &[],
    )
    .await;
    assert_eq!(ids(&got), want);
    // A date window in the user's zone (Asia/Shanghai): 2024/01/20 08:00 local = 00:00 UTC.
    let from = crate::base() + chrono::Duration::days(19);
    let want = expected(
        &sim,
        |i| i.updated >= from && i.project_id == "10002",
        |a, b| a.created.cmp(&b.created),
    );
    let got = all_pages(
        &sim,
        "project = GAMMA AND updated >= '2024/01/20 08:00' ORDER BY created",
        50,
        true,
        &[],
    )
    .await;
    assert_eq!(ids(&got), want);
    let got = all_pages(
        &sim,
        "updated >= 1705708800000 and project = 10002 ORDER BY created",
        7,
        false,
        &[],
    )
    .await;
    assert_eq!(ids(&got), want);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_results_is_capped_by_the_config() {
    let sim = Sim::with_config(SimConfig {
        jira_max_results: 30,
        ..SimConfig::default()
    })
    .await;
    let (status, body) = sim
        .cloud_get(PATH, &[("jql", "project = ALPHA"), ("maxResults", "5000")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["issues"].as_array().unwrap().len(), 30);
    assert!(body["nextPageToken"].is_string());
    // Default page size is 50, capped to 30 here.
    let (_, body) = sim.cloud_get(PATH, &[("jql", "project = ALPHA")]).await;
    assert_eq!(body["issues"].as_array().unwrap().len(), 30);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_default_to_id_only_and_follow_the_fields_parameter() {
    let sim = Sim::start().await;
    let jql = "project = ALPHA ORDER BY key";
    let (status, body) = sim.cloud_get(PATH, &[("jql", jql), ("maxResults", "3")]).await;
    assert_eq!(status, StatusCode::OK);
    for issue in body["issues"].as_array().unwrap() {
        assert_eq!(issue.as_object().unwrap().keys().collect::<Vec<_>>(), ["id"], "{issue}");
    }
    let field_keys = |issue: &Value| {
        let mut k: Vec<String> = issue["fields"].as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let (_, body) = sim
        .cloud_get(
            PATH,
            &[
                ("jql", jql),
                ("maxResults", "3"),
                ("fields", "summary,status"),
                ("fields", "customfield_10016"),
            ],
        )
        .await;
    let first = &body["issues"][0];
    assert_eq!(field_keys(first), ["customfield_10016", "status", "summary"]);
    assert_eq!(first["key"], "ALPHA-1");
    assert!(
        first["self"]
            .as_str()
            .unwrap()
            .ends_with("/jira-cloud/rest/api/3/issue/10001")
    );
    let all = [
        "assignee",
        "created",
        "creator",
        "customfield_10016",
        "issuetype",
        "labels",
        "parent",
        "priority",
        "project",
        "reporter",
        "resolution",
        "resolutiondate",
        "status",
        "summary",
        "updated",
    ];
    // ALPHA-2 (index 3) has a parent.
    let (_, body) = sim
        .cloud_post(PATH, json!({ "jql": "key = ALPHA-2", "fields": ["*all"] }))
        .await;
    assert_eq!(field_keys(&body["issues"][0]), all);
    let (_, body) = sim
        .cloud_post(
            PATH,
            json!({ "jql": "key = ALPHA-2", "fields": ["*navigable", "-summary", "-parent"] }),
        )
        .await;
    let without: Vec<&str> = all
        .iter()
        .copied()
        .filter(|f| *f != "summary" && *f != "parent")
        .collect();
    assert_eq!(field_keys(&body["issues"][0]), without);
    // Only exclusions: still the default (id only).
    let (_, body) = sim
        .cloud_get(PATH, &[("jql", "key = ALPHA-2"), ("fields", "-summary")])
        .await;
    assert_eq!(body["issues"][0], json!({ "id": "10004" }));
    // Values: timestamps in the user's zone, story points as a double, status category object.
    let (_, body) = sim
        .cloud_get(PATH, &[("jql", "key = ALPHA-2"), ("fields", "*all")])
        .await;
    let f = &body["issues"][0]["fields"];
    let truth = sim.issue("10004");
    let created = f["created"].as_str().unwrap();
    assert!(is_jira_time(created) && created.ends_with("+0800"), "{created}");
    assert_eq!(
        chrono::DateTime::parse_from_str(created, "%Y-%m-%dT%H:%M:%S%.3f%z").unwrap(),
        truth.created
    );
    assert_eq!(f["summary"], truth.summary);
    assert_eq!(f["customfield_10016"], json!(truth.story_points.unwrap()));
    assert_eq!(f["parent"]["id"], "10001");
    assert_eq!(f["parent"]["key"], "ALPHA-1");
    assert!(f["parent"]["fields"]["status"]["statusCategory"]["key"].is_string());
    assert_eq!(f["status"]["id"], truth.status_id);
    assert_eq!(f["project"]["key"], "ALPHA");
    assert_eq!(f["labels"], json!([]));
    assert_eq!(
        f["assignee"]["accountId"],
        sim.truth.jira.users[truth.assignee.unwrap()].account_id
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_and_invalid_jql_are_rejected() {
    let sim = Sim::start().await;
    for jql in ["", "ORDER BY key DESC", "order by updated"] {
        let (status, body) = sim.cloud_get(PATH, &[("jql", jql)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{jql}");
        assert_eq!(
            error_message(&body),
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
        );
        let (status, _) = sim.cloud_post(PATH, json!({ "jql": jql })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, body) = sim.cloud_get(PATH, &[("jql", "project in (ALPHA")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error_message(&body).starts_with("Error in the JQL Query: Expecting ')'"),
        "{body}"
    );
    let (status, body) = sim.cloud_get(PATH, &[("jql", "project = NOPE")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_message(&body),
        "The value 'NOPE' does not exist for the field 'project'."
    );
    // The POST bean has no startAt (additionalProperties: false).
    let (status, body) = sim
        .cloud_post(PATH, json!({ "jql": "project = ALPHA", "startAt": 0 }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_message(&body).contains("startAt"));
    // The legacy search is gone on Cloud.
    let (status, _) = sim.cloud_get("/rest/api/3/search", &[("jql", "project = ALPHA")]).await;
    assert_eq!(status, StatusCode::GONE);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_belong_to_their_query() {
    let sim = Sim::start().await;
    let (_, body) = sim
        .cloud_get(
            PATH,
            &[("jql", "project = ALPHA ORDER BY created"), ("maxResults", "5")],
        )
        .await;
    let token = body["nextPageToken"].as_str().unwrap().to_string();
    // Same query: fine, and changing the page size or fields between pages is allowed.
    let (status, _) = sim
        .cloud_get(
            PATH,
            &[
                ("jql", "project = ALPHA ORDER BY created"),
                ("nextPageToken", &token),
                ("maxResults", "9"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for (jql, tok) in [
        ("project = BETA ORDER BY created", token.as_str()),
        ("project = ALPHA ORDER BY created", "bm90IGEgdG9rZW4"),
        ("project = ALPHA ORDER BY created", "%%%"),
    ] {
        let (status, body) = sim.cloud_get(PATH, &[("jql", jql), ("nextPageToken", tok)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{jql} {tok}");
        assert!(!error_message(&body).is_empty());
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_get_401_from_both_flavours() {
    let sim = Sim::start().await;
    let res = sim
        .http
        .get(sim.cloud_url(PATH))
        .query(&[("jql", "project = ALPHA")])
        .basic_auth(pulse_sim::upstream::JIRA_CLOUD_EMAIL, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = sim.http.get(sim.cloud_url("/rest/api/3/myself")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Data Center wants the PAT as a bearer token.
    let res = sim
        .http
        .get(sim.dc_url("/rest/api/2/search"))
        .basic_auth("sim", Some(pulse_sim::upstream::JIRA_DC_PAT))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = sim.cloud(Method::GET, "/rest/api/3/myself").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approximate_count_counts_the_matches() {
    let sim = Sim::start().await;
    let (status, body) = sim
        .cloud_post(
            "/rest/api/3/search/approximate-count",
            json!({ "jql": "project = BETA" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], json!(crate::ISSUES / 3));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_follow_changes_to_the_dataset() {
    let sim = Sim::start().await;
    let count = |body: &Value| body["issues"].as_array().unwrap().len();
    let q = [("jql", "project = GAMMA ORDER BY updated DESC"), ("maxResults", "100")];
    let (_, before) = sim.cloud_get(PATH, &q).await;
    assert_eq!(count(&before), crate::ISSUES / 3);
    // Move ALPHA-1 to GAMMA and make it the most recently updated.
    {
        let mut d = sim.handle.state.data_mut();
        let issue = &mut d.jira.issues[0];
        issue.project_id = "10002".into();
        issue.updated = crate::base() + chrono::Duration::days(100);
    }
    for _ in 0..4 {
        // (Both workers answer in turn; each must notice.)
        let (_, after) = sim.cloud_get(PATH, &q).await;
        assert_eq!(count(&after), crate::ISSUES / 3 + 1);
        assert_eq!(after["issues"][0]["id"], "10001");
    }
    // New issues show up too.
    {
        let mut d = sim.handle.state.data_mut();
        let mut extra = d.jira.issues[2].clone();
        extra.id = "20000".into();
        extra.key = "GAMMA-999".into();
        d.jira.issues.push(extra);
    }
    let (_, body) = sim
        .cloud_post(
            "/rest/api/3/search/approximate-count",
            json!({ "jql": "project = GAMMA" }),
        )
        .await;
    assert_eq!(body["count"], json!(crate::ISSUES / 3 + 2));
    sim.stop().await;
}
