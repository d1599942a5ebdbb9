use migration::{Migrator, MigratorTrait};

use crate::db_test;
use crate::helpers::{Db, Options, spawn_app, spawn_app_with};

async fn health_and_readiness_need_no_login(db: Db) {
    let app = spawn_app(db).await;
    let res = app.get("/health").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let res = app.get("/health/ready").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"]["status"], "ok");
    assert_eq!(body["migrations"]["status"], "ok");
}
db_test!(health_and_readiness_need_no_login);

async fn readiness_is_503_when_a_migration_is_missing(db: Db) {
    let app = spawn_app(db).await;
    Migrator::down(&app.db, Some(1)).await.expect("roll back one migration");
    let res = app.get("/health/ready").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["migrations"]["pending"], 1);
}
db_test!(readiness_is_503_when_a_migration_is_missing);

async fn readiness_is_503_when_the_database_is_gone(db: Db) {
    let app = spawn_app(db).await;
    app.db.clone().close().await.expect("close pool");
    let res = app.get("/health/ready").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["database"]["status"], "unreachable");
}
db_test!(readiness_is_503_when_the_database_is_gone);

#[tokio::test]
async fn metrics_count_requests_by_route_and_carry_build_info() {
    let app = spawn_app(Db::Sqlite).await;
    assert_eq!(app.get("/health").await.status(), 200);
    assert_eq!(app.get("/").await.status(), 303);
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(text.contains("pulse_build_info{version=\""), "{text}");
    let health_line = text
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total{") && l.contains("route=\"/health\"") && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no /health counter in\n{text}"));
    let n: f64 = health_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1.0);
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "latency histogram"
    );
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_configured() {
    let mut opts = Options::new(Db::Sqlite);
    opts.env.insert("METRICS_TOKEN", "scrape-me".into());
    let app = spawn_app_with(opts).await;
    assert_eq!(app.get("/metrics").await.status(), 401);
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

#[tokio::test]
async fn static_assets_are_embedded_and_cacheable() {
    let app = spawn_app(Db::Sqlite).await;
    let res = app.get("/static/htmx.min.js").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert!(res.text().await.unwrap().contains("2.0.11"));
    assert_eq!(app.get("/static/nope.js").await.status(), 404);
    let res = app.get("/login").await;
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}
