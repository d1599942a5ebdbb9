#![allow(clippy::unwrap_used)] // tests fail loudly by design

//! Black-box tests of the simulated GitLab REST v4: the real simulator on port 0 with its
//! generated dataset, real HTTP with reqwest. Every list is read back through its pages and
//! compared with the dataset; the JSON objects are compared with GitLab answers DevLake recorded
//! from gitlab.com (`tests/fixtures/gitlab`).

mod graphql;

use std::collections::BTreeSet;

use chrono::SubsecRound;

use pulse_sim::gitlab::{self, mr_state};
use pulse_sim::model::Dataset;
use pulse_sim::server::{self, SimHandle};
use pulse_sim::state::SimConfig;
use pulse_sim::{SimOptions, upstream::GITLAB_TOKEN};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

struct Sim {
    handle: SimHandle,
    client: reqwest::Client,
    /// `…/gitlab/api/v4`
    api: String,
    data: Dataset,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string())
    }
}

impl Sim {
    async fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let handle = server::start(SimOptions::default()).expect("start simulator");
        let data = handle.state.data().clone();
        Self {
            api: format!("{}/api/v4", handle.urls.gitlab),
            client: reqwest::Client::new(),
            handle,
            data,
        }
    }

    async fn get(&self, path_or_url: &str) -> Answer {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.api)
        };
        let res = self
            .client
            .get(url)
            .header("PRIVATE-TOKEN", GITLAB_TOKEN)
            .send()
            .await
            .unwrap();
        Answer {
            status: res.status(),
            headers: res.headers().clone(),
            text: res.text().await.unwrap(),
        }
    }

    /// Every row of a list, following `x-next-page` (offset) or the `Link` next URL (keyset).
    async fn all(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(url) = next.take() {
            let a = self.get(&url).await;
            assert_eq!(a.status, 200, "{url}: {}", a.text);
            out.extend(a.json().as_array().unwrap().iter().cloned());
            next = a
                .header("link")
                .and_then(|l| l.split(", ").find(|p| p.ends_with("rel=\"next\"")).map(str::to_string))
                .map(|p| p.trim_start_matches('<').split(">;").next().unwrap().to_string());
            pages += 1;
            assert!(pages < 1000, "paging never ends");
        }
        out
    }

    fn project_index(&self, name: &str) -> usize {
        self.data.github.repos.iter().position(|r| r.name == name).unwrap()
    }
}

fn encode(path: &str) -> String {
    path.replace('/', "%2F")
}

#[tokio::test]
async fn a_token_is_required_and_the_user_and_version_answer() {
    let sim = Sim::start().await;
    let anonymous = sim.client.get(format!("{}/user", sim.api)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.json::<Value>().await.unwrap()["message"], "401 Unauthorized");
    let wrong = sim
        .client
        .get(format!("{}/user", sim.api))
        .header("PRIVATE-TOKEN", "glpat-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let bearer = sim
        .client
        .get(format!("{}/user", sim.api))
        .bearer_auth(GITLAB_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    let me = sim.get("/user").await;
    assert_eq!(me.status, 200);
    assert!(me.json()["username"].is_string());
    assert!(
        me.header("ratelimit-remaining").is_some(),
        "RateLimit-* on every answer"
    );
    let v = sim.get("/version").await.json();
    assert!(v["version"].as_str().unwrap().starts_with("17."));
    let token = sim.get("/personal_access_tokens/self").await.json();
    assert_eq!(token["scopes"], serde_json::json!(["read_api"]));
    assert_eq!(
        sim.get("/projects/999999999").await.json()["message"],
        "404 Project Not Found"
    );
    sim.handle.stop().await;
}

#[tokio::test]
async fn group_projects_with_subgroups_archived_offset_and_keyset_paging() {
    let sim = Sim::start().await;
    let gh = &sim.data.github;
    let group = sim.get(&format!("/groups/{}", gh.org)).await.json();
    assert_eq!(group["full_path"], gh.org.as_str());
    let top: Vec<Value> = sim.all(&format!("/groups/{}/projects?per_page=2", gh.org)).await;
    let every: Vec<Value> = sim
        .all(&format!(
            "/groups/{}/projects?include_subgroups=true&per_page=2",
            group["id"]
        ))
        .await;
    assert_eq!(every.len(), gh.repos.len());
    let in_subgroup = (0..gh.repos.len())
        .filter(|&i| gitlab::namespace(gh, i) != gh.org)
        .count();
    assert!(in_subgroup > 0);
    assert_eq!(top.len(), gh.repos.len() - in_subgroup);
    let paths: BTreeSet<String> = every
        .iter()
        .map(|p| p["path_with_namespace"].as_str().unwrap().to_string())
        .collect();
    let wanted: BTreeSet<String> = (0..gh.repos.len())
        .map(|i| gitlab::path_with_namespace(gh, i))
        .collect();
    assert_eq!(paths, wanted);
    let active = sim
        .all(&format!(
            "/groups/{}/projects?include_subgroups=true&archived=false",
            gh.org
        ))
        .await;
    assert_eq!(active.len(), gh.repos.iter().filter(|r| !r.archived).count());

    // Offset headers.
    let first = sim
        .get(&format!(
            "/groups/{}/projects?include_subgroups=true&per_page=2",
            gh.org
        ))
        .await;
    assert_eq!(first.header("x-page").as_deref(), Some("1"));
    assert_eq!(first.header("x-per-page").as_deref(), Some("2"));
    assert_eq!(first.header("x-total"), Some(gh.repos.len().to_string()));
    assert_eq!(first.header("x-next-page").as_deref(), Some("2"));
    assert_eq!(first.header("x-prev-page").as_deref(), Some(""));

    // Keyset: ids ascending, `id_after` in the next link, no totals.
    let keyset = sim
        .all(&format!(
            "/groups/{}/projects?include_subgroups=true&pagination=keyset&order_by=id&sort=asc&per_page=2",
            gh.org
        ))
        .await;
    let ids: Vec<u64> = keyset.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), gh.repos.len());
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let page = sim
        .get(&format!(
            "/groups/{}/projects?pagination=keyset&order_by=id&per_page=1",
            gh.org
        ))
        .await;
    assert!(page.header("x-total").is_none());
    assert!(page.header("link").unwrap().contains("id_after="));
    sim.handle.stop().await;
}

