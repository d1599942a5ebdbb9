//! The simulated GitLab GraphQL API (`/api/graphql`) against its REST answers over the same
//! dataset: merge requests, approvals, notes (system ones flagged) and commits agree; nested
//! lists page past 100; GitLab's limits and error shapes.

use std::collections::BTreeSet;

use pulse_sim::gitlab;
use pulse_sim::state::SimConfig;
use pulse_sim::upstream::GITLAB_TOKEN;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Answer, Sim, encode};

const MR_FIELDS: &str = "id iid title state draft createdAt updatedAt mergedAt closedAt sourceBranch targetBranch \
                         webUrl mergeCommitSha author { username } diffStatsSummary { additions deletions fileCount } \
                         approvedBy { nodes { username } }";
const NOTE_FIELDS: &str = "pageInfo { hasNextPage endCursor } nodes { id body system createdAt author { username } }";
const COMMIT_FIELDS: &str =
    "pageInfo { hasNextPage endCursor } nodes { sha message authoredDate authorName author { username } }";

impl Sim {
    fn graphql_url(&self) -> String {
        format!("{}/api/graphql", self.handle.urls.gitlab)
    }

    async fn post_graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Answer {
        let mut req = self
            .client
            .post(self.graphql_url())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        Answer {
            status: res.status(),
            headers: res.headers().clone(),
            text: res.text().await.unwrap(),
        }
    }

    /// `data` of a query that must succeed.
    async fn graphql(&self, query: &str, variables: Value) -> Value {
        let a = self.post_graphql(Some(GITLAB_TOKEN), query, variables).await;
        assert_eq!(a.status, 200, "{}", a.text);
        let v = a.json();
        assert!(v.get("errors").is_none(), "{v}");
        v["data"].clone()
    }

    /// Every node of one merge request's `list` (`notes` or `commits`), page by page.
    async fn nested_all(&self, full_path: &str, iid: u64, list: &str, fields: &str, first: u32) -> (Vec<Value>, usize) {
        let query = format!(
            "query($p: ID!, $iid: String!, $after: String) {{ project(fullPath: $p) {{ mergeRequest(iid: $iid) {{
               {list}(first: {first}, after: $after) {{ {fields} }} }} }} }}"
        );
        let mut out = Vec::new();
        let mut after = Value::Null;
        let mut pages = 0;
        loop {
            let d = self
                .graphql(
                    &query,
                    json!({ "p": full_path, "iid": iid.to_string(), "after": after }),
                )
                .await;
            let conn = &d["project"]["mergeRequest"][list];
            out.extend(conn["nodes"].as_array().unwrap().iter().cloned());
            pages += 1;
            if conn["pageInfo"]["hasNextPage"] != true {
                return (out, pages);
            }
            after = conn["pageInfo"]["endCursor"].clone();
        }
    }
}

