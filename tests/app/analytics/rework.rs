//! Deployment rework rate, failure signals and incident attribution on hand-built rows.
//!
//! Flow and Jira as in `fixture` (incidents OPS-1 created 03-02 13:00, OPS-2 03-03 12:00, OPS-3
//! 03-05 09:00, OPS-4 03-12 00:00; DEV-1 a story). GitHub: one repository, acme/api, whose
//! production deployments (created → deployed) ship these pull requests:
//!
//! - A 03-02 12:00 → 14:00: P1 "Fix login" from `HOTFIX/login` (rework: hotfix, any case).
//! - B 03-03 10:00 → 11:00: P2 `Revert "Add cache"` linking OPS-1 (rework twice over: revert
//!   and incident, counted once) and P3 linking DEV-1 (a story: not rework).
//! - C 03-05 10:00 → 11:00: P4 "Add cache" (not rework; reverted later by P5).
//! - D 03-06 13:00 → 14:00: P5 `Revert "Add cache"` (rework: revert).
//! - E 03-08 09:00 and F 09:30, both deployed 03-08 10:00:00: P6 ships with E.
//! - G: a failed production deployment, 03-10 09:00 → failed 09:05.
//! - Not shipped (no successful deployment after them): P8 "Add cache" again and P9 reverting it
//!   — P9 undoes P8, not C's P4.
//!
//! Rework: A, B, D of six → 0.5. Incidents: OPS-1 precedes every deployment (attributed to
//! none), OPS-2 and OPS-3 follow B, OPS-4 follows F (E and F deployed at the same second: the
//! one recorded last). Change failure rate with incidents only: B, F → 2 / 6; with reverts
//! also C → 3 / 6; with failed statuses also G, counted as a deployment → 3 / 7; both → 4 / 7.

use chrono::{DateTime, Utc};
use entity::enums::{AuthKind, Flavour, IntegrationKind};
use entity::{deployments, integrations, pr_issue_links, pull_requests, repositories};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};

use super::fixture::{self, WINDOW, t};
use super::{api, close};
use crate::db_test;
use crate::helpers::{Db, TestApp, count, select_attr, select_text, spawn_app};

struct Ids {
    integration: i64,
    deployments: Vec<i64>,
}

