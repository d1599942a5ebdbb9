//! The GraphQL documents the sync sends, and what each costs by GitHub's rule (sum the requests
//! needed to fill every connection, each nested one once per parent node, ÷ 100, rounded, at
//! least 1) — known before sending, so the sync can stop before a query the budget cannot pay.
//!
//! * A repository page: `rateLimit`, the repository's id, archived flag and default branch, and
//!   whichever of its connections are still being read — `pullRequests` (UPDATED_AT DESC, with
//!   the first [`REVIEWS`] reviews with their line comments and [`NESTED`] commits and comments
//!   of each) and `deployments` or
//!   `releases` (CREATED_AT DESC) — so an incremental run with nothing new costs one request.
//! * Follow-ups: up to [`FOLLOW_UP_BATCH`] aliased `node(id:)` lookups that read the rest of
//!   nested connections whose first page said `hasNextPage`, 100 items at a time.

use serde_json::{Map, Value, json};

/// Nested commits and comments read with each pull request. The cost does not depend on it
/// (only the node count does); larger pages mean fewer follow-ups.
pub const NESTED: u32 = 50;
/// Reviews read with each pull request. Each review carries its own line-comment connection,
/// which GitHub charges once per possible review: 10 keeps a page of 100 pull requests at 13
/// points (1 + 3 × 100 + 10 × 100 requests ÷ 100) while covering the usual 1–5 reviews.
pub const REVIEWS: u32 = 10;
/// Line comments read with each review (the cost does not depend on it).
pub const LINE_COMMENTS: u32 = 50;
/// Deployment statuses read with each deployment (there are usually three or four).
pub const STATUSES: u32 = 10;
/// Items per follow-up connection page (GitHub's maximum).
pub const FOLLOW_UP_PAGE: u32 = 100;
/// Nodes looked up per follow-up query: ≤ 3 connections each keeps the cost at 1–2 points.
pub const FOLLOW_UP_BATCH: usize = 25;
/// Deployments or releases per page, at most (the pull-request page size also bounds it).
/// With a page of 100 pull requests, 100 deployments cost no more points than 50 (4 either
/// way) and keep pace with the pull-request pages, so they add no requests.
pub const DEPLOY_PAGE: u32 = 100;

const FRAGMENTS: &[(&str, &str)] = &[
    (
        "Pr",
        "fragment Pr on PullRequest { id number title state isDraft createdAt updatedAt closedAt mergedAt \
         author { __typename login } baseRefName headRefName additions deletions changedFiles mergeCommit { oid } \
         reviews(first: REVIEWS) { pageInfo { hasNextPage endCursor } nodes { ...Review } } \
         commits(first: NESTED) { pageInfo { hasNextPage endCursor } nodes { ...Commit } } \
         comments(first: NESTED) { pageInfo { hasNextPage endCursor } nodes { ...Comment } } }",
    ),
    (
        "Review",
        "fragment Review on PullRequestReview { id state submittedAt author { __typename login } commit { oid } \
         lineComments: comments(first: LINE_COMMENTS) { pageInfo { hasNextPage endCursor } nodes { ...LineComment } } }",
    ),
    (
        "LineComment",
        "fragment LineComment on PullRequestReviewComment { id createdAt updatedAt author { __typename login } }",
    ),
    (
        "Commit",
        "fragment Commit on PullRequestCommit { commit { oid message authoredDate committedDate \
         author { name email user { login } } } }",
    ),
    (
        "Comment",
        "fragment Comment on IssueComment { id createdAt updatedAt author { __typename login } }",
    ),
    (
        "Deployment",
        "fragment Deployment on Deployment { id databaseId environment createdAt commitOid ref { name } \
         statuses(first: STATUSES) { pageInfo { hasNextPage endCursor } nodes { ...Status } } }",
    ),
    ("Status", "fragment Status on DeploymentStatus { state createdAt }"),
    (
        "Release",
        "fragment Release on Release { databaseId tagName isDraft isPrerelease createdAt publishedAt }",
    ),
];

const RATE_LIMIT: &str = "rateLimit { cost remaining resetAt limit }";

/// Appends the fragments the document uses (directly or through other fragments): GitHub
/// rejects unused ones.
fn with_fragments(mut doc: String) -> String {
    let mut added: Vec<&str> = Vec::new();
    loop {
        let next = FRAGMENTS
            .iter()
            .find(|(name, _)| !added.contains(name) && uses(&doc, name));
        let Some((name, text)) = next else { break };
        added.push(name);
        doc.push('\n');
        doc.push_str(
            &text
                .replace("NESTED", &NESTED.to_string())
                .replace("LINE_COMMENTS", &LINE_COMMENTS.to_string())
                .replace("REVIEWS", &REVIEWS.to_string())
                .replace("STATUSES", &STATUSES.to_string()),
        );
    }
    doc
}

