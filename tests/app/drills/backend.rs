//! The Backend Service down while a sync runs (DESIGN §5: "Backend unreachable → 503 with a
//! clear page/JSON, never a redirect loop and never 'logged out'").
//!
//! The service reaches the simulated Backend Service through a TCP proxy that the drill cuts,
//! while the simulated Jira stays up. A validation cached less than `AUTH_CACHE_TTL_SECONDS`
//! ago is still trusted (that is what the cache is for); after that every page that needs a
//! login answers 503 (HTML for pages, JSON for the API, no redirect, no `HX-Redirect`), logging
//! in answers 503, public routes answer 200, and the sync started before runs to the end with
//! the simulator's rows. When the backend is back, the same session cookie works again.

use entity::enums::JobStatus;
use std::time::{Duration, Instant};

use pulse_sim::SimOptions;
use pulse_sim::state::SimConfig;
use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;

use super::tcp_proxy::TcpProxy;
use super::{add_integration, jira_body, start_job};
use crate::crash::{Serve, admin_token, job};
use crate::db_test;
use crate::helpers::{Db, client, fresh_database, init, random_key, select_attr};
use crate::jira_sync::assert_matches_sim;

const CACHE_TTL: Duration = Duration::from_secs(2);

async fn the_backend_service_down_gives_503_pages_while_a_started_sync_completes(db: Db) {
    init();
    let began = Instant::now();
    let sim = pulse_sim::server::start(SimOptions::default()).unwrap();
    // Small pages and much latency: the sync (about 50 requests) outlasts the checks below.
    sim.state.set_config(SimConfig {
        latency_ms: 150,
        jira_max_results: 5,
        ..SimConfig::default()
    });
    let sim_addr = sim
        .urls
        .backend
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    let proxy = TcpProxy::start(sim_addr.parse().unwrap());
    let backend_url = format!("http://{}/backend", proxy.addr);
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(db, &dir).await;
    let conn = pulse_etl::db::connect(&database_url).await.unwrap();
    let ttl = CACHE_TTL.as_secs().to_string();
    let serve = Serve::start_with(
        &database_url,
        &random_key(32),
        &sim,
        &[
            ("BACKEND_SERVICE_URL", backend_url.as_str()),
            ("AUTH_CACHE_TTL_SECONDS", ttl.as_str()),
            // Plain HTTP here: the session cookie may go without `Secure`.
            ("DEBUG", "true"),
        ],
    )
    .await;
    let url = |path: &str| format!("{}{path}", serve.base);
    let token = admin_token(&sim).await;

    // A browser logs in through the service (which asks the backend).
    let browser = client();
    let html = browser.get(url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = select_attr(&html, "input[name=csrf_token]", "value").expect("csrf field");
    let res = browser
        .post(url("/login"))
        .form(&[
            ("email", "admin@example.com"),
            ("password", "pulse-admin"),
            ("csrf_token", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login through the backend");

    add_integration(&serve, &token, jira_body(&sim)).await;
    start_job(&serve, &token, "jira_sync").await;
    assert_eq!(browser.get(url("/")).send().await.unwrap().status(), 200);

    proxy.cut();
    let cut = Instant::now();
    // Validated a moment ago: the cached answer is trusted for the TTL.
    let cached = browser.get(url("/")).send().await.unwrap().status();
    let within_ttl = cut.elapsed() < CACHE_TTL;
    tokio::time::sleep(CACHE_TTL + Duration::from_millis(300)).await;

    let page = browser.get(url("/")).send().await.unwrap();
    let page_status = page.status();
    let location = page.headers().get("location").cloned();
    let content_type = page.headers()["content-type"].to_str().unwrap().to_string();
    let page_body = page.text().await.unwrap();
    let fragment = browser.get(url("/")).header("HX-Request", "true").send().await.unwrap();
    let api = browser.get(url("/api/v1/jobs/status")).send().await.unwrap();
    let api_status = api.status();
    let api_body: Value = api.json().await.unwrap();
    let bearer = reqwest::Client::new()
        .get(url("/api/v1/jobs/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    let csrf = select_attr(
        &browser.get(url("/login")).send().await.unwrap().text().await.unwrap(),
        "input[name=csrf_token]",
        "value",
    )
    .expect("the login page is public");
    let login = browser
        .post(url("/login"))
        .form(&[
            ("email", "admin@example.com"),
            ("password", "pulse-admin"),
            ("csrf_token", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap()
        .status();
    let live = browser.get(url("/health")).send().await.unwrap().status();
    let ready = browser.get(url("/health/ready")).send().await.unwrap().status();
    let running = job(&conn, "jira_sync").await;
    let stored = entity::jira_issues::Entity::find().count(&conn).await.unwrap();
    let total = sim.state.data().jira.issues.len() as u64;
    eprintln!(
        "drill backend on {db:?}: backend cut; within the cache TTL {cached}; after it: page {page_status}, \
         htmx {}, API {api_status} (bearer {bearer}), login {login}, /health {live}, /health/ready {ready}; \
         jira_sync {} with {stored} of {total} issues stored",
        fragment.status(),
        running.status,
    );
    if within_ttl {
        assert_eq!(cached, StatusCode::OK, "a validation cached for the TTL is trusted");
    }
    assert_eq!(page_status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(location, None, "never a redirect (to the login page or anywhere)");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page_body.contains("unavailable"), "a clear page: {page_body}");
    assert_eq!(fragment.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        fragment.headers().get("hx-redirect").is_none(),
        "never an htmx redirect"
    );
    assert_eq!(api_status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        api_body["error"].as_str().unwrap_or_default().contains("unavailable"),
        "{api_body}"
    );
    assert_eq!(bearer, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        login,
        StatusCode::SERVICE_UNAVAILABLE,
        "logging in says the backend is down"
    );
    assert_eq!(
        (live, ready),
        (StatusCode::OK, StatusCode::OK),
        "ops routes need no backend"
    );
    assert!(
        running.status == JobStatus::Running && stored < total,
        "the sync outlasts the checks (else make it slower): {} with {stored} of {total} issues",
        running.status
    );

    // The job started before keeps running and completes, the backend still down.
    let started = Instant::now();
    let done = loop {
        let row = job(&conn, "jira_sync").await;
        if row.status != JobStatus::Running {
            break row;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "not finished in 90 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((done.status.as_str(), done.last_error.as_deref()), ("FINISHED", None));
    let down_for = cut.elapsed();
    assert_matches_sim(&sim, &conn).await;
    assert_eq!(
        browser.get(url("/")).send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "still down"
    );

    // Back: the same session works again (it was never logged out).
    proxy.restore();
    let back = Instant::now();
    loop {
        let status = browser.get(url("/")).send().await.unwrap().status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        // A hang guard; how soon the session works again is printed, not judged.
        assert!(
            back.elapsed() < Duration::from_secs(60),
            "hang guard: the session did not work again 60 s after the backend came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "  the sync finished {down_for:.1?} into the backend outage with the simulator's rows; \
         the same session works again {:.1?} after the backend came back; drill took {:.1?}",
        back.elapsed(),
        began.elapsed()
    );
    serve.kill().await;
}
db_test!(the_backend_service_down_gives_503_pages_while_a_started_sync_completes);
