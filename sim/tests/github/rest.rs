use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::dataset::{
    BIG_COMMENTS, BIG_COMMITS, BIG_PR, BIG_REVIEW_COMMENTS, BIG_REVIEWS, CAPPED_COMMITS, CAPPED_PR, WEB_OPEN, WEB_PRS,
};
use crate::helpers::{Sim, fixtures, link, links};

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not a timestamp: {v}"))
}

/// Follows `rel="next"` from `first_url`; checks the Link rels of every page and returns the
/// items in order.
async fn walk(sim: &Sim, first_url: &str, per_page: usize, total: usize) -> Vec<Value> {
    let pages = total.div_ceil(per_page).max(1);
    let mut url = first_url.to_string();
    let mut items = Vec::new();
    for page in 1..=pages {
        let a = sim.get_ok(&url).await;
        let body = a.json();
        let arr = body.as_array().expect("array");
        let expected = if page < pages {
            per_page
        } else {
            total - per_page * (pages - 1)
        };
        assert_eq!(arr.len(), expected, "page {page} of {url}");
        items.extend(arr.iter().cloned());
        let header = a.header("link");
        if pages == 1 {
            assert!(header.is_none(), "single page must have no Link: {header:?}");
            break;
        }
        let rels: Vec<String> = links(header.as_deref()).into_iter().map(|(r, _)| r).collect();
        let want: Vec<&str> = match page {
            1 => vec!["next", "last"],
            p if p == pages => vec!["prev", "first"],
            _ => vec!["prev", "next", "last", "first"],
        };
        assert_eq!(rels, want, "page {page} of {url}: {header:?}");
        if let Some(last) = link(header.as_deref(), "last") {
            assert!(
                last.ends_with(&format!("page={pages}")) || last.contains(&format!("page={pages}&")),
                "{last}"
            );
        }
        match link(header.as_deref(), "next") {
            Some(next) => url = next,
            None => assert_eq!(page, pages),
        }
    }
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_pages_hold_every_pr_once_in_order() {
    let sim = Sim::start().await;
    let all: BTreeSet<u64> = (1..=WEB_PRS).collect();
    for per_page in [1usize, 7, 30, 100] {
        for (sort, key) in [("created", "created_at"), ("updated", "updated_at")] {
            for dir in ["asc", "desc"] {
                let url = format!(
                    "{}/repos/acme/web/pulls?state=all&sort={sort}&direction={dir}&per_page={per_page}",
                    sim.gh
                );
                let items = walk(&sim, &url, per_page, WEB_PRS as usize).await;
                let numbers: Vec<u64> = items.iter().map(|p| p["number"].as_u64().unwrap_or(0)).collect();
                let set: BTreeSet<u64> = numbers.iter().copied().collect();
                assert_eq!(set, all, "{url}");
                assert_eq!(numbers.len(), all.len(), "duplicates in {url}");
                let times: Vec<DateTime<Utc>> = items.iter().map(|p| time(&p[key])).collect();
                let sorted = times
                    .windows(2)
                    .all(|w| if dir == "asc" { w[0] <= w[1] } else { w[0] >= w[1] });
                assert!(sorted, "{url} not ordered by {key} {dir}");
            }
        }
    }
    // `updated` really differs from number order in this dataset (the check above can fail).
    let a = sim
        .get_ok(&format!(
            "{}/repos/acme/web/pulls?state=all&sort=updated&direction=asc&per_page=100",
            sim.gh
        ))
        .await;
    let numbers: Vec<u64> = a
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert!(numbers.windows(2).any(|w| w[0] > w[1]));
    let head = sim
        .get_ok(&format!(
            "{}/repos/acme/web/pulls?state=all&head=acme:feature/3",
            sim.gh
        ))
        .await
        .json();
    assert_eq!(head.as_array().unwrap().len(), 1);
    assert_eq!(head[0]["number"], 3);
    let other_owner = sim
        .get_ok(&format!(
            "{}/repos/acme/web/pulls?state=all&head=someone:feature/3",
            sim.gh
        ))
        .await
        .json();
    assert_eq!(other_owner, serde_json::json!([]));
    let base = sim
        .get_ok(&format!(
            "{}/repos/acme/web/pulls?state=all&base=main&per_page=100",
            sim.gh
        ))
        .await
        .json();
    assert_eq!(base.as_array().unwrap().len(), WEB_PRS as usize);
    let closed = sim
        .get_ok(&format!("{}/repos/acme/web/pulls?state=closed&per_page=100", sim.gh))
        .await
        .json();
    assert_eq!(closed.as_array().unwrap().len(), WEB_PRS as usize - WEB_OPEN);
    // Defaults: open only, newest first, 30 per page.
    let a = sim.get_ok(&format!("{}/repos/acme/web/pulls", sim.gh)).await;
    let body = a.json();
    let arr = body.as_array().unwrap();
    assert_eq!(arr.len(), WEB_OPEN);
    assert!(arr.iter().all(|p| p["state"] == "open"));
    assert!(
        arr.windows(2)
            .all(|w| time(&w[0]["created_at"]) >= time(&w[1]["created_at"]))
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_header_format_equals_recorded_octokit_paging() {
    let sim = Sim::start().await;
    let raw = std::fs::read_to_string(fixtures().join("octokit-fixtures/paginate-issues/raw-fixture.json"))
        .expect("paginate-issues fixture");
    let recorded: Value = serde_json::from_str(&raw).expect("fixture JSON");
    let mut compared = 0;
    for exchange in recorded.as_array().expect("array") {
        if exchange["method"] != "get" {
            continue;
        }
        let path = exchange["path"].as_str().unwrap();
        let query = path.split_once('?').map_or("", |(_, q)| q);
        let raw_headers = exchange["rawHeaders"].as_array().expect("rawHeaders");
        let theirs = raw_headers
            .chunks(2)
            .find(|kv| kv[0].as_str().is_some_and(|k| k.eq_ignore_ascii_case("link")))
            .map(|kv| kv[1].as_str().unwrap().to_string())
            .expect("recorded Link");
        let ours = sim
            .get_ok(&format!("{}/repos/acme/web/pulls?{query}", sim.gh))
            .await
            .header("link")
            .expect("our Link");
        let theirs = theirs.replace("https://api.github.com/repositories/515435940/issues?", "URL?");
        let ours = ours.replace(&format!("{}/repos/acme/web/pulls?", sim.gh), "URL?");
        assert_eq!(ours, theirs, "?{query}");
        compared += 1;
    }
    assert_eq!(compared, 5);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_params_last_wins_and_links_repeat_them() {
    let sim = Sim::start().await;
    let a = sim
        .get_ok(&format!(
            "{}/repos/acme/web/pulls?per_page=2&state=all&per_page=10",
            sim.gh
        ))
        .await;
    assert_eq!(a.json().as_array().unwrap().len(), 10);
    let next = link(a.header("link").as_deref(), "next").expect("next");
    assert_eq!(
        next,
        format!(
            "{}/repos/acme/web/pulls?per_page=2&state=all&per_page=10&page=2",
            sim.gh
        )
    );
    let last = link(a.header("link").as_deref(), "last").expect("last");
    assert!(last.ends_with("per_page=10&page=4"), "{last}");
    // Page past the end: empty, still linked back.
    let a = sim
        .get_ok(&format!("{}/repos/acme/web/pulls?state=all&page=9", sim.gh))
        .await;
    assert_eq!(a.json(), serde_json::json!([]));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_and_if_none_match_give_304_without_charging() {
    let sim = Sim::start().await;
    let url = format!("{}/repos/acme/web/pulls/{BIG_PR}", sim.gh);
    let first = sim.get_ok(&url).await;
    let etag = first.header("etag").expect("etag");
    assert!(
        etag.starts_with("W/\"") && etag.ends_with('"') && etag.len() == 3 + 64 + 1,
        "{etag}"
    );
    let used: u32 = first.header("x-ratelimit-used").unwrap().parse().unwrap();
    let again = sim.get_with(&url, &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.text.is_empty());
    assert_eq!(again.header("etag").as_deref(), Some(etag.as_str()));
    let after: u32 = again.header("x-ratelimit-used").unwrap().parse().unwrap();
    assert_eq!(after, used, "a 304 must not count");
    let other = sim.get_with(&url, &[("If-None-Match", "W/\"deadbeef\"")]).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.text, first.text);
    // Lists carry one too, and it changes with the page.
    let p1 = sim
        .get_ok(&format!("{}/repos/acme/web/pulls?state=all&per_page=5", sim.gh))
        .await;
    let p2 = sim
        .get_ok(&format!("{}/repos/acme/web/pulls?state=all&per_page=5&page=2", sim.gh))
        .await;
    assert_ne!(p1.header("etag"), p2.header("etag"));
    let list_304 = sim
        .get_with(
            &format!("{}/repos/acme/web/pulls?state=all&per_page=5", sim.gh),
            &[("If-None-Match", &p1.header("etag").unwrap())],
        )
        .await;
    assert_eq!(list_304.status, StatusCode::NOT_MODIFIED);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_serves_the_same_routes_under_api_v3() {
    let sim = Sim::start().await;
    let a = sim.get_ok(&format!("{}/repos/acme/web", sim.ghe)).await;
    let repo = a.json();
    assert_eq!(repo["full_name"], "acme/web");
    assert_eq!(repo["url"], format!("{}/ghe/api/v3/repos/acme/web", sim.origin));
    assert_eq!(repo["html_url"], format!("{}/ghe/acme/web", sim.origin));
    assert!(
        a.header("x-ratelimit-limit").is_none(),
        "GHES limits are off by default"
    );
    let pulls = sim
        .get_ok(&format!("{}/repos/acme/web/pulls?state=all&per_page=3", sim.ghe))
        .await;
    let next = link(pulls.header("link").as_deref(), "next").expect("next");
    assert!(
        next.starts_with(&format!("{}/ghe/api/v3/repos/acme/web/pulls?", sim.origin)),
        "{next}"
    );
    assert!(
        pulls.json()[0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/ghe/api/v3/", sim.origin))
    );

    let rl = sim.get(&format!("{}/rate_limit", sim.ghe)).await;
    assert_eq!(rl.status, StatusCode::NOT_FOUND);
    assert_eq!(rl.json()["message"], "Rate limiting is not enabled.");
    let meta = sim.get_ok(&format!("{}/meta", sim.ghe)).await;
    assert_eq!(meta.json()["installed_version"], "3.19.0");

    let mut cfg = sim.handle.state.config();
    cfg.enterprise_rate_limits = true;
    sim.handle.state.set_config(cfg);
    let rl = sim.get_ok(&format!("{}/rate_limit", sim.ghe)).await;
    assert_eq!(rl.json()["resources"]["core"]["limit"], 5000);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_endpoint_peeks_without_charging() {
    let sim = Sim::start().await;
    sim.get_ok(&format!("{}/repos/acme/web", sim.gh)).await;
    let a = sim.get_ok(&format!("{}/rate_limit", sim.gh)).await;
    let body = a.json();
    for r in ["core", "graphql", "search"] {
        for k in ["limit", "used", "remaining", "reset"] {
            assert!(body["resources"][r][k].is_u64(), "{r}.{k}: {body}");
        }
    }
    assert_eq!(body["rate"], body["resources"]["core"]);
    assert_eq!(body["resources"]["core"]["used"], 1, "{body}");
    let b = sim.get_ok(&format!("{}/rate_limit", sim.gh)).await.json();
    assert_eq!(b["resources"]["core"]["used"], 1, "{b}");
    assert_eq!(b["resources"]["core"]["remaining"], 4999);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_pull_and_its_sub_resources() {
    let sim = Sim::start().await;
    let base = format!("{}/repos/acme/web/pulls/{BIG_PR}", sim.gh);
    let pr = sim.get_ok(&base).await.json();
    assert_eq!(pr["number"], BIG_PR);
    assert_eq!(pr["merged"], true);
    assert!(pr["mergeable"].is_null());
    assert_eq!(pr["commits"], BIG_COMMITS);
    assert_eq!(pr["comments"], BIG_COMMENTS);
    assert_eq!(pr["review_comments"], BIG_REVIEW_COMMENTS);
    assert_eq!(pr["additions"], BIG_PR * 10);
    assert_eq!(pr["head"]["repo"]["full_name"], "acme/web");
    // Numbers are per repository: api #7 is another pull request.
    let other = sim
        .get_ok(&format!("{}/repos/acme/api/pulls/{BIG_PR}", sim.gh))
        .await
        .json();
    assert_ne!(other["id"], pr["id"]);

    let reviews = walk(&sim, &format!("{base}/reviews?per_page=100"), 100, BIG_REVIEWS).await;
    let ids: BTreeSet<u64> = reviews.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), BIG_REVIEWS);
    let commits = walk(&sim, &format!("{base}/commits?per_page=100"), 100, BIG_COMMITS).await;
    let shas: BTreeSet<&str> = commits.iter().map(|c| c["sha"].as_str().unwrap()).collect();
    assert_eq!(shas.len(), BIG_COMMITS);
    assert_eq!(commits[1]["parents"][0]["sha"], commits[0]["sha"]);
    let capped = format!("{}/repos/acme/api/pulls/{CAPPED_PR}/commits?per_page=100", sim.gh);
    const { assert!(CAPPED_COMMITS > 250) };
    let capped = walk(&sim, &capped, 100, 250).await;
    assert_eq!(capped.len(), 250, "GitHub lists at most 250 commits");

    let comments = walk(
        &sim,
        &format!("{}/repos/acme/web/issues/{BIG_PR}/comments?per_page=100", sim.gh),
        100,
        BIG_COMMENTS,
    )
    .await;
    assert!(
        comments
            .iter()
            .all(|c| { c["issue_url"].as_str().unwrap().ends_with(&format!("/issues/{BIG_PR}")) })
    );
    let rcs = walk(&sim, &format!("{base}/comments?per_page=100"), 100, BIG_REVIEW_COMMENTS).await;
    assert!(rcs.iter().all(|c| {
        c["pull_request_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/pulls/{BIG_PR}"))
    }));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repo_wide_comment_streams_filter_and_sort() {
    let sim = Sim::start().await;
    let web = &sim.data.github.repos[0];
    let all_rc: usize = web.pulls.iter().map(|p| p.review_comments.len()).sum();
    let all_ic: usize = web.pulls.iter().map(|p| p.comments.len()).sum();
    let since_t = web.pulls[BIG_PR as usize - 1].created_at + chrono::Duration::minutes(300);
    let since = since_t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for (path, total, count_since) in [
        (
            "pulls/comments",
            all_rc,
            web.pulls
                .iter()
                .flat_map(|p| &p.review_comments)
                .filter(|c| c.updated_at >= since_t)
                .count(),
        ),
        (
            "issues/comments",
            all_ic,
            web.pulls
                .iter()
                .flat_map(|p| &p.comments)
                .filter(|c| c.updated_at >= since_t)
                .count(),
        ),
    ] {
        let everything = walk(
            &sim,
            &format!("{}/repos/acme/web/{path}?per_page=100", sim.gh),
            100,
            total,
        )
        .await;
        let ids: BTreeSet<u64> = everything.iter().map(|c| c["id"].as_u64().unwrap()).collect();
        assert_eq!(ids.len(), total, "{path}");
        let url = format!(
            "{}/repos/acme/web/{path}?sort=updated&direction=asc&since={since}&per_page=100",
            sim.gh
        );
        let items = walk(&sim, &url, 100, count_since).await;
        assert!(items.iter().all(|c| time(&c["updated_at"]) >= since_t));
        assert!(
            items
                .windows(2)
                .all(|w| time(&w[0]["updated_at"]) <= time(&w[1]["updated_at"])),
            "{path}"
        );
        assert!(count_since < total, "since must filter something");
    }
    let bad = sim
        .get(&format!("{}/repos/acme/web/issues/comments?since=yesterday", sim.gh))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_releases_and_runs() {
    let sim = Sim::start().await;
    let web = &sim.data.github.repos[0];
    let deps = sim
        .get_ok(&format!(
            "{}/repos/acme/web/deployments?environment=production&per_page=100",
            sim.gh
        ))
        .await
        .json();
    let deps = deps.as_array().unwrap();
    assert_eq!(
        deps.len(),
        web.deployments.iter().filter(|d| d.environment == "production").count()
    );
    assert!(deps.iter().all(|d| d["environment"] == "production"));
    assert!(
        deps.windows(2)
            .all(|w| time(&w[0]["created_at"]) >= time(&w[1]["created_at"])),
        "newest first"
    );
    let one = &web.deployments[0];
    let by_sha = sim
        .get_ok(&format!(
            "{}/repos/acme/web/deployments?sha={}&task=deploy",
            sim.gh, one.sha
        ))
        .await
        .json();
    assert!(by_sha.as_array().unwrap().iter().all(|d| d["sha"] == one.sha.as_str()));
    assert!(!by_sha.as_array().unwrap().is_empty());
    let statuses = sim
        .get_ok(&format!("{}/repos/acme/web/deployments/{}/statuses", sim.gh, one.id))
        .await
        .json();
    let states: Vec<&str> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = one.statuses.iter().map(|s| s.state.as_str()).collect();
    expected.reverse();
    assert_eq!(states, expected, "statuses newest first");

    let rel = sim.get_ok(&format!("{}/repos/acme/web/releases", sim.gh)).await.json();
    let tags: Vec<&str> = rel
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tag_name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v1.4.0", "v1.3.0", "v1.2.0", "v1.1.0", "v1.0.0"]);

    let runs = sim
        .get_ok(&format!("{}/repos/acme/web/actions/runs?per_page=5", sim.gh))
        .await;
    assert!(link(runs.header("link").as_deref(), "next").is_some());
    let body = runs.json();
    assert_eq!(body["total_count"], 20);
    assert_eq!(body["workflow_runs"].as_array().unwrap().len(), 5);
    assert_eq!(body["workflow_runs"][0]["id"], 7019, "newest first");
    let cutoff = web.workflow_runs[10].created_at;
    let created = format!(">={}", cutoff.format("%Y-%m-%d"));
    let filtered = sim
        .get_ok(&format!(
            "{}/repos/acme/web/actions/runs?created={}&per_page=100",
            sim.gh,
            urlencode(&created)
        ))
        .await
        .json();
    let n = web
        .workflow_runs
        .iter()
        .filter(|r| r.created_at.date_naive() >= cutoff.date_naive())
        .count();
    assert_eq!(filtered["total_count"], n);
    let failures = sim
        .get_ok(&format!(
            "{}/repos/acme/web/actions/runs?status=failure&event=pull_request",
            sim.gh
        ))
        .await
        .json();
    assert!(
        failures["workflow_runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["conclusion"] == "failure" && r["event"] == "pull_request")
    );
    let sha = &web.workflow_runs[3].head_sha;
    let by_sha = sim
        .get_ok(&format!(
            "{}/repos/acme/web/actions/runs?head_sha={sha}&branch={}",
            sim.gh,
            urlencode(&web.workflow_runs[3].head_branch)
        ))
        .await
        .json();
    assert!(by_sha["total_count"].as_u64().unwrap() >= 1);
    sim.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_repos_user_and_errors() {
    let sim = Sim::start().await;
    let repos = sim
        .get_ok(&format!("{}/orgs/acme/repos?sort=full_name", sim.gh))
        .await
        .json();
    let names: Vec<&str> = repos
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "infra", "web"]);
    let private = sim
        .get_ok(&format!("{}/orgs/acme/repos?type=private", sim.gh))
        .await
        .json();
    assert_eq!(private.as_array().unwrap().len(), 1);
    assert_eq!(private[0]["archived"], true);
    let paged = sim.get_ok(&format!("{}/orgs/acme/repos?per_page=2", sim.gh)).await;
    assert!(link(paged.header("link").as_deref(), "next").is_some());

    let me = sim.get_ok(&format!("{}/user", sim.gh)).await.json();
    assert_eq!(me["login"], "alice");
    assert_eq!(me["type"], "User");

    let missing = sim.get(&format!("{}/repos/acme/nope", sim.gh)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["message"], "Not Found");
    let missing_pr = sim.get(&format!("{}/repos/acme/web/pulls/999", sim.gh)).await;
    assert_eq!(missing_pr.status, StatusCode::NOT_FOUND);
    let unknown = sim.get(&format!("{}/repos/acme/web/nothing-here", sim.gh)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let anon = sim
        .client
        .get(format!("{}/repos/acme/web", sim.gh))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisation_members_and_users() {
    let sim = Sim::start().await;
    for root in [&sim.gh, &sim.ghe] {
        let org = sim.get_ok(&format!("{root}/orgs/ACME")).await.json();
        assert_eq!(org["login"], "acme");
        assert_eq!(org["type"], "Organization");
        assert_eq!(org["url"], format!("{root}/orgs/acme"));
        assert_eq!(
            (org["public_repos"].as_u64(), org["total_private_repos"].as_u64()),
            (Some(2), Some(1))
        );

        // Humans only, in pages with Link headers like every other list.
        let page = sim.get_ok(&format!("{root}/orgs/acme/members?per_page=2")).await;
        let logins: Vec<_> = page
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["login"].clone())
            .collect();
        assert_eq!(logins, ["alice", "bob"]);
        let next = link(page.header("link").as_deref(), "next").unwrap();
        assert_eq!(sim.get_ok(&next).await.json()[0]["login"], "carol");
        assert_eq!(link(sim.get_ok(&next).await.header("link").as_deref(), "next"), None);

        let bob = sim.get_ok(&format!("{root}/users/bob")).await.json();
        assert_eq!(
            (bob["login"].as_str(), bob["type"].as_str()),
            (Some("bob"), Some("User"))
        );
        assert_eq!(bob["name"], "bob Example");
        assert!(bob.get("plan").is_none(), "private fields are /user's: {bob}");
        let bot = sim.get_ok(&format!("{root}/users/dependabot%5Bbot%5D")).await.json();
        assert_eq!(bot["type"], "Bot");
        let as_user = sim.get_ok(&format!("{root}/users/acme")).await.json();
        assert_eq!(as_user["type"], "Organization");
        assert_eq!(as_user["id"], org["id"]);

        let mine = sim.get_ok(&format!("{root}/user/orgs")).await.json();
        assert_eq!(mine.as_array().unwrap().len(), 1);
        assert_eq!(mine[0]["login"], "acme");
        assert_eq!(mine[0]["members_url"], org["members_url"]);

        for missing in ["orgs/nope", "orgs/nope/members", "users/nope", "orgs/bob"] {
            let answer = sim.get(&format!("{root}/{missing}")).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{missing}");
        }
    }
    sim.stop().await;
}
