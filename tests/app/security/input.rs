//! Input that used to crash, mislead or slip through: huge page numbers, ids that are not
//! numbers, another job's run, `next=` with control characters, control characters in names,
//! notices from the query string, reversed or impossible dates (the filters' and the forecast's).

use entity::enums::{JobType, RunTrigger};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Db, TestApp, count, location, spawn_app};

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, String, Value) {
    let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, res.json().await.unwrap_or(Value::Null))
}

async fn page_numbers_and_ids_are_checked(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    // A run that exists, so a log page out of bounds cannot pass as "not found".
    let run = pulse_etl::db::runs::start(&app.db, JobType::JiraSync, RunTrigger::Manual)
        .await
        .unwrap()
        .id;
    assert_eq!(
        get(&app, &token, &format!("/api/v1/jobs/jira_sync/runs/{run}/events"))
            .await
            .0,
        200
    );
    for (path, reason) in [
        (
            "/api/v1/jobs/jira_sync/runs?page=461168601842738791".to_string(),
            "page must be",
        ),
        ("/api/v1/jobs/jira_sync/runs?page=100001".to_string(), "page must be"),
        (
            "/api/v1/jobs/jira_sync/runs?page=99999999999999999999999".to_string(),
            "number too large",
        ),
        (
            "/api/v1/jobs/jira_sync/runs?page=-1".to_string(),
            "the query string could not be read",
        ),
        (
            format!("/api/v1/jobs/jira_sync/runs/{run}/events?log_page=461168601842738791"),
            "log_page must be",
        ),
    ] {
        let (status, ct, body) = get(&app, &token, &path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(ct.starts_with("application/json"), "{path}: {ct}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(reason)),
            "{path}: {body}"
        );
    }
    assert_eq!(
        get(&app, &token, "/api/v1/jobs/jira_sync/runs?page=100000").await.0,
        200
    );
    for path in [
        "/api/v1/integrations/abc",
        "/api/v1/flow/steps/1x",
        "/api/v1/jobs/jira_sync/runs/x/events",
    ] {
        let (status, ct, body) = get(&app, &token, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            ct.starts_with("application/json") && body["error"].is_string(),
            "{path}: {ct} {body}"
        );
    }
    app.login_admin().await;
    let res = app.get("/jobs/jira_sync?page=461168601842738791").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("page must be"));
    let res = app
        .get(&format!("/jobs/jira_sync?run={run}&log_page=461168601842738791"))
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("log_page must be"));
}
db_test!(page_numbers_and_ids_are_checked);

