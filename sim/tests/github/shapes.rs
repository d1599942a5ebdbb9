//! Our REST JSON carries at least the keys of items recorded from api.github.com (DevLake's
//! raw tables of `panjf2000/ants`), at the top level and in the nested `user`/`head`/`base`/
//! `commit` (and similar) objects.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::dataset::BIG_PR;
use crate::helpers::{Sim, fixtures};

/// The `data` column of every row of a DevLake raw-table CSV (RFC 4180 quoting).
fn recorded(file: &str) -> Vec<Value> {
    let path = fixtures().join("devlake-e2e/github").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    let header = rows.remove(0);
    let col = header.iter().position(|h| h == "data").expect("data column");
    let items: Vec<Value> = rows
        .iter()
        .filter(|r| r.len() > col)
        .map(|r| serde_json::from_str(&r[col]).expect("data is JSON"))
        .collect();
    assert!(!items.is_empty(), "{file}");
    items
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// Keys of any recorded item (at `path`, an object): the union, so that a key GitHub sends
/// only sometimes still has to be served or listed as not served.
fn recorded_keys(items: &[Value], path: &[&str]) -> BTreeSet<String> {
    let mut sets = items.iter().filter_map(|i| {
        let mut v = i;
        for p in path {
            v = v.get(*p)?;
        }
        v.is_object().then(|| keys(v))
    });
    let first = sets.next().unwrap_or_else(|| panic!("nothing recorded at {path:?}"));
    sets.fold(first, |acc, s| acc.union(&s).cloned().collect())
}

/// Asserts ours ⊇ recorded at each path, except the listed (justified) keys.
fn check(name: &str, ours: &Value, recorded: &[Value], paths: &[&[&str]], not_served: &[&str]) {
    for path in paths {
        let mut v = ours;
        for p in *path {
            v = &v[*p];
        }
        assert!(v.is_object(), "{name}: ours has no object at {path:?}: {ours}");
        let missing: Vec<String> = recorded_keys(recorded, path)
            .difference(&keys(v))
            .filter(|k| !not_served.contains(&k.as_str()))
            .cloned()
            .collect();
        assert!(missing.is_empty(), "{name} {path:?} lacks recorded keys {missing:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_items_carry_the_recorded_keys() {
    let sim = Sim::start().await;
    let base = format!("{}/repos/acme/web", sim.gh);
    let first = |v: Value| v.as_array().and_then(|a| a.first().cloned()).expect("non-empty list");

    let prs = recorded("_raw_github_api_pull_requests.csv");
    let pr_paths: &[&[&str]] = &[
        &[],
        &["user"],
        &["head"],
        &["base"],
        &["head", "repo"],
        &["base", "repo"],
        &["head", "user"],
        &["_links"],
    ];
    let list_item = first(sim.get_ok(&format!("{base}/pulls?state=all")).await.json());
    check("PR list item", &list_item, &prs, pr_paths, &[]);
    let single = sim.get_ok(&format!("{base}/pulls/{BIG_PR}")).await.json();
    check("PR", &single, &prs, pr_paths, &[]);

    let reviews = recorded("_raw_github_api_pull_request_reviews.csv");
    let ours = first(sim.get_ok(&format!("{base}/pulls/{BIG_PR}/reviews")).await.json());
    check("review", &ours, &reviews, &[&[], &["user"], &["_links"]], &[]);

    let commits = recorded("_raw_github_api_pull_request_commits.csv");
    let ours = first(sim.get_ok(&format!("{base}/pulls/{BIG_PR}/commits")).await.json());
    check(
        "PR commit",
        &ours,
        &commits,
        &[
            &[],
            &["commit"],
            &["commit", "author"],
            &["commit", "tree"],
            &["commit", "verification"],
            &["author"],
            &["committer"],
        ],
        &[],
    );

    let comments = recorded("_raw_github_api_comments.csv");
    let ours = first(sim.get_ok(&format!("{base}/issues/comments")).await.json());
    check(
        "issue comment",
        &ours,
        &comments,
        &[&[], &["user"], &["reactions"]],
        &[],
    );

    let rcs = recorded("_raw_github_api_pull_request_review_comments.csv");
    let ours = first(sim.get_ok(&format!("{base}/pulls/comments")).await.json());
    // `in_reply_to_id` is only sent on replies (absent from some recorded items too).
    check(
        "review comment",
        &ours,
        &rcs,
        &[&[], &["user"], &["_links"], &["reactions"]],
        &["in_reply_to_id"],
    );

    let runs = recorded("_raw_github_api_runs.csv");
    let body = sim.get_ok(&format!("{base}/actions/runs")).await.json();
    let ours = body["workflow_runs"][0].clone();
    check(
        "workflow run",
        &ours,
        &runs,
        &[
            &[],
            &["actor"],
            &["triggering_actor"],
            &["head_commit"],
            &["repository"],
            &["head_repository"],
            &["repository", "owner"],
        ],
        &[],
    );
    sim.stop().await;
}
