//! Reference data and connection-test endpoints.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Sim, USER_TZ, error_message, is_jira_time};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_and_categories_use_real_ids_and_keys() {
    let sim = Sim::start().await;
    let (status, cats) = sim.cloud_get("/rest/api/3/statuscategory", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<(i64, &str, &str, &str)> = cats
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_i64().unwrap(),
                c["key"].as_str().unwrap(),
                c["colorName"].as_str().unwrap(),
                c["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "undefined", "medium-gray", "No Category"),
            (2, "new", "blue-gray", "To Do"),
            (3, "done", "green", "Done"),
            (4, "indeterminate", "yellow", "In Progress"),
        ]
    );
    let (_, statuses) = sim.cloud_get("/rest/api/3/status", &[]).await;
    let statuses = statuses.as_array().unwrap();
    assert_eq!(statuses.len(), sim.truth.jira.statuses.len());
    for s in statuses {
        let truth = sim.truth.jira.statuses.iter().find(|t| t.id == s["id"]).unwrap();
        assert_eq!(s["name"], truth.name);
        let want = match truth.category_key.as_str() {
            "new" => 2,
            "indeterminate" => 4,
            "done" => 3,
            _ => 1,
        };
        assert_eq!(s["statusCategory"]["id"], want, "{s}");
        assert!(
            s["self"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/jira-cloud/rest/api/3/status/{}", truth.id))
        );
    }
    let (_, dc) = sim.dc_get("/rest/api/2/status", &[]).await;
    assert!(
        dc[0]["self"]
            .as_str()
            .unwrap()
            .contains("/jira-dc/jira/rest/api/2/status/")
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_types_projects_and_fields() {
    let sim = Sim::start().await;
    let (_, types) = sim.cloud_get("/rest/api/3/issuetype", &[]).await;
    let epic = types.as_array().unwrap().iter().find(|t| t["name"] == "Epic").unwrap();
    assert_eq!(epic["hierarchyLevel"], 1);
    assert!(
        types
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["subtask"] == true && t["hierarchyLevel"] == -1)
    );

    // project/search: paging, total, isLast, nextPage, keys filter.
    let (status, page) = sim
        .cloud_get("/rest/api/3/project/search", &[("maxResults", "2")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 3);
    assert_eq!(page["isLast"], false);
    assert_eq!(page["startAt"], 0);
    assert_eq!(page["maxResults"], 2);
    let keys: Vec<&str> = page["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ALPHA", "BETA"]);
    assert!(
        page["nextPage"]
            .as_str()
            .unwrap()
            .contains("/rest/api/3/project/search?startAt=2&maxResults=2")
    );
    let (_, page) = sim
        .cloud_get("/rest/api/3/project/search", &[("startAt", "2"), ("maxResults", "500")])
        .await;
    assert_eq!(page["maxResults"], 100);
    assert_eq!(page["isLast"], true);
    assert!(page.get("nextPage").is_none());
    assert_eq!(page["values"][0]["key"], "GAMMA");
    assert_eq!(page["values"][0]["name"], "Gamma \"G\"");
    let (_, page) = sim
        .cloud_get("/rest/api/3/project/search", &[("keys", "GAMMA"), ("keys", "alpha")])
        .await;
    assert_eq!(page["total"], 2);

    let (status, p) = sim.cloud_get("/rest/api/3/project/BETA", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p["id"], "10001");
    assert!(p["issueTypes"].as_array().unwrap().len() == 4);
    let (status, body) = sim.cloud_get("/rest/api/3/project/NOPE", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_message(&body), "No project could be found with key 'NOPE'.");

    // Data Center: /project is a plain array.
    let (_, dc) = sim.dc_get("/rest/api/2/project", &[]).await;
    let keys: Vec<&str> = dc
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ALPHA", "BETA", "GAMMA"]);
    let (status, _) = sim.dc_get("/rest/api/2/project/GAMMA", &[]).await;
    assert_eq!(status, StatusCode::OK);

    let (_, fields) = sim.cloud_get("/rest/api/3/field", &[]).await;
    assert!(
        fields
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "customfield_10016" && f["custom"] == true)
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn myself_and_server_info_identify_the_flavour() {
    let sim = Sim::start().await;
    let (status, me) = sim.cloud_get("/rest/api/3/myself", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["timeZone"], USER_TZ);
    assert_eq!(me["emailAddress"], "sim@example.com");
    assert_eq!(me["accountId"], sim.truth.jira.users[0].account_id);
    assert_eq!(me["accountType"], "atlassian");
    assert_eq!(me["active"], true);
    assert!(me["displayName"].is_string());
    let (_, info) = sim.cloud_get("/rest/api/3/serverInfo", &[]).await;
    assert_eq!(info["deploymentType"], "Cloud");
    assert!(info["baseUrl"].as_str().unwrap().ends_with("/jira-cloud"));
    assert!(is_jira_time(info["serverTime"].as_str().unwrap()));
    assert!(info["versionNumbers"].as_array().unwrap().len() == 3);
    assert!(info["buildNumber"].is_i64());

    // The v2 probe both flavours answer.
    let (status, info) = sim.cloud_get("/rest/api/2/serverInfo", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["deploymentType"], "Cloud");

    let (_, me) = sim.dc_get("/rest/api/2/myself", &[]).await;
    assert_eq!(me["name"], "user0");
    assert_eq!(me["key"], "user0");
    assert_eq!(me["timeZone"], USER_TZ);
    assert!(me.get("accountId").is_none());
    let (_, info) = sim.dc_get("/rest/api/2/serverInfo", &[]).await;
    assert_eq!(info["deploymentType"], "Server");
    assert_eq!(info["versionNumbers"], json!([9, 12, 0]));
    assert!(info["baseUrl"].as_str().unwrap().ends_with("/jira-dc/jira"));

    // Users behind the self links.
    let u = &sim.truth.jira.users[2];
    let (status, user) = sim.cloud_get("/rest/api/3/user", &[("accountId", &u.account_id)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["displayName"], u.display_name);
    let (status, user) = sim.dc_get("/rest/api/2/user", &[("username", &u.name)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["emailAddress"], u.email);
    let (status, _) = sim.dc_get("/rest/api/2/user", &[("username", "ghost")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_issue_by_id_or_key() {
    let sim = Sim::start().await;
    let (status, by_key) = sim.cloud_get("/rest/api/3/issue/ALPHA-2", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, by_id) = sim.cloud_get("/rest/api/3/issue/10004", &[]).await;
    assert_eq!(by_key, by_id);
    assert_eq!(by_key["key"], "ALPHA-2");
    // Default: all fields, no changelog.
    assert!(by_key["fields"]["summary"].is_string());
    assert!(by_key.get("changelog").is_none());
    let (_, with) = sim
        .cloud_get(
            "/rest/api/3/issue/ALPHA-2",
            &[("expand", "changelog"), ("fields", "summary")],
        )
        .await;
    assert_eq!(with["changelog"]["total"], sim.issue("10004").changelog.len());
    assert_eq!(with["fields"].as_object().unwrap().len(), 1);
    let (status, body) = sim.cloud_get("/rest/api/3/issue/NOPE-9", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        error_message(&body),
        "Issue does not exist or you do not have permission to see it."
    );
    let (status, dc) = sim.dc_get("/rest/api/2/issue/ALPHA-2", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(dc["fields"]["reporter"]["name"].is_string());
    let summary: &Value = &dc["fields"]["summary"];
    assert_eq!(summary, &json!(sim.issue("10004").summary));
    sim.stop().await;
}

/// Cloud answers REST v2 as well as v3 (python's `jira` calls v2 by default), with `self` links
/// on the version asked; the project list that clients call first exists on both.
#[tokio::test]
async fn cloud_serves_rest_v2_beside_v3() {
    let sim = Sim::start().await;
    for v in ["2", "3"] {
        let (status, projects) = sim.cloud_get(&format!("/rest/api/{v}/project"), &[]).await;
        assert_eq!(status, StatusCode::OK);
        let keys: Vec<_> = projects.as_array().unwrap().iter().map(|p| p["key"].clone()).collect();
        assert_eq!(keys, ["ALPHA", "BETA", "GAMMA"]);
        let api = format!("/rest/api/{v}/");
        assert!(projects[0]["self"].as_str().unwrap().contains(&api), "{}", projects[0]);

        let (status, issue) = sim.cloud_get(&format!("/rest/api/{v}/issue/ALPHA-1"), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(issue["self"].as_str().unwrap().contains(&api), "{}", issue["self"]);
        assert!(issue["fields"]["status"]["self"].as_str().unwrap().contains(&api));

        let (status, page) = sim
            .cloud_get(
                &format!("/rest/api/{v}/search/jql"),
                &[("jql", "project = BETA ORDER BY key"), ("fields", "summary")],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page["issues"][0]["key"].as_str().unwrap().starts_with("BETA-"));

        let (status, _) = sim
            .cloud_get(&format!("/rest/api/{v}/search"), &[("jql", "project = BETA")])
            .await;
        assert_eq!(status, StatusCode::GONE, "the removed search is gone on v{v} too");
    }
    let dc_v3 = sim
        .dc(reqwest::Method::GET, "/rest/api/3/project")
        .send()
        .await
        .unwrap();
    assert_eq!(dc_v3.status(), StatusCode::NOT_FOUND, "Data Center has no v3");
    sim.stop().await;
}