/// Whether `...Name` appears as a whole fragment spread.
fn uses(doc: &str, name: &str) -> bool {
    let spread = format!("...{name}");
    doc.match_indices(&spread).any(|(i, _)| {
        doc[i + spread.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_')
    })
}

/// GitHub's rounding: requests ÷ 100 to the nearest whole number, at least 1.
pub fn points(requests: u64) -> u32 {
    u32::try_from(requests.saturating_add(50) / 100)
        .unwrap_or(u32::MAX)
        .max(1)
}

/// Which deployment-like connection a repository page reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployConn {
    Deployments,
    Releases,
}

impl DeployConn {
    /// The connection a deployment source reads through GraphQL, if any.
    pub fn of(kind: crate::domain::integration::DeploymentKind) -> Option<Self> {
        use crate::domain::integration::DeploymentKind;
        match kind {
            DeploymentKind::Deployments => Some(Self::Deployments),
            DeploymentKind::Releases => Some(Self::Releases),
            _ => None,
        }
    }
}

/// One repository page: the connections still being read and where each resumes, and the
/// previous page's follow-ups riding along (at most [`FOLLOW_UP_BATCH`]; answered under the
/// aliases `n0`, `n1`, … beside `repository`), so they cost no request of their own.
#[derive(Clone, Debug, Default)]
pub struct RepoQuery {
    /// `Some(after)`: read a page of pull requests after that cursor (None: from the top).
    pub prs: Option<Option<String>>,
    pub deploys: Option<(DeployConn, Option<String>)>,
    pub follow_ups: Vec<FollowUp>,
}

impl RepoQuery {
    fn deploy_page(page: u32) -> u32 {
        page.clamp(1, DEPLOY_PAGE)
    }

    /// The request body for `owner/name` with pull-request pages of `page`.
    pub fn body(&self, owner: &str, name: &str, page: u32) -> Value {
        let mut decl = vec!["$owner: String!", "$name: String!"];
        let mut vars = Map::new();
        vars.insert("owner".into(), json!(owner));
        vars.insert("name".into(), json!(name));
        let mut sel = String::from("id isArchived defaultBranchRef { name }");
        if let Some(after) = &self.prs {
            decl.extend(["$prs: Int!", "$after: String"]);
            vars.insert("prs".into(), json!(page));
            vars.insert("after".into(), json!(after));
            sel.push_str(
                " pullRequests(first: $prs, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) \
                 { totalCount pageInfo { hasNextPage endCursor } nodes { ...Pr } }",
            );
        }
        if let Some((conn, after)) = &self.deploys {
            decl.extend(["$deploys: Int!", "$deploysAfter: String"]);
            vars.insert("deploys".into(), json!(Self::deploy_page(page)));
            vars.insert("deploysAfter".into(), json!(after));
            let (field, fragment) = match conn {
                DeployConn::Deployments => ("deployments", "Deployment"),
                DeployConn::Releases => ("releases", "Release"),
            };
            sel.push_str(&format!(
                " {field}(first: $deploys, after: $deploysAfter, orderBy: {{field: CREATED_AT, direction: DESC}}) \
                 {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ ...{fragment} }} }}"
            ));
        }
        let mut decl: Vec<String> = decl.into_iter().map(String::from).collect();
        let (lookups, _) = follow_up_selection(&self.follow_ups, &mut decl, &mut vars);
        let doc = format!(
            "query({}) {{ {RATE_LIMIT} repository(owner: $owner, name: $name) {{ {sel} }}{lookups} }}",
            decl.join(", ")
        );
        json!({ "query": with_fragments(doc), "variables": vars })
    }

    /// Points this page costs with pull-request pages of `page`.
    pub fn cost(&self, page: u32) -> u32 {
        let mut requests = 0u64;
        if self.prs.is_some() {
            // pullRequests; reviews, commits, comments per PR; line comments per possible review.
            requests += 1 + 3 * u64::from(page) + u64::from(page) * u64::from(REVIEWS);
        }
        match self.deploys {
            Some((DeployConn::Deployments, _)) => requests += 1 + u64::from(Self::deploy_page(page)),
            Some((DeployConn::Releases, _)) => requests += 1,
            None => {}
        }
        requests += self
            .follow_ups
            .iter()
            .flat_map(|f| &f.conns)
            .map(|(nested, _)| nested.requests())
            .sum::<u64>();
        points(requests)
    }
}

