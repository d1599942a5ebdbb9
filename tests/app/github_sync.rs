//! The GitHub sync against the simulated GitHub: complete, incremental, cheap in requests,
//! resumable after a spent rate limit, a stop or a pause, tolerant of faults.

mod proxy;
pub mod truth;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use entity::repositories;
use pulse_etl::domain::integration::glob_match;
use pulse_etl::integrations::control::{Interrupted, RunContext, RunControl};
use pulse_etl::integrations::github::sync::{self, Deps, SyncError};
use pulse_sim::SimHandle;
use pulse_sim::generate::SizeOptions;
use pulse_sim::state::{SimConfig, Storms};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};

use proxy::{Misbehave, injected_reset, start_proxy};
use truth::*;

use crate::db_test;
use crate::helpers::{Db, Options, TestApp, spawn_app, spawn_app_with};

// ---------------------------------------------------------------------------------------------
// Setting up and running

/// The non-archived repositories (an organisation sync's selection) and the archived one.
fn repo_names(app: &TestApp) -> (Vec<String>, Vec<String>) {
    repo_names_of(app.sim.as_ref().unwrap())
}

fn repo_names_of(sim: &SimHandle) -> (Vec<String>, Vec<String>) {
    let data = sim.state.data();
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
pub fn jira_projects_body(sim: &SimHandle) -> Value {
    let projects: Vec<String> = sim.state.data().jira.projects.iter().map(|p| p.key.clone()).collect();
    json!({"kind": "jira", "name": "Jira", "flavour": "cloud", "base_url": sim.urls.jira_cloud,
           "username": "sim@example.com", "secret": "sim-token", "settings": {"projects": projects}})
}

async fn add_jira_projects(app: &TestApp) {
    post_integration(app, jira_projects_body(app.sim.as_ref().unwrap())).await;
}

/// A GitHub integration over the organisation, plus the archived repository by name (listed
/// repositories are synced even when archived).
async fn add_github(app: &TestApp, flavour: &str, source: &str) -> (i64, Setup) {
    add_github_at(app, flavour, source, None).await
}

async fn add_github_at(app: &TestApp, flavour: &str, source: &str, base_url: Option<String>) -> (i64, Setup) {
    add_jira_projects(app).await;
    let (body, setup) = github_body(app.sim.as_ref().unwrap(), flavour, source, base_url);
    (post_integration(app, body).await, setup)
}

/// The body creating that GitHub integration, and what it selects.
pub fn github_body(sim: &SimHandle, flavour: &str, source: &str, base_url: Option<String>) -> (Value, Setup) {
    let url = base_url.unwrap_or_else(|| match flavour {
        "enterprise" => sim.urls.github_enterprise.clone(),
        _ => sim.urls.github.clone(),
    });
    let (active, archived) = repo_names_of(sim);
    let body = json!({"kind": "github", "name": format!("GitHub {flavour}"), "flavour": flavour, "base_url": url,
                      "secret": "sim-github-token",
                      "settings": {"organization": "acme", "repositories": archived,
                                   "deployment_source": {"kind": source}}});
    let pattern = match source {
        "deployments" => "prod*",
        "workflow_runs" => "*deploy*",
        _ => "*",
    };
    let repos = archived.iter().chain(&active).cloned().collect();
    (
        body,
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

/// Lets at most `n` requests of integration `id` be in flight (tests that need a known order).
pub async fn limit_concurrency(app: &TestApp, id: i64, n: i64) {
    let row = entity::integrations::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut settings = row.settings.clone();
    settings["max_concurrency"] = json!(n);
    let mut row = row.into_active_model();
    row.settings = Set(settings);
    row.update(&app.db).await.unwrap();
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
            github_graphql_budget: 40,
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

/// The fault mix with 429 storms: 5 % 5xx/429, 3 % malformed bodies, 2 % connection
/// resets, and every 2.5 s a storm of 1.3 s in which every request (REST and GraphQL) is
/// answered 429 with `Retry-After: 1` (a request in its first 0.3 s meets two 429s in a row; a run longer
/// than 1.2 s meets a storm: at 250 ms an answer, the run's five requests that wait for each
/// other — rate limit, listing, page, follow-ups, next page — take longer, however many are in
/// flight). Either the run completes or it fails and the next one does; the final rows are the
/// simulator's.
async fn a_fault_mix_with_429_storms_loses_nothing(db: Db) {
    let app = spawn_app(db).await;
    let (_, setup) = add_github(&app, "github", "deployments").await;
    set_sim(
        &app,
        SimConfig {
            latency_ms: 250,
            fault_rate: 0.05,
            malformed_rate: 0.03,
            reset_rate: 0.02,
            rate_limit_storms: Some(Storms {
                every_ms: 2_500,
                length_ms: 1_300,
            }),
            ..SimConfig::default()
        },
    );
    let mut outcomes = Vec::new();
    let mut waited_ms = 0;
    for _ in 0..6 {
        let ctx = RunContext::detached();
        let result = run_sync(&app, &ctx).await;
        waited_ms += ctx.stats.waited_ms();
        outcomes.push(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        if result.is_ok() {
            break;
        }
    }
    let sim = app.sim.as_ref().unwrap();
    let limited = sim.stats.served_with("/github", "429");
    println!("GitHub fault mix on {db:?}: runs {outcomes:?}; {limited} answers 429, {waited_ms} ms waited");
    assert!(outcomes.last().unwrap().is_ok(), "no run completed: {outcomes:?}");
    assert!(limited >= 1, "a storm was met: {limited} answers 429");
    assert!(waited_ms >= 1000, "Retry-After was honoured: waited {waited_ms} ms");
    set_sim(&app, SimConfig::default());
    assert_equals_ground_truth(&app, &setup).await;
}
db_test!(a_fault_mix_with_429_storms_loses_nothing);

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
    let (id, setup) = add_github(&app, "github", "deployments").await;
    // Two repositories at a time: the pause lands before the last ones start.
    limit_concurrency(&app, id, 1).await;
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
    let (id, setup) = add_github_at(&app, "github", "deployments", Some(url)).await;
    // One request at a time, so that the second request is the second page, as on GitHub.
    limit_concurrency(&app, id, 1).await;
    let err = run_sync(&app, &RunContext::detached()).await.unwrap_err();
    // The injected reset is "in 42 minutes", read again here: a second may have turned since.
    let reset = err.reset_at().unwrap_or_else(|| panic!("a rate-limit stop, got {err}"));
    assert!((injected_reset() - reset).num_seconds().abs() <= 1, "{err}");
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
