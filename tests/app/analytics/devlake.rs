//! DevLake's recorded Jira Cloud data (`tests/fixtures/devlake-jira/`), replayed over HTTP to
//! our real Jira sync, then checked against DevLake's own answers and against the raw changelog:
//! per-issue lead time (resolution − created, minutes), the stored status history, and the flow
//! precompute's first DONE entry and time per status category.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::{DateTime, Utc};
use entity::{flow_steps, issue_flow_times, jira_issues, jira_status_transitions, status_mappings};
use pulse_etl::integrations::control::RunContext;
use pulse_etl::integrations::jira::models::parse_time;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Db, TestApp, spawn_app};

fn fixture(file: &str) -> String {
    format!("{}/tests/fixtures/devlake-jira/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// The `data` column of a DevLake raw table: one recorded API item per row.
fn items(file: &str) -> Vec<Value> {
    let mut reader = csv::Reader::from_path(fixture(file)).expect("fixture");
    let col = reader.headers().unwrap().iter().position(|h| h == "data").unwrap();
    reader
        .records()
        .map(|r| serde_json::from_str(&r.unwrap()[col]).unwrap())
        .collect()
}

/// DevLake's `lead_time_minutes` per issue key.
fn devlake_lead_minutes() -> BTreeMap<String, i64> {
    let mut reader = csv::Reader::from_path(fixture("expected_lead_time_minutes.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].parse().unwrap())
        })
        .collect()
}

struct Recorded {
    issues: Vec<Value>,
    statuses: Vec<Value>,
    types: Vec<Value>,
}

/// Answers what our Jira Cloud client asks, from the recordings: `serverInfo`, `myself`,
/// `status`, `issuetype`, `project/{key}` and one `search/jql` page per project.
async fn replay(recorded: Arc<Recorded>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let r = recorded.clone();
        App::new()
            .app_data(web::Data::new(r))
            .route(
                "/rest/api/3/serverInfo",
                web::get().to(|| async {
                    HttpResponse::Ok().json(json!({"deploymentType": "Cloud", "version": "1001.0.0"}))
                }),
            )
            .route(
                "/rest/api/3/myself",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .json(json!({"accountId": "replay", "displayName": "Replay", "timeZone": "Asia/Shanghai"}))
                }),
            )
            .route(
                "/rest/api/3/status",
                web::get().to(|r: web::Data<Arc<Recorded>>| async move { HttpResponse::Ok().json(&r.statuses) }),
            )
            .route(
                "/rest/api/3/issuetype",
                web::get().to(|r: web::Data<Arc<Recorded>>| async move { HttpResponse::Ok().json(&r.types) }),
            )
            .route(
                "/rest/api/3/project/{key}",
                web::get().to(|r: web::Data<Arc<Recorded>>, key: web::Path<String>| async move {
                    match r.issues.iter().find(|i| i["fields"]["project"]["key"] == key.as_str()) {
                        Some(i) => HttpResponse::Ok().json(&i["fields"]["project"]),
                        None => HttpResponse::NotFound().json(json!({"errorMessages": ["No project"]})),
                    }
                }),
            )
            .route(
                "/rest/api/3/search/jql",
                web::post().to(|r: web::Data<Arc<Recorded>>, body: web::Json<Value>| async move {
                    let jql = body["jql"].as_str().unwrap_or_default();
                    let issues: Vec<&Value> = r
                        .issues
                        .iter()
                        .filter(|i| {
                            let key = i["fields"]["project"]["key"].as_str().unwrap_or_default();
                            jql.contains(&format!("project = \"{key}\""))
                        })
                        .collect();
                    HttpResponse::Ok().json(json!({"issues": issues, "isLast": true}))
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    base
}

/// Our flow category for a Jira status category key.
fn jira_category(key: &str) -> &'static str {
    match key {
        "done" => "DONE",
        "indeterminate" => "IN_PROGRESS",
        _ => "TO_DO",
    }
}

fn at(v: &Value) -> DateTime<Utc> {
    parse_time(v.as_str().unwrap()).unwrap()
}

/// Status changes of a recorded issue, read straight from its changelog: (at, from, to) in time order.
fn recorded_moves(issue: &Value) -> Vec<(DateTime<Utc>, Option<String>, String)> {
    let mut moves: Vec<_> = issue["changelog"]["histories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| {
            h["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["field"] == "status")
                .map(move |i| {
                    (
                        at(&h["created"]),
                        i["fromString"].as_str().map(String::from),
                        i["toString"].as_str().unwrap().to_string(),
                    )
                })
        })
        .collect();
    moves.sort_by_key(|m| m.0);
    moves
}

async fn sync_recorded(db: Db) -> (TestApp, Arc<Recorded>) {
    let recorded = Arc::new(Recorded {
        issues: items("_raw_jira_api_issues.csv"),
        statuses: items("_raw_jira_api_status.csv"),
        types: items("_raw_jira_api_issue_types.csv"),
    });
    let base = replay(recorded.clone()).await;
    let app = spawn_app(db).await;
    // Every status falls back to its Jira category: the default flow's mappings are removed so
    // the expected numbers depend on the recorded data alone.
    status_mappings::Entity::delete_many().exec(&app.db).await.unwrap();
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let res = app
        .client
        .post(app.url("/api/v1/integrations"))
        .bearer_auth(token)
        .json(
            &json!({"kind": "jira", "name": "merico (recorded)", "flavour": "cloud", "base_url": base,
                      "username": "replay@example.com", "secret": "recorded",
                      "settings": {"projects": ["EE", "K5"]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    crate::jira_sync::run_sync(&app, &RunContext::detached()).await.unwrap();
    (app, recorded)
}

async fn recorded_jira_gives_devlakes_lead_times_and_status_history(db: Db) {
    let (app, recorded) = sync_recorded(db).await;
    let stored = jira_issues::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(stored.len(), recorded.issues.len());
    let by_key: HashMap<&str, &jira_issues::Model> = stored.iter().map(|i| (i.key.as_str(), i)).collect();

    // Lead time as DevLake computes it: resolution date − created, whole minutes.
    let expected = devlake_lead_minutes();
    assert_eq!(expected.len(), 30);
    for (key, minutes) in &expected {
        let i = by_key[key.as_str()];
        let resolved = i.resolved.unwrap_or_else(|| panic!("{key} resolved"));
        assert_eq!(
            (resolved - i.created).num_minutes(),
            *minutes,
            "{key} lead time (minutes)"
        );
    }

    // The stored status history is the recorded one, change for change.
    let transitions = jira_status_transitions::Entity::find().all(&app.db).await.unwrap();
    let mut changes = 0;
    for issue in &recorded.issues {
        let key = issue["key"].as_str().unwrap();
        let id = by_key[key].id;
        let mut got: Vec<_> = transitions
            .iter()
            .filter(|t| t.issue_id == id)
            .map(|t| (t.at, t.from_status.clone(), t.to_status.clone()))
            .collect();
        got.sort_by_key(|m| m.0);
        let want = recorded_moves(issue);
        changes += want.len();
        assert_eq!(got, want, "{key} status history");
    }
    assert!(changes > 50, "{changes} recorded status changes");

    // The flow precompute: first entry into a done-category status, and the hours spent per
    // category, recomputed here from the recorded changelog and status list.
    pulse_etl::db::analytics::refresh(&app.db, &Default::default())
        .await
        .unwrap();
    let category: HashMap<String, String> = recorded
        .statuses
        .iter()
        .map(|s| {
            let c = jira_category(s["statusCategory"]["key"].as_str().unwrap());
            (s["name"].as_str().unwrap().to_lowercase(), c.to_string())
        })
        .collect();
    let flows = issue_flow_times::Entity::find().all(&app.db).await.unwrap();
    let mut agree_with_resolution = 0;
    for issue in &recorded.issues {
        let key = issue["key"].as_str().unwrap();
        let row = by_key[key];
        let flow = flows.iter().find(|f| f.issue_id == row.id).unwrap();
        let created = at(&issue["fields"]["created"]);
        let moves = recorded_moves(issue);
        let initial = moves
            .first()
            .and_then(|m| m.1.clone())
            .unwrap_or_else(|| row.status_name.clone());
        // A status Jira no longer lists (deleted since: "Resolved", "Inbox" here) has no known
        // category and counts as TO_DO, as documented.
        // The issue's current status takes the category the issue itself reports (EE-1 says
        // "new" for a status the status list files under done).
        let current = &issue["fields"]["status"];
        let cat = |s: &str| {
            if current["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(s)) {
                return jira_category(current["statusCategory"]["key"].as_str().unwrap()).to_string();
            }
            category
                .get(&s.to_lowercase())
                .cloned()
                .unwrap_or_else(|| "TO_DO".to_string())
        };
        let mut hours: BTreeMap<String, f64> = BTreeMap::new();
        let (mut here, mut since) = (cat(&initial), created);
        let mut done_at = (here == "DONE").then_some(created);
        for (t, _, to) in &moves {
            *hours.entry(here.clone()).or_default() += (*t - since).num_milliseconds() as f64 / 3.6e6;
            (here, since) = (cat(to), *t);
            if done_at.is_none() && here == "DONE" {
                done_at = Some(*t);
            }
        }
        assert_eq!(flow.done_at, done_at, "{key} first DONE entry");
        let stored: BTreeMap<String, f64> = serde_json::from_value(flow.step_hours.clone()).unwrap();
        for (c, h) in &hours {
            let got = stored.get(&format!("(unmapped {c})")).copied().unwrap_or(0.0);
            assert!((got - h).abs() < 1e-6, "{key} hours in {c}: {got} vs {h}");
        }
        assert_eq!(
            flow.current_category.map(|c| c.as_str()),
            Some(here.as_str()),
            "{key} current category"
        );
        if let (Some(d), Some(minutes)) = (done_at, expected.get(key))
            && (d - created).num_minutes() == *minutes
        {
            agree_with_resolution += 1;
        }
    }
    // Our flow lead time ends at the first DONE entry, DevLake's at the resolution date. Here
    // most issues were resolved by a move to "Resolved", a status this Jira no longer lists: with
    // no mapping it has no category and counts as TO_DO, so only 6 of 30 agree.
    assert_eq!(agree_with_resolution, 6, "flow lead time equal to DevLake's");

    // Mapping "Resolved" to a DONE step (as the default flow does) applies without a new sync,
    // and then the two lead times agree for 15 of 30 issues (the other 15 first entered a done
    // status at another moment than their resolution date; a different definition, not a defect).
    let done_step = flow_steps::Entity::find()
        .filter(flow_steps::Column::Category.eq("DONE"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("a DONE step");
    let now = Utc::now();
    status_mappings::ActiveModel {
        status_from: Set("resolved".into()),
        flow_step_id: Set(done_step.id),
        issue_type_mapping_id: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    pulse_etl::db::analytics::refresh(&app.db, &Default::default())
        .await
        .unwrap();
    let flows = issue_flow_times::Entity::find().all(&app.db).await.unwrap();
    let agree = expected
        .iter()
        .filter(|(key, minutes)| {
            let row = by_key[key.as_str()];
            let flow = flows.iter().find(|f| f.issue_id == row.id).unwrap();
            flow.done_at
                .is_some_and(|d| (d - row.created).num_minutes() == **minutes)
        })
        .count();
    eprintln!("with \"Resolved\" mapped: flow lead time equals DevLake's for {agree} of 30 issues");
    assert_eq!(agree, 15, "flow lead time equal to DevLake's with \"Resolved\" mapped");
}
db_test!(recorded_jira_gives_devlakes_lead_times_and_status_history);
