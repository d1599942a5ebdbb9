//! The GitHub sync against the simulated GitHub: complete, incremental, cheap in requests,
//! resumable after a spent rate limit, a stop or a pause, tolerant of faults.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{deployments, pr_comments, pr_commits, pr_issue_links, pr_reviews, pull_requests, repositories};
use pulse_etl::domain::integration::glob_match;
use pulse_etl::integrations::control::{Interrupted, RunContext, RunControl};
use pulse_etl::integrations::github::sync::{self, Deps, SyncError};
use pulse_etl::sim::generate::SizeOptions;
use pulse_etl::sim::model::{Dataset, GhPull, GhRepo, GhUser};
use pulse_etl::sim::state::SimConfig;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Db, Options, TestApp, spawn_app, spawn_app_with};

// ---------------------------------------------------------------------------------------------
// Ground truth and what is stored, in one shape

/// (`owner/name`, number): a pull request's identity (numbers repeat across repositories).
type PrKey = (String, i32);

#[derive(Clone, Debug, PartialEq)]
struct PrFacts {
    node_id: String,
    title: String,
    author: Option<String>,
    author_is_bot: bool,
    state: String,
    draft: bool,
    created: i64,
    updated: i64,
    merged: Option<i64>,
    closed: Option<i64>,
    changes: (i32, i32, i32),
    refs: (String, String),
    merge_commit_sha: Option<String>,
    first_commit: Option<i64>,
    first_review: Option<i64>,
    first_response: Option<i64>,
}

/// (author, state, submitted, commit sha)
type ReviewFacts = (Option<String>, String, Option<i64>, Option<String>);

/// Everything that hangs off one pull request.
#[derive(Clone, Debug, Default, PartialEq)]
struct Nested {
    reviews: BTreeMap<String, ReviewFacts>,
    /// sha → (message, authored, author login)
    commits: BTreeMap<String, (String, Option<i64>, Option<String>)>,
    /// node id → (kind, author, created)
    comments: BTreeMap<String, (String, Option<String>, i64)>,
    /// Jira key → where found first
    links: BTreeMap<String, String>,
}

/// (`owner/name`, source, external id).
type DeployKey = (String, String, String);

#[derive(Clone, Debug, PartialEq)]
struct DeployFacts {
    environment: Option<String>,
    is_production: bool,
    sha: Option<String>,
    r#ref: Option<String>,
    status: String,
    created: i64,
    finished: Option<i64>,
}

#[derive(Debug, Default, PartialEq)]
struct Facts {
    prs: BTreeMap<PrKey, PrFacts>,
    nested: BTreeMap<PrKey, Nested>,
    deployments: BTreeMap<DeployKey, DeployFacts>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn login(users: &[GhUser], i: usize) -> (Option<String>, bool) {
    match users.get(i) {
        Some(u) => (Some(u.login.clone()), u.kind == "Bot"),
        None => (None, false),
    }
}

/// Jira keys as a reader would find them: words shaped `KEY-123…` of known projects.
fn expected_links(pr: &GhPull, known: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let places = [("title", pr.title.as_str()), ("branch", pr.head_ref.as_str())]
        .into_iter()
        .chain(pr.commits.iter().map(|c| ("commit", c.message.as_str())));
    for (place, text) in places {
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
            let Some((project, rest)) = word.split_once('-') else {
                continue;
            };
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if known.contains(project) && !digits.is_empty() {
                out.entry(format!("{project}-{digits}"))
                    .or_insert_with(|| place.to_string());
            }
        }
    }
    out
}

fn pr_truth(users: &[GhUser], pr: &GhPull, known: &BTreeSet<String>) -> (PrFacts, Nested) {
    let (author, author_is_bot) = login(users, pr.author);
    let other_human = |i: usize| i != pr.author && users.get(i).is_some_and(|u| u.kind != "Bot");
    let first_review = pr
        .reviews
        .iter()
        .filter(|r| other_human(r.author))
        .map(|r| r.submitted_at)
        .min();
    let first_comment = pr
        .comments
        .iter()
        .filter(|c| other_human(c.author))
        .map(|c| c.created_at)
        .chain(
            pr.review_comments
                .iter()
                .filter(|c| other_human(c.author))
                .map(|c| c.created_at),
        )
        .min();
    let first_response = [first_review, first_comment].into_iter().flatten().min();
    let state = if pr.merged_at.is_some() {
        "MERGED"
    } else if pr.state == "closed" || pr.closed_at.is_some() {
        "CLOSED"
    } else {
        "OPEN"
    };
    let facts = PrFacts {
        node_id: pr.node_id.clone(),
        title: pr.title.clone(),
        author,
        author_is_bot,
        state: state.into(),
        draft: pr.draft,
        created: ms(pr.created_at),
        updated: ms(pr.updated_at),
        merged: pr.merged_at.map(ms),
        closed: pr.closed_at.map(ms),
        changes: (pr.additions as i32, pr.deletions as i32, pr.changed_files as i32),
        refs: (pr.base_ref.clone(), pr.head_ref.clone()),
        merge_commit_sha: pr.merge_commit_sha.clone().filter(|_| pr.merged_at.is_some()),
        first_commit: pr.commits.iter().map(|c| ms(c.authored_at)).min(),
        first_review: first_review.map(ms),
        first_response: first_response.map(ms),
    };
    let mut nested = Nested::default();
    for r in &pr.reviews {
        nested.reviews.insert(
            r.node_id.clone(),
            (
                login(users, r.author).0,
                r.state.clone(),
                Some(ms(r.submitted_at)),
                Some(r.commit_sha.clone()),
            ),
        );
    }
    for c in &pr.commits {
        // GitActor.user is a User: bots have none.
        let user = c
            .author
            .and_then(|i| users.get(i))
            .filter(|u| u.kind != "Bot")
            .map(|u| u.login.clone());
        nested
            .commits
            .insert(c.sha.clone(), (c.message.clone(), Some(ms(c.authored_at)), user));
    }
    for c in &pr.comments {
        nested.comments.insert(
            c.node_id.clone(),
            ("issue".into(), login(users, c.author).0, ms(c.created_at)),
        );
    }
    for c in &pr.review_comments {
        nested.comments.insert(
            c.node_id.clone(),
            ("review".into(), login(users, c.author).0, ms(c.created_at)),
        );
    }
    nested.links = expected_links(pr, known);
    (facts, nested)
}

