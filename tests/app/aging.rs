//! Aging work in progress and the cumulative flow diagram on hand-built rows (the analytics
//! fixture's flow: To Do → In Progress → Review (WAITING) → Done, and "Parked" mapped to the
//! deactivated step "Old"), against hand-computed answers; the dashboard's at-risk count.
//!
//! Window 2026-03-01 … 2026-03-07. Issues (all Stories of project AGE):
//! - created 1st 00:00, In Progress 1st 06:00, Done 2nd 06:00 (cycle 24 h).
//! - created 1st 00:00, In Progress 2nd 00:00, Done 4th 00:00 (cycle 48 h).
//! - created 2nd 00:00 (exactly at the end of the 1st), In Progress 2nd 12:00, Done 3rd
//!   12:00 (cycle 24 h), reopened to In Progress 4th 12:00, Done again 6th 12:00.
//! - created 2nd 20:00, In Review 4th 00:00 (waiting before any work), In Progress 6th
//!   00:00, still there.
//! - created 1st 00:00, "Limbo" 2nd 00:00: a status no mapping covers (Jira category
//!   indeterminate, so it counts as IN_PROGRESS and starts the cycle), still there.
//! - created 1st 00:00, "Parked" 2nd 00:00: the deactivated step, so left out everywhere.
//!
//! Completed in the window: cycle times 24, 48, 24 h → p50 24, p70 33.6, p85 40.8, p95 45.6 h.

use chrono::{DateTime, Duration, Utc};
use entity::{jira_projects, jira_statuses};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use serde_json::Value;

use crate::analytics::fixture::{self, Issue, t};
use crate::db_test;
use crate::helpers::{Db, TestApp, count, select_attr, spawn_app};