fn number(gid: &Value) -> u64 {
    gid.as_str().unwrap().rsplit('/').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn graphql_and_rest_agree_on_merge_requests_approvals_notes_and_commits() {
    let sim = Sim::start().await;
    let gh = &sim.data.github;
    let index = (0..gh.repos.len()).max_by_key(|&i| gh.repos[i].pulls.len()).unwrap();
    let repo = &gh.repos[index];
    let full_path = gitlab::path_with_namespace(gh, index);

    // Every merge request, oldest-updated first, 100 a page with the first nested pages.
    let query = format!(
        "query($p: ID!, $after: String) {{ project(fullPath: $p) {{
           mergeRequests(first: 100, after: $after, sort: UPDATED_ASC) {{ count pageInfo {{ hasNextPage endCursor }}
             nodes {{ {MR_FIELDS} notes(first: 100) {{ {NOTE_FIELDS} }} commits(first: 100) {{ {COMMIT_FIELDS} }} }} }} }} }}"
    );
    let mut mrs = Vec::new();
    let mut after = Value::Null;
    loop {
        let d = sim.graphql(&query, json!({ "p": full_path, "after": after })).await;
        let conn = &d["project"]["mergeRequests"];
        assert_eq!(conn["count"], repo.pulls.len());
        let nodes = conn["nodes"].as_array().unwrap();
        assert!(nodes.len() <= 100);
        mrs.extend(nodes.iter().cloned());
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    let rest = sim
        .all(&format!(
            "/projects/{}/merge_requests?per_page=100&order_by=updated_at&sort=asc",
            encode(&full_path)
        ))
        .await;
    assert_eq!(mrs.len(), rest.len());
    for (g, r) in mrs.iter().zip(&rest) {
        assert_eq!(number(&g["id"]), r["id"].as_u64().unwrap());
        assert_eq!(g["iid"], r["iid"].to_string());
        for (gf, rf) in [
            ("title", "title"),
            ("state", "state"),
            ("draft", "draft"),
            ("createdAt", "created_at"),
            ("updatedAt", "updated_at"),
            ("mergedAt", "merged_at"),
            ("closedAt", "closed_at"),
            ("sourceBranch", "source_branch"),
            ("targetBranch", "target_branch"),
            ("webUrl", "web_url"),
            ("mergeCommitSha", "merge_commit_sha"),
        ] {
            assert_eq!(g[gf], r[rf], "!{} {gf}", r["iid"]);
        }
        assert_eq!(g["author"]["username"], r["author"]["username"]);
        let pull = repo.pull(r["iid"].as_u64().unwrap()).unwrap();
        let stats = &g["diffStatsSummary"];
        assert_eq!(
            (
                stats["additions"].as_u64(),
                stats["deletions"].as_u64(),
                stats["fileCount"].as_u64()
            ),
            (Some(pull.additions), Some(pull.deletions), Some(pull.changed_files))
        );
        let keys: BTreeSet<&str> = g.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(!keys.contains("description"), "only selected fields are answered");
    }

    // The merge request with most notes, and the one with most commits, anywhere in the group.
    let (mut most_notes, mut most_commits) = ((0, 0, 0), (0, 0, 0));
    for (i, r) in gh.repos.iter().enumerate() {
        for p in &r.pulls {
            let notes = p.comments.len() + p.review_comments.len() + p.reviews.len();
            most_notes = most_notes.max((notes, i, p.number as usize));
            most_commits = most_commits.max((p.commits.len(), i, p.number as usize));
        }
    }
    assert!(most_commits.0 > 100, "the dataset has an MR with more than 100 commits");
    let (_, i, iid) = most_notes;
    let path = gitlab::path_with_namespace(gh, i);
    let (notes, pages) = sim.nested_all(&path, iid as u64, "notes", NOTE_FIELDS, 100).await;
    let rest_notes = sim
        .all(&format!(
            "/projects/{}/merge_requests/{iid}/notes?sort=asc&per_page=100",
            encode(&path)
        ))
        .await;
    assert!(
        rest_notes.len() > 100 && pages > 1,
        "{} notes in {pages} pages",
        rest_notes.len()
    );
    assert_eq!(notes.len(), rest_notes.len());
    for (g, r) in notes.iter().zip(&rest_notes) {
        assert_eq!(number(&g["id"]), r["id"].as_u64().unwrap());
        let class = if r["type"] == "DiffNote" { "DiffNote" } else { "Note" };
        assert!(g["id"].as_str().unwrap().contains(&format!("/{class}/")), "{}", g["id"]);
        assert_eq!((&g["body"], &g["system"]), (&r["body"], &r["system"]));
        assert_eq!(g["createdAt"], r["created_at"]);
        assert_eq!(g["author"]["username"], r["author"]["username"]);
    }
    assert!(notes.iter().any(|n| n["system"] == true) && notes.iter().any(|n| n["system"] == false));

    let (_, i, iid) = most_commits;
    let path = gitlab::path_with_namespace(gh, i);
    let (commits, pages) = sim.nested_all(&path, iid as u64, "commits", COMMIT_FIELDS, 100).await;
    let rest_commits = sim
        .all(&format!(
            "/projects/{}/merge_requests/{iid}/commits?per_page=100",
            encode(&path)
        ))
        .await;
    assert!(pages > 1);
    let shas = |v: &[Value], key: &str| {
        v.iter()
            .map(|c| c[key].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(shas(&commits, "sha"), shas(&rest_commits, "id"));
    assert_eq!(commits[0]["authoredDate"], rest_commits[0]["authored_date"]);

    // Approvals: GraphQL's approvers are REST's.
    let p = repo
        .pulls
        .iter()
        .find(|p| p.reviews.iter().filter(|r| r.state == "APPROVED").count() > 1);
    if let Some(p) = p {
        let d = sim
            .graphql(
                "query($p: ID!, $iid: String!) { project(fullPath: $p) { mergeRequest(iid: $iid) { approvedBy { nodes { username } } } } }",
                json!({ "p": full_path, "iid": p.number.to_string() }),
            )
            .await;
        let got: BTreeSet<String> = d["project"]["mergeRequest"]["approvedBy"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect();
        let rest = sim
            .get(&format!("/projects/{}/merge_requests/{}/approvals", repo.id, p.number))
            .await
            .json();
        let want: BTreeSet<String> = rest["approved_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["user"]["username"].as_str().unwrap().to_string())
            .collect();
        assert!(want.len() > 1);
        assert_eq!(got, want);
    }

    // updatedAfter and state filter as REST's updated_after and state do.
    let cut = &rest[rest.len() / 2]["updated_at"];
    let d = sim
        .graphql(
            "query($p: ID!, $t: Time) { project(fullPath: $p) { mergeRequests(updatedAfter: $t, state: merged) { count } } }",
            json!({ "p": full_path, "t": cut }),
        )
        .await;
    let since = sim
        .all(&format!(
            "/projects/{}/merge_requests?per_page=100&state=merged&updated_after={}",
            repo.id,
            cut.as_str().unwrap()
        ))
        .await;
    assert_eq!(d["project"]["mergeRequests"]["count"], since.len());
    sim.handle.stop().await;
}

#[tokio::test]
async fn graphql_answers_gitlab_s_errors_limits_and_rate_headers() {
    let sim = Sim::start().await;
    let gh = &sim.data.github;
    let index = (0..gh.repos.len()).max_by_key(|&i| gh.repos[i].pulls.len()).unwrap();
    let vars = json!({ "p": gitlab::path_with_namespace(gh, index) });
    let token = Some(GITLAB_TOKEN);

    let unknown = sim
        .post_graphql(
            token,
            "query($p: ID!) { project(fullPath: $p) { mergeRequests(first: 1) { nodes { iid reviewers2 } } } }",
            vars.clone(),
        )
        .await
        .json();
    assert_eq!(
        unknown["errors"][0]["message"],
        "Field 'reviewers2' doesn't exist on type 'MergeRequest'"
    );
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "undefinedField");
    assert!(unknown.get("data").is_none(), "{unknown}");

    // A page larger than 100 is cut to 100 nodes (the MR with most commits has over 100).
    let (i, iid) = gh
        .repos
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.pulls.iter().map(move |p| (p.commits.len(), i, p.number)))
        .max()
        .map(|(_, i, n)| (i, n))
        .unwrap();
    let big = sim
        .graphql(
            "query($p: ID!, $iid: String!) { project(fullPath: $p) { mergeRequest(iid: $iid) {
               commits(first: 500) { count pageInfo { hasNextPage } nodes { sha } } } } }",
            json!({ "p": gitlab::path_with_namespace(gh, i), "iid": iid.to_string() }),
        )
        .await;
    let conn = &big["project"]["mergeRequest"]["commits"];
    assert!(conn["count"].as_u64().unwrap() > 100, "{}", conn["count"]);
    assert_eq!(conn["nodes"].as_array().unwrap().len(), 100);
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);

    // Complexity: a sync's query fits; two more nested lists of 100 do not.
    let fits = format!(
        "query($p: ID!) {{ queryComplexity {{ score limit }} project(fullPath: $p) {{ mergeRequests(first: 100, sort: UPDATED_ASC) {{
           pageInfo {{ hasNextPage endCursor }} nodes {{ {MR_FIELDS} notes(first: 100) {{ {NOTE_FIELDS} }} commits(first: 100) {{ {COMMIT_FIELDS} }} }} }} }} }}"
    );
    let d = sim.graphql(&fits, vars.clone()).await;
    let score = d["queryComplexity"]["score"].as_u64().unwrap();
    assert!((100..=250).contains(&score), "{score}");
    assert_eq!(d["queryComplexity"]["limit"], 250);
    let too_much = fits.replace(
        "notes(first: 100)",
        &format!(
            "a: notes(first: 100) {{ {NOTE_FIELDS} }} b: commits(first: 100) {{ {COMMIT_FIELDS} }} \
             c: notes(first: 100) {{ {NOTE_FIELDS} }} notes(first: 100)"
        ),
    );
    let refused = sim.post_graphql(token, &too_much, vars.clone()).await.json();
    let message = refused["errors"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{score}: not refused"));
    assert!(
        message.starts_with("Query has complexity of ") && message.ends_with(", which exceeds max complexity of 250"),
        "{message}"
    );

    // Same credentials as REST; counted and rate limited like REST.
    let anonymous = sim.post_graphql(None, "{ currentUser { username } }", json!({})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let private = sim
        .client
        .post(sim.graphql_url())
        .header("PRIVATE-TOKEN", GITLAB_TOKEN)
        .json(&json!({ "query": "{ currentUser { username } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    let served = sim.handle.stats.served_with("/gitlab/api/graphql", "200");
    assert!(served >= 4, "GraphQL requests are counted: {served}");
    sim.handle.state.reset_limits();
    sim.handle.state.set_config(SimConfig {
        gitlab_per_minute: 2,
        ..SimConfig::default()
    });
    for left in ["1", "0"] {
        let a = sim.post_graphql(token, "{ currentUser { username } }", json!({})).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("ratelimit-remaining").as_deref(), Some(left));
    }
    let limited = sim.post_graphql(token, "{ currentUser { username } }", json!({})).await;
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());

    // A GitLab without GraphQL answers 404.
    sim.handle.state.set_config(SimConfig {
        gitlab_graphql: false,
        ..SimConfig::default()
    });
    let missing = sim.post_graphql(token, "{ currentUser { username } }", json!({})).await;
    assert_eq!(missing.status, 404);
    sim.handle.stop().await;
}
