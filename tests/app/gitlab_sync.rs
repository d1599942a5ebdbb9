//! The GitLab part of the Git job against the simulated GitLab (the same generated history the
//! simulated GitHub serves, rendered as GitLab's REST v4): complete, incremental, tolerant of
//! 429 and 5xx; the connection test's messages.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use entity::{deployments, pr_comments, pr_commits, pr_reviews, pull_requests, repositories};
use pulse_etl::domain::integration::glob_match;
use pulse_etl::integrations::control::{Interrupted, RunContext, RunControl};
use pulse_etl::integrations::github::sync::{self, Deps};
use pulse_sim::SimHandle;
use pulse_sim::gitlab::{deployment_status, mr_state, path_with_namespace, pipeline_status};
use pulse_sim::state::{Outage, SimConfig, Storms};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Db, TestApp, count, select_attr, spawn_app};

/// A merge request: state, approvals as (author, time ms), non-system notes, commit shas,
/// (additions, deletions, changed files).
type MrFacts = (
    String,
    BTreeSet<(String, i64)>,
    usize,
    BTreeSet<String>,
    (i32, i32, i32),
);

/// What one project holds, as comparable facts.
#[derive(Debug, Default, PartialEq)]
struct Project {
    mrs: BTreeMap<i32, MrFacts>,
    /// External ids of successful production deployments.
    deploys: BTreeSet<String>,
}

type Facts = BTreeMap<String, Project>;

fn user(sim: &SimHandle, i: usize) -> String {
    sim.state.data().github.users[i]
        .login
        .trim_end_matches("[bot]")
        .to_string()
}

/// The simulator's ground truth for the group's (non-archived) projects.
fn truth(sim: &SimHandle, source: &str) -> Facts {
    truth_with(sim, source, true)
}

/// The ground truth; `sizes`: whether line and file counts are known (GraphQL's
/// `diffStatsSummary`; the REST path stores 0).
fn truth_with(sim: &SimHandle, source: &str, sizes: bool) -> Facts {
    let data = sim.state.data();
    let gh = &data.github;
    let mut out = Facts::new();
    for (i, r) in gh.repos.iter().enumerate().filter(|(_, r)| !r.archived) {
        let mut p = Project::default();
        for pr in &r.pulls {
            let state = match mr_state(pr) {
                "merged" => "MERGED",
                "opened" => "OPEN",
                _ => "CLOSED",
            };
            let approvals = pr
                .reviews
                .iter()
                .filter(|v| v.state == "APPROVED")
                .map(|v| (user(sim, v.author), v.submitted_at.timestamp_millis()))
                .collect();
            let notes =
                pr.comments.len() + pr.review_comments.len() + pr.reviews.iter().filter(|v| !v.body.is_empty()).count();
            let commits = pr.commits.iter().map(|c| c.sha.clone()).collect();
            let size = if sizes {
                (pr.additions as i32, pr.deletions as i32, pr.changed_files as i32)
            } else {
                (0, 0, 0)
            };
            p.mrs
                .insert(pr.number as i32, (state.into(), approvals, notes, commits, size));
        }
        p.deploys = match source {
            "deployments" => r
                .deployments
                .iter()
                .filter(|d| deployment_status(d) == "success" && glob_match("production", &d.environment))
                .map(|d| d.id.to_string())
                .collect(),
            "pipelines" => r
                .workflow_runs
                .iter()
                .filter(|w| w.head_branch == r.default_branch && pipeline_status(w) == "success")
                .map(|w| w.id.to_string())
                .collect(),
            _ => r
                .pulls
                .iter()
                .filter(|pr| pr.merged_at.is_some() && pr.base_ref == r.default_branch)
                .map(|pr| pr.number.to_string())
                .collect(),
        };
        out.insert(path_with_namespace(gh, i), p);
    }
    out
}