/// Reversed, signed or pre-1970 dates are refused with 400 and the reason, on every metrics
/// API and the forecast's history, whatever `range` says.
async fn dates_are_checked_with_the_reason(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let before = "to (2026-01-01) is before from (2026-02-01)";
    let forecast = "/api/v1/metrics/flow/forecast?from=2026-01-01&to=2026-03-31";
    for (path, reason) in [
        ("/api/v1/metrics/dora?from=2026-02-01&to=2026-01-01".to_string(), before),
        (
            "/api/v1/metrics/dora?range=30&from=2026-02-01&to=2026-01-01".to_string(),
            before,
        ),
        (
            "/api/v1/metrics/flow?range=365&from=2026-02-01&to=2026-01-01".to_string(),
            before,
        ),
        (
            "/api/v1/metrics/prs?to=2026-01-01&range=custom&from=2026-02-01".to_string(),
            before,
        ),
        (
            "/api/v1/metrics/flow?from=0000-01-01&to=2026-01-01".to_string(),
            "from must be in 1970 or later, not 0000-01-01",
        ),
        (
            "/api/v1/metrics/prs?from=-0001-01-01&to=2026-01-01".to_string(),
            "from must be a date as YYYY-MM-DD, not \"-0001-01-01\"",
        ),
        (
            format!("{forecast}&history_from=0000-01-01&history_to=0000-03-01"),
            "history_from must be in 1970 or later, not 0000-01-01",
        ),
        (
            format!("{forecast}&history_from=0000-01-01"),
            "history_from must be in 1970 or later, not 0000-01-01",
        ),
        (
            format!("{forecast}&history_from=-0001-01-01&history_to=-0001-03-01"),
            "history_from must be a date as YYYY-MM-DD, not \"-0001-01-01\"",
        ),
        (
            format!("{forecast}&history_to=0000-03-01"),
            "history_to must be in 1970 or later, not 0000-03-01",
        ),
        (
            format!("{forecast}&history_from=2026-03-01&history_to=2026-02-01"),
            "history_to (2026-02-01) is before history_from (2026-03-01)",
        ),
    ] {
        let (status, ct, body) = get(&app, &token, &path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(ct.starts_with("application/json"), "{path}: {ct}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(reason)),
            "{path}: {body} (expected {reason:?})"
        );
    }
    // Dates in order with a preset range: the range wins, as before.
    let (status, _, body) = get(
        &app,
        &token,
        "/api/v1/metrics/dora?range=30&from=2026-01-01&to=2026-02-01",
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
db_test!(dates_are_checked_with_the_reason);

/// A run is served only under its own job: the log of a GitHub run is not found under
/// `jira_sync`, in the API and on the page.
async fn a_run_is_found_only_under_its_own_job(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let run = pulse_etl::db::runs::start(&app.db, JobType::GithubSync, RunTrigger::Manual)
        .await
        .unwrap()
        .id;
    let own = format!("/api/v1/jobs/github_sync/runs/{run}/events");
    assert_eq!(get(&app, &token, &own).await.0, 200);
    let other = format!("/api/v1/jobs/jira_sync/runs/{run}/events");
    assert_eq!(get(&app, &token, &other).await.0, 404);
    app.login_admin().await;
    assert_eq!(app.get(&format!("/jobs/jira_sync?run={run}")).await.status(), 404);
    assert_eq!(app.get(&format!("/jobs/github_sync?run={run}")).await.status(), 200);
}
db_test!(a_run_is_found_only_under_its_own_job);

/// `next=` with tabs, line breaks or backslashes leads to `/`, never off the site or to a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_with_control_characters_goes_home() {
    let app = spawn_app(Db::Sqlite).await;
    for next in [
        "/\t/evil.example",
        "/\r\n/evil.example",
        "/\x0b/evil.example",
        "/\x0c/x",
        "/\\evil.example",
    ] {
        let csrf = app.csrf("/login").await;
        let res = app
            .client
            .post(app.url("/login"))
            .form(&[
                ("email", "admin@example.com"),
                ("password", "pulse-admin"),
                ("csrf_token", &csrf),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{next:?}");
        assert_eq!(location(&res), "/", "{next:?}");
    }
    let res = app.get("/login?next=%2F%09%2Fevil.example").await.text().await.unwrap();
    assert!(res.contains(r#"name="next" value="/""#), "the form carries / instead");
}

/// Names with control characters are refused with 422, in the flow configuration and in
/// integrations; nothing is stored.
async fn names_with_control_characters_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let post = |path: &'static str, body: Value| {
        let req = app.client.post(app.url(path)).bearer_auth(&token).json(&body);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for name in [
        "\u{0}",
        "a\u{0}b",
        "a\nb",
        "tab\there",
        "esc\u{1b}[31m",
        "line\u{2028}sep",
        "para\u{2029}sep",
    ] {
        let (status, body) = post("/api/v1/flow/steps", json!({"name": name, "category": "IN_PROGRESS"})).await;
        assert_eq!(status, 422, "{name:?}: {body}");
        let (status, _) = post(
            "/api/v1/flow/issue-type-mappings",
            json!({"issuetype_from": name, "work_category": "TASK"}),
        )
        .await;
        assert_eq!(status, 422, "{name:?}");
        let (status, _) = post(
            "/api/v1/flow/status-mappings",
            json!({"status_from": name, "flow_step_id": 1}),
        )
        .await;
        assert_eq!(status, 422, "{name:?}");
        let (status, _) = post(
            "/api/v1/integrations?test=false",
            json!({"kind": "github", "name": name, "flavour": "github", "base_url": "https://api.github.com",
                   "secret": "x", "settings": {"organization": "acme"}}),
        )
        .await;
        assert_eq!(status, 422, "{name:?}");
    }
    let (status, _) = post(
        "/api/v1/integrations?test=false",
        json!({"kind": "jira", "name": "J", "flavour": "data_center", "base_url": "https://jira.example.com",
               "secret": "x", "settings": {"projects": ["PAY"], "extra_jql": "labels = x\u{0}"}}),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = post(
        "/api/v1/integrations?test=false",
        json!({"kind": "jira", "name": "J", "flavour": "data_center", "base_url": "https://jira.example.com",
               "secret": "x", "settings": {"projects": ["PAY"], "extra_jql": "labels = x\n  AND priority = High"}}),
    )
    .await;
    assert_eq!(status, 201, "line breaks are fine in JQL");
    let (_, _, steps) = get(&app, &token, "/api/v1/flow/steps").await;
    assert!(!steps.to_string().contains("\\u0000"));
}
db_test!(names_with_control_characters_are_refused);

/// A notice comes only from a change the user made (carried in the session), once; the
/// query string cannot put a sentence on the page.
async fn notices_come_from_the_session_not_the_query(db: Db) {
    let app = spawn_app(db).await;
    app.login_admin().await;
    let page = app
        .get("/flow?done=moved&name=Your+account+is+locked.+Call+555-0100")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("555-0100"), "no notice from the query");
    let page = app
        .get("/integrations?saved=Your+account+is+locked")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("locked"));
    let csrf = app.csrf("/flow").await;
    let res = app
        .client
        .post(app.url("/flow/steps"))
        .form(&[("csrf_token", csrf.as_str()), ("name", "Triage"), ("category", "TO_DO")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/flow");
    let page = app.get("/flow").await.text().await.unwrap();
    assert_eq!(count(&page, "p.notice[role=status]"), 1);
    assert!(page.contains("Added “Triage”."));
    let again = app.get("/flow").await.text().await.unwrap();
    assert!(!again.contains("Added “Triage”."), "shown once");
}
db_test!(notices_come_from_the_session_not_the_query);