/// A nested connection read in follow-ups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Nested {
    Reviews,
    Commits,
    Comments,
    Statuses,
    /// A review's line comments.
    LineComments,
}

impl Nested {
    /// The selected field, with its alias where it has one.
    fn field(self) -> &'static str {
        match self {
            Nested::Reviews => "reviews",
            Nested::Commits => "commits",
            Nested::Comments => "comments",
            Nested::Statuses => "statuses",
            Nested::LineComments => "lineComments: comments",
        }
    }

    fn fragment(self) -> &'static str {
        match self {
            Nested::Reviews => "Review",
            Nested::Commits => "Commit",
            Nested::Comments => "Comment",
            Nested::Statuses => "Status",
            Nested::LineComments => "LineComment",
        }
    }

    fn owner_type(self) -> &'static str {
        match self {
            Nested::Statuses => "Deployment",
            Nested::LineComments => "PullRequestReview",
            _ => "PullRequest",
        }
    }

    /// Connections GitHub counts for one page of this one: itself, plus a line-comment
    /// connection per review read.
    fn requests(self) -> u64 {
        match self {
            Nested::Reviews => 1 + u64::from(FOLLOW_UP_PAGE),
            _ => 1,
        }
    }
}

/// The rest of some of one node's nested connections, each after its cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowUp {
    pub node_id: String,
    pub conns: Vec<(Nested, String)>,
}

/// Alias of the `i`th lookup of a follow-up batch.
pub fn alias(i: usize) -> String {
    format!("n{i}")
}

/// One query for a batch of follow-ups (aliases `n0`, `n1`, …) and its cost.
pub fn follow_up_body(items: &[FollowUp]) -> (Value, u32) {
    let mut decl = Vec::new();
    let mut vars = Map::new();
    let (sel, requests) = follow_up_selection(items, &mut decl, &mut vars);
    let doc = format!("query({}) {{ {RATE_LIMIT}{sel} }}", decl.join(", "));
    (
        json!({ "query": with_fragments(doc), "variables": vars }),
        points(requests),
    )
}

/// The `node(id:)` lookups of `items` (aliases `n0`, `n1`, …), their variables added to
/// `decl` and `vars`; and the connections GitHub counts for them.
fn follow_up_selection(items: &[FollowUp], decl: &mut Vec<String>, vars: &mut Map<String, Value>) -> (String, u64) {
    let mut sel = String::new();
    let mut requests = 0u64;
    for (i, item) in items.iter().enumerate() {
        decl.push(format!("$id{i}: ID!"));
        vars.insert(format!("id{i}"), json!(item.node_id));
        let mut inner = String::new();
        let mut on = "PullRequest";
        for (nested, cursor) in &item.conns {
            let var = format!("{}{i}", &nested.field()[..1]);
            decl.push(format!("${var}: String"));
            vars.insert(var.clone(), json!(cursor));
            on = nested.owner_type();
            inner.push_str(&format!(
                " {}(first: {FOLLOW_UP_PAGE}, after: ${var}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ ...{} }} }}",
                nested.field(),
                nested.fragment()
            ));
            requests += nested.requests();
        }
        sel.push_str(&format!(
            " {}: node(id: $id{i}) {{ ... on {on} {{{inner} }} }}",
            alias(i)
        ));
    }
    (sel, requests)
}

/// Repositories sized per request by [`sizes_body`] (one point: two connections of one node
/// each per repository, ÷ 100).
pub const SIZES_BATCH: usize = 50;

