//! The Jira sync against the simulated Jira: complete, incremental, fault-tolerant, resumable.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use entity::{jira_issues, jira_status_transitions};
use pulse_etl::integrations::control::{Interrupted, RunContext, RunControl};
use pulse_etl::integrations::jira::sync::{self, Deps};
use pulse_sim::model::{Dataset, STORY_POINTS_FIELD};
use pulse_sim::state::{SimConfig, Storms};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::db_test;
use crate::helpers::{Db, TestApp, spawn_app};

/// One issue as the ground truth and the database should both describe it.
#[derive(Debug, PartialEq)]
pub struct IssueFacts {
    key: String,
    status: String,
    issue_type: String,
    created_ms: i64,
    updated_ms: i64,
    resolved_ms: Option<i64>,
    story_points: Option<f64>,
    parent: Option<String>,
}

/// `changelog id/item index` → (from, to, at ms).
pub type Transitions = BTreeMap<(String, i32), (Option<String>, String, i64)>;

fn truth(data: &Dataset) -> (BTreeMap<String, IssueFacts>, BTreeMap<String, Transitions>) {
    let j = &data.jira;
    let status = |id: &str| {
        j.statuses
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    let type_name = |id: &str| {
        j.issue_types
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    let key_of = |id: &str| j.issues.iter().find(|i| i.id == id).map(|i| i.key.clone());
    let mut issues = BTreeMap::new();
    let mut transitions = BTreeMap::new();
    for i in &j.issues {
        issues.insert(
            i.id.clone(),
            IssueFacts {
                key: i.key.clone(),
                status: status(&i.status_id),
                issue_type: type_name(&i.issue_type_id),
                created_ms: i.created.timestamp_millis(),
                updated_ms: i.updated.timestamp_millis(),
                resolved_ms: i.resolved.map(|r| r.timestamp_millis()),
                story_points: i.story_points,
                parent: i.parent_id.as_deref().and_then(key_of),
            },
        );
        let mut t = Transitions::new();
        for h in &i.changelog {
            for (idx, item) in h.items.iter().enumerate().filter(|(_, it)| it.field == "status") {
                t.insert(
                    (h.id.clone(), idx as i32),
                    (
                        item.from_string.clone(),
                        item.to_string.clone().unwrap_or_default(),
                        h.created.timestamp_millis(),
                    ),
                );
            }
        }
        transitions.insert(i.id.clone(), t);
    }
    (issues, transitions)
}

pub async fn stored(db: &sea_orm::DatabaseConnection) -> (BTreeMap<String, IssueFacts>, BTreeMap<String, Transitions>) {
    let rows = jira_issues::Entity::find().all(db).await.unwrap();
    let by_id: BTreeMap<i64, String> = rows.iter().map(|r| (r.id, r.external_id.clone())).collect();
    let mut issues = BTreeMap::new();
    for r in &rows {
        let previous = issues.insert(
            r.external_id.clone(),
            IssueFacts {
                key: r.key.clone(),
                status: r.status_name.clone(),
                issue_type: r.issue_type_name.clone(),
                created_ms: r.created.timestamp_millis(),
                updated_ms: r.updated.timestamp_millis(),
                resolved_ms: r.resolved.map(|t| t.timestamp_millis()),
                story_points: r.story_points,
                parent: r.parent_key.clone(),
            },
        );
        assert!(previous.is_none(), "issue {} stored twice", r.key);
    }
    let mut transitions: BTreeMap<String, Transitions> =
        issues.keys().map(|k| (k.clone(), Transitions::new())).collect();
    for t in jira_status_transitions::Entity::find().all(db).await.unwrap() {
        let issue = &by_id[&t.issue_id];
        let previous = transitions.get_mut(issue).unwrap().insert(
            (t.changelog_id.clone(), t.item_index),
            (t.from_status.clone(), t.to_status.clone(), t.at.timestamp_millis()),
        );
        assert!(
            previous.is_none(),
            "transition {}/{} stored twice",
            t.changelog_id,
            t.item_index
        );
    }
    (issues, transitions)
}

pub async fn assert_equals_ground_truth(app: &TestApp) {
    assert_matches_sim(app.sim.as_ref().unwrap(), &app.db).await;
}

/// The stored Jira rows are exactly the simulator's issues and status histories.
pub async fn assert_matches_sim(sim: &pulse_sim::SimHandle, db: &sea_orm::DatabaseConnection) {
    let data = sim.state.data().clone();
    let (want_issues, want_transitions) = truth(&data);
    let (got_issues, got_transitions) = stored(db).await;
    assert_eq!(got_issues.len(), want_issues.len(), "issue count");
    for (id, want) in &want_issues {
        assert_eq!(got_issues.get(id), Some(want), "issue {id}");
    }
    for (id, want) in &want_transitions {
        assert_eq!(
            got_transitions.get(id),
            Some(want),
            "status history of {}",
            want_issues[id].key
        );
    }
}

/// Whatever is stored is whole: every stored issue has exactly its true status history (a page
/// is stored in one transaction, or not at all).
pub async fn assert_no_partial_issue(sim: &pulse_sim::SimHandle, db: &sea_orm::DatabaseConnection) {
    let data = sim.state.data().clone();
    let (_, want) = truth(&data);
    let (_, got) = stored(db).await;
    for (id, history) in &got {
        assert_eq!(Some(history), want.get(id), "issue {id} stored with a partial history");
    }
}

pub async fn add_jira(app: &TestApp, flavour: &str) -> i64 {
    let sim = app.sim.as_ref().unwrap();
    let projects: Vec<String> = sim.state.data().jira.projects.iter().map(|p| p.key.clone()).collect();
    let (url, user, secret) = match flavour {
        "cloud" => (sim.urls.jira_cloud.clone(), Some("sim@example.com"), "sim-token"),
        _ => (sim.urls.jira_dc.clone(), None, "sim-pat"),
    };
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let body = json!({"kind": "jira", "name": format!("Jira {flavour}"), "flavour": flavour, "base_url": url,
                      "username": user, "secret": secret,
                      "settings": {"projects": projects, "story_points_field": STORY_POINTS_FIELD}});
    let res = app
        .client
        .post(app.url("/api/v1/integrations"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap()
}

pub async fn run_sync(app: &TestApp, ctx: &RunContext) -> Result<(), sync::SyncError> {
    let state = app.state();
    let deps = Deps {
        db: &state.db,
        vault: &state.vault,
        outbound: state.outbound,
    };
    sync::run(&deps, ctx).await
}

pub async fn set_sim(app: &TestApp, cfg: SimConfig) {
    app.sim.as_ref().unwrap().state.set_config(cfg);
}

async fn a_full_cloud_sync_equals_the_ground_truth(db: Db) {
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    let ctx = RunContext::detached();
    run_sync(&app, &ctx).await.unwrap();
    assert_equals_ground_truth(&app).await;
    let long = stored(&app.db).await.1.values().map(|t| t.len()).max().unwrap();
    assert!(long > 100, "an issue with > 100 status changes is complete ({long})");
    let counts = ctx.stats.counts();
    assert!(
        counts["full_changelogs"].fetched > 0,
        "truncated changelogs were completed: {counts:?}"
    );
    // A second run finds nothing new and changes nothing.
    let again = RunContext::detached();
    run_sync(&app, &again).await.unwrap();
    let c = again.stats.counts();
    assert_eq!((c["issues"].inserted, c["issues"].updated), (0, 0), "{c:?}");
    assert_equals_ground_truth(&app).await;
}
db_test!(a_full_cloud_sync_equals_the_ground_truth);

/// A page can list a history item twice (a changelog paged while Jira added to it): it is stored
/// once, for a new issue and for an updated one, and the counts say what was written.
async fn a_history_item_listed_twice_is_stored_once(db: Db) {
    use pulse_etl::db::jira::{IssueRow, PageCounts, TransitionRow, store_issues};
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    run_sync(&app, &RunContext::detached()).await.unwrap();
    let known = jira_issues::Entity::find().one(&app.db).await.unwrap().unwrap();
    let history_of = |issue_id: i64| {
        jira_status_transitions::Entity::find()
            .filter(jira_status_transitions::Column::IssueId.eq(issue_id))
            .all(&app.db)
    };
    let before = history_of(known.id).await.unwrap().len();
    let at = known.updated + chrono::Duration::minutes(5);
    let item = |changelog_id: &str, to: &str| TransitionRow {
        changelog_id: changelog_id.into(),
        item_index: 0,
        from_status: Some("To Do".into()),
        to_status: to.into(),
        from_status_id: Some("1".into()),
        to_status_id: Some("2".into()),
        at,
        author: None,
    };
    let row = |external_id: &str, key: &str, transitions: Vec<TransitionRow>| IssueRow {
        external_id: external_id.into(),
        key: key.into(),
        issue_type_name: known.issue_type_name.clone(),
        status_name: "Done".into(),
        status_category_key: "done".into(),
        summary: "listed twice".into(),
        priority: None,
        assignee: None,
        reporter: None,
        created: known.created,
        updated: at,
        resolved: None,
        story_points: None,
        parent_key: None,
        parent_external_id: None,
        transitions,
    };
    let rows = [
        row(
            "990001",
            "NEW-1",
            vec![item("880001", "Done"), item("880001", "Done"), item("880002", "Done")],
        ),
        row(
            &known.external_id,
            &known.key,
            vec![item("880003", "Done"), item("880003", "Done")],
        ),
    ];
    let txn = pulse_etl::db::begin_page(&app.db).await.unwrap();
    let counts = store_issues(&txn, known.integration_id, known.project_id, &rows)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let want = PageCounts {
        issues_inserted: 1,
        issues_updated: 1,
        issues_unchanged: 0,
        transitions_inserted: 3,
    };
    assert_eq!(counts, want);
    let new = jira_issues::Entity::find()
        .filter(jira_issues::Column::ExternalId.eq("990001"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the new issue");
    assert_eq!(history_of(new.id).await.unwrap().len(), 2);
    assert_eq!(history_of(known.id).await.unwrap().len(), before + 1);
}
db_test!(a_history_item_listed_twice_is_stored_once);

async fn a_data_center_sync_equals_the_ground_truth(db: Db) {
    let app = spawn_app(db).await;
    add_jira(&app, "data_center").await;
    run_sync(&app, &RunContext::detached()).await.unwrap();
    assert_equals_ground_truth(&app).await;
}
db_test!(a_data_center_sync_equals_the_ground_truth);

async fn an_incremental_sync_fetches_only_what_changed(db: Db) {
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    run_sync(&app, &RunContext::detached()).await.unwrap();
    let sim = app.sim.as_ref().unwrap();
    let watermark = entity::jira_projects::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .filter_map(|p| p.sync_watermark)
        .min()
        .unwrap();
    let res = app
        .client
        .post(format!("{}/sim/advance?minutes=240", sim.urls.admin))
        .send()
        .await
        .unwrap();
    let summary: serde_json::Value = res.json().await.unwrap();
    assert!(
        summary["changes"]["issues_updated"].as_u64().unwrap() + summary["changes"]["issues_created"].as_u64().unwrap()
            > 0,
        "{summary}"
    );
    // The query re-reads from the watermark minus the overlap, rounded down to the minute.
    let since = watermark - sync::OVERLAP - chrono::Duration::minutes(1);
    let changed = sim
        .state
        .data()
        .jira
        .issues
        .iter()
        .filter(|i| i.updated >= since)
        .count() as u64;
    let ctx = RunContext::detached();
    run_sync(&app, &ctx).await.unwrap();
    let fetched = ctx.stats.counts()["issues"].fetched;
    assert!(
        fetched <= changed,
        "fetched {fetched}, but only {changed} changed (with the overlap)"
    );
    assert!(fetched > 0);
    assert_equals_ground_truth(&app).await;

    // Nothing changed: one search request per project (plus reference data).
    let projects = sim.state.data().jira.projects.len() as u64;
    let ctx = RunContext::detached();
    run_sync(&app, &ctx).await.unwrap();
    let reference = 3 + projects; // myself, status, issuetype, then project/{key} each
    assert_eq!(ctx.stats.requests(), reference + projects, "one search per project");
}
db_test!(an_incremental_sync_fetches_only_what_changed);

async fn faults_and_rate_limits_lose_nothing(db: Db) {
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    set_sim(
        &app,
        SimConfig {
            fault_rate: 0.05,
            malformed_rate: 0.03,
            reset_rate: 0.02,
            jira_burst_per_second: Some(40),
            ..SimConfig::default()
        },
    )
    .await;
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
    set_sim(&app, SimConfig::default()).await;
    assert_equals_ground_truth(&app).await;
}
db_test!(faults_and_rate_limits_lose_nothing);

/// The issue's fault mix with 429 storms: 5 % 5xx/429, 3 % malformed bodies, 2 % connection
/// resets, and every 2.5 s a storm of 1.3 s in which every request is answered 429
/// with `Retry-After: 1` (a request in its first 0.3 s meets two 429s in a row; a run longer
/// than 1.2 s meets a storm). Either the run completes or it fails and the next one does; the
/// final rows are the simulator's.
async fn a_fault_mix_with_429_storms_loses_nothing(db: Db) {
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    set_sim(
        &app,
        SimConfig {
            latency_ms: 20,
            jira_max_results: 20,
            fault_rate: 0.05,
            malformed_rate: 0.03,
            reset_rate: 0.02,
            rate_limit_storms: Some(Storms {
                every_ms: 2_500,
                length_ms: 1_300,
            }),
            ..SimConfig::default()
        },
    )
    .await;
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
    let limited = app.sim.as_ref().unwrap().stats.served_with("/jira-cloud", "429");
    println!("Jira fault mix on {db:?}: runs {outcomes:?}; {limited} answers 429, {waited_ms} ms waited");
    assert!(outcomes.last().unwrap().is_ok(), "no run completed: {outcomes:?}");
    assert!(limited >= 1, "a storm was met: {limited} answers 429");
    assert!(waited_ms >= 1000, "Retry-After was honoured: waited {waited_ms} ms");
    set_sim(&app, SimConfig::default()).await;
    assert_equals_ground_truth(&app).await;
}
db_test!(a_fault_mix_with_429_storms_loses_nothing);

async fn a_stopped_sync_stores_no_partial_page_and_a_rerun_completes(db: Db) {
    let app = spawn_app(db).await;
    add_jira(&app, "cloud").await;
    set_sim(
        &app,
        SimConfig {
            latency_ms: 20,
            ..SimConfig::default()
        },
    )
    .await;
    for stop_after in [4u64, 9, 15] {
        let ctx = RunContext::new(RunControl::new(), std::sync::Arc::new(|_, _| {}));
        let control = ctx.control.clone();
        let stats = ctx.stats.clone();
        let watcher = tokio::spawn(async move {
            while stats.requests() < stop_after {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            control.stop();
        });
        let result = run_sync(&app, &ctx).await;
        watcher.abort();
        if let Err(e) = &result {
            assert_eq!(e.interrupted(), Some(Interrupted::Stopped), "{e}");
        }
        // Whatever is stored is whole: every stored issue has its complete history.
        let data = app.sim.as_ref().unwrap().state.data().clone();
        let (_, want) = truth(&data);
        let (_, got) = stored(&app.db).await;
        for (id, history) in &got {
            assert_eq!(Some(history), want.get(id), "issue {id} stored with a partial history");
        }
    }
    set_sim(&app, SimConfig::default()).await;
    run_sync(&app, &RunContext::detached()).await.unwrap();
    assert_equals_ground_truth(&app).await;
}
db_test!(a_stopped_sync_stores_no_partial_page_and_a_rerun_completes);

async fn a_paused_sync_resumes_from_its_checkpoint(db: Db) {
    let app = spawn_app(db).await;
    add_jira(&app, "data_center").await;
    // Small server-capped pages, so the pause lands in the middle of a project.
    set_sim(
        &app,
        SimConfig {
            jira_max_results: 10,
            ..SimConfig::default()
        },
    )
    .await;
    let ctx = RunContext::detached();
    let control = ctx.control.clone();
    let stats = ctx.stats.clone();
    tokio::spawn(async move {
        // Once a few pages are stored (planning the slices asks for counts first).
        while stats.counts().get("issues").map_or(0, |c| c.fetched) < 20 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        control.pause();
    });
    let err = run_sync(&app, &ctx).await.unwrap_err();
    assert_eq!(err.interrupted(), Some(Interrupted::Paused));
    let checkpoint = pulse_etl::db::jobs::checkpoint(&app.db, sync::JOB).await.unwrap();
    assert!(checkpoint.is_some(), "the checkpoint was kept");
    let resumed = RunContext::detached();
    run_sync(&app, &resumed).await.unwrap();
    assert_equals_ground_truth(&app).await;
    assert!(
        pulse_etl::db::jobs::checkpoint(&app.db, sync::JOB)
            .await
            .unwrap()
            .is_none(),
        "cleared when done"
    );
}
db_test!(a_paused_sync_resumes_from_its_checkpoint);

/// Issues updated in the same minute as the watermark are not missed, whatever the Jira user's zone.
async fn updates_next_to_the_watermark_are_not_missed_in_any_time_zone(db: Db) {
    for zone in ["Asia/Shanghai", "UTC", "America/Los_Angeles"] {
        let app = spawn_app(db).await;
        app.sim.as_ref().unwrap().state.data_mut().jira.user_time_zone = zone.into();
        add_jira(&app, "cloud").await;
        run_sync(&app, &RunContext::detached()).await.unwrap();
        let watermark = {
            let sim = app.sim.as_ref().unwrap();
            let mut data = sim.state.data_mut();
            let max = data.jira.issues.iter().map(|i| i.updated).max().unwrap();
            data.now += chrono::Duration::minutes(1);
            let target = data.jira.issues.iter_mut().min_by_key(|i| i.updated).unwrap();
            target.summary = format!("edited next to the watermark ({zone})");
            target.updated = max + chrono::Duration::seconds(1);
            max
        };
        run_sync(&app, &RunContext::detached()).await.unwrap();
        let edited = jira_issues::Entity::find()
            .filter(jira_issues::Column::Summary.contains("next to the watermark"))
            .all(&app.db)
            .await
            .unwrap();
        assert_eq!(
            edited.len(),
            1,
            "{zone}: the edit one second after the watermark {watermark} was missed"
        );
        assert_equals_ground_truth(&app).await;
    }
}
db_test!(updates_next_to_the_watermark_are_not_missed_in_any_time_zone);

#[tokio::test]
async fn statuses_that_disappear_become_inactive() {
    let app = spawn_app(Db::Sqlite).await;
    add_jira(&app, "cloud").await;
    run_sync(&app, &RunContext::detached()).await.unwrap();
    let removed = {
        let sim = app.sim.as_ref().unwrap();
        let mut data = sim.state.data_mut();
        let used: BTreeSet<String> = data.jira.issues.iter().map(|i| i.status_id.clone()).collect();
        let pos = data
            .jira
            .statuses
            .iter()
            .position(|s| !used.contains(&s.id))
            .expect("an unused status");
        data.jira.statuses.remove(pos).id
    };
    run_sync(&app, &RunContext::detached()).await.unwrap();
    let row = entity::jira_statuses::Entity::find()
        .filter(entity::jira_statuses::Column::ExternalId.eq(removed))
        .one(&app.db)
        .await
        .unwrap()
        .expect("kept, not deleted");
    assert!(!row.active);
}
