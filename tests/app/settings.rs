use crate::db_test;
use crate::helpers::{Db, count, select_attr, spawn_app};

async fn an_admin_changes_the_schedule_through_the_form(db: Db) {
    let app = spawn_app(db).await;
    app.login_admin().await;
    let csrf = app.csrf("/").await;
    let res = app
        .client
        .post(app.url("/orchestrator/settings"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("interval_minutes", "90"),
            ("retry_enabled", "true"),
            ("retry_interval_minutes", "20"),
            ("max_retry_attempts", "4"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let body: serde_json::Value = app.get("/api/v1/orchestrator/settings").await.json().await.unwrap();
    assert_eq!(body["interval_minutes"], 90);
    assert_eq!(body["enabled"], false, "an unticked box means disabled");
    assert_eq!(body["retry_interval_minutes"], 20);
    assert_eq!(body["max_retry_attempts"], 4);
}
db_test!(an_admin_changes_the_schedule_through_the_form);

async fn invalid_settings_are_shown_next_to_the_fields_and_not_saved(db: Db) {
    let app = spawn_app(db).await;
    app.login_admin().await;
    let csrf = app.csrf("/").await;
    let res = app
        .client
        .post(app.url("/orchestrator/settings"))
        .header("HX-Request", "true")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("interval_minutes", "0"),
            ("retry_interval_minutes", "abc"),
            ("max_retry_attempts", "3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(count(&html, "#interval_minutes-error"), 1);
    assert_eq!(count(&html, "#retry_interval_minutes-error"), 1);
    assert_eq!(count(&html, "#max_retry_attempts-error"), 0);
    assert_eq!(
        select_attr(&html, "#interval_minutes", "aria-invalid").as_deref(),
        Some("true")
    );
    let body: serde_json::Value = app.get("/api/v1/orchestrator/settings").await.json().await.unwrap();
    assert_eq!(body["interval_minutes"], 60, "nothing saved");

    let res = app
        .client
        .put(app.url("/api/v1/orchestrator/settings"))
        .header("X-CSRF-Token", &csrf)
        .json(&serde_json::json!({"interval_minutes": 60, "enabled": true, "retry_enabled": true, "retry_interval_minutes": 45, "max_retry_attempts": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["fields"][0]["field"], "retry_interval_minutes");

    let res = app
        .client
        .put(app.url("/api/v1/orchestrator/settings"))
        .header("X-CSRF-Token", &csrf)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<serde_json::Value>().await.unwrap()["error"].is_string());
}
db_test!(invalid_settings_are_shown_next_to_the_fields_and_not_saved);

async fn the_dashboard_fragment_is_served_to_htmx(db: Db) {
    let app = spawn_app(db).await;
    app.login_viewer().await;
    let res = app
        .client
        .get(app.url("/"))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(!html.contains("<html"), "a fragment, not a page");
    assert_eq!(count(&html, "#dashboard-live [data-job]"), 2);
    let boosted = app
        .client
        .get(app.url("/"))
        .header("HX-Request", "true")
        .header("HX-Boosted", "true")
        .send()
        .await
        .unwrap();
    assert!(
        boosted.text().await.unwrap().contains("<html"),
        "boosted navigation gets the page"
    );
}
db_test!(the_dashboard_fragment_is_served_to_htmx);