/// What the sync stored for integration `id`.
async fn stored(app: &TestApp, id: i64) -> Facts {
    let repos = repositories::Entity::find()
        .filter(repositories::Column::IntegrationId.eq(id))
        .filter(repositories::Column::Active.eq(true))
        .all(&app.db)
        .await
        .unwrap();
    let mut out = Facts::new();
    for r in repos {
        let mut p = Project::default();
        let prs = pull_requests::Entity::find()
            .filter(pull_requests::Column::RepositoryId.eq(r.id))
            .all(&app.db)
            .await
            .unwrap();
        for pr in prs {
            let approvals = pr_reviews::Entity::find()
                .filter(pr_reviews::Column::PullRequestId.eq(pr.id))
                .all(&app.db)
                .await
                .unwrap()
                .into_iter()
                .map(|v| {
                    assert_eq!(v.state, "APPROVED");
                    (v.author.unwrap(), v.submitted_at.unwrap().timestamp_millis())
                })
                .collect();
            let notes = pr_comments::Entity::find()
                .filter(pr_comments::Column::PullRequestId.eq(pr.id))
                .all(&app.db)
                .await
                .unwrap()
                .len();
            let commits = pr_commits::Entity::find()
                .filter(pr_commits::Column::PullRequestId.eq(pr.id))
                .all(&app.db)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.sha)
                .collect();
            let size = (pr.additions, pr.deletions, pr.changed_files);
            p.mrs.insert(pr.number, (pr.state, approvals, notes, commits, size));
        }
        p.deploys = deployments::Entity::find()
            .filter(deployments::Column::RepositoryId.eq(r.id))
            .filter(deployments::Column::Status.eq("success"))
            .filter(deployments::Column::IsProduction.eq(true))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.external_id)
            .collect();
        out.insert(format!("{}/{}", r.owner, r.name), p);
    }
    out
}

fn assert_same(got: &Facts, want: &Facts) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "projects"
    );
    for (path, w) in want {
        let g = &got[path];
        assert_eq!(g.mrs.len(), w.mrs.len(), "{path}: merge requests");
        for (iid, facts) in &w.mrs {
            assert_eq!(g.mrs.get(iid), Some(facts), "{path}!{iid}");
        }
        assert_eq!(g.deploys, w.deploys, "{path}: deployments");
    }
}

async fn post_integration(app: &TestApp, body: Value, test: bool) -> Value {
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/integrations?test={test}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert!(status == 201 || status == 422 || status == 400, "{status} {body}");
    body
}

fn gitlab_body(sim: &SimHandle, source: &str, settings: Value) -> Value {
    let mut settings = settings;
    settings["deployment_source"] = json!({ "kind": source });
    json!({"kind": "gitlab", "name": format!("GitLab {source}"), "flavour": "self_managed",
           "base_url": sim.urls.gitlab, "secret": "sim-gitlab-token", "settings": settings})
}

async fn add_gitlab(app: &TestApp, source: &str) -> i64 {
    let sim = app.sim.as_ref().unwrap();
    let body = gitlab_body(sim, source, json!({ "group": "acme" }));
    post_integration(app, body, false).await["id"].as_i64().unwrap()
}

async fn run_sync(app: &TestApp, ctx: &RunContext) -> Result<(), sync::SyncError> {
    let state = app.state();
    let deps = Deps {
        db: &state.db,
        vault: &state.vault,
        outbound: state.outbound,
    };
    sync::run(&deps, ctx).await
}

// ---------------------------------------------------------------------------------------------

