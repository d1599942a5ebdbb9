//! The `/flow` pages: without JavaScript (POST → 303) and with htmx (fragments).

use serde_json::json;

use super::{Api, seed_issues};
use crate::db_test;
use crate::helpers::{Db, TestApp, count, location, select_attr, spawn_app};

async fn form(app: &TestApp, path: &str, fields: &[(&str, &str)], htmx: bool) -> reqwest::Response {
    let csrf = app.csrf("/flow").await;
    let mut body: Vec<(&str, &str)> = vec![("csrf_token", csrf.as_str())];
    body.extend_from_slice(fields);
    let mut req = app.client.post(app.url(path)).form(&body);
    if htmx {
        req = req.header("HX-Request", "true");
    }
    req.send().await.unwrap()
}

async fn hx_get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
}

async fn forms_work_without_javascript(db: Db) {
    let app = spawn_app(db).await;
    app.login_admin().await;
    let res = app.get("/flow").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(count(&html, "#flow-steps tbody tr") >= 8);
    assert!(count(&html, "#status-mappings tbody tr") >= 20);
    assert!(count(&html, "#issue-type-mappings tbody tr") >= 6);
    assert_eq!(
        count(&html, "a.navlink.active[href='/flow']"),
        1,
        "Flow is in the navigation"
    );
    assert_eq!(count(&html, "#unmapped"), 0, "nothing unmapped yet");

    let res = form(
        &app,
        "/flow/steps",
        &[("name", "Deploying"), ("category", "IN_PROGRESS"), ("active", "true")],
        false,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/flow");
    let html = app.get(&location(&res)).await.text().await.unwrap();
    assert_eq!(count(&html, "#flow-steps tr[data-step=Deploying]"), 1);
    assert_eq!(count(&html, "p.notice[role=status]"), 1);
    assert!(html.contains("Added “Deploying”."), "the notice comes with the session");

    // Invalid: 422, the message beside the field, the input kept, nothing saved.
    let res = form(
        &app,
        "/flow/steps",
        &[("name", "DEPLOYING"), ("category", "IN_PROGRESS")],
        false,
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(count(&html, "#new-step-name-error"), 1);
    assert_eq!(
        select_attr(&html, "#new-step-name", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        select_attr(&html, "#new-step-name", "value").as_deref(),
        Some("DEPLOYING")
    );
    assert_eq!(count(&html, "#flow-steps tr[data-step=DEPLOYING]"), 0);

    let res = form(
        &app,
        "/flow/status-mappings",
        &[("status_from", "in progress"), ("flow_step_id", "1")],
        false,
    )
    .await;
    assert_eq!(res.status(), 422, "duplicate status, case-insensitively");
    assert_eq!(count(&res.text().await.unwrap(), "#new-status-status_from-error"), 1);

    // Edit page, then a rename.
    let api = Api::admin(&app).await;
    let id = api.step("Deploying").await;
    let html = app.get(&format!("/flow/steps/{id}/edit")).await.text().await.unwrap();
    assert_eq!(select_attr(&html, "#edit-name", "value").as_deref(), Some("Deploying"));
    let res = form(
        &app,
        &format!("/flow/steps/{id}"),
        &[
            ("name", "Deploy"),
            ("category", "WAITING"),
            ("position", "15"),
            ("active", "true"),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = form(
        &app,
        &format!("/flow/steps/{id}"),
        &[("name", "done"), ("category", "WAITING"), ("active", "true")],
        false,
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(
        count(&html, "dialog.flow-dialog #edit-name-error"),
        1,
        "the edit form shows its error"
    );
    let (_, row) = api.get(&format!("/api/v1/flow/steps/{id}")).await;
    assert_eq!(
        (row["name"].as_str(), row["position"].as_i64()),
        (Some("Deploy"), Some(15))
    );

    // Reorder.
    let res = form(&app, &format!("/flow/steps/{id}/move"), &[("direction", "up")], false).await;
    assert_eq!(res.status(), 303);
    let html = app.get("/flow").await.text().await.unwrap();
    assert_eq!(
        select_attr(&html, "#flow-steps tbody tr:first-child", "data-step").as_deref(),
        Some("Deploy")
    );

    // Delete-and-reassign through the confirmation page.
    seed_issues(
        &app,
        &[
            ("IN REVIEW", "Story", "indeterminate"),
            ("code review", "Bug", "indeterminate"),
        ],
    )
    .await;
    let review = api.step("Code Review").await;
    let doing = api.step("In Progress").await;
    let html = app
        .get(&format!("/flow/steps/{review}/delete"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        select_attr(&html, "[data-impact=status_mappings]", "data-count").as_deref(),
        Some("2")
    );
    assert_eq!(
        select_attr(&html, "[data-impact=issues]", "data-count").as_deref(),
        Some("2")
    );
    assert_eq!(
        count(&html, &format!("#reassign_to option[value='{review}']")),
        0,
        "never itself"
    );
    assert_eq!(count(&html, &format!("#reassign_to option[value='{doing}']")), 1);
    let res = form(
        &app,
        &format!("/flow/steps/{review}/delete"),
        &[("reassign_to", &review.to_string())],
        false,
    )
    .await;
    assert_eq!(res.status(), 422, "itself is refused");
    assert_eq!(count(&res.text().await.unwrap(), "#flow-removal .form-error"), 1);
    let res = form(
        &app,
        &format!("/flow/steps/{review}/delete"),
        &[("reassign_to", &doing.to_string())],
        false,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/flow");
    assert!(app.get("/flow").await.text().await.unwrap().contains("Deleted “"));
    assert_eq!(api.get(&format!("/api/v1/flow/steps/{review}")).await.0, 404);

    // The last DONE step: the dialog explains, and offers no confirmation.
    let done = api.step("Done").await;
    let html = app
        .get(&format!("/flow/steps/{done}/deactivate"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(count(&html, "[data-refused=true]"), 1);
    assert_eq!(count(&html, "#flow-removal form"), 0);
}
db_test!(forms_work_without_javascript);

async fn htmx_gets_fragments_and_dialogs(db: Db) {
    let app = spawn_app(db).await;
    app.login_admin().await;
    let res = hx_get(&app, "/flow").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("vary").unwrap(), "HX-Request");
    let html = res.text().await.unwrap();
    assert!(!html.contains("<html"), "a fragment");
    assert_eq!(count(&html, "#flow-content"), 1);

    let api = Api::admin(&app).await;
    let bug = api.issue_type_mapping("Bug").await;
    let res = hx_get(&app, &format!("/flow/issue-type-mappings/{bug}/deactivate")).await;
    let html = res.text().await.unwrap();
    assert!(
        !html.contains("<html") && !html.contains("flow-steps"),
        "only the dialog"
    );
    assert_eq!(count(&html, "dialog.flow-dialog[open] #flow-removal"), 1);
    assert_eq!(
        select_attr(&html, "#flow-removal form", "hx-target").as_deref(),
        Some("#flow-content")
    );

    let res = form(&app, &format!("/flow/issue-type-mappings/{bug}/deactivate"), &[], true).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(!html.contains("<html"));
    assert_eq!(count(&html, "p.notice[role=status]"), 1);
    assert_eq!(count(&html, &format!("#issue-type-mapping-{bug}.inactive")), 1);
    assert_eq!(count(&html, "dialog"), 0, "the dialog is gone");

    let res = form(
        &app,
        "/flow/issue-type-mappings",
        &[("issuetype_from", "bug"), ("work_category", "BUG")],
        true,
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(count(&html, "#new-type-issuetype_from-error"), 1);
    assert!(!html.contains("<html"));

    let res = form(&app, &format!("/flow/issue-type-mappings/{bug}/active"), &[], true).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        count(
            &res.text().await.unwrap(),
            &format!("#issue-type-mapping-{bug}.inactive")
        ),
        0
    );
}
db_test!(htmx_gets_fragments_and_dialogs);

async fn unmapped_statuses_are_listed_mapped_in_one_click_and_shown_on_the_dashboard(db: Db) {
    let app = spawn_app(db).await;
    app.login_admin().await;
    seed_issues(
        &app,
        &[
            ("Parked", "Story", "indeterminate"),
            ("PARKED", "Story", "indeterminate"),
            ("Done", "Chore", "done"),
        ],
    )
    .await;
    let html = app.get("/").await.text().await.unwrap();
    assert_eq!(
        select_attr(&html, "#flow-unmapped", "href").as_deref(),
        Some("/flow#unmapped")
    );
    assert_eq!(
        select_attr(&html, "#flow-unmapped", "data-statuses").as_deref(),
        Some("1")
    );

    let html = app.get("/flow").await.text().await.unwrap();
    assert_eq!(
        count(&html, "#unmapped-table tr[data-unmapped-status]"),
        1,
        "Parked = PARKED"
    );
    assert_eq!(count(&html, "#unmapped-table tr[data-unmapped-type=Chore]"), 1);
    let api = Api::admin(&app).await;
    let waiting = api.step("Waiting").await;
    let res = form(
        &app,
        "/flow/status-mappings",
        &[
            ("status_from", "Parked"),
            ("flow_step_id", &waiting.to_string()),
            ("active", "true"),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = form(
        &app,
        "/flow/issue-type-mappings",
        &[
            ("issuetype_from", "Chore"),
            ("work_category", "TASK"),
            ("hierarchy_level", "0"),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), 303);
    let html = app.get("/flow").await.text().await.unwrap();
    assert_eq!(count(&html, "#unmapped"), 0);
    assert_eq!(count(&app.get("/").await.text().await.unwrap(), "#flow-unmapped"), 0);
    assert_eq!(api.unmapped().await, json!({"statuses": [], "issue_types": []}));
}
db_test!(unmapped_statuses_are_listed_mapped_in_one_click_and_shown_on_the_dashboard);

async fn viewers_see_the_flow_without_controls(db: Db) {
    let app = spawn_app(db).await;
    let api = Api::admin(&app).await;
    let done = api.step("Done").await;
    app.login_viewer().await;
    let html = app.get("/flow").await.text().await.unwrap();
    assert!(count(&html, "#flow-steps tbody tr") >= 8);
    assert_eq!(count(&html, "td.actions"), 0);
    assert_eq!(count(&html, "form.flow-form"), 0);
    assert_eq!(app.get(&format!("/flow/steps/{done}/delete")).await.status(), 403);
    assert_eq!(app.get(&format!("/flow/steps/{done}/edit")).await.status(), 403);
    let res = form(&app, "/flow/steps", &[("name", "X"), ("category", "DONE")], false).await;
    assert_eq!(res.status(), 403);
    let res = form(&app, &format!("/flow/steps/{done}/delete"), &[], true).await;
    assert_eq!(res.status(), 403);
}
db_test!(viewers_see_the_flow_without_controls);