const WINDOW: &str = "from=2026-03-01&to=2026-03-07";

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let token = app.backend_token("viewer@example.com", "pulse-viewer").await;
    let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn json(app: &TestApp, path: &str) -> Value {
    let (status, body) = get(app, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    assert!((got - want).abs() < 1e-6, "{got} != {want}");
}

struct Rows {
    jira: i64,
    project: i64,
}

async fn rows(db: &DatabaseConnection) -> Rows {
    fixture::flow_config(db).await;
    let jira = fixture::integration(db, "jira").await;
    jira_statuses::ActiveModel {
        integration_id: Set(jira),
        external_id: Set("limbo".into()),
        name: Set("Limbo".into()),
        category_key: Set("indeterminate".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let project = jira_projects::ActiveModel {
        integration_id: Set(jira),
        external_id: Set("age".into()),
        key: Set("AGE".into()),
        name: Set("AGE".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    let r = Rows { jira, project };
    let story = |key: &'static str, created, moves| Issue {
        project,
        key,
        issue_type: "Story",
        created,
        active: true,
        moves,
    };
    for i in [
        story(
            "A-1",
            t(1, 0, 0),
            vec![
                (t(1, 6, 0), "To Do", "In Progress"),
                (t(2, 6, 0), "In Progress", "Done"),
            ],
        ),
        story(
            "A-2",
            t(1, 0, 0),
            vec![
                (t(2, 0, 0), "To Do", "In Progress"),
                (t(4, 0, 0), "In Progress", "Done"),
            ],
        ),
        story(
            "A-3",
            t(2, 0, 0),
            vec![
                (t(2, 12, 0), "To Do", "In Progress"),
                (t(3, 12, 0), "In Progress", "Done"),
                (t(4, 12, 0), "Done", "In Progress"),
                (t(6, 12, 0), "In Progress", "Done"),
            ],
        ),
        story(
            "A-4",
            t(2, 20, 0),
            vec![
                (t(4, 0, 0), "To Do", "In Review"),
                (t(6, 0, 0), "In Review", "In Progress"),
            ],
        ),
        story("A-5", t(1, 0, 0), vec![(t(2, 0, 0), "To Do", "Limbo")]),
        story("A-6", t(1, 0, 0), vec![(t(2, 0, 0), "To Do", "Parked")]),
    ] {
        fixture::issue(db, jira, i).await;
    }
    r
}

/// Items as (key, step, age hours, at risk).
fn items(a: &Value) -> Vec<(String, String, f64, bool)> {
    a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap().to_string(),
                i["step"].as_str().unwrap().to_string(),
                i["age_hours"].as_f64().unwrap(),
                i["at_risk"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn aging_as_of_a_past_instant_replays_each_issue_to_then(db: Db) {
    let app = spawn_app(db).await;
    rows(&app.db).await;
    let a = json(
        &app,
        &format!("/api/v1/metrics/flow/aging?{WINDOW}&as_of=2026-03-05T00:00:00Z"),
    )
    .await;
    assert_eq!(a["as_of"], "2026-03-05T00:00:00Z");
    close(&a["percentiles_hours"]["p50"], 24.0);
    close(&a["percentiles_hours"]["p70"], 33.6);
    close(&a["percentiles_hours"]["p85"], 40.8);
    close(&a["percentiles_hours"]["p95"], 45.6);
    // By step in flow order: A-3 reopened (done now, in progress then; its cycle started on the
    // 2nd at 12:00: 60 h), A-4 waiting since the 4th without a start (24 h), A-5 in the
    // unmapped status since the 2nd (72 h). were done; A-6 is left out.
    let s = |v: &str| v.to_string();
    assert_eq!(
        items(&a),
        vec![
            (s("A-3"), s("In Progress"), 60.0, true),
            (s("A-4"), s("Review"), 24.0, false),
            (s("A-5"), s("(unmapped IN_PROGRESS)"), 72.0, true),
        ]
    );
    assert_eq!(a["at_risk"], 2);
    assert_eq!(a["items"][0]["url"], "https://example.invalid/browse/A-3");

    // The same instant as a date: the end of the 4th.
    assert_eq!(
        items(&json(&app, &format!("/api/v1/metrics/flow/aging?{WINDOW}&as_of=2026-03-04")).await),
        items(&a)
    );
    // Earlier, on the 3rd at 00:00: in progress (24 h and 12 h), A-5 (24 h).
    let early = json(
        &app,
        &format!("/api/v1/metrics/flow/aging?{WINDOW}&as_of=2026-03-03T00:00:00%2B00:00"),
    )
    .await;
    assert_eq!(
        items(&early),
        vec![
            (s("A-2"), s("In Progress"), 24.0, false),
            (s("A-3"), s("In Progress"), 12.0, false),
            (s("A-5"), s("(unmapped IN_PROGRESS)"), 24.0, false),
        ]
    );
    // Filters apply as on the flow page: no Bugs in progress.
    let bugs = json(
        &app,
        &format!("/api/v1/metrics/flow/aging?{WINDOW}&as_of=2026-03-05T00:00:00Z&issue_types=Bug"),
    )
    .await;
    assert_eq!(bugs["items"].as_array().unwrap().len(), 0);

    for bad in ["yesterday", "2026-03-05T25:00:00Z", "1969-07-20T20:17:00Z"] {
        let (status, body) = get(&app, &format!("/api/v1/metrics/flow/aging?as_of={bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        let error = serde_json::from_str::<Value>(&body).unwrap()["error"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(error.contains("as_of"), "{error}");
    }
    // Bare: as of now, the default window.
    let now = json(&app, "/api/v1/metrics/flow/aging").await;
    let as_of: DateTime<Utc> = now["as_of"].as_str().unwrap().parse().unwrap();
    assert!((Utc::now() - as_of).num_seconds().abs() < 60);
}
db_test!(aging_as_of_a_past_instant_replays_each_issue_to_then);

async fn the_cumulative_flow_counts_each_day_end_through_a_reopen_and_an_unmapped_status(db: Db) {
    let app = spawn_app(db).await;
    rows(&app.db).await;
    let c = json(&app, &format!("/api/v1/metrics/flow/cfd?{WINDOW}")).await;
    // Active steps in flow order (the deactivated "Old" is not a band: A-6, which passed
    // through it, is left out as everywhere), then the unmapped band.
    assert_eq!(
        c["steps"],
        serde_json::json!(["To Do", "In Progress", "Review", "Done", "Unmapped"])
    );
    let days = c["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let expected: [(&str, [u64; 5], u64); 7] = [
        // End of the 1st: A-1 and A-2 (moved at that instant) in progress, A-5 in Limbo; A-3
        // was created at that instant, not before it.
        ("2026-03-01", [0, 2, 0, 0, 1], 3),
        ("2026-03-02", [1, 2, 0, 1, 1], 3),
        // A-3 done (before its reopen), A-2 done at that instant, A-4 waiting.
        ("2026-03-03", [0, 0, 1, 3, 1], 2),
        // A-3 reopened.
        ("2026-03-04", [0, 1, 1, 2, 1], 3),
        ("2026-03-05", [0, 2, 0, 2, 1], 3),
        ("2026-03-06", [0, 1, 0, 3, 1], 2),
        ("2026-03-07", [0, 1, 0, 3, 1], 2),
    ];
    let names = ["To Do", "In Progress", "Review", "Done", "Unmapped"];
    for (day, (date, counts, wip)) in days.iter().zip(expected) {
        assert_eq!(day["date"], date);
        for (name, n) in names.iter().zip(counts) {
            assert_eq!(day["counts"][*name].as_u64(), Some(n), "{date} {name}: {day}");
        }
        assert_eq!(day["wip"].as_u64(), Some(wip), "{date}");
    }
    // Arrivals (cycle starts) and departures (first DONE entries) in the window's one week:
    // all five started (A-4 on the 6th), three done.
    let weeks = c["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 1);
    assert_eq!(weeks[0]["arrivals"], 5);
    assert_eq!(weeks[0]["departures"], 3);
    let l = &c["littles_law"];
    close(&l["average_wip"], 18.0 / 7.0);
    close(&l["throughput_per_day"], 3.0 / 7.0);
    close(&l["average_cycle_time_days"], 96.0 / 3.0 / 24.0);
    close(&l["expected_wip"], 3.0 / 7.0 * 96.0 / 3.0 / 24.0);
    assert_eq!(l["stable"], false, "5 started, 3 finished: {l}");
    assert!(l["summary"].as_str().unwrap().contains("not stable"));

    // With a filter that selects none of them, no unmapped band.
    let none = json(&app, &format!("/api/v1/metrics/flow/cfd?{WINDOW}&issue_types=Bug")).await;
    assert_eq!(
        none["steps"],
        serde_json::json!(["To Do", "In Progress", "Review", "Done"])
    );
    assert_eq!(none["days"][0]["counts"]["Done"], 0);
    // Bare: the default window, 90 days.
    let bare = json(&app, "/api/v1/metrics/flow/cfd").await;
    assert_eq!(bare["days"].as_array().unwrap().len(), 90);
}
db_test!(the_cumulative_flow_counts_each_day_end_through_a_reopen_and_an_unmapped_status);

/// The flow page draws and lists both, with the instant chosen on the page.
async fn the_flow_page_shows_aging_with_its_instant_and_the_cumulative_flow(db: Db) {
    let app = spawn_app(db).await;
    rows(&app.db).await;
    app.login_viewer().await;
    let html = app
        .get(&format!("/analytics/flow?{WINDOW}&as_of=2026-03-05T00:00"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(count(&html, "#aging-table tbody tr"), 3);
    assert_eq!(count(&html, "#aging-table tbody tr[data-at-risk=true]"), 2);
    // The items at risk listed apart, the oldest first.
    assert_eq!(count(&html, "#at-risk-table tbody tr"), 2);
    assert_eq!(
        select_attr(&html, "#at-risk-table tbody tr", "data-issue").as_deref(),
        Some("A-5")
    );
    assert_eq!(count(&html, "#aging svg a circle.point"), 3, "each dot links to Jira");
    assert_eq!(count(&html, "#aging svg circle.risk"), 2);
    assert_eq!(
        select_attr(&html, "#aging-table a", "href").as_deref(),
        Some("https://example.invalid/browse/A-3")
    );
    assert_eq!(
        select_attr(&html, "input[name=as_of]", "value").as_deref(),
        Some("2026-03-05T00:00")
    );
    assert_eq!(count(&html, "#cfd-table tbody tr"), 7);
    assert_eq!(
        count(&html, "#cfd svg polygon"),
        5,
        "a band per step and the unmapped one"
    );
    assert_eq!(count(&html, "#stability.warn"), 1);
    let (status, _) = get(&app, &format!("/analytics/flow?{WINDOW}&as_of=soon")).await;
    assert_eq!(status, 400);
}
db_test!(the_flow_page_shows_aging_with_its_instant_and_the_cumulative_flow);

/// The dashboard's at-risk count is the API's, as of now over the last 90 days: B-1 (24 h) and
/// B-2 (48 h) done recently (p85 44.4 h); B-3 in progress for 72 h, A-4 and A-5 since March:
/// at risk; B-4 in progress for an hour: not.
async fn the_dashboard_counts_the_items_at_risk_as_the_api_does(db: Db) {
    let app = spawn_app(db).await;
    let r = rows(&app.db).await;
    let now = Utc::now();
    let ago = |h: i64| now - Duration::hours(h);
    let story = |key: &'static str, created, moves| Issue {
        project: r.project,
        key,
        issue_type: "Story",
        created,
        active: true,
        moves,
    };
    for i in [
        story(
            "B-1",
            ago(240),
            vec![(ago(216), "To Do", "In Progress"), (ago(192), "In Progress", "Done")],
        ),
        story(
            "B-2",
            ago(120),
            vec![(ago(96), "To Do", "In Progress"), (ago(48), "In Progress", "Done")],
        ),
        story("B-3", ago(100), vec![(ago(72), "To Do", "In Progress")]),
        story("B-4", ago(2), vec![(ago(1), "To Do", "In Progress")]),
    ] {
        fixture::issue(&app.db, r.jira, i).await;
    }
    let api = json(&app, "/api/v1/metrics/flow/aging?range=90").await;
    close(&api["percentiles_hours"]["p85"], 44.4);
    let at_risk: Vec<&str> = api["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["at_risk"] == true)
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    // In progress first (oldest first), then the unmapped status.
    assert_eq!(at_risk, ["A-4", "B-3", "A-5"]);
    app.login_viewer().await;
    let html = app.get("/").await.text().await.unwrap();
    assert_eq!(
        select_attr(&html, "#at-risk", "data-count").as_deref(),
        Some("3"),
        "the dashboard's count"
    );
    assert_eq!(
        select_attr(&html, "#at-risk", "href").as_deref(),
        Some("/analytics/flow?range=90#aging")
    );
}
db_test!(the_dashboard_counts_the_items_at_risk_as_the_api_does);
