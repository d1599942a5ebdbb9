//! Enum-valued columns are typed where they are read: a value none of the enums knows (a hand
//! edit, a newer version's value) is an error, never a silent default.

use sea_orm::{ConnectionTrait, Statement};

use crate::db_test;
use crate::helpers::{Db, spawn_app};

async fn an_unknown_stored_job_status_is_an_error_not_a_default(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let status = |path: &'static str| {
        let req = app.client.get(app.url(path)).bearer_auth(&token);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status("/api/v1/jobs/status").await, 200);
    app.db
        .execute_unprepared("UPDATE jobs SET status = 'SLEEPING' WHERE job_type = 'jira_sync'")
        .await
        .unwrap();
    let err = pulse_etl::db::jobs::all(&app.db)
        .await
        .expect_err("an unknown status is an error");
    assert!(err.to_string().contains("SLEEPING"), "{err}");
    assert_eq!(status("/api/v1/jobs/status").await, 500, "not shown as NOT_STARTED");
    app.db
        .execute_unprepared("UPDATE flow_steps SET category = 'DOING' WHERE name = 'QA'")
        .await
        .unwrap();
    assert!(
        pulse_etl::db::flow::resolver(&app.db).await.is_err(),
        "not read as TO_DO"
    );
}
db_test!(an_unknown_stored_job_status_is_an_error_not_a_default);

/// A precomputed flow row whose stored timeline or step hours are not what the precompute pass
/// writes (a category no `StepCategory` knows, a timeline that is not a list of entries, step
/// hours that are not hours by step) makes the flow report an error naming the row, not a
/// report over less history.
async fn an_unknown_stored_timeline_category_is_an_error_not_a_shorter_timeline(db: Db) {
    use pulse_etl::analytics::filters::Filters;
    use pulse_etl::analytics::{Cache, flow};
    use pulse_etl::integrations::control::RunContext;

    let app = spawn_app(db).await;
    crate::jira_sync::add_jira(&app, "cloud").await;
    crate::jira_sync::run_sync(&app, &RunContext::detached()).await.unwrap();
    // The precompute pass, in a cache of its own: the service's cache has read nothing yet.
    Cache::default().refresh(&app.db).await.unwrap();
    let today = chrono::Utc::now().date_naive();
    let filters = || Filters::parse("range=365", today).unwrap();
    let good = flow::report(&app.db, &Cache::default(), filters()).await.unwrap();
    assert!(good.current.issues > 0, "issues completed in the window");
    let issue: i64 = scalar(
        &app,
        "SELECT MIN(issue_id) FROM issue_flow_times WHERE timeline IS NOT NULL",
    )
    .await;
    for (column, value, says) in [
        (
            "timeline",
            r#"[[0, null, "TO_DO"], [1000, "QA", "DOING"]]"#,
            "unknown step category",
        ),
        ("timeline", r#"{"entries": []}"#, "is not a list of entries"),
        ("timeline", r#"[[0, 7, "TO_DO"]]"#, "neither a name nor null"),
        (
            "timeline",
            r#"[[0, null]]"#,
            "is not [epoch ms, step name or null, category]",
        ),
        ("step_hours", "[1, 2]", "step hours are not an object"),
    ] {
        let saved: String = scalar(
            &app,
            &format!("SELECT CAST({column} AS TEXT) FROM issue_flow_times WHERE issue_id = {issue}"),
        )
        .await;
        set_json(&app, column, value, issue).await;
        let err = flow::report(&app.db, &Cache::default(), filters())
            .await
            .expect_err("a malformed stored flow row is an error");
        let message = err.to_string();
        assert!(message.contains(says), "{column} = {value}: {message}");
        assert!(message.contains(&format!("issue {issue}")), "names the row: {message}");
        set_json(&app, column, &saved, issue).await;
    }
    let again = flow::report(&app.db, &Cache::default(), filters()).await.unwrap();
    assert_eq!(again.current.issues, good.current.issues, "restored");
    // The service reads the rows for the first time with a bad one: a 500, not a smaller report.
    set_json(&app, "timeline", r#"[[0, null, "DOING"]]"#, issue).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let res = app
        .client
        .get(app.url("/api/v1/metrics/flow?range=365"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 500);
}
db_test!(an_unknown_stored_timeline_category_is_an_error_not_a_shorter_timeline);

async fn scalar<T: sea_orm::TryGetable>(app: &crate::helpers::TestApp, sql: &str) -> T {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .unwrap()
        .expect("a row");
    row.try_get_by_index(0).unwrap()
}

/// Writes `json` (JSON text) into the JSON `column` of `issue`'s flow row.
async fn set_json(app: &crate::helpers::TestApp, column: &str, json: &str, issue: i64) {
    let cast = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "::jsonb",
        _ => "",
    };
    let sql = format!(
        "UPDATE issue_flow_times SET {column} = '{}'{cast} WHERE issue_id = {issue}",
        json.replace('\'', "''")
    );
    app.db.execute_unprepared(&sql).await.unwrap();
}