fn deploy_truth(repo: &GhRepo, source: &str, pattern: &str) -> Vec<(String, DeployFacts)> {
    match source {
        "deployments" => repo
            .deployments
            .iter()
            .map(|d| {
                let first = |states: &[&str]| {
                    d.statuses
                        .iter()
                        .filter(|s| states.contains(&s.state.as_str()))
                        .map(|s| ms(s.created_at))
                        .min()
                };
                let success = first(&["success"]);
                let status = match success {
                    Some(_) => "success".to_string(),
                    None => d.statuses.last().map_or_else(|| "pending".into(), |s| s.state.clone()),
                };
                let is_sha = d.r#ref.len() == 40 && d.r#ref.bytes().all(|b| b.is_ascii_hexdigit());
                (
                    d.id.to_string(),
                    DeployFacts {
                        environment: Some(d.environment.clone()),
                        is_production: glob_match(pattern, &d.environment),
                        sha: Some(d.sha.clone()),
                        r#ref: (!is_sha).then(|| d.r#ref.clone()),
                        status,
                        created: ms(d.created_at),
                        finished: success.or(first(&["failure", "error"])),
                    },
                )
            })
            .collect(),
        "releases" => repo
            .releases
            .iter()
            .filter(|r| !r.draft && r.published_at.is_some())
            .map(|r| {
                (
                    r.id.to_string(),
                    DeployFacts {
                        environment: Some(if r.prerelease { "prerelease" } else { "production" }.into()),
                        is_production: !r.prerelease,
                        sha: None,
                        r#ref: Some(r.tag_name.clone()),
                        status: "success".into(),
                        created: ms(r.created_at),
                        finished: r.published_at.map(ms),
                    },
                )
            })
            .collect(),
        "workflow_runs" => repo
            .workflow_runs
            .iter()
            .filter(|r| r.head_branch == repo.default_branch && glob_match(pattern, &r.name))
            .map(|r| {
                let done = r.status == "completed";
                (
                    r.id.to_string(),
                    DeployFacts {
                        environment: Some(r.name.clone()),
                        is_production: true,
                        sha: Some(r.head_sha.clone()),
                        r#ref: Some(r.head_branch.clone()),
                        status: if done {
                            r.conclusion.clone().unwrap_or_else(|| "success".into())
                        } else {
                            r.status.clone()
                        },
                        created: ms(r.created_at),
                        finished: done.then(|| ms(r.updated_at)),
                    },
                )
            })
            .collect(),
        _ => repo
            .pulls
            .iter()
            .filter(|p| p.merged_at.is_some() && p.base_ref == repo.default_branch)
            .map(|p| {
                let at = p.merged_at.map(ms);
                (
                    p.number.to_string(),
                    DeployFacts {
                        environment: Some("production".into()),
                        is_production: true,
                        sha: p.merge_commit_sha.clone(),
                        r#ref: Some(p.base_ref.clone()),
                        status: "success".into(),
                        created: at.unwrap_or_default(),
                        finished: at,
                    },
                )
            })
            .collect(),
    }
}

/// What the configuration describes: which repositories, which deployment source.
#[derive(Clone)]
struct Setup {
    repos: Vec<String>,
    source: String,
    pattern: String,
}

fn truth(data: &Dataset, setup: &Setup) -> Facts {
    let known: BTreeSet<String> = data.jira.projects.iter().map(|p| p.key.clone()).collect();
    let mut f = Facts::default();
    for repo in &data.github.repos {
        let full = format!("{}/{}", repo.owner, repo.name);
        if !setup.repos.contains(&full) {
            continue;
        }
        for pr in &repo.pulls {
            let (facts, nested) = pr_truth(&data.github.users, pr, &known);
            let key = (full.clone(), pr.number as i32);
            f.prs.insert(key.clone(), facts);
            f.nested.insert(key, nested);
        }
        for (id, d) in deploy_truth(repo, &setup.source, &setup.pattern) {
            f.deployments.insert((full.clone(), setup.source.clone(), id), d);
        }
    }
    f
}