async fn deploy(db: &DatabaseConnection, repo: i64, status: &str, created: DateTime<Utc>, at: DateTime<Utc>) -> i64 {
    deployments::ActiveModel {
        repository_id: Set(repo),
        source: Set("deployments".into()),
        external_id: Set(uuid::Uuid::new_v4().to_string()),
        environment: Set(Some("production".into())),
        is_production: Set(true),
        status: Set(status.into()),
        created: Set(created),
        finished_at: Set(Some(at)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

async fn pr(
    db: &DatabaseConnection,
    repo: i64,
    number: i32,
    title: &str,
    head: &str,
    merged: DateTime<Utc>,
    links: &[&str],
) {
    let row = pull_requests::ActiveModel {
        repository_id: Set(repo),
        number: Set(number),
        node_id: Set(format!("PR_{number}")),
        title: Set(title.into()),
        author: Set(Some("ann".into())),
        author_is_bot: Set(false),
        state: Set("MERGED".into()),
        draft: Set(false),
        created: Set(merged - chrono::Duration::hours(2)),
        updated: Set(merged),
        merged_at: Set(Some(merged)),
        closed_at: Set(Some(merged)),
        base_ref: Set("main".into()),
        head_ref: Set(head.into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    for key in links {
        pr_issue_links::ActiveModel {
            pull_request_id: Set(row.id),
            issue_key: Set((*key).into()),
            found_in: Set("title".into()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
}

async fn github(db: &DatabaseConnection) -> Ids {
    let integration = integrations::ActiveModel {
        kind: Set(IntegrationKind::Github),
        name: Set("github rework".into()),
        base_url: Set("https://api.github.com".into()),
        flavour: Set(Flavour::Github),
        auth_kind: Set(AuthKind::Token),
        settings: Set(json!({"repositories": ["acme/api"]})),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    let repo = repositories::ActiveModel {
        integration_id: Set(integration),
        owner: Set("acme".into()),
        name: Set("api".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    let mut ids = Vec::new();
    for (created, at) in [
        (t(2, 12, 0), t(2, 14, 0)),
        (t(3, 10, 0), t(3, 11, 0)),
        (t(5, 10, 0), t(5, 11, 0)),
        (t(6, 13, 0), t(6, 14, 0)),
        (t(8, 9, 0), t(8, 10, 0)),
        (t(8, 9, 30), t(8, 10, 0)),
    ] {
        ids.push(deploy(db, repo, "success", created, at).await);
    }
    ids.push(deploy(db, repo, "failure", t(10, 9, 0), t(10, 9, 5)).await);
    pr(db, repo, 1, "Fix login", "HOTFIX/login", t(2, 9, 0), &[]).await;
    pr(db, repo, 2, "Revert \"Add cache\"", "revert-1", t(3, 9, 0), &["OPS-1"]).await;
    pr(db, repo, 3, "Add search", "feature/search", t(3, 9, 30), &["DEV-1"]).await;
    pr(db, repo, 4, "Add cache", "feature/cache", t(5, 9, 0), &[]).await;
    pr(db, repo, 5, "Revert \"Add cache\"", "revert-cache", t(6, 12, 0), &[]).await;
    pr(db, repo, 6, "Tidy", "feature/tidy", t(8, 8, 0), &[]).await;
    pr(db, repo, 8, "Add cache", "feature/cache-again", t(9, 12, 0), &[]).await;
    pr(
        db,
        repo,
        9,
        "Revert \"Add cache\"",
        "revert-cache-again",
        t(9, 13, 0),
        &[],
    )
    .await;
    Ids {
        integration,
        deployments: ids,
    }
}

async fn seeded(db: Db) -> (TestApp, Ids) {
    let app = spawn_app(db).await;
    let ids = github(&app.db).await;
    fixture::flow_config(&app.db).await;
    fixture::jira(&app.db).await;
    (app, ids)
}

/// Sets the integration's failure signals (as an edit through the API would store them).
async fn signals(app: &TestApp, id: i64, revert: bool, failed_status: bool) {
    let row = integrations::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut settings = row.settings.clone();
    settings["failure_signals"] = json!({"revert": revert, "failed_status": failed_status});
    let mut m = row.into_active_model();
    m.settings = Set(settings);
    m.update(&app.db).await.unwrap();
}

async fn dora(app: &TestApp) -> Value {
    api(app, &format!("/api/v1/metrics/dora?{WINDOW}")).await
}

async fn rework_is_counted_once_per_deployment_for_any_reason(db: Db) {
    let (app, _) = seeded(db).await;
    let d = dora(&app).await;
    assert_eq!(d["deployments"], 6);
    assert_eq!(d["rework_deployments"], 3, "{d}");
    close(&d["deployment_rework_rate"], 0.5);
    assert!(d["deployment_rework_rate_reason"].is_null());
    // Weekly trend: A, B, D of A–D; none of E, F.
    close(&d["trend"][0]["deployment_rework_rate"], 0.75);
    close(&d["trend"][1]["deployment_rework_rate"], 0.0);
    // Nothing deployed in the previous window: null with the reason.
    assert!(d["previous"]["deployment_rework_rate"].is_null());
    assert!(d["previous"]["deployment_rework_rate_reason"].is_string(), "{d}");
    assert_eq!(d["previous"]["rework_deployments"], 0);
}
db_test!(rework_is_counted_once_per_deployment_for_any_reason);

/// The hotfix glob ignores case beyond ASCII too (the page reads candidates in SQL first, whose
/// LOWER and LIKE fold only ASCII on SQLite): with `ümlaut/*`, E's P7 from `ÜMLAUT/fix` is
/// rework and A's `HOTFIX/login` is not any more.
async fn a_hotfix_glob_matches_branches_in_any_case(db: Db) {
    let (app, ids) = seeded(db).await;
    let repo = repositories::Entity::find().one(&app.db).await.unwrap().unwrap().id;
    pr(&app.db, repo, 7, "Umlaut fix", "ÜMLAUT/fix", t(8, 8, 30), &[]).await;
    let row = integrations::Entity::find_by_id(ids.integration)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut settings = row.settings.clone();
    settings["hotfix_branch"] = json!("ümlaut/*");
    let mut m = row.into_active_model();
    m.settings = Set(settings);
    m.update(&app.db).await.unwrap();
    let d = dora(&app).await;
    assert_eq!(d["deployments"], 6);
    assert_eq!(d["rework_deployments"], 3, "B, D and E: {d}");
    // Weekly: B and D of A–D; E of E and F.
    close(&d["trend"][0]["deployment_rework_rate"], 0.5);
    close(&d["trend"][1]["deployment_rework_rate"], 0.5);
}
db_test!(a_hotfix_glob_matches_branches_in_any_case);

async fn failure_signals_are_off_by_default_and_each_adds_its_failures(db: Db) {
    let (app, ids) = seeded(db).await;
    let d = dora(&app).await;
    close(&d["change_failure_rate"], 2.0 / 6.0);
    assert_eq!(d["failed_deployments"], 2);
    assert_eq!(d["failed_status_deployments"], 0);
    signals(&app, ids.integration, true, false).await;
    let d = dora(&app).await;
    close(&d["change_failure_rate"], 3.0 / 6.0);
    assert_eq!(d["deployments"], 6);
    signals(&app, ids.integration, false, true).await;
    let d = dora(&app).await;
    close(&d["change_failure_rate"], 3.0 / 7.0);
    assert_eq!(d["failed_status_deployments"], 1);
    // Deployment frequency stays with successful deployments.
    assert_eq!(d["deployments"], 6);
    signals(&app, ids.integration, true, true).await;
    let d = dora(&app).await;
    close(&d["change_failure_rate"], 4.0 / 7.0);
    assert_eq!(d["failed_deployments"], 4);
    // Rework does not depend on the failure signals.
    assert_eq!(d["rework_deployments"], 3);
    signals(&app, ids.integration, false, false).await;
    close(&dora(&app).await["change_failure_rate"], 2.0 / 6.0);
}
db_test!(failure_signals_are_off_by_default_and_each_adds_its_failures);

async fn the_page_says_what_failed_each_deployment_and_why_it_is_rework(db: Db) {
    let (app, ids) = seeded(db).await;
    signals(&app, ids.integration, true, true).await;
    app.login_viewer().await;
    let html = app
        .get(&format!("/analytics/dora?{WINDOW}"))
        .await
        .text()
        .await
        .unwrap();
    let [a, b, c, d, e, f, g] = ids.deployments[..] else {
        panic!()
    };
    let row = |id: i64| format!("#deployment-{id}");
    assert!(
        select_text(&html, "#deployment-rework-rate").unwrap().contains("50"),
        "the card shows 50 %"
    );
    for (id, failed, rework) in [
        (a, false, true),
        (b, true, true),
        (c, true, false),
        (d, false, true),
        (e, false, false),
        (f, true, false),
        (g, true, false),
    ] {
        assert_eq!(
            select_attr(&html, &row(id), "data-failed").as_deref(),
            Some(if failed { "true" } else { "false" }),
            "deployment {id}"
        );
        assert_eq!(
            select_attr(&html, &row(id), "data-rework").as_deref(),
            Some(if rework { "true" } else { "false" }),
            "deployment {id}"
        );
    }
    // B: one pull request with two reasons, and the incidents that failed it, linked.
    assert_eq!(count(&html, &format!("{} [data-reason]", row(b))), 2);
    assert_eq!(count(&html, &format!("{} [data-reason=incident]", row(b))), 1);
    assert_eq!(count(&html, &format!("{} li.incident a", row(b))), 2);
    assert_eq!(count(&html, &format!("{} [data-reason=hotfix]", row(a))), 1);
    // C: its pull request #4 reverted by #5 (only: #9 reverts the later #8), both linked.
    assert_eq!(count(&html, &format!("{} li.revert", row(c))), 1);
    let reverted = select_text(&html, &format!("{} li.revert", row(c))).unwrap();
    assert!(reverted.contains("#4") && reverted.contains("#5"), "{reverted}");
    assert_eq!(
        select_attr(&html, &format!("{} li.revert a", row(c)), "href").as_deref(),
        Some("https://github.com/acme/api/pull/4")
    );
    assert_eq!(count(&html, &format!("{} li.failed-status", row(g))), 1);
    // Attribution: OPS-1 to none; OPS-4 to F (same second as E, recorded last).
    assert_eq!(count(&html, "#incidents tr[data-incident]"), 4);
    assert_eq!(select_attr(&html, "tr[data-incident=OPS-1]", "data-deployment"), None);
    assert!(
        select_text(&html, "tr[data-incident=OPS-1]")
            .unwrap()
            .contains("before any successful production deployment")
    );
    assert_eq!(
        select_attr(&html, "tr[data-incident=OPS-4]", "data-deployment"),
        Some(f.to_string())
    );
    assert!(
        select_text(&html, "tr[data-incident=OPS-4]")
            .unwrap()
            .contains("same second")
    );
    assert_eq!(
        select_attr(&html, "tr[data-incident=OPS-2]", "data-deployment"),
        Some(b.to_string())
    );
    // The CSV drill-down carries the same.
    let token = app.backend_token("viewer@example.com", "pulse-viewer").await;
    let csv = app
        .client
        .get(app.url(&format!("/api/v1/metrics/dora?{WINDOW}&format=csv")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with("status,reverted_prs,rework,rework_reasons"),
        "{header}"
    );
    assert!(csv.contains("#2: incident OPS-1, revert"), "{csv}");
    assert!(csv.contains("#4 reverted by #5"), "{csv}");
    assert!(csv.contains(",failure,"), "{csv}");
}
db_test!(the_page_says_what_failed_each_deployment_and_why_it_is_rework);
