//! Analytics pages and API on hand-built rows, against hand-computed answers (see `fixture`).

#[path = "analytics/devlake.rs"]
mod devlake;
#[path = "analytics/fixture.rs"]
pub mod fixture;
#[path = "analytics/incremental.rs"]
mod incremental;
#[path = "analytics/rework.rs"]
mod rework;

use entity::issue_type_mappings;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::Value;

use crate::db_test;
use crate::helpers::{Db, TestApp, count, select_attr, select_text, spawn_app};
use fixture::WINDOW;

pub async fn api(app: &TestApp, path: &str) -> Value {
    let token = app.backend_token("viewer@example.com", "pulse-viewer").await;
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.expect("json")
}

fn close(v: &Value, expected: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("expected {expected}, got {v}"));
    assert!((got - expected).abs() < 1e-9, "expected {expected}, got {got}");
}

pub async fn seeded(db: Db) -> TestApp {
    let app = spawn_app(db).await;
    fixture::github(&app.db).await;
    fixture::flow_config(&app.db).await;
    fixture::jira(&app.db).await;
    app
}

async fn dora_api_matches_hand_computed_numbers(db: Db) {
    let app = seeded(db).await;
    let d = api(&app, &format!("/api/v1/metrics/dora?{WINDOW}")).await;
    assert_eq!(d["deployments"], 4);
    close(&d["deployment_frequency_per_week"], 2.0);
    close(&d["deployment_frequency_per_day"], 4.0 / 14.0);
    close(&d["deployment_days_per_week"], 2.0);
    // 12, 15, 28, 32.5, 34.5 (the bot's PR included).
    close(&d["change_lead_time_hours"]["median"], 28.0);
    assert_eq!(d["change_lead_time_hours"]["count"], 5);
    // D1 (two incidents, one created the moment D2 was deployed), D3 and D6 of four.
    close(&d["change_failure_rate"], 0.75);
    assert_eq!(d["failed_deployments"], 3);
    close(&d["time_to_restore_hours"]["median"], 8.0);
    assert_eq!(d["time_to_restore_hours"]["count"], 3);
    assert_eq!(d["tiers"]["benchmark"], "2023");
    assert_eq!(d["tiers"]["deployment_frequency"], "high");
    assert_eq!(d["tiers"]["change_lead_time"], "high");
    assert_eq!(d["tiers"]["change_failure_rate"], "low");
    assert_eq!(d["tiers"]["time_to_restore"], "high");
    assert_eq!(d["previous"]["deployments"], 0);
    assert_eq!(d["trend"].as_array().unwrap().len(), 2);
    assert_eq!(d["trend"][0]["deployments"], 3);

    // The 2024 levels: the same numbers, placed by that report's figures and citing it.
    let d24 = api(&app, &format!("/api/v1/metrics/dora?{WINDOW}&benchmark=2024")).await;
    assert_eq!(d24["deployments"], d["deployments"]);
    assert_eq!(d24["tiers"]["benchmark"], "2024");
    assert!(
        d24["tiers"]["source"].as_str().unwrap().contains("2024"),
        "{}",
        d24["tiers"]
    );
    assert_eq!(d24["tiers"]["change_failure_rate"], "low");
    assert_eq!(d24["tiers"]["time_to_restore"], "high");
    let res = app
        .client
        .get(app.url(&format!("/api/v1/metrics/dora?{WINDOW}&benchmark=2025")))
        .bearer_auth(app.backend_token("viewer@example.com", "pulse-viewer").await)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("benchmark must be 2023 or 2024"));

    // Only acme/web: D6 and the incident after it; PR 5 (34.5 h).
    let w = api(&app, &format!("/api/v1/metrics/dora?{WINDOW}&repositories=acme/web")).await;
    assert_eq!(w["deployments"], 1);
    close(&w["change_lead_time_hours"]["median"], 34.5);
    close(&w["change_failure_rate"], 1.0);
}
db_test!(dora_api_matches_hand_computed_numbers);

