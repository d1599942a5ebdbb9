//! Incremental analytics equal a full rebuild (issue #21): seeded random sequences of simulator
//! advances, syncs, integration deletions and flow edits. After every step: a recomputation of
//! every row changes none of the rows the incremental passes left, the snapshot the service
//! patched equals one read whole, and every report computed from it equals the report computed
//! from the one read whole.

use chrono::{DateTime, Duration, Utc};
use pulse_etl::analytics::filters::Filters;
use pulse_etl::analytics::{Cache, Rows, dora, flow, prs};
use pulse_etl::integrations::control::RunContext;
use pulse_etl::integrations::{github, jira};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Db, Options, TestApp, spawn_app_with};

/// Seeds of the step sequences (each a sequence of [`STEPS`] steps).
const SEEDS: [u64; 2] = [7, 2026];
const STEPS: usize = 7;

struct Run {
    app: TestApp,
    token: String,
    github: i64,
    /// The simulator's present, advanced with it.
    now: DateTime<Utc>,
}

impl Run {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .app
            .client
            .request(method, self.app.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn add_github(&mut self) {
        let sim = self.app.sim.as_ref().unwrap();
        let body = json!({"kind": "github", "name": "GitHub", "flavour": "github", "base_url": sim.urls.github,
                          "secret": "sim-github-token",
                          "settings": {"organization": "acme", "deployment_source": {"kind": "deployments"}}});
        let (code, row) = self
            .call(reqwest::Method::POST, "/api/v1/integrations?test=false", Some(body))
            .await;
        assert_eq!(code, 201, "{row}");
        self.github = row["id"].as_i64().unwrap();
    }

    /// Both syncs, each followed by the analytics pass the orchestrator runs after a sync.
    async fn sync(&self) {
        let state = self.app.state();
        let ctx = RunContext::detached();
        let deps = jira::sync::Deps {
            db: &state.db,
            vault: &state.vault,
            outbound: state.outbound,
        };
        jira::sync::run(&deps, &ctx).await.expect("jira sync");
        state.analytics.refresh(&state.db).await.unwrap();
        let deps = github::sync::Deps {
            db: &state.db,
            vault: &state.vault,
            outbound: state.outbound,
        };
        github::sync::run(&deps, &ctx).await.expect("github sync");
        state.analytics.refresh(&state.db).await.unwrap();
    }

    async fn advance(&mut self, minutes: u32) {
        let admin = self.app.sim.as_ref().unwrap().urls.admin.clone();
        let res = reqwest::Client::new()
            .post(format!("{admin}/sim/advance?minutes={minutes}"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        self.now += Duration::minutes(i64::from(minutes));
    }

    /// Maps a random status to another step.
    async fn remap_status(&self, rng: &mut StdRng) {
        let (_, steps) = self.call(reqwest::Method::GET, "/api/v1/flow/steps", None).await;
        let (_, maps) = self
            .call(reqwest::Method::GET, "/api/v1/flow/status-mappings", None)
            .await;
        let steps: Vec<i64> = steps["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["active"] == true)
            .map(|s| s["id"].as_i64().unwrap())
            .collect();
        let maps = maps["status_mappings"].as_array().unwrap();
        let map = &maps[rng.random_range(0..maps.len())];
        let step = steps[rng.random_range(0..steps.len())];
        let path = format!("/api/v1/flow/status-mappings/{}", map["id"]);
        let (code, body) = self
            .call(reqwest::Method::PUT, &path, Some(json!({"flow_step_id": step})))
            .await;
        assert_eq!(code, 200, "{body}");
    }

    /// Moves a random issue type to another work category (INCIDENT among them: the incidents
    /// the deployments attach to change).
    async fn recategorise_type(&self, rng: &mut StdRng) {
        let (_, types) = self
            .call(reqwest::Method::GET, "/api/v1/flow/issue-type-mappings", None)
            .await;
        let types = types["issue_type_mappings"].as_array().unwrap();
        let t = &types[rng.random_range(0..types.len())];
        let category = ["INCIDENT", "BUG", "FEATURE", "TASK"][rng.random_range(0..4)];
        let path = format!("/api/v1/flow/issue-type-mappings/{}", t["id"]);
        let (code, body) = self
            .call(reqwest::Method::PUT, &path, Some(json!({"work_category": category})))
            .await;
        assert_eq!(code, 200, "{body}");
    }

    /// Deletes the GitHub integration and its data, then adds it again.
    async fn delete_github(&mut self) {
        let path = format!("/api/v1/integrations/{}?confirm=true", self.github);
        let (code, body) = self.call(reqwest::Method::DELETE, &path, None).await;
        assert!(code < 300, "{code} {body}");
        self.add_github().await;
    }

    /// The checks of the module doc, after `step`.
    async fn check(&self, step: &str) {
        let state = self.app.state();
        let db = &state.db;
        let mine = state.analytics.current(db).await.unwrap().1;
        let (issues, prs) = pulse_etl::db::analytics::full_rebuild_differences(db).await.unwrap();
        assert!(
            issues.is_empty() && prs.is_empty(),
            "after {step}, a full rebuild changes issues {issues:?} and pull requests {prs:?}"
        );
        let whole = Cache::default();
        let theirs = whole.current(db).await.unwrap().1;
        assert_eq!(mine.build, theirs.build, "after {step}");
        assert_eq!(
            format!("{:?}", mine.flow),
            format!("{:?}", theirs.flow),
            "after {step}: flow facts"
        );
        assert_eq!(
            format!("{:?}", mine.prs),
            format!("{:?}", theirs.prs),
            "after {step}: PR stages"
        );
        assert_eq!(
            format!("{:?}", mine.deployments),
            format!("{:?}", theirs.deployments),
            "after {step}: deployments"
        );
        let today = self.now.date_naive();
        for query in ["range=365", "range=90", "range=30"] {
            let f = || Filters::parse(query, today).unwrap();
            let now = Utc::now();
            let a = flow::to_json(
                &flow::report_at(db, &state.analytics, f(), Rows::All, now)
                    .await
                    .unwrap(),
            );
            let b = flow::to_json(&flow::report_at(db, &whole, f(), Rows::All, now).await.unwrap());
            assert_eq!(strip(a), strip(b), "after {step}: flow {query}");
            let a = dora::to_json(&dora::report(db, &state.analytics, f()).await.unwrap());
            let b = dora::to_json(&dora::report(db, &whole, f()).await.unwrap());
            assert_eq!(strip(a), strip(b), "after {step}: dora {query}");
            let a = prs::to_json(&prs::report(db, &state.analytics, f()).await.unwrap());
            let b = prs::to_json(&prs::report(db, &whole, f()).await.unwrap());
            assert_eq!(strip(a), strip(b), "after {step}: prs {query}");
        }
    }
}

/// A report without the fields that say when and how it was computed.
fn strip(mut doc: Value) -> Value {
    for k in ["precomputed_at", "sync_running", "rebuilding"] {
        doc.as_object_mut().unwrap().remove(k);
    }
    doc
}

async fn incremental_passes_equal_a_full_rebuild(db: Db) {
    for seed in SEEDS {
        let mut opts = Options::new(db);
        // Busy enough that a day brings merges, deployments and incidents.
        opts.sim.size = pulse_sim::generate::SizeOptions {
            projects: 2,
            issues: 400,
            repos: 3,
            prs: 900,
            days: 60,
        };
        opts.sim.seed = seed;
        let app = spawn_app_with(opts).await;
        let token = app.backend_token("admin@example.com", "pulse-admin").await;
        let sim = app.sim.as_ref().unwrap();
        let projects: Vec<String> = sim.state.data().jira.projects.iter().map(|p| p.key.clone()).collect();
        let jira = json!({"kind": "jira", "name": "Jira", "flavour": "cloud", "base_url": sim.urls.jira_cloud,
                          "username": "sim@example.com", "secret": "sim-token", "settings": {"projects": projects}});
        let now = Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
        let mut run = Run {
            app,
            token,
            github: 0,
            now,
        };
        let (code, body) = run
            .call(reqwest::Method::POST, "/api/v1/integrations?test=false", Some(jira))
            .await;
        assert_eq!(code, 201, "{body}");
        run.add_github().await;
        run.sync().await;
        run.check(&format!("seed {seed}: the first sync")).await;
        let mut rng = StdRng::seed_from_u64(seed);
        for i in 0..STEPS {
            let step = match rng.random_range(0..8) {
                0..=3 => {
                    let minutes = rng.random_range(360..=4320);
                    run.advance(minutes).await;
                    run.sync().await;
                    format!("advancing {minutes} minutes and syncing")
                }
                4 => {
                    run.remap_status(&mut rng).await;
                    "remapping a status".to_string()
                }
                5 => {
                    run.recategorise_type(&mut rng).await;
                    "recategorising an issue type".to_string()
                }
                6 => {
                    run.delete_github().await;
                    run.sync().await;
                    "deleting the GitHub integration, adding it again and syncing".to_string()
                }
                _ => {
                    run.sync().await;
                    "syncing with nothing new".to_string()
                }
            };
            run.check(&format!("seed {seed}, step {i}: {step}")).await;
        }
    }
}
db_test!(incremental_passes_equal_a_full_rebuild);

/// Every pass is observed in `pulse_analytics_rebuild_seconds`: the first one (every row) as
/// `full`, one after a recorded change as `incremental`.
async fn passes_are_observed_as_full_or_incremental(db: Db) {
    let app = super::seeded(db).await;
    let count = |body: &str, kind: &str| {
        let prefix = format!("pulse_analytics_rebuild_seconds_count{{kind=\"{kind}\"}} ");
        body.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0.0, |v| v.trim().parse::<f64>().unwrap())
    };
    let metrics = || async { app.get("/metrics").await.text().await.unwrap() };
    let path = format!("/api/v1/metrics/dora?{}", super::fixture::WINDOW);
    let before = metrics().await;
    super::api(&app, &path).await;
    let after_first = metrics().await;
    assert!(count(&after_first, "full") > count(&before, "full"), "{after_first}");
    let issue = entity::issue_flow_times::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    pulse_etl::db::analytics::changes::issues_written(&app.db, vec![issue.issue_id])
        .await
        .unwrap();
    super::api(&app, &path).await;
    let after_second = metrics().await;
    assert!(
        count(&after_second, "incremental") > count(&after_first, "incremental"),
        "{after_second}"
    );
}
db_test!(passes_are_observed_as_full_or_incremental);