async fn a_full_gitlab_sync_equals_the_ground_truth(db: Db) {
    let app = spawn_app(db).await;
    // A Jira integration naming the dataset's projects: merge requests link to their keys.
    post_integration(
        &app,
        crate::github_sync::jira_projects_body(app.sim.as_ref().unwrap()),
        false,
    )
    .await;
    let id = add_gitlab(&app, "deployments").await;
    let ctx = RunContext::detached();
    run_sync(&app, &ctx).await.unwrap();
    let sim = app.sim.as_ref().unwrap();
    let want = truth(sim, "deployments");
    let got = stored(&app, id).await;
    assert_same(&got, &want);
    assert!(
        want.keys().any(|p| p.starts_with("acme/platform/")),
        "the subgroup's projects are in"
    );
    // Lists of more than a page are read to their end.
    let most = |f: fn(&MrFacts) -> usize| want.values().flat_map(|p| p.mrs.values()).map(f).max().unwrap();
    assert!(most(|m| m.3.len()) > 100, "an MR with > 100 commits is complete");
    assert!(most(|m| m.2) > 100, "an MR with > 100 notes is complete");
    // Projects share merge-request numbers and stay apart.
    let iids: Vec<i32> = got.values().flat_map(|p| p.mrs.keys().copied()).collect();
    let distinct: BTreeSet<i32> = iids.iter().copied().collect();
    assert!(distinct.len() < iids.len(), "projects share iids");
    assert!(
        got.values().any(|p| !p.deploys.is_empty()),
        "some deployments reached production"
    );
    assert!(
        want.values()
            .flat_map(|p| p.mrs.values())
            .any(|m| m.4.0 > 0 && m.4.1 > 0),
        "sizes are known"
    );
    // Merge requests came through GraphQL: no REST merge-request list or detail was read.
    assert_eq!(sim.stats.served("/merge_requests"), 0);
    assert!(sim.stats.served_with("/gitlab/api/graphql", "200") > 0);
    let c = ctx.stats.counts();
    let mrs: usize = want.values().map(|p| p.mrs.len()).sum();
    assert_eq!(c["pull_requests"].inserted, mrs as u64, "{c:?}");
    let links = entity::pr_issue_links::Entity::find().all(&app.db).await.unwrap();
    assert!(
        !links.is_empty(),
        "Jira keys in titles, branches or commits were linked"
    );

    // A second run finds nothing new and changes nothing.
    let again = RunContext::detached();
    run_sync(&app, &again).await.unwrap();
    let c = again.stats.counts();
    assert_eq!(
        (c["pull_requests"].inserted, c["pull_requests"].updated),
        (0, 0),
        "{c:?}"
    );
    assert_eq!((c["deployments"].inserted, c["deployments"].updated), (0, 0), "{c:?}");
    assert_same(&stored(&app, id).await, &want);

    // The pull-request page treats projects as repositories and links merge requests to GitLab.
    app.login_viewer().await;
    let now = sim.state.data().now;
    let window = format!(
        "from={}&to={}",
        (now - chrono::Duration::days(60)).format("%Y-%m-%d"),
        now.format("%Y-%m-%d")
    );
    let html = app.get(&format!("/analytics/prs?{window}")).await.text().await.unwrap();
    let link = select_attr(&html, "#pull-requests tr[data-pr] a", "href").unwrap_or_default();
    assert!(
        link.starts_with(&sim.urls.gitlab) && link.contains("/-/merge_requests/"),
        "{link}"
    );
}
db_test!(a_full_gitlab_sync_equals_the_ground_truth);

async fn every_deployment_source_equals_the_ground_truth(db: Db) {
    for source in ["pipelines", "merges"] {
        let app = spawn_app(db).await;
        let id = add_gitlab(&app, source).await;
        run_sync(&app, &RunContext::detached()).await.unwrap();
        let want = truth(app.sim.as_ref().unwrap(), source);
        assert!(want.values().any(|p| !p.deploys.is_empty()), "{source}");
        assert_same(&stored(&app, id).await, &want);
    }
}
db_test!(every_deployment_source_equals_the_ground_truth);

async fn an_incremental_gitlab_sync_reads_only_what_changed(db: Db) {
    let app = spawn_app(db).await;
    let id = add_gitlab(&app, "deployments").await;
    run_sync(&app, &RunContext::detached()).await.unwrap();
    let sim = app.sim.as_ref().unwrap();
    let watermark = repositories::Entity::find()
        .filter(repositories::Column::IntegrationId.eq(id))
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .filter_map(|r| r.pr_watermark)
        .min()
        .unwrap();
    let res = app
        .client
        .post(format!("{}/sim/advance?minutes=1440", sim.urls.admin))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let since = watermark - sync::OVERLAP;
    let changed = sim
        .state
        .data()
        .github
        .repos
        .iter()
        .filter(|r| !r.archived)
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
    assert_same(&stored(&app, id).await, &truth(sim, "deployments"));
}
db_test!(an_incremental_gitlab_sync_reads_only_what_changed);