async fn pr_api_matches_hand_computed_numbers(db: Db) {
    let app = seeded(db).await;
    let p = api(&app, &format!("/api/v1/metrics/prs?{WINDOW}")).await;
    assert_eq!(p["pull_requests"], 4);
    assert_eq!(p["bots_excluded"], 1);
    close(&p["coding_hours"]["median"], 3.0); // 2, 2, 4, 6: even count
    close(&p["pickup_hours"]["median"], 2.5); // 1, 2, 3, 4
    close(&p["review_hours"]["median"], 5.0); // 4, 5, 6: PR 2's review came after the merge
    assert_eq!(p["review_hours"]["count"], 3);
    close(&p["deploy_hours"]["median"], 22.5); // 2, 22.5, 22.5, 24
    close(&p["deploy_hours"]["p75"], 22.875);
    close(&p["deploy_hours"]["p90"], 23.55);
    close(&p["size_lines"]["median"], 75.0); // 15, 50, 100, 400
    close(&p["reviews_per_pr"], 1.0); // the CI bot's review does not count
    close(&p["merged_without_approval"], 0.25);
    close(&p["throughput_per_week"], 2.0);

    let ann = api(&app, &format!("/api/v1/metrics/prs?{WINDOW}&authors=ann")).await;
    assert_eq!(ann["pull_requests"], 2);
    close(&ann["coding_hours"]["median"], 3.0); // 4 and 2
}
db_test!(pr_api_matches_hand_computed_numbers);

async fn flow_api_matches_hand_computed_numbers(db: Db) {
    let app = seeded(db).await;
    let f = api(&app, &format!("/api/v1/metrics/flow?{WINDOW}&projects=DEV")).await;
    // DEV-1 and DEV-2; DEV-4 (inactive step), DEV-5 (inactive type mapping), DEV-6 (inactive issue) left out.
    assert_eq!(f["issues"], 2);
    assert_eq!(f["excluded_issues"], 3);
    close(&f["lead_time_hours"]["median"], 51.0); // 72 and 30
    close(&f["cycle_time_hours"]["median"], 36.0); // 48 and 24
    close(&f["throughput_per_week"], 1.0);
    close(&f["time_in_step_hours"]["In Progress"]["median"], 30.0); // 36 and 24
    close(&f["time_in_step_hours"]["To Do"]["median"], 15.0); // 24 and 6
    close(&f["time_in_step_hours"]["Review"]["median"], 12.0);
    close(&f["flow_efficiency"], 60.0 / 72.0);
    assert_eq!(f["issues_with_rework"], 1);
    assert_eq!(f["backward_moves"], 1);
    assert_eq!(f["wip"]["In Progress"], 1);
    assert_eq!(f["by_work_category"]["FEATURE"]["issues"], 2);

    // Incidents only (OPS): three resolved in the window.
    let i = api(&app, &format!("/api/v1/metrics/flow?{WINDOW}&categories=INCIDENT")).await;
    assert_eq!(i["issues"], 3);
}
db_test!(flow_api_matches_hand_computed_numbers);

