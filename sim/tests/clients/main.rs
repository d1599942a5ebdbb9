//! The first requests real clients make, replayed: python's `jira` (REST v2 and v3 on Jira Cloud,
//! v2 on Data Center) and PyGithub (github.com and Enterprise), as `run.sh --record` recorded them
//! against `pulse-etl sim` in `recorded.json`: method, path, query and headers (credentials
//! included) as sent. The dataset's names in them are placeholders (`{project}`, `{repo}`, …)
//! filled from this simulator's dataset. Every answer must be 200 and carry, with the right JSON
//! types, what those clients read; where a published example of the answer exists
//! (`../fixtures/`), a key both have holds the same JSON type.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod shape;

use std::collections::BTreeMap;

use pulse_sim::SimOptions;
use pulse_sim::model::Dataset;
use pulse_sim::server::{self, SimHandle};
use serde::Deserialize;
use serde_json::Value;

use shape::{Kind, Shape};

#[derive(Debug, Deserialize)]
struct Recorded {
    flavour: String,
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    status: u16,
}

fn recorded() -> Vec<Recorded> {
    serde_json::from_str(include_str!("recorded.json")).unwrap()
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

fn start() -> SimHandle {
    let _ = rustls::crypto::ring::default_provider().install_default();
    server::start(SimOptions::default()).unwrap()
}

/// Values for the placeholders, from the simulator's own dataset.
fn names(data: &Dataset) -> Vec<(&'static str, String)> {
    let project = data.jira.projects.iter().map(|p| p.key.clone()).min().unwrap();
    let issue = data
        .jira
        .issues
        .iter()
        .find(|i| i.key.starts_with(&format!("{project}-")))
        .unwrap();
    let repo = data.github.repos.iter().find(|r| !r.pulls.is_empty()).unwrap();
    let login = data.github.users.iter().find(|u| u.kind == "User").unwrap();
    vec![
        ("project", project.clone()),
        ("issue", issue.key.clone()),
        ("repo", format!("{}/{}", repo.owner, repo.name)),
        ("pull", repo.pulls[0].number.to_string()),
        ("login", login.login.clone()),
        ("org", data.github.org.clone()),
    ]
}

/// Sends one recorded request; the answer's status and JSON body.
async fn replay(sim: &SimHandle, r: &Recorded, names: &[(&str, String)]) -> (u16, Value) {
    let fill = |s: &str| {
        names
            .iter()
            .fold(s.to_string(), |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
    };
    let base = match r.flavour.as_str() {
        "jira_cloud" => &sim.urls.jira_cloud,
        "jira_dc" => &sim.urls.jira_dc,
        "github" => &sim.urls.github,
        "github_enterprise" => &sim.urls.github_enterprise,
        "gitlab" => &sim.urls.gitlab,
        other => panic!("unknown flavour {other}"),
    };
    let mut url = format!("{base}{}", fill(&r.path));
    if !r.query.is_empty() {
        url = format!("{url}?{}", fill(&r.query));
    }
    let mut req = reqwest::Client::new().request(r.method.parse().unwrap(), &url);
    for (k, v) in &r.headers {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {status}, not JSON ({e}): {text}"));
    (status, body)
}

/// What python's `jira` reads of each answer, and the published Cloud example to compare with.
fn jira_shape(endpoint: &str, cloud: bool) -> Shape {
    use Kind::*;
    let user = if cloud { "accountId" } else { "name" };
    match endpoint {
        "/serverInfo" => Shape::new(&[
            ("baseUrl", Str),
            ("version", Str),
            ("versionNumbers[]", Int),
            ("deploymentType", Str),
            ("serverTime", Str),
        ])
        .example("jira-cloud/GET_serverInfo_200.json"),
        "/project" => Shape::new(&[("[].id", Str), ("[].key", Str), ("[].name", Str), ("[].self", Str)])
            .example("jira-cloud/GET_project_200.json"),
        "/project/{project}" => Shape::new(&[
            ("id", Str),
            ("key", Str),
            ("name", Str),
            ("self", Str),
            ("issueTypes[].name", Str),
        ])
        .example("jira-cloud/GET_project_projectIdOrKey_200.json"),
        "/field" => Shape::new(&[
            ("[].id", Str),
            ("[].name", Str),
            ("[].custom", Bool),
            ("[].clauseNames[]", Str),
        ])
        .example("jira-cloud/GET_field_200.json"),
        "/search/jql" => Shape::new(&[
            ("issues[].id", Str),
            ("issues[].key", Str),
            ("issues[].self", Str),
            ("issues[].fields.summary", Str),
            ("issues[].fields.status.name", Str),
        ])
        .example("jira-cloud/GET_search_jql_200.json"),
        "/search" => Shape::new(&[
            ("startAt", Int),
            ("maxResults", Int),
            ("total", Int),
            ("issues[].key", Str),
            ("issues[].fields.status.name", Str),
        ]),
        "/issue/{issue}" => Shape::new(&[
            ("id", Str),
            ("key", Str),
            ("self", Str),
            ("fields.summary", Str),
            ("fields.status.name", Str),
            ("fields.project.key", Str),
            ("fields.issuetype.name", Str),
            ("changelog.histories", Arr),
        ])
        .example("jira-cloud/GET_issue_issueIdOrKey_200.json"),
        "/myself" => {
            Shape::new(&[("displayName", Str), ("active", Bool), (user, Str)]).example("jira-cloud/GET_myself_200.json")
        }
        "/status" => Shape::new(&[("[].id", Str), ("[].name", Str), ("[].statusCategory.key", Str)])
            .example("jira-cloud/GET_status_200.json"),
        "/issuetype" => Shape::new(&[("[].id", Str), ("[].name", Str), ("[].subtask", Bool)])
            .example("jira-cloud/GET_issuetype_200.json"),
        other => panic!("no shape for Jira {other}: a new request in recorded.json needs one here"),
    }
}

/// The `required` keys of a GitHub OpenAPI schema.
fn required(schema: &str) -> Vec<String> {
    let all = fixture("github/openapi-required.json");
    let keys = all[schema].as_array().unwrap_or_else(|| panic!("no schema {schema}"));
    keys.iter().map(|k| k.as_str().unwrap().to_string()).collect()
}

/// What PyGithub reads of each answer (its objects type-check every attribute they are given).
fn github_shape(endpoint: &str) -> Shape {
    use Kind::*;
    let public_user = "github/api.github.com__GET_user__200__response-with-public-profile-information.json";
    match endpoint {
        "/orgs/{org}" => Shape::new(&[
            ("login", Str),
            ("id", Int),
            ("url", Str),
            ("members_url", Str),
            ("repos_url", Str),
            ("type", Str),
            ("public_repos", Int),
            ("created_at", Str),
        ])
        .example("github/get-organization.json")
        .all_example_keys(),
        "/orgs/{org}/members" => Shape::new(&[("[].login", Str), ("[].id", Int), ("[].url", Str)])
            .required_each(required("simple-user"))
            .example(public_user),
        "/orgs/{org}/repos" => Shape::new(&[
            ("[].id", Int),
            ("[].name", Str),
            ("[].full_name", Str),
            ("[].owner.login", Str),
            ("[].private", Bool),
            ("[].url", Str),
        ]),
        "/repos/{repo}" => Shape::new(&[
            ("id", Int),
            ("full_name", Str),
            ("default_branch", Str),
            ("owner.login", Str),
            ("url", Str),
            ("pulls_url", Str),
        ]),
        "/repos/{repo}/pulls" => Shape::new(&[
            ("[].number", Int),
            ("[].title", Str),
            ("[].state", Str),
            ("[].user.login", Str),
            ("[].head.ref", Str),
            ("[].base.ref", Str),
            ("[].created_at", Str),
            ("[].url", Str),
        ]),
        "/repos/{repo}/pulls/{pull}" => Shape::new(&[
            ("number", Int),
            ("merged", Bool),
            ("head.ref", Str),
            ("user.login", Str),
            ("commits", Int),
        ]),
        "/users/{login}" => Shape::new(&[("login", Str), ("id", Int), ("created_at", Str)])
            .required(required("public-user"))
            .example(public_user),
        "/user" => Shape::new(&[("login", Str), ("id", Int)]).required(required("private-user")),
        "/user/orgs" => {
            Shape::new(&[("[].login", Str), ("[].id", Int), ("[].url", Str)]).example("github/get-organization.json")
        }
        "/rate_limit" => Shape::new(&[
            ("resources.core.limit", Int),
            ("resources.core.remaining", Int),
            ("resources.core.reset", Int),
            ("rate.limit", Int),
        ]),
        other => panic!("no shape for GitHub {other}: a new request in recorded.json needs one here"),
    }
}

/// Replays every recorded request of `flavour`; returns the endpoints it saw.
async fn replay_flavour(flavour: &str) -> Vec<String> {
    let sim = start();
    let names = names(&sim.state.data());
    let mut seen = Vec::new();
    let mut failures = Vec::new();
    for r in recorded().iter().filter(|r| r.flavour == flavour) {
        assert_eq!(r.status, 200, "recorded a failure: {r:?}");
        let (status, body) = replay(&sim, r, &names).await;
        let what = format!("{} {} {}", r.method, r.path, r.query);
        if status != 200 {
            failures.push(format!(
                "{what}: {status} {body} (re-record with sim/tests/clients/run.sh --record if the client changed)"
            ));
            continue;
        }
        let (endpoint, shape) = match flavour {
            "jira_cloud" | "jira_dc" => {
                let endpoint = r
                    .path
                    .trim_start_matches("/rest/api/2")
                    .trim_start_matches("/rest/api/3");
                (endpoint, jira_shape(endpoint, flavour == "jira_cloud"))
            }
            _ => (r.path.as_str(), github_shape(&r.path)),
        };
        // Data Center is compared with Cloud's examples only where both are the same shape.
        let shape = if flavour == "jira_dc" {
            shape.without_example()
        } else {
            shape
        };
        failures.extend(shape.check(&body).into_iter().map(|e| format!("{what}: {e}")));
        seen.push(endpoint.to_string());
    }
    sim.stop().await;
    assert!(failures.is_empty(), "{flavour}:\n{}", failures.join("\n"));
    seen
}

fn assert_covers(flavour: &str, seen: &[String], wanted: &[&str]) {
    for w in wanted {
        assert!(
            seen.iter().any(|s| s == w),
            "{flavour}: the recording has no {w} ({seen:?})"
        );
    }
}

const JIRA_FIRST: [&str; 6] = [
    "/serverInfo",
    "/project",
    "/project/{project}",
    "/field",
    "/issue/{issue}",
    "/myself",
];

const GITHUB_FIRST: [&str; 6] = [
    "/orgs/{org}",
    "/orgs/{org}/members",
    "/repos/{repo}",
    "/repos/{repo}/pulls",
    "/users/{login}",
    "/user",
];

#[tokio::test]
async fn python_jira_on_jira_cloud_gets_what_it_reads_on_rest_v2_and_v3() {
    let seen = replay_flavour("jira_cloud").await;
    assert_covers("jira_cloud", &seen, &JIRA_FIRST);
    assert_covers("jira_cloud", &seen, &["/search/jql"]);
    let versions: Vec<_> = recorded()
        .into_iter()
        .filter(|r| r.flavour == "jira_cloud" && r.path.ends_with("/project"))
        .map(|r| r.path)
        .collect();
    assert_eq!(versions, ["/rest/api/2/project", "/rest/api/3/project"]);
}

#[tokio::test]
async fn python_jira_on_jira_data_center_gets_what_it_reads() {
    let seen = replay_flavour("jira_dc").await;
    assert_covers("jira_dc", &seen, &JIRA_FIRST);
    assert_covers("jira_dc", &seen, &["/search"]);
}

#[tokio::test]
async fn pygithub_on_github_gets_what_it_reads() {
    let seen = replay_flavour("github").await;
    assert_covers("github", &seen, &GITHUB_FIRST);
}

#[tokio::test]
async fn pygithub_on_github_enterprise_gets_what_it_reads() {
    let seen = replay_flavour("github_enterprise").await;
    assert_covers("github_enterprise", &seen, &GITHUB_FIRST);
}

/// The clients' "who am I" without their credentials: the real services answer 401 there too.
#[tokio::test]
async fn a_request_without_the_simulator_credentials_gets_401() {
    let sim = start();
    let names = names(&sim.state.data());
    for flavour in ["jira_cloud", "jira_dc", "github", "github_enterprise"] {
        let mut r = recorded()
            .into_iter()
            .find(|r| r.flavour == flavour && (r.path.ends_with("/myself") || r.path == "/user"))
            .unwrap();
        r.headers.retain(|k, _| !k.eq_ignore_ascii_case("authorization"));
        let (status, _) = replay(&sim, &r, &names).await;
        assert_eq!(status, 401, "{flavour} {}", r.path);
    }
    sim.stop().await;
}
