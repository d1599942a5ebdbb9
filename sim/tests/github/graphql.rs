use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::dataset::{BIG_COMMENTS, BIG_COMMITS, BIG_PR, BIG_REVIEWS, WEB_PRS};
use crate::helpers::Sim;

/// The query of the API notes (§4), with variables.
const DOC_QUERY: &str = r#"
query PRs($owner: String!, $name: String!, $first: Int!, $after: String) {
  rateLimit { cost limit remaining used resetAt nodeCount }
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id fullDatabaseId number title state isDraft createdAt updatedAt closedAt mergedAt
        author { login } baseRefName headRefName additions deletions changedFiles
        reviews(first: 50)  { totalCount pageInfo { hasNextPage endCursor }
                              nodes { id fullDatabaseId state submittedAt author { login } commit { oid } } }
        commits(first: 50)  { totalCount pageInfo { hasNextPage endCursor }
                              nodes { commit { oid authoredDate committedDate author { name email user { login } } } } }
        comments(first: 50) { totalCount pageInfo { hasNextPage endCursor }
                              nodes { id fullDatabaseId createdAt updatedAt author { login } } }
      }
    }
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_query_costs_two_points_for_7550_nodes() {
    let sim = Sim::start().await;
    let endpoint = format!("{}/graphql", sim.gh);
    let vars = json!({"owner": "acme", "name": "web", "first": 50, "after": null});
    let a = sim.gql_at(&endpoint, DOC_QUERY, vars.clone()).await;
    assert_eq!(a.status, reqwest::StatusCode::OK);
    let body = a.json();
    assert!(body.get("errors").is_none(), "{body}");
    let rl = &body["data"]["rateLimit"];
    assert_eq!(rl["cost"], 2, "{rl}");
    assert_eq!(rl["nodeCount"], 7550);
    assert_eq!(rl["limit"], 5000);
    assert_eq!(rl["used"], 2);
    assert_eq!(rl["remaining"], 4998);
    let reset = rl["resetAt"].as_str().unwrap();
    assert!(
        DateTime::parse_from_rfc3339(reset).is_ok() && reset.ends_with('Z'),
        "{reset}"
    );
    assert_eq!(a.header("x-ratelimit-resource").as_deref(), Some("graphql"));
    assert_eq!(a.header("x-ratelimit-used").as_deref(), Some("2"));
    assert_eq!(a.header("x-ratelimit-remaining").as_deref(), Some("4998"));
    let prs = &body["data"]["repository"]["pullRequests"];
    assert_eq!(prs["totalCount"], WEB_PRS);
    assert_eq!(prs["nodes"].as_array().unwrap().len(), WEB_PRS as usize);
    let big = prs["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["number"] == BIG_PR)
        .unwrap();
    assert!(big["fullDatabaseId"].is_string(), "BigInt is a string");
    assert_eq!(big["state"], "MERGED");
    assert_eq!(big["reviews"]["totalCount"], BIG_REVIEWS);
    assert_eq!(big["reviews"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(big["commits"]["nodes"].as_array().unwrap().len(), 50);
    // The second call sees the first one's charge.
    let again = sim.gql_at(&endpoint, DOC_QUERY, vars).await.json();
    assert_eq!(again["data"]["rateLimit"]["used"], 4);
    sim.stop().await;
}

const PAGE: &str = r#"
query Page($owner: String!, $name: String!, $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after, states: [OPEN, CLOSED, MERGED],
                 orderBy: {field: UPDATED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id number updatedAt
        reviews(first: 50) { totalCount pageInfo { hasNextPage endCursor } nodes { id } }
        commits(first: 50) { totalCount pageInfo { hasNextPage endCursor } nodes { commit { oid } } }
        comments(first: 50) { totalCount pageInfo { hasNextPage endCursor } nodes { id } }
      }
    }
  }
}"#;

const FOLLOW: &str = r#"
query Follow($id: ID!, $after: String) {
  node(id: $id) {
    __typename
    ... on PullRequest {
      number
      reviews(first: 50, after: $after) @include(if: $reviews) { pageInfo { hasNextPage endCursor } nodes { id } }
      commits(first: 50, after: $after) @include(if: $commits) { pageInfo { hasNextPage endCursor } nodes { commit { oid } } }
      comments(first: 50, after: $after) @include(if: $comments) { pageInfo { hasNextPage endCursor } nodes { id } }
    }
  }
}"#;

fn ids_of(conn: &Value, kind: &str) -> Vec<String> {
    conn["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {conn}"))
        .iter()
        .map(|n| match kind {
            "commits" => n["commit"]["oid"].as_str().unwrap().to_string(),
            _ => n["id"].as_str().unwrap().to_string(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_with_nested_follow_ups_returns_everything_once() {
    let sim = Sim::start().await;
    let follow = FOLLOW.replace(
        "query Follow($id: ID!, $after: String)",
        "query Follow($id: ID!, $after: String, $reviews: Boolean!, $commits: Boolean!, $comments: Boolean!)",
    );
    let mut after = Value::Null;
    let mut seen_prs = Vec::new();
    let mut updated: Vec<DateTime<Utc>> = Vec::new();
    // number → kind → ids
    let mut got: BTreeMap<u64, BTreeMap<&str, Vec<String>>> = BTreeMap::new();
    loop {
        let data = sim
            .gql_data(
                PAGE,
                json!({"owner": "acme", "name": "web", "first": 7, "after": after}),
            )
            .await;
        let conn = &data["repository"]["pullRequests"];
        assert_eq!(conn["totalCount"], WEB_PRS);
        for pr in conn["nodes"].as_array().unwrap() {
            let number = pr["number"].as_u64().unwrap();
            seen_prs.push(number);
            updated.push(
                DateTime::parse_from_rfc3339(pr["updatedAt"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&Utc),
            );
            for kind in ["reviews", "commits", "comments"] {
                let mut ids = ids_of(&pr[kind], kind);
                let mut page = pr[kind]["pageInfo"].clone();
                while page["hasNextPage"] == true {
                    let vars = json!({
                        "id": pr["id"], "after": page["endCursor"],
                        "reviews": kind == "reviews", "commits": kind == "commits", "comments": kind == "comments",
                    });
                    let node = sim.gql_data(&follow, vars).await["node"].clone();
                    assert_eq!(node["__typename"], "PullRequest");
                    assert_eq!(node["number"], number);
                    assert!(node.get("reviews").is_none() || kind == "reviews", "@include");
                    ids.extend(ids_of(&node[kind], kind));
                    page = node[kind]["pageInfo"].clone();
                }
                got.entry(number).or_default().insert(kind, ids);
            }
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    let unique: BTreeSet<u64> = seen_prs.iter().copied().collect();
    assert_eq!(seen_prs.len(), WEB_PRS as usize, "each PR once");
    assert_eq!(unique, (1..=WEB_PRS).collect());
    assert!(updated.windows(2).all(|w| w[0] >= w[1]), "UPDATED_AT DESC");
    assert_ne!(
        seen_prs,
        (1..=WEB_PRS).rev().collect::<Vec<_>>(),
        "order must not be by number"
    );
    for pr in &sim.data.github.repos[0].pulls {
        let g = &got[&pr.number];
        let want_reviews: Vec<String> = pr.reviews.iter().map(|r| r.node_id.clone()).collect();
        let want_commits: Vec<String> = pr.commits.iter().map(|c| c.sha.clone()).collect();
        let want_comments: Vec<String> = pr.comments.iter().map(|c| c.node_id.clone()).collect();
        assert_eq!(g["reviews"], want_reviews, "reviews of #{}", pr.number);
        assert_eq!(g["commits"], want_commits, "commits of #{}", pr.number);
        assert_eq!(g["comments"], want_comments, "comments of #{}", pr.number);
    }
    let big = &got[&BIG_PR];
    assert_eq!(
        (big["reviews"].len(), big["commits"].len(), big["comments"].len()),
        (BIG_REVIEWS, BIG_COMMITS, BIG_COMMENTS)
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_inside_http_200() {
    let sim = Sim::start().await;
    let mut cfg = sim.handle.state.config();
    cfg.github_graphql_budget = 5;
    sim.handle.state.set_config(cfg);
    let vars = json!({"owner": "acme", "name": "web", "first": 50});
    let endpoint = format!("{}/graphql", sim.gh);
    for used in [2, 4] {
        let a = sim.gql_at(&endpoint, DOC_QUERY, vars.clone()).await;
        assert_eq!(a.json()["data"]["rateLimit"]["used"], used);
        assert_eq!(a.header("x-ratelimit-limit").as_deref(), Some("5"));
    }
    let a = sim.gql_at(&endpoint, DOC_QUERY, vars.clone()).await;
    assert_eq!(a.status, reqwest::StatusCode::OK);
    assert_eq!(
        a.json(),
        json!({"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]})
    );
    assert_eq!(a.header("x-ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(a.header("x-ratelimit-resource").as_deref(), Some("graphql"));
    // A 1-point query still fits (4 + 1 = 5).
    let small = sim
        .gql("{ viewer { login } rateLimit { cost used remaining } }", json!({}))
        .await;
    assert_eq!(
        small["data"]["rateLimit"],
        json!({"cost": 1, "used": 5, "remaining": 0})
    );
    assert_eq!(small["data"]["viewer"]["login"], "alice");
    sim.handle.state.reset_limits();
    let fresh = sim.gql_at(&endpoint, DOC_QUERY, vars).await.json();
    assert_eq!(fresh["data"]["rateLimit"]["used"], 2);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_repository_is_null_with_not_found() {
    let sim = Sim::start().await;
    let body = sim
        .gql(
            "query {\n  repository(owner: \"acme\", name: \"x\") { id name }\n}",
            json!({}),
        )
        .await;
    assert_eq!(
        body,
        json!({
            "data": {"repository": null},
            "errors": [{
                "type": "NOT_FOUND",
                "path": ["repository"],
                "locations": [{"line": 2, "column": 3}],
                "message": "Could not resolve to a Repository with the name 'acme/x'."
            }]
        })
    );
    let pr = sim
        .gql(
            r#"{ repository(owner: "acme", name: "web") { name pullRequest(number: 999) { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(pr["data"], json!({"repository": {"name": "web", "pullRequest": null}}));
    assert_eq!(pr["errors"][0]["path"], json!(["repository", "pullRequest"]));
    assert_eq!(
        pr["errors"][0]["message"],
        "Could not resolve to a PullRequest with the number of 999."
    );
    let node = sim
        .gql(r#"{ node(id: "nope") { id } viewer { login } }"#, json!({}))
        .await;
    assert_eq!(node["data"]["node"], Value::Null);
    assert_eq!(node["data"]["viewer"]["login"], "alice");
    assert_eq!(node["errors"][0]["type"], "NOT_FOUND");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_arguments_are_enforced() {
    let sim = Sim::start().await;
    let body = sim
        .gql(
            r#"query($n: Int!) { repository(owner: "acme", name: "web") { pullRequests(first: $n) { nodes { number } } } }"#,
            json!({"n": 101}),
        )
        .await;
    assert_eq!(body["data"], json!({"repository": null}));
    assert_eq!(body["errors"][0]["type"], "EXCESSIVE_PAGINATION");
    assert_eq!(body["errors"][0]["path"], json!(["repository", "pullRequests"]));
    assert_eq!(
        body["errors"][0]["message"],
        "Requesting 101 records on the `pullRequests` connection exceeds the `first` limit of 100 records."
    );
    let body = sim
        .gql(
            r#"{ repository(owner: "acme", name: "web") { pullRequests { nodes { number } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["type"], "MISSING_PAGINATION_BOUNDARIES");
    assert_eq!(
        body["errors"][0]["message"],
        "You must provide a `first` or `last` value to properly paginate the `pullRequests` connection."
    );
    // Counting needs no page size.
    let data = sim
        .gql_data(
            r#"{ repository(owner: "acme", name: "web") { pullRequests { totalCount } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["repository"]["pullRequests"]["totalCount"], WEB_PRS);
    let body = sim
        .gql(r#"{ repository(owner: "acme", name: "web") { pullRequests(first: 1, after: "garbage") { nodes { number } } } }"#, json!({}))
        .await;
    assert_eq!(body["errors"][0]["type"], "INVALID_CURSOR_ARGUMENTS");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_look_like_githubs() {
    let sim = Sim::start().await;
    let body = sim
        .gql(
            "query Q {\n  repository(owner: \"acme\", name: \"web\") {\n    pullRequests(first: 1) { nodes { number bogus } }\n  }\n}",
            json!({}),
        )
        .await;
    assert!(body.get("data").is_none(), "{body}");
    let e = &body["errors"][0];
    assert_eq!(e["message"], "Field 'bogus' doesn't exist on type 'PullRequest'");
    assert_eq!(e["extensions"]["code"], "undefinedField");
    assert_eq!(e["extensions"]["typeName"], "PullRequest");
    assert_eq!(
        e["path"],
        json!(["query Q", "repository", "pullRequests", "nodes", "bogus"])
    );
    assert_eq!(e["locations"], json!([{"line": 3, "column": 45}]));

    let body = sim
        .gql(
            "query($owner: String!) { repository(owner: $owner, name: \"web\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["message"],
        "Variable $owner of type String! was provided invalid value"
    );
    let body = sim.gql("{ repository(owner: \"acme\") { id } }", json!({})).await;
    assert_eq!(
        body["errors"][0]["message"],
        "Field 'repository' is missing required arguments: name"
    );
    let body = sim
        .gql("{ repository(owner: \"acme\", name: \"web\") { id(x: 1) } }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "argumentNotAccepted");
    let body = sim
        .gql("{ repository(owner: \"acme\", name: \"web\") { owner } }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "selectionMismatch");
    let body = sim
        .gql("{ repository(owner: \"acme\", name: \"web\") { id ", json!({}))
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("parse"),
        "{body}"
    );
    assert_eq!(body["errors"][0]["locations"][0]["line"], 1, "{body}");
    let body = sim.gql("{ viewer { ...F } }", json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Fragment F was used, but not defined")
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authors_fragments_edges_and_aliases() {
    let sim = Sim::start().await;
    let q = r#"
      fragment Who on Actor { login __typename ... on User { name } ... on Bot { id } }
      query($first: Int = 5) {
        web: repository(owner: "acme", name: "web") {
          nameWithOwner isArchived defaultBranchRef { name }
          page: pullRequests(first: $first, orderBy: {field: CREATED_AT, direction: ASC}) {
            edges { cursor node { number author { ...Who } } }
          }
        }
        api: repository(owner: "ACME", name: "API") { id name }
      }"#;
    let data = sim.gql_data(q, json!({})).await;
    assert_eq!(data["web"]["nameWithOwner"], "acme/web");
    assert_eq!(data["web"]["defaultBranchRef"]["name"], "main");
    assert_eq!(data["api"]["name"], "api");
    let edges = data["web"]["page"]["edges"].as_array().unwrap();
    let numbers: Vec<u64> = edges.iter().map(|e| e["node"]["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    // PR n is authored by user n % 5: 3 and 4 are bots.
    let bot = &edges[3]["node"]["author"];
    assert_eq!(bot["__typename"], "Bot");
    assert_eq!(
        bot["login"], "github-actions",
        "GraphQL bot logins have no [bot] suffix"
    );
    assert!(bot.get("name").is_none() && bot["id"].is_string());
    let user = &edges[0]["node"]["author"];
    assert_eq!(user["__typename"], "User");
    assert_eq!(user["login"], "bob");
    assert!(user["name"].is_string() && user.get("id").is_none());
    // An edge cursor continues the list.
    let next = sim
        .gql_data(
            r#"query($c: String) { repository(owner: "acme", name: "web") { pullRequests(first: 2, after: $c) { nodes { number } pageInfo { hasPreviousPage startCursor } } } }"#,
            json!({"c": edges[2]["cursor"]}),
        )
        .await;
    let conn = &next["repository"]["pullRequests"];
    assert_eq!(conn["nodes"], json!([{"number": 4}, {"number": 5}]));
    assert_eq!(conn["pageInfo"]["hasPreviousPage"], true);
    // states filter
    let merged = sim
        .gql_data(r#"{ repository(owner: "acme", name: "web") { pullRequests(first: 100, states: MERGED) { totalCount nodes { state mergedAt } } } }"#, json!({}))
        .await;
    let web = &sim.data.github.repos[0];
    let want = web.pulls.iter().filter(|p| p.merged_at.is_some()).count();
    assert_eq!(merged["repository"]["pullRequests"]["totalCount"], want);
    assert!(
        merged["repository"]["pullRequests"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["state"] == "MERGED" && n["mergedAt"].is_string())
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_and_releases() {
    let sim = Sim::start().await;
    let q = r#"{ repository(owner: "acme", name: "web") {
        deployments(first: 100, environments: ["production"], orderBy: {field: CREATED_AT, direction: DESC}) {
          totalCount
          nodes { databaseId environment createdAt task ref { name } commitOid commit { oid }
                  creator { login __typename } latestStatus { state createdAt }
                  statuses(first: 10) { nodes { state } } }
        }
        releases(first: 10, orderBy: {field: CREATED_AT, direction: DESC}) { nodes { tagName isDraft isPrerelease isLatest author { login } } }
      } }"#;
    let data = sim.gql_data(q, json!({})).await;
    let web = &sim.data.github.repos[0];
    let deps = data["repository"]["deployments"]["nodes"].as_array().unwrap();
    assert_eq!(
        deps.len(),
        web.deployments.iter().filter(|d| d.environment == "production").count()
    );
    let created: Vec<&str> = deps.iter().map(|d| d["createdAt"].as_str().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "DESC");
    for d in deps {
        let src = web
            .deployments
            .iter()
            .find(|x| x.id == d["databaseId"].as_u64().unwrap())
            .unwrap();
        assert_eq!(d["environment"], "production");
        assert_eq!(d["commitOid"], src.sha.as_str());
        assert_eq!(d["commit"]["oid"], src.sha.as_str());
        let last = src.statuses.last().unwrap();
        assert_eq!(d["latestStatus"]["state"], last.state.to_uppercase());
        let states: Vec<String> = src.statuses.iter().rev().map(|s| s.state.to_uppercase()).collect();
        assert_eq!(
            d["statuses"]["nodes"],
            json!(states.iter().map(|s| json!({"state": s})).collect::<Vec<_>>())
        );
    }
    let rel = data["repository"]["releases"]["nodes"].as_array().unwrap();
    let tags: Vec<&str> = rel.iter().map(|r| r["tagName"].as_str().unwrap()).collect();
    assert_eq!(tags, ["v1.4.0", "v1.3.0", "v1.2.0", "v1.1.0", "v1.0.0"]);
    assert_eq!(rel.iter().filter(|r| r["isLatest"] == true).count(), 1);
    assert_eq!(rel[2]["isLatest"], true, "newest non-draft, non-prerelease");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_graphql_without_rate_limits() {
    let sim = Sim::start().await;
    let a = sim
        .gql_at(
            &sim.ghe_graphql(),
            r#"{ rateLimit { cost remaining } viewer { login } repository(owner: "acme", name: "web") { url } }"#,
            json!({}),
        )
        .await;
    assert_eq!(a.status, reqwest::StatusCode::OK);
    let body = a.json();
    assert_eq!(
        body["data"]["rateLimit"],
        Value::Null,
        "GHES with limits off: rateLimit is null"
    );
    assert_eq!(body["data"]["viewer"]["login"], "alice");
    assert_eq!(
        body["data"]["repository"]["url"],
        format!("{}/ghe/acme/web", sim.origin)
    );
    assert!(a.header("x-ratelimit-remaining").is_none());
    let mut cfg = sim.handle.state.config();
    cfg.enterprise_rate_limits = true;
    sim.handle.state.set_config(cfg);
    let a = sim
        .gql_at(&sim.ghe_graphql(), "{ rateLimit { cost remaining } }", json!({}))
        .await;
    assert_eq!(a.json()["data"]["rateLimit"], json!({"cost": 1, "remaining": 4999}));
    assert_eq!(a.header("x-ratelimit-resource").as_deref(), Some("graphql"));
    sim.stop().await;
}

/// `PullRequestReview.comments`: each review's line comments, paged, equal to the dataset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_line_comments_page_per_review() {
    let sim = Sim::start().await;
    let query = "query($owner: String!, $name: String!, $after: String) {
      rateLimit { cost }
      repository(owner: $owner, name: $name) {
        pullRequests(first: 20, after: $after) { pageInfo { hasNextPage endCursor }
          nodes { number reviews(first: 100) { nodes { id
            lineComments: comments(first: 2) { totalCount pageInfo { hasNextPage endCursor }
              nodes { __typename id path createdAt author { login } pullRequestReview { id } } } } } } } } }";
    let more = "query($id: ID!, $after: String) { node(id: $id) { ... on PullRequestReview {
      lineComments: comments(first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } } } } }";
    let mut after = Value::Null;
    let mut got: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut paged = 0;
    loop {
        let data = sim
            .gql_data(query, json!({"owner": "acme", "name": "web", "after": after}))
            .await;
        let conn = &data["repository"]["pullRequests"];
        for pr in conn["nodes"].as_array().unwrap() {
            let ids = got.entry(pr["number"].as_u64().unwrap()).or_default();
            for review in pr["reviews"]["nodes"].as_array().unwrap() {
                let mut page = review["lineComments"].clone();
                for c in page["nodes"].as_array().unwrap() {
                    assert_eq!(c["__typename"], "PullRequestReviewComment");
                    assert_eq!(c["pullRequestReview"]["id"], review["id"]);
                    assert!(c["path"].is_string());
                }
                loop {
                    ids.extend(ids_of(&page, "comments"));
                    if page["pageInfo"]["hasNextPage"] != true {
                        break;
                    }
                    paged += 1;
                    let vars = json!({"id": review["id"], "after": page["pageInfo"]["endCursor"]});
                    page = sim.gql_data(more, vars).await["node"]["lineComments"].clone();
                }
            }
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert!(paged > 0, "some review had more than one page of line comments");
    for pr in &sim.data.github.repos[0].pulls {
        let mut want: Vec<String> = pr.review_comments.iter().map(|c| c.node_id.clone()).collect();
        let mut have = got[&pr.number].clone();
        want.sort();
        have.sort();
        assert_eq!(have, want, "line comments of #{}", pr.number);
    }
    sim.stop().await;
}