async fn rate_limits_and_server_errors_are_waited_out_and_retried(db: Db) {
    let app = spawn_app(db).await;
    let id = add_gitlab(&app, "merges").await;
    let sim = app.sim.as_ref().unwrap();
    // 5xx now and then, and 429 storms (GitLab's "Retry later" with `Retry-After: 1`). A sync
    // through GraphQL sends few requests, too few to be sure to meet those: so the first ones
    // also meet an outage (503) and a cap of one request in flight (429 beyond it).
    let now = chrono::Utc::now();
    sim.state.set_config(SimConfig {
        fault_rate: 0.05,
        rate_limit_storms: Some(Storms {
            every_ms: 1_500,
            length_ms: 200,
        }),
        outage: Some(Outage {
            from: now - chrono::Duration::seconds(1),
            until: now + chrono::Duration::milliseconds(400),
        }),
        gitlab_max_concurrent: Some(1),
        latency_ms: 20,
        ..SimConfig::default()
    });
    let ctx = RunContext::detached();
    run_sync(&app, &ctx).await.unwrap();
    sim.state.set_config(SimConfig::default());
    let c = ctx.stats.counts();
    assert!(ctx.stats.retries.load(Ordering::Relaxed) > 0, "5xx were retried: {c:?}");
    assert!(ctx.stats.throttled.load(Ordering::Relaxed) > 0, "429s were waited out");
    assert_same(&stored(&app, id).await, &truth(sim, "merges"));
}
db_test!(rate_limits_and_server_errors_are_waited_out_and_retried);

async fn the_connection_test_says_what_is_wrong(db: Db) {
    let app = spawn_app(db).await;
    let sim = app.sim.as_ref().unwrap();
    let subgroup_project = format!("acme/platform/{}", sim.state.data().github.repos[1].name);
    let body = |name: &str, settings: Value| {
        let mut b = gitlab_body(sim, "deployments", settings);
        b["name"] = json!(name);
        b
    };
    let summary = |v: &Value| v["test"]["summary"].as_str().unwrap_or_default().to_string();
    let ok = post_integration(
        &app,
        body("ok", json!({"group": "acme", "projects": [subgroup_project]})),
        true,
    )
    .await;
    assert_eq!(ok["test"]["ok"], json!(true), "{ok}");
    let mut bad_token = body("token", json!({"group": "acme"}));
    bad_token["secret"] = json!("nope");
    let v = post_integration(&app, bad_token, true).await;
    assert!(summary(&v).contains("401"), "{v}");
    let v = post_integration(&app, body("group", json!({"group": "no-such-group"})), true).await;
    assert!(summary(&v).contains("Group no-such-group was not found"), "{v}");
    let v = post_integration(&app, body("project", json!({"projects": ["acme/missing"]})), true).await;
    assert!(summary(&v).contains("Project acme/missing was not found"), "{v}");
    let mut not_gitlab = body("elsewhere", json!({"group": "acme"}));
    not_gitlab["base_url"] = json!(app.address);
    let v = post_integration(&app, not_gitlab, true).await;
    assert!(summary(&v).contains("No GitLab API answered"), "{v}");
}
db_test!(the_connection_test_says_what_is_wrong);