async fn stored(app: &TestApp) -> Facts {
    let repos: BTreeMap<i64, String> = repositories::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, format!("{}/{}", r.owner, r.name)))
        .collect();
    let mut f = Facts::default();
    let mut key_of: BTreeMap<i64, PrKey> = BTreeMap::new();
    for p in pull_requests::Entity::find().all(&app.db).await.unwrap() {
        let key = (repos[&p.repository_id].clone(), p.number);
        key_of.insert(p.id, key.clone());
        let facts = PrFacts {
            node_id: p.node_id,
            title: p.title,
            author: p.author,
            author_is_bot: p.author_is_bot,
            state: p.state,
            draft: p.draft,
            created: ms(p.created),
            updated: ms(p.updated),
            merged: p.merged_at.map(ms),
            closed: p.closed_at.map(ms),
            changes: (p.additions, p.deletions, p.changed_files),
            refs: (p.base_ref, p.head_ref),
            merge_commit_sha: p.merge_commit_sha,
            first_commit: p.first_commit_at.map(ms),
            first_review: p.first_review_at.map(ms),
            first_response: p.first_response_at.map(ms),
        };
        assert!(f.prs.insert(key.clone(), facts).is_none(), "{key:?} stored twice");
        f.nested.insert(key, Nested::default());
    }
    for r in pr_reviews::Entity::find().all(&app.db).await.unwrap() {
        let n = f.nested.get_mut(&key_of[&r.pull_request_id]).unwrap();
        let dup = n.reviews.insert(
            r.node_id.clone(),
            (r.author, r.state, r.submitted_at.map(ms), r.commit_sha),
        );
        assert!(dup.is_none(), "review {} stored twice", r.node_id);
    }
    for c in pr_commits::Entity::find().all(&app.db).await.unwrap() {
        let n = f.nested.get_mut(&key_of[&c.pull_request_id]).unwrap();
        n.commits
            .insert(c.sha, (c.message, c.authored_at.map(ms), c.author_login));
    }
    for c in pr_comments::Entity::find().all(&app.db).await.unwrap() {
        let n = f.nested.get_mut(&key_of[&c.pull_request_id]).unwrap();
        let dup = n.comments.insert(c.node_id.clone(), (c.kind, c.author, ms(c.created)));
        assert!(dup.is_none(), "comment {} stored twice", c.node_id);
    }
    for l in pr_issue_links::Entity::find().all(&app.db).await.unwrap() {
        let n = f.nested.get_mut(&key_of[&l.pull_request_id]).unwrap();
        n.links.insert(l.issue_key, l.found_in);
    }
    for d in deployments::Entity::find().all(&app.db).await.unwrap() {
        let key = (repos[&d.repository_id].clone(), d.source, d.external_id);
        let facts = DeployFacts {
            environment: d.environment,
            is_production: d.is_production,
            sha: d.sha,
            r#ref: d.r#ref,
            status: d.status,
            created: ms(d.created),
            finished: d.finished_at.map(ms),
        };
        assert!(f.deployments.insert(key.clone(), facts).is_none(), "{key:?} twice");
    }
    f
}

async fn assert_equals_ground_truth(app: &TestApp, setup: &Setup) {
    let data = app.sim.as_ref().unwrap().state.data().clone();
    let want = truth(&data, setup);
    let got = stored(app).await;
    assert!(
        !want.prs.is_empty() && !want.deployments.is_empty(),
        "a dataset worth comparing"
    );
    assert_eq!(
        got.prs.keys().collect::<Vec<_>>(),
        want.prs.keys().collect::<Vec<_>>(),
        "the same pull requests (by repository and number)"
    );
    for (key, w) in &want.prs {
        assert_eq!(got.prs.get(key), Some(w), "pull request {key:?}");
        assert_eq!(
            got.nested.get(key),
            want.nested.get(key),
            "rows of pull request {key:?}"
        );
    }
    assert_eq!(
        got.deployments.keys().collect::<Vec<_>>(),
        want.deployments.keys().collect::<Vec<_>>(),
        "the same deployments"
    );
    for (key, w) in &want.deployments {
        assert_eq!(got.deployments.get(key), Some(w), "deployment {key:?}");
    }
}