#[tokio::test]
async fn merge_requests_notes_commits_and_approvals_equal_the_dataset() {
    let sim = Sim::start().await;
    let gh = &sim.data.github;
    let index = (0..gh.repos.len()).max_by_key(|&i| gh.repos[i].pulls.len()).unwrap();
    let repo = &gh.repos[index];
    let project = encode(&gitlab::path_with_namespace(gh, index));
    let by_path = sim.get(&format!("/projects/{project}")).await.json();
    assert_eq!(by_path["id"], repo.id);

    let all = sim
        .all(&format!(
            "/projects/{project}/merge_requests?per_page=100&order_by=updated_at&sort=asc"
        ))
        .await;
    assert_eq!(all.len(), repo.pulls.len());
    let updated: Vec<&str> = all.iter().map(|m| m["updated_at"].as_str().unwrap()).collect();
    assert!(updated.windows(2).all(|w| w[0] <= w[1]));
    let merged = sim
        .all(&format!(
            "/projects/{}/merge_requests?state=merged&per_page=100",
            repo.id
        ))
        .await;
    assert_eq!(
        merged.len(),
        repo.pulls.iter().filter(|p| p.merged_at.is_some()).count()
    );
    assert!(
        merged
            .iter()
            .all(|m| m["state"] == "merged" && m["merged_at"].is_string())
    );
    let cut = repo.pulls[repo.pulls.len() / 2].updated_at;
    let since = sim
        .all(&format!(
            "/projects/{}/merge_requests?updated_after={}&per_page=100",
            repo.id,
            cut.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ))
        .await;
    assert_eq!(
        since.len(),
        repo.pulls
            .iter()
            .filter(|p| p.updated_at >= cut.trunc_subsecs(0))
            .count()
    );
    let bad = sim
        .get(&format!("/projects/{}/merge_requests?updated_after=yesterday", repo.id))
        .await;
    assert_eq!(bad.status, 400);

    // The pull request with most review activity: notes, commits, approvals.
    let p = repo
        .pulls
        .iter()
        .max_by_key(|p| p.comments.len() + p.review_comments.len() + p.reviews.len())
        .unwrap();
    let notes = sim
        .all(&format!(
            "/projects/{}/merge_requests/{}/notes?sort=asc&per_page=7",
            repo.id, p.number
        ))
        .await;
    let human = notes.iter().filter(|n| n["system"] == false).count();
    let bodies = p.reviews.iter().filter(|r| !r.body.is_empty()).count();
    assert_eq!(human, p.comments.len() + p.review_comments.len() + bodies);
    let approvals = notes
        .iter()
        .filter(|n| n["body"] == "approved this merge request")
        .count();
    assert_eq!(approvals, p.reviews.iter().filter(|r| r.state == "APPROVED").count());
    let added: u64 = notes
        .iter()
        .filter_map(|n| n["body"].as_str().and_then(|b| b.strip_prefix("added ")))
        .map(|b| b.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        added as usize,
        p.commits.len(),
        "every commit in one \"added N commits\" note"
    );
    let times: Vec<&str> = notes.iter().map(|n| n["created_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "sort=asc");
    let ids: BTreeSet<u64> = notes.iter().map(|n| n["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), notes.len(), "note ids are unique");

    let commits = sim
        .all(&format!(
            "/projects/{}/merge_requests/{}/commits?per_page=3",
            repo.id, p.number
        ))
        .await;
    let shas: Vec<&str> = commits.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let newest_first: Vec<&str> = p.commits.iter().rev().map(|c| c.sha.as_str()).collect();
    assert_eq!(shas, newest_first);

    let approval = sim
        .get(&format!("/projects/{}/merge_requests/{}/approvals", repo.id, p.number))
        .await
        .json();
    let approvers: BTreeSet<u64> = p
        .reviews
        .iter()
        .filter(|r| r.state == "APPROVED")
        .map(|r| gh.users[r.author].id)
        .collect();
    let listed: BTreeSet<u64> = approval["approved_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["user"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, approvers);
    assert_eq!(approval["approved"], !approvers.is_empty());
    assert_eq!(
        sim.get(&format!("/projects/{}/merge_requests/{}", repo.id, p.number))
            .await
            .json()["state"],
        mr_state(p)
    );
    assert_eq!(
        sim.get(&format!("/projects/{}/merge_requests/999999", repo.id))
            .await
            .json()["message"],
        "404 Merge Request Not Found"
    );
    sim.handle.stop().await;
}

#[tokio::test]
async fn deployments_environments_and_pipelines_equal_the_dataset() {
    let sim = Sim::start().await;
    let gh = &sim.data.github;
    let index = (0..gh.repos.len())
        .max_by_key(|&i| gh.repos[i].deployments.len())
        .unwrap();
    let repo = &gh.repos[index];
    let all = sim
        .all(&format!("/projects/{}/deployments?per_page=100", repo.id))
        .await;
    assert_eq!(all.len(), repo.deployments.len());
    let production = sim
        .all(&format!(
            "/projects/{}/deployments?environment=production&per_page=100",
            repo.id
        ))
        .await;
    assert_eq!(
        production.len(),
        repo.deployments
            .iter()
            .filter(|d| d.environment == "production")
            .count()
    );
    assert!(production.iter().all(|d| d["environment"]["name"] == "production"));
    let ok = sim
        .all(&format!(
            "/projects/{}/deployments?status=success&per_page=100",
            repo.id
        ))
        .await;
    assert_eq!(
        ok.len(),
        repo.deployments
            .iter()
            .filter(|d| gitlab::deployment_status(d) == "success")
            .count()
    );
    let envs = sim.all(&format!("/projects/{}/environments", repo.id)).await;
    let names: BTreeSet<&str> = repo.deployments.iter().map(|d| d.environment.as_str()).collect();
    assert_eq!(envs.len(), names.len());
    let pipelines = sim.all(&format!("/projects/{}/pipelines?per_page=100", repo.id)).await;
    assert_eq!(pipelines.len(), repo.workflow_runs.len());
    let ids: Vec<u64> = pipelines.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first by default");
    let main = sim
        .all(&format!(
            "/projects/{}/pipelines?ref={}&per_page=100",
            repo.id, repo.default_branch
        ))
        .await;
    assert_eq!(
        main.len(),
        repo.workflow_runs
            .iter()
            .filter(|r| r.head_branch == repo.default_branch)
            .count()
    );
    sim.handle.stop().await;
}

#[tokio::test]
async fn over_the_limit_gitlab_answers_429_with_retry_after_and_its_headers() {
    let sim = Sim::start().await;
    sim.handle.state.set_config(SimConfig {
        gitlab_per_minute: 3,
        ..SimConfig::default()
    });
    for left in [2, 1, 0] {
        let a = sim.get("/version").await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("ratelimit-remaining"), Some(left.to_string()));
        assert_eq!(a.header("ratelimit-limit").as_deref(), Some("3"));
    }
    let refused = sim.get("/version").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.text, "Retry later\n");
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(refused.header("ratelimit-remaining").as_deref(), Some("0"));
    assert!(refused.header("ratelimit-resettime").unwrap().ends_with("GMT"));
    sim.handle.stop().await;
}

/// The JSON type of a value, for comparing shapes.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key the recorded object has, ours has too with the same JSON type (where both are
/// non-null), except `absent`, the keys the simulator does not send (checked to be absent, so
/// the list stays true).
fn same_shape(what: &str, recorded: &Value, ours: &Value, absent: &[&str]) {
    let (Some(rec), Some(our)) = (recorded.as_object(), ours.as_object()) else {
        panic!("{what}: not objects");
    };
    for (key, value) in rec {
        if absent.contains(&key.as_str()) {
            assert!(!our.contains_key(key), "{what}.{key} is sent now: take it off the list");
            continue;
        }
        let mine = our.get(key).unwrap_or_else(|| panic!("{what}: no {key:?}"));
        if !value.is_null() && !mine.is_null() {
            assert_eq!(kind(mine), kind(value), "{what}.{key}: {mine} vs recorded {value}");
        }
    }
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/gitlab/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str::<Value>(&text).unwrap()["data"].clone()
}

#[tokio::test]
async fn objects_have_the_shape_gitlab_com_sends() {
    let sim = Sim::start().await;
    let gh = &sim.data.github;
    let index = sim.project_index(&gh.repos.iter().max_by_key(|r| r.pulls.len()).unwrap().name);
    let repo = &gh.repos[index];
    let merged = repo
        .pulls
        .iter()
        .find(|p| p.merged_at.is_some() && !p.commits.is_empty())
        .unwrap();
    let mr = sim
        .get(&format!("/projects/{}/merge_requests/{}", repo.id, merged.number))
        .await
        .json();
    same_shape("merge request", &fixture("merge_request.json"), &mr, &[]);
    same_shape(
        "merge request author",
        &fixture("merge_request.json")["author"],
        &mr["author"],
        &[],
    );
    let notes = sim
        .all(&format!("/projects/{}/merge_requests/{}/notes", repo.id, merged.number))
        .await;
    let system = notes.iter().find(|n| n["system"] == true).unwrap();
    same_shape("system note", &fixture("system_note.json"), system, &[]);
    if let Some(human) = notes.iter().find(|n| n["system"] == false) {
        same_shape("note", &fixture("note.json"), human, &[]);
    }
    let commit = &sim
        .all(&format!(
            "/projects/{}/merge_requests/{}/commits",
            repo.id, merged.number
        ))
        .await[0];
    same_shape("commit", &fixture("commit.json"), commit, &[]);
    let with_deploys = gh.repos.iter().find(|r| !r.deployments.is_empty()).unwrap();
    let deployment = &sim
        .all(&format!("/projects/{}/deployments?per_page=1", with_deploys.id))
        .await[0];
    let recorded = fixture("deployment.json");
    same_shape("deployment", &recorded, deployment, &[]);
    same_shape(
        "deployment environment",
        &recorded["environment"],
        &deployment["environment"],
        &[],
    );
    let with_runs = gh.repos.iter().find(|r| !r.workflow_runs.is_empty()).unwrap();
    let pipeline = &sim
        .all(&format!("/projects/{}/pipelines?per_page=1", with_runs.id))
        .await[0];
    same_shape("pipeline", &fixture("pipeline.json"), pipeline, &[]);
    sim.handle.stop().await;
}

#[tokio::test]
async fn faults_and_outages_answer_as_gitlab_does() {
    let sim = Sim::start().await;
    sim.handle.state.set_config(SimConfig {
        fault_rate: 1.0,
        ..SimConfig::default()
    });
    for _ in 0..20 {
        let a = sim.get("/user").await;
        match a.status.as_u16() {
            429 => assert_eq!(
                (a.text.as_str(), a.header("retry-after").as_deref()),
                ("Retry later\n", Some("1"))
            ),
            500 | 502 | 503 | 504 => {
                let message = a.json()["message"].as_str().unwrap().to_string();
                assert!(message.starts_with(&a.status.as_u16().to_string()), "{message}");
            }
            other => panic!("a fault answered {other}: {}", a.text),
        }
    }
    sim.handle.state.set_config(SimConfig {
        outage: Some(pulse_sim::state::Outage {
            from: chrono::Utc::now() - chrono::Duration::minutes(1),
            until: chrono::Utc::now() + chrono::Duration::minutes(1),
        }),
        ..SimConfig::default()
    });
    let down = sim.get("/version").await;
    assert_eq!(down.status, 503);
    assert_eq!(down.json()["message"], "503 Service Unavailable");
    sim.handle.stop().await;
}