async fn a_stopped_or_paused_gitlab_sync_resumes_to_the_ground_truth(db: Db) {
    let app = spawn_app(db).await;
    let id = add_gitlab(&app, "deployments").await;
    let sim = app.sim.as_ref().unwrap();
    // Each project's merge requests fit one GraphQL page: with this latency the other requests
    // are still on their way when a page has been stored.
    sim.state.set_config(SimConfig {
        latency_ms: 150,
        ..SimConfig::default()
    });
    let watermarks = move |db: sea_orm::DatabaseConnection| async move {
        repositories::Entity::find()
            .filter(repositories::Column::IntegrationId.eq(id))
            .all(&db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.id, r.pr_watermark, r.deploy_watermark))
            .collect::<Vec<_>>()
    };
    // Stop once a page (merge requests or deployments) is stored, then pause once another is:
    // each run gets further.
    for pause in [false, true] {
        let before = watermarks(app.db.clone()).await;
        let ctx = RunContext::new(RunControl::new(), Arc::new(|_, _| {}));
        let control = ctx.control.clone();
        let db2 = app.db.clone();
        let watcher = tokio::spawn(async move {
            while watermarks(db2.clone()).await == before {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            if pause { control.pause() } else { control.stop() }
        });
        let result = run_sync(&app, &ctx).await;
        watcher.abort();
        let want = if pause {
            Interrupted::Paused
        } else {
            Interrupted::Stopped
        };
        let err = result.expect_err("interrupted before the end");
        assert_eq!(err.interrupted(), Some(want), "{err}");
    }
    sim.state.set_config(SimConfig::default());
    let resumed = RunContext::detached();
    run_sync(&app, &resumed).await.unwrap();
    let want = truth(sim, "deployments");
    assert_same(&stored(&app, id).await, &want);
    // Merge requests and deployments are read side by side, so the pages stored before the
    // stop and the pause may be of either list: together, less than everything is read again.
    let total: u64 = want.values().map(|p| (p.mrs.len() + p.deploys.len()) as u64).sum();
    let counts = resumed.stats.counts();
    let fetched = |what: &str| counts.get(what).map_or(0, |c| c.fetched);
    let read = fetched("pull_requests") + fetched("deployments");
    assert!(
        read < total,
        "the resumed run started at the watermarks: read {read} of {total}"
    );
}
db_test!(a_stopped_or_paused_gitlab_sync_resumes_to_the_ground_truth);

async fn without_graphql_merge_requests_are_read_through_rest(db: Db) {
    let app = spawn_app(db).await;
    let id = add_gitlab(&app, "merges").await;
    let sim = app.sim.as_ref().unwrap();
    // A self-managed GitLab from before GraphQL: `/api/graphql` answers 404.
    sim.state.set_config(SimConfig {
        gitlab_graphql: false,
        ..SimConfig::default()
    });
    run_sync(&app, &RunContext::detached()).await.unwrap();
    sim.state.set_config(SimConfig::default());
    let want = truth_with(sim, "merges", false);
    assert_same(&stored(&app, id).await, &want);
    // Asked once (projects that started side by side each asked), then REST for the run.
    let asked = sim.stats.served_with("/gitlab/api/graphql", "404");
    assert!((1..=want.len() as u64).contains(&asked), "{asked}");
    assert!(sim.stats.served("/merge_requests/{iid}/notes") > 0);
}
db_test!(without_graphql_merge_requests_are_read_through_rest);

