//! Enum-valued columns are typed where they are read: a value none of the enums knows (a hand
//! edit, a newer version's value) is an error, never a silent default.

use sea_orm::ConnectionTrait;

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