async fn a_mapping_change_applies_without_a_new_sync(db: Db) {
    let app = seeded(db).await;
    let before = api(&app, &format!("/api/v1/metrics/dora?{WINDOW}")).await;
    close(&before["change_failure_rate"], 0.75);
    let incident = issue_type_mappings::Entity::find()
        .filter(issue_type_mappings::Column::IssuetypeFrom.eq("Incident"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut m = incident.into_active_model();
    m.active = Set(false);
    m.updated_at = Set(chrono::Utc::now());
    m.update(&app.db).await.unwrap();
    let after = api(&app, &format!("/api/v1/metrics/dora?{WINDOW}")).await;
    assert!(after["change_failure_rate"].is_null());
    assert!(
        after["change_failure_rate_reason"]
            .as_str()
            .unwrap()
            .contains("INCIDENT")
    );
    assert!(after["time_to_restore_hours"]["median"].is_null());
    app.login_viewer().await;
    let html = app
        .get(&format!("/analytics/dora?{WINDOW}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(count(&html, "#change-failure-rate .why a[href='/flow']"), 1);
    assert_eq!(count(&html, "#time-to-restore .why a[href='/flow']"), 1);
}
db_test!(a_mapping_change_applies_without_a_new_sync);

async fn pages_show_the_numbers_charts_tables_and_drill_downs_to_a_viewer(db: Db) {
    let app = seeded(db).await;
    app.login_viewer().await;
    let html = app
        .get(&format!("/analytics/dora?{WINDOW}&repositories=acme/api"))
        .await
        .text()
        .await
        .unwrap();
    // acme/api only: D1, D2, D3 in two weeks.
    assert_eq!(
        select_attr(&html, "#deployment-frequency .metric-value", "data-value").as_deref(),
        Some("1.50 / week")
    );
    assert!(count(&html, "svg[role=img] title") >= 4, "labelled charts");
    assert!(count(&html, "details.table-view table") >= 1, "table view");
    assert_eq!(count(&html, "#deployments tr[data-deployment]"), 3);
    // The filters stay in the form and the links.
    assert!(count(&html, "input[name=repositories][value='acme/api'][checked]") == 1);
    assert_eq!(
        select_attr(&html, "input[name=from]", "value").as_deref(),
        Some("2026-03-01")
    );
    assert!(
        select_attr(&html, "a.tab[href^='/analytics/prs']", "href")
            .unwrap()
            .contains("repositories=acme%2Fapi")
    );
    assert!(html.contains("DevLake"), "cites the benchmark source");
    assert_eq!(count(&html, "select[name=benchmark] option"), 2);
    assert_eq!(
        select_text(&html, "table.cut-offs caption")
            .unwrap()
            .split(" cut-offs")
            .next(),
        Some("DORA 2023")
    );
    let html24 = app
        .get(&format!("/analytics/dora?{WINDOW}&benchmark=2024"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        count(&html24, "select[name=benchmark] option[value='2024'][selected]"),
        1
    );
    assert!(
        html24.contains("Accelerate State of DevOps Report 2024"),
        "cites the 2024 report"
    );
    assert!(
        select_text(&html24, "table.cut-offs").unwrap().contains("20.0 %"),
        "2024's high change failure rate"
    );
    assert!(
        select_attr(&html24, "a.tab[href^='/analytics/prs']", "href")
            .unwrap()
            .contains("benchmark=2024"),
        "the choice stays in the links"
    );

    let prs = app.get(&format!("/analytics/prs?{WINDOW}")).await.text().await.unwrap();
    assert_eq!(
        count(&prs, "#pull-requests tr[data-pr]"),
        4,
        "bots excluded from the list"
    );
    assert_eq!(
        select_attr(&prs, "#stage-coding .metric-value", "data-value").as_deref(),
        Some("3.0 h")
    );
    assert!(count(&prs, "svg[role=img]") >= 3);

    let flow = app
        .get(&format!("/analytics/flow?{WINDOW}&projects=DEV"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        select_attr(&flow, "#cycle-time .metric-value", "data-value").as_deref(),
        Some("36.0 h")
    );
    assert_eq!(count(&flow, "#issues tr[data-issue]"), 2);
    // Drill-downs link out: each issue to its Jira page, each PR to GitHub.
    let link = select_attr(&flow, "#issues tr[data-issue] a", "href").unwrap();
    assert!(link.contains("/browse/DEV-"), "{link}");
    let pr_link = select_attr(&prs, "#pull-requests tr[data-pr] a", "href").unwrap();
    assert!(pr_link.contains("/acme/") && pr_link.contains("/pull/"), "{pr_link}");
    assert_eq!(count(&flow, "#project-table tr[data-group='DEV']"), 1);
    assert_eq!(count(&flow, "#step-table tr[data-step='In Progress']"), 1);
    assert!(flow.contains("3 issues are left out"));
}
db_test!(pages_show_the_numbers_charts_tables_and_drill_downs_to_a_viewer);

async fn missing_data_is_explained_with_where_to_fix_it(db: Db) {
    let app = spawn_app(db).await;
    app.login_viewer().await;
    let html = app.get("/analytics/dora").await.text().await.unwrap();
    assert!(count(&html, "#deployment-frequency .why a[href='/integrations']") == 1);
    // The default flow maps Incident, so what is missing is the deployments.
    assert!(count(&html, "#change-failure-rate .why a[href='/integrations']") == 1);
    let prs = app.get("/analytics/prs").await.text().await.unwrap();
    assert!(count(&prs, ".why a[href='/integrations']") == 1);
    let d = api(&app, "/api/v1/metrics/dora").await;
    assert!(d["deployment_frequency_per_week"].is_null());
    assert!(
        d["deployment_frequency_reason"]
            .as_str()
            .unwrap()
            .contains("deployment source")
    );
    assert!(d["change_failure_rate"].is_null());
    assert!(d["change_lead_time_hours"]["reason"].is_string());
    let f = api(&app, "/api/v1/metrics/flow").await;
    assert!(f["lead_time_hours"]["median"].is_null());
    assert!(f["reason"].as_str().unwrap().contains("Jira"));
}
db_test!(missing_data_is_explained_with_where_to_fix_it);

#[tokio::test]
async fn bad_filters_are_refused_and_anonymous_users_are_not_served() {
    let app = spawn_app(Db::Sqlite).await;
    let anon = app.get("/api/v1/metrics/dora").await;
    assert_eq!(anon.status(), 401);
    let page = app.get("/analytics/dora").await;
    assert_eq!(page.status(), 303);
    app.login_viewer().await;
    assert_eq!(app.get("/analytics/dora?range=7").await.status(), 400);
    assert_eq!(app.get("/analytics/flow?from=soon").await.status(), 400);
    assert_eq!(app.get("/analytics").await.status(), 303);
}

/// What a sync may write: OPS-4, the incident after D6, becomes inactive (the change failure
/// rate goes from 0.75 to 0.5), recorded for the analytics as a sync's writer records it.
async fn retire_ops4(app: &TestApp) {
    let ops4 = entity::jira_issues::Entity::find()
        .filter(entity::jira_issues::Column::Key.eq("OPS-4"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("OPS-4 is seeded");
    pulse_etl::db::analytics::changes::issues_written(&app.db, vec![ops4.id])
        .await
        .unwrap();
    entity::jira_issues::Entity::update_many()
        .col_expr(
            entity::jira_issues::Column::Active,
            sea_orm::sea_query::Expr::value(false),
        )
        .col_expr(
            entity::jira_issues::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now()),
        )
        .filter(entity::jira_issues::Column::Key.eq("OPS-4"))
        .exec(&app.db)
        .await
        .unwrap();
}

async fn dora_page(app: &TestApp) -> String {
    app.get(&format!("/analytics/dora?{WINDOW}"))
        .await
        .text()
        .await
        .unwrap()
}

async fn no_rebuild_while_a_sync_runs(db: Db) {
    use entity::jobs;
    let app = seeded(db).await;
    let before = api(&app, &format!("/api/v1/metrics/dora?{WINDOW}")).await;
    close(&before["change_failure_rate"], 0.75);
    let set_status = |status: &'static str| {
        jobs::Entity::update_many()
            .col_expr(jobs::Column::Status, sea_orm::sea_query::Expr::value(status))
            // A live heartbeat, so the orchestrator does not reap the pretend run.
            .col_expr(
                jobs::Column::HeartbeatAt,
                sea_orm::sea_query::Expr::value(chrono::Utc::now()),
            )
            .filter(jobs::Column::JobType.eq("jira_sync"))
            .exec(&app.db)
    };
    set_status("RUNNING").await.unwrap();
    // A sync marks the data changed when it starts (then writes).
    pulse_etl::db::analytics::sources_changed(&app.db).await.unwrap();
    // The sync writes meanwhile.
    retire_ops4(&app).await;
    let during = api(&app, &format!("/api/v1/metrics/dora?{WINDOW}")).await;
    close(&during["change_failure_rate"], 0.75);
    set_status("FINISHED").await.unwrap();
    // The orchestrator may have picked the pretend run up meanwhile (under a loaded machine it
    // did, and its real run kept a job RUNNING, so the view rightly kept the last build): the
    // rule under test is the view after every sync has ended.
    let started = std::time::Instant::now();
    while jobs::Entity::find()
        .filter(jobs::Column::Status.eq("RUNNING"))
        .one(&app.db)
        .await
        .unwrap()
        .is_some()
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "a job stayed RUNNING"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let after = api(&app, &format!("/api/v1/metrics/dora?{WINDOW}")).await;
    close(&after["change_failure_rate"], 0.5);
}
db_test!(no_rebuild_while_a_sync_runs);

/// While the rows are being rebuilt (after a sync, or for a changed configuration) a view does
/// not wait for it: it answers with the last build and says so; once the rebuild is over the
/// next view has the new numbers.
async fn views_during_a_rebuild_show_the_last_build(db: Db) {
    let app = seeded(db).await;
    let path = format!("/api/v1/metrics/dora?{WINDOW}");
    let before = api(&app, &path).await;
    close(&before["change_failure_rate"], 0.75);
    assert_eq!(before["rebuilding"], false);
    // The data changes as a finished sync leaves it.
    retire_ops4(&app).await;
    pulse_etl::db::analytics::sources_changed(&app.db).await.unwrap();
    let rebuild = app.app_state.analytics.hold_rebuild().await;
    let during = tokio::time::timeout(std::time::Duration::from_secs(5), api(&app, &path))
        .await
        .expect("a view waited for the rebuild");
    close(&during["change_failure_rate"], 0.75);
    assert_eq!(during["rebuilding"], true);
    assert_eq!(during["precomputed_at"], before["precomputed_at"]);
    app.login_viewer().await;
    let page = dora_page(&app).await;
    let notice = crate::helpers::select_text(&page, "#freshness").expect("a notice on the page");
    assert!(notice.contains("being recomputed"), "{notice}");
    drop(rebuild);
    let after = api(&app, &path).await;
    close(&after["change_failure_rate"], 0.5);
    assert_eq!(after["rebuilding"], false);
    let page = dora_page(&app).await;
    assert_eq!(crate::helpers::select_text(&page, "#freshness"), None);
}
db_test!(views_during_a_rebuild_show_the_last_build);

/// The same while the rebuilt rows are being read into memory (right after a sync's rebuild):
/// the view answers with the snapshot it holds, marked as rebuilding and dated by that build.
async fn views_during_a_snapshot_load_show_the_last_build(db: Db) {
    let app = seeded(db).await;
    let path = format!("/api/v1/metrics/dora?{WINDOW}");
    let before = api(&app, &path).await;
    close(&before["change_failure_rate"], 0.75);
    retire_ops4(&app).await;
    pulse_etl::db::analytics::sources_changed(&app.db).await.unwrap();
    let load = app.app_state.analytics.hold_load().await;
    // The view rebuilds the rows itself (nothing else is), then finds a load under way.
    let during = tokio::time::timeout(std::time::Duration::from_secs(5), api(&app, &path))
        .await
        .expect("a view waited for the snapshot load");
    close(&during["change_failure_rate"], 0.75);
    assert_eq!(during["rebuilding"], true);
    assert_eq!(during["precomputed_at"], before["precomputed_at"]);
    drop(load);
    let after = api(&app, &path).await;
    close(&after["change_failure_rate"], 0.5);
    assert_eq!(after["rebuilding"], false);
    assert_ne!(after["precomputed_at"], before["precomputed_at"]);
}
db_test!(views_during_a_snapshot_load_show_the_last_build);