async fn a_gitlab_that_scores_queries_higher_gets_smaller_pages(db: Db) {
    let app = spawn_app(db).await;
    let id = add_gitlab(&app, "deployments").await;
    let sim = app.sim.as_ref().unwrap();
    // An instance whose limit the sync's queries exceed (a page of 100 merge requests with
    // their lists, and six continuations a request): it must ask for less, not fail.
    sim.state.set_config(SimConfig {
        gitlab_max_complexity: 120,
        ..SimConfig::default()
    });
    let project = path_with_namespace(&sim.state.data().github, 0);
    let refused: Value = app
        .client
        .post(format!("{}/api/graphql", sim.urls.gitlab))
        .header("PRIVATE-TOKEN", "sim-gitlab-token")
        .json(
            &json!({ "query": pulse_etl::integrations::gitlab::graphql::mr_page_query(),
                       "variables": { "fullPath": project, "first": 100 } }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("exceeds max complexity of 120"), "{refused}");
    run_sync(&app, &RunContext::detached()).await.unwrap();
    sim.state.set_config(SimConfig::default());
    assert_same(&stored(&app, id).await, &truth(sim, "deployments"));
}
db_test!(a_gitlab_that_scores_queries_higher_gets_smaller_pages);

async fn a_spent_rate_limit_window_is_waited_out_before_the_next_request(db: Db) {
    let app = spawn_app(db).await;
    let sim = app.sim.as_ref().unwrap();
    let mut body = gitlab_body(sim, "deployments", json!({ "group": "acme", "max_concurrency": 1 }));
    body["name"] = json!("GitLab one at a time");
    let id = post_integration(&app, body, false).await["id"].as_i64().unwrap();
    // Three requests per two-second window: every third answer says `RateLimit-Remaining: 0`,
    // and the sync must wait for `RateLimit-Reset` instead of running into a 429.
    sim.state.reset_limits();
    sim.state.set_config(SimConfig {
        gitlab_per_minute: 3,
        gitlab_window_secs: 2,
        ..SimConfig::default()
    });
    let ctx = RunContext::detached();
    let served_before = sim.stats.served("/gitlab");
    run_sync(&app, &ctx).await.unwrap();
    sim.state.set_config(SimConfig::default());
    let requests = ctx.stats.api_requests.load(Ordering::Relaxed);
    assert!(requests > 6, "enough requests to spend several windows: {requests}");
    // The simulator answers a fourth request in a window with a 429. It answered every request
    // and refused none: the sync spread them over at least three windows, waiting out each
    // spent one (the limiter's wait, recorded in the run's stats) rather than running into it.
    assert_eq!(
        sim.stats.served("/gitlab") - served_before,
        requests,
        "every request the sync sent reached the simulator"
    );
    assert_eq!(sim.stats.served_with("/gitlab", "429"), 0, "never ran into the limit");
    assert_eq!(ctx.stats.throttled.load(Ordering::Relaxed), 0);
    assert_eq!(ctx.stats.retries.load(Ordering::Relaxed), 0, "nothing was sent twice");
    assert!(
        ctx.stats.rate_limit_wait_ms.load(Ordering::Relaxed) > 0,
        "waited for the reset"
    );
    assert_same(&stored(&app, id).await, &truth(sim, "deployments"));
}
db_test!(a_spent_rate_limit_window_is_waited_out_before_the_next_request);

async fn the_form_adds_a_tested_gitlab_integration(db: Db) {
    let app = spawn_app(db).await;
    let sim = app.sim.as_ref().unwrap();
    app.login_admin().await;
    let html = app.get("/integrations/new?kind=gitlab").await.text().await.unwrap();
    for value in ["deployments", "pipelines", "merges"] {
        assert_eq!(
            count(&html, &format!("select#deployment_kind option[value={value}]")),
            1,
            "{value}"
        );
    }
    assert_eq!(count(&html, "select#deployment_kind option[value=releases]"), 0);
    assert_eq!(count(&html, "input#group"), 1);
    let csrf = app.csrf("/integrations/new?kind=gitlab").await;
    let res = app
        .client
        .post(app.url("/integrations"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("kind", "gitlab"),
            ("name", "Our GitLab"),
            ("flavour", "self_managed"),
            ("base_url", sim.urls.gitlab.as_str()),
            ("secret", "sim-gitlab-token"),
            ("group", "acme/platform"),
            ("projects", ""),
            ("name_filter", ""),
            ("deployment_kind", "pipelines"),
            ("deployment_pattern", ""),
            ("active", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let row = entity::integrations::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.kind.as_str(), "gitlab");
    assert_eq!(row.last_test_ok, Some(true), "{:?}", row.last_test_message);
    assert_eq!(row.settings["group"], json!("acme/platform"));
    assert_eq!(row.settings["deployment_source"]["kind"], json!("pipelines"));
    let list = app.get("/integrations").await.text().await.unwrap();
    assert!(list.contains("Group acme/platform"), "the list shows the scope");
}
db_test!(the_form_adds_a_tested_gitlab_integration);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_gitlab_addresses_are_refused_unless_allowed() {
    let mut opts = crate::helpers::Options::new(Db::Sqlite);
    opts.env.insert("ALLOW_PRIVATE_INTEGRATION_HOSTS", "false".into());
    let app = crate::helpers::spawn_app_with(opts).await;
    let sim = app.sim.as_ref().unwrap();
    let body = gitlab_body(sim, "deployments", json!({ "group": "acme" }));
    let answer = post_integration(&app, body, true).await;
    assert!(
        answer["error"].as_str().unwrap_or_default().contains("not allowed"),
        "{answer}"
    );
}