/// One query for how many pull requests and deployments (or releases) each repository holds
/// (aliases `n0`, `n1`, …; GitHub wants `first` on every connection, so one node each), and
/// its cost.
pub fn sizes_body(repos: &[(&str, &str)], deploys: Option<DeployConn>) -> (Value, u32) {
    let mut decl = Vec::new();
    let mut vars = Map::new();
    let mut sel = String::new();
    let conn = match deploys {
        Some(DeployConn::Deployments) => " deploys: deployments(first: 1) { totalCount }",
        Some(DeployConn::Releases) => " deploys: releases(first: 1) { totalCount }",
        None => "",
    };
    for (i, (owner, name)) in repos.iter().enumerate() {
        decl.push(format!("$o{i}: String!, $r{i}: String!"));
        vars.insert(format!("o{i}"), json!(owner));
        vars.insert(format!("r{i}"), json!(name));
        sel.push_str(&format!(
            " {}: repository(owner: $o{i}, name: $r{i}) {{ pullRequests(first: 1) {{ totalCount }}{conn} }}",
            alias(i)
        ));
    }
    let requests = repos.len() as u64 * if deploys.is_some() { 2 } else { 1 };
    let doc = format!("query({}) {{ {RATE_LIMIT}{sel} }}", decl.join(", "));
    (json!({ "query": doc, "variables": vars }), points(requests))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_ask_one_node_per_connection_and_cost_one_point_a_batch() {
        let repos: Vec<(&str, &str)> = (0..SIZES_BATCH).map(|_| ("acme", "web")).collect();
        let (body, cost) = sizes_body(&repos, Some(DeployConn::Deployments));
        assert_eq!(cost, 1);
        let text = body["query"].as_str().unwrap();
        assert!(text.contains("n49: repository(owner: $o49, name: $r49) { pullRequests(first: 1) { totalCount } deploys: deployments(first: 1) { totalCount } }"));
        assert_eq!(body["variables"]["r0"], "web");
        let (body, _) = sizes_body(&repos[..2], None);
        assert!(!body["query"].as_str().unwrap().contains("deploys"));
    }

    #[test]
    fn costs_follow_githubs_rule() {
        assert_eq!(points(0), 1);
        assert_eq!(points(151), 2);
        assert_eq!(points(301), 3);
        let prs = RepoQuery {
            prs: Some(None),
            ..RepoQuery::default()
        };
        // 1 + 3 × 50 + 10 × 50 line-comment connections = 651 requests.
        assert_eq!(prs.cost(50), 7);
        assert_eq!(prs.cost(100), 13);
        let both = RepoQuery {
            prs: Some(None),
            deploys: Some((DeployConn::Deployments, None)),
            ..RepoQuery::default()
        };
        assert_eq!(both.cost(100), 14);
        // Follow-ups riding along add their connections: 1,402 + 101 + 1 + 101 = 1,605 → 16.
        let carrying = RepoQuery {
            follow_ups: vec![
                FollowUp {
                    node_id: "PR_1".into(),
                    conns: vec![(Nested::Reviews, "r".into()), (Nested::Comments, "c".into())],
                },
                FollowUp {
                    node_id: "PR_2".into(),
                    conns: vec![(Nested::Reviews, "s".into())],
                },
            ],
            ..both.clone()
        };
        assert_eq!(carrying.cost(100), 16);
        let body = carrying.body("acme", "api", 100);
        let text = body["query"].as_str().unwrap_or_default();
        assert!(text.contains("repository(owner: $owner, name: $name) {"), "{text}");
        assert!(
            text.contains(" n0: node(id: $id0) { ... on PullRequest { reviews(first: 100, after: $r0)"),
            "{text}"
        );
        assert!(text.contains("comments(first: 100, after: $c0)"), "{text}");
        assert!(text.contains(" n1: node(id: $id1) {"), "{text}");
        assert_eq!(body["variables"]["id1"], "PR_2");
        assert_eq!(body["variables"]["r1"], "s");
        assert_eq!(text.matches("fragment Review on").count(), 1, "{text}");
        let (_, cost) = follow_up_body(&[FollowUp {
            node_id: "PR_1".into(),
            conns: vec![(Nested::Reviews, "c".into()), (Nested::Commits, "d".into())],
        }]);
        assert_eq!(cost, 1);
        let (body, cost) = follow_up_body(&[FollowUp {
            node_id: "PRR_1".into(),
            conns: vec![(Nested::LineComments, "c".into())],
        }]);
        assert_eq!(cost, 1);
        let text = body["query"].as_str().unwrap_or_default();
        assert!(text.contains("... on PullRequestReview { lineComments: comments(first: 100, after: $l0)"));
        assert!(text.contains("fragment LineComment on PullRequestReviewComment"));
    }

    #[test]
    fn only_used_fragments_are_sent() {
        let q = RepoQuery {
            deploys: Some((DeployConn::Releases, None)),
            ..RepoQuery::default()
        }
        .body("acme", "api", 10);
        let text = q["query"].as_str().unwrap_or_default();
        assert!(text.contains("fragment Release"));
        assert!(!text.contains("fragment Pr "));
        assert!(!text.contains("$prs"));
        let (f, _) = follow_up_body(&[FollowUp {
            node_id: "D_1".into(),
            conns: vec![(Nested::Statuses, "c".into())],
        }]);
        let text = f["query"].as_str().unwrap_or_default();
        assert!(text.contains("... on Deployment") && text.contains("fragment Status"));
        assert!(!text.contains("fragment Review"));
    }
}