/// Whatever is stored is whole: each stored pull request has exactly its true rows.
async fn assert_no_partial_pull_request(app: &TestApp, setup: &Setup) {
    let data = app.sim.as_ref().unwrap().state.data().clone();
    let want = truth(&data, setup);
    let got = stored(app).await;
    for (key, nested) in &got.nested {
        assert_eq!(Some(nested), want.nested.get(key), "{key:?} stored with partial rows");
        assert_eq!(got.prs.get(key), want.prs.get(key), "{key:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Setting up and running

/// The non-archived repositories (an organisation sync's selection) and the archived one.
fn repo_names(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let data = app.sim.as_ref().unwrap().state.data();
    let names = |archived: bool| {
        data.github
            .repos
            .iter()
            .filter(|r| r.archived == archived)
            .map(|r| format!("{}/{}", r.owner, r.name))
            .collect::<Vec<_>>()
    };
    (names(false), names(true))
}

async fn post_integration(app: &TestApp, body: Value) -> i64 {
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let res = app
        .client
        .post(app.url("/api/v1/integrations?test=false"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// A Jira integration naming the dataset's projects: pull requests link to their keys.
async fn add_jira_projects(app: &TestApp) {
    let sim = app.sim.as_ref().unwrap();
    let projects: Vec<String> = sim.state.data().jira.projects.iter().map(|p| p.key.clone()).collect();
    let body = json!({"kind": "jira", "name": "Jira", "flavour": "cloud", "base_url": sim.urls.jira_cloud,
                      "username": "sim@example.com", "secret": "sim-token", "settings": {"projects": projects}});
    post_integration(app, body).await;
}

/// A GitHub integration over the organisation, plus the archived repository by name (listed
/// repositories are synced even when archived).
async fn add_github(app: &TestApp, flavour: &str, source: &str) -> (i64, Setup) {
    add_github_at(app, flavour, source, None).await
}

async fn add_github_at(app: &TestApp, flavour: &str, source: &str, base_url: Option<String>) -> (i64, Setup) {
    add_jira_projects(app).await;
    let sim = app.sim.as_ref().unwrap();
    let url = base_url.unwrap_or_else(|| match flavour {
        "enterprise" => sim.urls.github_enterprise.clone(),
        _ => sim.urls.github.clone(),
    });
    let (active, archived) = repo_names(app);
    let body = json!({"kind": "github", "name": format!("GitHub {flavour}"), "flavour": flavour, "base_url": url,
                      "secret": "sim-github-token",
                      "settings": {"organization": "acme", "repositories": archived,
                                   "deployment_source": {"kind": source}}});
    let id = post_integration(app, body).await;
    let pattern = match source {
        "deployments" => "prod*",
        "workflow_runs" => "*deploy*",
        _ => "*",
    };
    let repos = archived.iter().chain(&active).cloned().collect();
    (
        id,
        Setup {
            repos,
            source: source.into(),
            pattern: pattern.into(),
        },
    )
}

async fn run_sync(app: &TestApp, ctx: &RunContext) -> Result<(), SyncError> {
    let state = app.state();
    let deps = Deps {
        db: &state.db,
        vault: &state.vault,
        outbound: state.outbound,
    };
    sync::run(&deps, ctx).await
}

fn set_sim(app: &TestApp, cfg: SimConfig) {
    app.sim.as_ref().unwrap().state.set_config(cfg);
}

/// A dataset with several pages of pull requests per repository.
async fn spawn_bigger(db: Db) -> TestApp {
    let mut opts = Options::new(db);
    opts.sim.size = SizeOptions {
        prs: 700,
        ..SizeOptions::small()
    };
    spawn_app_with(opts).await
}

async fn checkpoint(app: &TestApp) -> Option<Value> {
    pulse_etl::db::jobs::checkpoint(&app.db, sync::JOB).await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests

async fn a_full_sync_equals_the_ground_truth(db: Db) {
    let app = spawn_app(db).await;
    let (_, setup) = add_github(&app, "github", "deployments").await;
    let seen: Arc<std::sync::Mutex<Vec<(i32, String)>>> = Arc::default();
    let sink = seen.clone();
    let ctx = RunContext::new(
        RunControl::new(),
        Arc::new(move |p, m| sink.lock().unwrap().push((p, m))),
    );
    run_sync(&app, &ctx).await.unwrap();
    assert_equals_ground_truth(&app, &setup).await;
    let progress = seen.lock().unwrap().clone();
    assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0), "{progress:?}");
    assert_eq!(progress.last().map(|p| p.0), Some(100));
    assert!(
        progress
            .iter()
            .any(|(p, m)| *p > 0 && *p < 100 && m.contains("pull requests"))
    );

    let got = stored(&app).await;
    let most = |f: fn(&Nested) -> usize| got.nested.values().map(f).max().unwrap();
    assert!(most(|n| n.commits.len()) > 100, "a PR with > 100 commits is complete");
    assert!(most(|n| n.reviews.len()) > 100, "a PR with > 100 reviews is complete");
    assert!(most(|n| n.comments.len()) > 100, "a PR with > 100 comments is complete");
    let numbers: Vec<i32> = got.prs.keys().map(|(_, n)| *n).collect();
    let distinct: BTreeSet<i32> = numbers.iter().copied().collect();
    assert!(
        distinct.len() < numbers.len(),
        "repositories share pull-request numbers"
    );
    assert!(
        got.nested.values().any(|n| !n.links.is_empty()),
        "Jira links were found"
    );
    let c = ctx.stats.counts();
    assert_eq!(c["pull_requests"].inserted, got.prs.len() as u64, "{c:?}");
    assert!(c["follow_ups"].fetched > 0, "nested connections were followed: {c:?}");

    // A second run finds nothing new, changes nothing, and costs one request per repository
    // plus two reference requests (`/rate_limit` and one page of the organisation's repositories).
    let again = RunContext::detached();
    run_sync(&app, &again).await.unwrap();
    let c = again.stats.counts();
    assert_eq!(
        (c["pull_requests"].inserted, c["pull_requests"].updated),
        (0, 0),
        "{c:?}"
    );
    assert_eq!((c["deployments"].inserted, c["deployments"].updated), (0, 0), "{c:?}");
    assert_eq!(again.stats.requests(), 2 + setup.repos.len() as u64);
    assert_equals_ground_truth(&app, &setup).await;
    assert_eq!(checkpoint(&app).await, None, "cleared when done");
}
db_test!(a_full_sync_equals_the_ground_truth);

async fn an_incremental_sync_reads_only_what_changed(db: Db) {
    let app = spawn_app(db).await;
    let (_, setup) = add_github(&app, "github", "deployments").await;
    run_sync(&app, &RunContext::detached()).await.unwrap();
    let sim = app.sim.as_ref().unwrap();
    let watermark = repositories::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .filter_map(|r| r.pr_watermark)
        .min()
        .unwrap();
    let res = app
        .client
        .post(format!("{}/sim/advance?minutes=240", sim.urls.admin))
        .send()
        .await
        .unwrap();
    let summary: Value = res.json().await.unwrap();
    let changes = &summary["changes"];
    assert!(
        changes["pulls_updated"].as_u64().unwrap() + changes["pulls_created"].as_u64().unwrap() > 0,
        "{summary}"
    );
    let since = watermark - sync::OVERLAP;
    let changed = sim
        .state
        .data()
        .github
        .repos
        .iter()
        .flat_map(|r| &r.pulls)
        .filter(|p| p.updated_at >= since)
        .count() as u64;
    let ctx = RunContext::detached();
    run_sync(&app, &ctx).await.unwrap();
    let c = ctx.stats.counts();
    let fetched = c["pull_requests"].fetched;
    assert!(
        fetched > 0 && fetched <= changed,
        "read {fetched}, only {changed} changed"
    );
    assert!(c["pull_requests"].inserted + c["pull_requests"].updated > 0, "{c:?}");
    assert_equals_ground_truth(&app, &setup).await;

    let quiet = RunContext::detached();
    run_sync(&app, &quiet).await.unwrap();
    assert_eq!(
        quiet.stats.requests(),
        2 + setup.repos.len() as u64,
        "one request per repository"
    );
}
db_test!(an_incremental_sync_reads_only_what_changed);

async fn a_spent_rate_limit_stops_cleanly_and_the_resumed_run_completes(db: Db) {
    let app = spawn_bigger(db).await;
    let (_, setup) = add_github(&app, "github", "deployments").await;
    let total: u64 = {
        let data = app.sim.as_ref().unwrap().state.data();
        data.github.repos.iter().map(|r| r.pulls.len() as u64).sum()
    };
    // Enough for two or three pages: the budget runs out in the middle of a repository.
    set_sim(
        &app,
        SimConfig {
            github_graphql_budget: 12,
            ..SimConfig::default()
        },
    );
    let first = RunContext::detached();
    let err = run_sync(&app, &first).await.unwrap_err();
    let reset = err.reset_at().unwrap_or_else(|| panic!("a rate-limit stop, got {err}"));
    assert!(reset > Utc::now(), "the reset is in the future: {reset}");
    assert!(err.to_string().contains("rate limit"), "{err}");
    let cp = checkpoint(&app).await.expect("the checkpoint is kept");
    let in_progress = cp["github"]["repos"].as_object().unwrap();
    assert!(
        in_progress.values().any(|c| c["prs"]["after"].is_string()),
        "stopped inside a repository, with its cursor: {cp}"
    );
    assert_no_partial_pull_request(&app, &setup).await;
    // The watermark of a repository in progress has not moved.
    for r in repositories::Entity::find().all(&app.db).await.unwrap() {
        let key = format!("{}:{}/{}", r.integration_id, r.owner, r.name);
        if in_progress.contains_key(&key) {
            assert_eq!(r.pr_watermark, None, "{key}");
        }
    }

    // The budget resets (and is a normal one again).
    set_sim(&app, SimConfig::default());
    app.sim.as_ref().unwrap().state.reset_limits();
    let resumed = RunContext::detached();
    run_sync(&app, &resumed).await.unwrap();
    assert_equals_ground_truth(&app, &setup).await;
    let read = first.stats.counts()["pull_requests"].fetched + resumed.stats.counts()["pull_requests"].fetched;
    assert_eq!(
        read, total,
        "the resumed run continued at the cursor (nothing read twice)"
    );
}
db_test!(a_spent_rate_limit_stops_cleanly_and_the_resumed_run_completes);

async fn the_enterprise_flavour_syncs_with_and_without_rate_limits(db: Db) {
    let app = spawn_app(db).await;
    let (_, setup) = add_github(&app, "enterprise", "deployments").await;
    let ctx = RunContext::detached();
    run_sync(&app, &ctx).await.unwrap();
    assert_equals_ground_truth(&app, &setup).await;

    // With limits on, a spent budget stops the run there too.
    set_sim(
        &app,
        SimConfig {
            enterprise_rate_limits: true,
            github_graphql_budget: 0,
            ..SimConfig::default()
        },
    );
    let err = run_sync(&app, &RunContext::detached()).await.unwrap_err();
    assert!(err.reset_at().is_some(), "{err}");
}
db_test!(the_enterprise_flavour_syncs_with_and_without_rate_limits);

async fn each_deployment_source_is_stored(db: Db) {
    for source in ["releases", "workflow_runs", "merges"] {
        let app = spawn_app(db).await;
        let (_, setup) = add_github(&app, "github", source).await;
        run_sync(&app, &RunContext::detached()).await.unwrap();
        assert_equals_ground_truth(&app, &setup).await;
        let quiet = RunContext::detached();
        run_sync(&app, &quiet).await.unwrap();
        let per_repo = if source == "workflow_runs" { 2 } else { 1 };
        assert_eq!(
            quiet.stats.requests(),
            2 + per_repo * setup.repos.len() as u64,
            "{source}: requests when nothing changed"
        );
    }
}
db_test!(each_deployment_source_is_stored);

async fn a_switched_deployment_source_is_read_whole(db: Db) {
    let app = spawn_app(db).await;
    let (id, _) = add_github(&app, "github", "deployments").await;
    run_sync(&app, &RunContext::detached()).await.unwrap();
    let row = entity::integrations::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut settings = row.settings.clone();
    settings["deployment_source"] = json!({"kind": "merges"});
    let mut a = row.into_active_model();
    a.settings = Set(settings);
    a.update(&app.db).await.unwrap();
    run_sync(&app, &RunContext::detached()).await.unwrap();
    let data = app.sim.as_ref().unwrap().state.data().clone();
    let (active, archived) = repo_names(&app);
    let setup = Setup {
        repos: archived.into_iter().chain(active).collect(),
        source: "merges".into(),
        pattern: "*".into(),
    };
    let want = truth(&data, &setup).deployments;
    let got: BTreeMap<DeployKey, DeployFacts> = stored(&app)
        .await
        .deployments
        .into_iter()
        .filter(|((_, source, _), _)| source == "merges")
        .collect();
    assert_eq!(got, want);
}
db_test!(a_switched_deployment_source_is_read_whole);

async fn faults_and_malformed_bodies_lose_nothing(db: Db) {
    let app = spawn_app(db).await;
    let (_, setup) = add_github(&app, "github", "deployments").await;
    set_sim(
        &app,
        SimConfig {
            fault_rate: 0.05,
            malformed_rate: 0.03,
            reset_rate: 0.02,
            ..SimConfig::default()
        },
    );
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        let ctx = RunContext::detached();
        let result = run_sync(&app, &ctx).await;
        outcomes.push(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        if result.is_ok() {
            break;
        }
    }
    assert!(outcomes.last().unwrap().is_ok(), "no run completed: {outcomes:?}");
    set_sim(&app, SimConfig::default());
    assert_equals_ground_truth(&app, &setup).await;
}
db_test!(faults_and_malformed_bodies_lose_nothing);

async fn a_stopped_sync_leaves_no_partial_pull_request_and_a_rerun_completes(db: Db) {
    let app = spawn_bigger(db).await;
    let (_, setup) = add_github(&app, "github", "deployments").await;
    set_sim(
        &app,
        SimConfig {
            latency_ms: 15,
            ..SimConfig::default()
        },
    );
    for stop_after in [3u64, 6, 11] {
        let ctx = RunContext::new(RunControl::new(), Arc::new(|_, _| {}));
        let control = ctx.control.clone();
        let stats = ctx.stats.clone();
        let watcher = tokio::spawn(async move {
            while stats.requests() < stop_after {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            control.stop();
        });
        let result = run_sync(&app, &ctx).await;
        watcher.abort();
        if let Err(e) = &result {
            assert_eq!(e.interrupted(), Some(Interrupted::Stopped), "{e}");
        }
        assert_no_partial_pull_request(&app, &setup).await;
    }
    set_sim(&app, SimConfig::default());
    run_sync(&app, &RunContext::detached()).await.unwrap();
    assert_equals_ground_truth(&app, &setup).await;
}
db_test!(a_stopped_sync_leaves_no_partial_pull_request_and_a_rerun_completes);

async fn a_paused_sync_resumes_and_skips_finished_repositories(db: Db) {
    let app = spawn_app(db).await;
    let (_, setup) = add_github(&app, "github", "deployments").await;
    let ctx = RunContext::detached();
    let control = ctx.control.clone();
    // Pause once the first repository is stored (its watermark is set).
    let db2 = app.db.clone();
    let watcher = tokio::spawn(async move {
        loop {
            let done = repositories::Entity::find()
                .all(&db2)
                .await
                .unwrap()
                .iter()
                .any(|r| r.pr_watermark.is_some() && r.deploy_watermark.is_some());
            if done {
                control.pause();
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    set_sim(
        &app,
        SimConfig {
            latency_ms: 30,
            ..SimConfig::default()
        },
    );
    let err = run_sync(&app, &ctx).await.unwrap_err();
    watcher.abort();
    assert_eq!(err.interrupted(), Some(Interrupted::Paused), "{err}");
    let cp = checkpoint(&app).await.expect("the checkpoint is kept");
    let finished = cp["github"]["finished"].as_array().unwrap().len() as u64;
    assert!(finished >= 1, "{cp}");
    set_sim(&app, SimConfig::default());
    let resumed = RunContext::detached();
    run_sync(&app, &resumed).await.unwrap();
    assert_equals_ground_truth(&app, &setup).await;
    // Finished repositories were not read again, nor stored pages of the one in progress.
    let total: u64 = {
        let data = app.sim.as_ref().unwrap().state.data();
        data.github.repos.iter().map(|r| r.pulls.len() as u64).sum()
    };
    let read = ctx.stats.counts()["pull_requests"].fetched + resumed.stats.counts()["pull_requests"].fetched;
    assert_eq!(read, total);
    assert_eq!(checkpoint(&app).await, None);
}
db_test!(a_paused_sync_resumes_and_skips_finished_repositories);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_no_longer_selected_become_inactive() {
    let app = spawn_app(Db::Sqlite).await;
    let (id, setup) = add_github(&app, "github", "deployments").await;
    run_sync(&app, &RunContext::detached()).await.unwrap();
    let keep = setup.repos[0].clone();
    let row = entity::integrations::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut a = row.into_active_model();
    a.settings = Set(json!({"repositories": [keep.clone()], "deployment_source": {"kind": "deployments"}}));
    a.update(&app.db).await.unwrap();
    let ctx = RunContext::detached();
    run_sync(&app, &ctx).await.unwrap();
    let active: Vec<String> = repositories::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.active)
        .map(|r| format!("{}/{}", r.owner, r.name))
        .collect();
    assert_eq!(active, vec![keep]);
    assert_eq!(ctx.stats.requests(), 2, "`/rate_limit` and the one repository");
}

// ---------------------------------------------------------------------------------------------
// A proxy in front of the simulated GitHub that misbehaves on purpose

#[derive(Default)]
struct Misbehave {
    /// Answer 502 to pull-request pages larger than this.
    max_prs: Option<u64>,
    /// Answer the nth GraphQL request with `RATE_LIMITED` inside HTTP 200.
    rate_limit_at: Option<u64>,
}

struct Proxy {
    origin: String,
    me: String,
    rules: Misbehave,
    client: reqwest::Client,
    graphql: AtomicU64,
    timeouts: AtomicU64,
    served_pages: std::sync::Mutex<Vec<u64>>,
}

/// The reset the injected rate limit announces.
fn injected_reset() -> DateTime<Utc> {
    DateTime::from_timestamp((Utc::now() + chrono::Duration::minutes(42)).timestamp(), 0).unwrap()
}

async fn forward(
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
    p: actix_web::web::Data<Proxy>,
) -> actix_web::HttpResponse {
    use actix_web::HttpResponse;
    use actix_web::http::StatusCode;
    if req.path().ends_with("/graphql") {
        let n = p.graphql.fetch_add(1, Ordering::SeqCst) + 1;
        if p.rules.rate_limit_at == Some(n) {
            return HttpResponse::Ok()
                .insert_header(("x-ratelimit-remaining", "0"))
                .insert_header(("x-ratelimit-reset", injected_reset().timestamp().to_string()))
                .json(
                    json!({"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]}),
                );
        }
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        if let Some(prs) = v["variables"]["prs"].as_u64() {
            if p.rules.max_prs.is_some_and(|max| prs > max) {
                p.timeouts.fetch_add(1, Ordering::SeqCst);
                return HttpResponse::build(StatusCode::BAD_GATEWAY)
                    .json(json!({"message": "We couldn't respond to your request in time."}));
            }
            p.served_pages.lock().unwrap().push(prs);
        }
    }
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    let mut out = p
        .client
        .request(method, format!("{}{}", p.origin, req.uri()))
        .body(body.to_vec());
    for name in [
        "authorization",
        "if-none-match",
        "content-type",
        "accept",
        "x-github-api-version",
    ] {
        if let Some(v) = req.headers().get(name).and_then(|v| v.to_str().ok()) {
            out = out.header(name, v);
        }
    }
    let res = out.send().await.unwrap();
    let mut answer = HttpResponse::build(StatusCode::from_u16(res.status().as_u16()).unwrap());
    for (k, v) in res.headers() {
        let v = v.to_str().unwrap_or_default();
        match k.as_str() {
            "content-length" | "transfer-encoding" | "connection" => {}
            "link" => {
                answer.insert_header(("link", v.replace(&p.origin, &p.me)));
            }
            name => {
                answer.insert_header((name.to_string(), v.to_string()));
            }
        }
    }
    answer.body(res.bytes().await.unwrap())
}

/// Starts the proxy in front of the simulator; its GitHub REST root and its state.
fn start_proxy(app: &TestApp, rules: Misbehave) -> (String, actix_web::web::Data<Proxy>) {
    let sim_github = &app.sim.as_ref().unwrap().urls.github;
    let origin = sim_github.trim_end_matches("/github").to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let me = format!("http://{}", listener.local_addr().unwrap());
    let proxy = actix_web::web::Data::new(Proxy {
        origin,
        me: me.clone(),
        rules,
        client: reqwest::Client::new(),
        graphql: AtomicU64::new(0),
        timeouts: AtomicU64::new(0),
        served_pages: std::sync::Mutex::new(Vec::new()),
    });
    let state = proxy.clone();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(state.clone())
            .default_service(actix_web::web::to(forward))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("{me}/github"), proxy)
}

async fn timeouts_shrink_the_page_size_and_lose_nothing(db: Db) {
    let app = spawn_app(db).await;
    let (url, proxy) = start_proxy(
        &app,
        Misbehave {
            max_prs: Some(25),
            ..Default::default()
        },
    );
    let (_, setup) = add_github_at(&app, "github", "deployments", Some(url)).await;
    let ctx = RunContext::detached();
    run_sync(&app, &ctx).await.unwrap();
    assert_equals_ground_truth(&app, &setup).await;
    assert!(proxy.timeouts.load(Ordering::SeqCst) >= 2, "100 and 50 timed out");
    let served = proxy.served_pages.lock().unwrap().clone();
    assert!(!served.is_empty() && served.iter().all(|p| *p <= 25), "{served:?}");
    assert!(ctx.stats.counts()["page_shrinks"].fetched >= 2);
}
db_test!(timeouts_shrink_the_page_size_and_lose_nothing);

async fn a_rate_limit_error_inside_http_200_stops_with_its_reset_time(db: Db) {
    let app = spawn_app(db).await;
    let (url, _proxy) = start_proxy(
        &app,
        Misbehave {
            rate_limit_at: Some(2),
            ..Default::default()
        },
    );
    let (_, setup) = add_github_at(&app, "github", "deployments", Some(url)).await;
    let err = run_sync(&app, &RunContext::detached()).await.unwrap_err();
    assert_eq!(err.reset_at(), Some(injected_reset()), "{err}");
    assert!(checkpoint(&app).await.is_some(), "the checkpoint is kept");
    assert!(!stored(&app).await.prs.is_empty(), "the first page was stored");
    assert_no_partial_pull_request(&app, &setup).await;
    // Only the second GraphQL request was refused: the next run completes.
    run_sync(&app, &RunContext::detached()).await.unwrap();
    assert_equals_ground_truth(&app, &setup).await;
}
db_test!(a_rate_limit_error_inside_http_200_stops_with_its_reset_time);

async fn deployments_and_runs_that_finish_later_are_updated(db: Db) {
    for source in ["deployments", "workflow_runs"] {
        let app = spawn_app(db).await;
        let (_, setup) = add_github(&app, "github", source).await;
        // The second newest deployment (or deploy run) of the busiest repository is still
        // running when the first sync reads it.
        let restore = {
            let mut data = app.sim.as_ref().unwrap().state.data_mut();
            let repo = &mut data.github.repos[0];
            if source == "deployments" {
                let mut order: Vec<usize> = (0..repo.deployments.len()).collect();
                order.sort_by_key(|&i| repo.deployments[i].created_at);
                let d = &mut repo.deployments[order[order.len() - 2]];
                let done = d.statuses.split_off(1);
                assert!(!done.is_empty());
                (order[order.len() - 2], done, None)
            } else {
                let mut order: Vec<usize> = (0..repo.workflow_runs.len())
                    .filter(|&i| {
                        let r = &repo.workflow_runs[i];
                        r.head_branch == repo.default_branch && glob_match(&setup.pattern, &r.name)
                    })
                    .collect();
                order.sort_by_key(|&i| repo.workflow_runs[i].created_at);
                let r = &mut repo.workflow_runs[order[order.len() - 2]];
                let was = (r.status.clone(), r.conclusion.clone());
                r.status = "in_progress".into();
                r.conclusion = None;
                (order[order.len() - 2], Vec::new(), Some(was))
            }
        };
        run_sync(&app, &RunContext::detached()).await.unwrap();
        assert_equals_ground_truth(&app, &setup).await;
        {
            let mut data = app.sim.as_ref().unwrap().state.data_mut();
            let repo = &mut data.github.repos[0];
            match restore {
                (i, done, None) => repo.deployments[i].statuses.extend(done),
                (i, _, Some((status, conclusion))) => {
                    repo.workflow_runs[i].status = status;
                    repo.workflow_runs[i].conclusion = conclusion;
                }
            }
        }
        run_sync(&app, &RunContext::detached()).await.unwrap();
        assert_equals_ground_truth(&app, &setup).await;
    }
}
db_test!(deployments_and_runs_that_finish_later_are_updated);

/// Throughput and request economy on the benchmark volume: 20,000 pull requests in 20
/// repositories into SQLite, zero latency (ignored by default; run in release):
/// `cargo test --release --test app github_sync::bench -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_twenty_thousand_pull_requests_into_sqlite() {
    let mut opts = Options::new(Db::Sqlite);
    opts.sim.size = SizeOptions {
        issues: 2_000,
        ..SizeOptions::large()
    };
    let app = spawn_app_with(opts).await;
    let (_, setup) = add_github(&app, "github", "deployments").await;
    let (prs, reviews, commits, comments, review_comments) = {
        let data = app.sim.as_ref().unwrap().state.data();
        let pulls: Vec<&GhPull> = data.github.repos.iter().flat_map(|r| &r.pulls).collect();
        let sum = |f: fn(&GhPull) -> usize| pulls.iter().map(|p| f(p)).sum::<usize>();
        (
            pulls.len(),
            sum(|p| p.reviews.len()),
            sum(|p| p.commits.len()),
            sum(|p| p.comments.len()),
            sum(|p| p.review_comments.len()),
        )
    };
    let admin = app.sim.as_ref().unwrap().urls.admin.clone();
    let sim_requests = || async {
        let stats: Value = reqwest::get(format!("{admin}/sim/stats"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let count = |route: &str| -> u64 {
            stats["requests"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| k.contains(route))
                .flat_map(|(_, by)| by.as_object().unwrap().values())
                .map(|v| v.as_u64().unwrap())
                .sum()
        };
        (count("graphql"), count("/pulls/comments"))
    };
    let before = sim_requests().await;
    let ctx = RunContext::detached();
    let started = std::time::Instant::now();
    run_sync(&app, &ctx).await.unwrap();
    let took = started.elapsed();
    let after = sim_requests().await;
    let (graphql, stream) = (after.0 - before.0, after.1 - before.1);
    let requests = ctx.stats.requests();
    let per_k = |n: u64| n as f64 * 1000.0 / prs as f64;
    println!(
        "dataset: {prs} PRs in {} repositories; per PR {:.1} reviews, {:.1} commits, {:.1} comments, {:.1} review comments",
        setup.repos.len(),
        reviews as f64 / prs as f64,
        commits as f64 / prs as f64,
        comments as f64 / prs as f64,
        review_comments as f64 / prs as f64
    );
    println!(
        "full sync: {:.2} s; {requests} requests ({:.1} per 1,000 PRs): GraphQL {graphql} ({:.1} per 1,000), review-comment stream {stream} ({:.1} per 1,000), other {}",
        took.as_secs_f64(),
        per_k(requests),
        per_k(graphql),
        per_k(stream),
        requests - graphql - stream
    );
    println!("counts: {:?}", ctx.stats.counts());
    let quiet = RunContext::detached();
    let started = std::time::Instant::now();
    run_sync(&app, &quiet).await.unwrap();
    println!(
        "nothing changed: {} requests for {} repositories in {:.2} s",
        quiet.stats.requests(),
        setup.repos.len(),
        started.elapsed().as_secs_f64()
    );
}
