//! Abusive requests: oversized bodies, malformed JSON and forms, hostile names from upstream.

use pulse_etl::integrations::control::RunContext;
use pulse_etl::integrations::github;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Db, TestApp, spawn_app};

const TEN_MB: usize = 10 * 1024 * 1024;

fn is_json(res: &reqwest::Response) -> bool {
    res.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

async fn json_error(res: reqwest::Response, what: &str) {
    assert!(is_json(&res), "{what}: JSON error body");
    let body: Value = res.json().await.unwrap();
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: {body}");
}

async fn ten_megabyte_bodies_are_refused_with_413(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let big = "x".repeat(TEN_MB);
    // JSON with a Bearer token.
    let body = json!({"interval_minutes": 30, "padding": big});
    let res = app
        .client
        .put(app.url("/api/v1/orchestrator/settings"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    json_error(res, "bearer JSON").await;

    app.login_admin().await;
    let csrf = app.csrf("/").await;
    // JSON from the page (cookie + header), and a plain form carrying its token in the body.
    let res = app
        .client
        .post(app.url("/api/v1/flow/steps"))
        .header("X-CSRF-Token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    json_error(res, "cookie JSON").await;
    let res = app
        .client
        .post(app.url("/orchestrator/settings"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("interval_minutes", "30"),
            ("padding", &big),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413, "a big form is too large, not a missing CSRF token");
    let res = app
        .client
        .post(app.url("/flow/steps"))
        .header("X-CSRF-Token", &csrf)
        .form(&[("name", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413, "form with the token in the header");
    // The login form, before any session.
    let res = crate::helpers::client()
        .post(app.url("/login"))
        .form(&[("email", "a@b.c"), ("password", &big)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413, "login form");
    // Still serving.
    assert_eq!(app.get("/health").await.status(), 200);
}
db_test!(ten_megabyte_bodies_are_refused_with_413);

/// A body sent in chunks has no `Content-Length` to refuse up front: it is cut off at the limit
/// while it is read, with 413, and the service goes on serving. (Raw HTTP/1.1: the client the
/// other tests use sends a length.)
async fn a_chunked_body_over_the_limit_is_refused_with_413(db: Db) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let host = app.address.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // Read from the start, so the answer is taken in before the service closes the connection.
    let answer = tokio::spawn(async move {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(20), reader.read_to_end(&mut got)).await;
        got
    });
    let head = format!(
        "PUT /api/v1/orchestrator/settings HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let mut sent = head.into_bytes();
    let start = r#"{"interval_minutes": 30, "padding": ""#;
    sent.extend(format!("{:x}\r\n{start}\r\n", start.len()).into_bytes());
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
    let mut written = 0;
    if writer.write_all(&sent).await.is_ok() {
        // 10 MB in 64 KiB chunks, until the service stops reading.
        while written < TEN_MB && writer.write_all(chunk.as_bytes()).await.is_ok() {
            written += 64 * 1024;
        }
        let _ = writer.write_all(b"0\r\n\r\n").await;
    }
    let got = answer.await.unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 413"), "answer after {written} bytes: {text}");
    // Nothing was changed, and the service still answers.
    assert_eq!(app.get("/health").await.status(), 200);
    let (status, settings) = {
        let res = app
            .client
            .get(app.url("/api/v1/orchestrator/settings"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        (res.status(), res.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    assert_ne!(settings["interval_minutes"], 30, "{settings}");
}
db_test!(a_chunked_body_over_the_limit_is_refused_with_413);

async fn post_raw(app: &TestApp, token: &str, path: &str, content_type: &str, body: &'static str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn malformed_json_and_forms_get_4xx_with_a_message(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let json_ct = "application/json";
    for (path, body, want) in [
        ("/api/v1/flow/steps", "{\"name\": ", 400),
        ("/api/v1/flow/steps", "not json at all", 400),
        ("/api/v1/flow/steps", "[1, 2, 3]", 422),
        ("/api/v1/flow/steps", "{\"name\": 5, \"category\": []}", 422),
        ("/api/v1/integrations", "{\"kind\": {\"$ne\": 1}}", 422),
        ("/api/v1/flow/steps/delete", "{\"items\": \"all\"}", 422),
        ("/api/v1/jobs/jira_sync/active", "{\"active\": \"yes please\"}", 422),
    ] {
        let res = post_raw(&app, &token, path, json_ct, body).await;
        assert_eq!(res.status(), want, "{path} {body}");
        json_error(res, body).await;
    }
    let res = post_raw(&app, &token, "/api/v1/flow/steps", "text/plain", "{}").await;
    assert_eq!(res.status(), 415);
    json_error(res, "text/plain").await;

    app.login_admin().await;
    let csrf = app.csrf("/").await;
    for (path, body) in [
        ("/orchestrator/settings", "interval_minutes=%ZZ&csrf_token="),
        ("/flow/steps", "name=%FF%FE&csrf_token="),
        ("/integrations", "kind=jira&name=x&csrf_token="),
    ] {
        let res = app
            .client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("{body}{csrf}"))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(matches!(status, 400 | 422), "{path}: {status}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("<html") || html.contains("form"),
            "{path}: an HTML answer: {html}"
        );
        assert!(html.len() > 50, "{path}: with a message");
    }
}
db_test!(malformed_json_and_forms_get_4xx_with_a_message);

/// An organisation listing that names a repository `..` (GitHub never would) must not send
/// requests up the REST path; the repository is skipped and the rest sync.
async fn hostile_repository_names_from_upstream_are_skipped(db: Db) {
    let app = spawn_app(db).await;
    let sim = app.sim.as_ref().unwrap();
    let renamed = {
        let mut data = sim.state.data_mut();
        let repo = data.github.repos.iter_mut().find(|r| !r.archived).unwrap();
        repo.name = "..".into();
        repo.id
    };
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let res = app
        .client
        .post(app.url("/api/v1/integrations?test=false"))
        .bearer_auth(&token)
        .json(
            &json!({"kind": "github", "name": "GitHub", "flavour": "github", "base_url": sim.urls.github,
                      "secret": "sim-github-token",
                      "settings": {"organization": "acme", "deployment_source": {"kind": "deployments"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let state = app.state();
    let deps = github::sync::Deps {
        db: &state.db,
        vault: &state.vault,
        outbound: state.outbound,
    };
    github::sync::run(&deps, &RunContext::detached())
        .await
        .expect("the sync completes");
    use sea_orm::{EntityTrait, PaginatorTrait};
    let names: Vec<String> = entity::repositories::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(!names.iter().any(|n| n == ".."), "{names:?} (sim repo {renamed})");
    let expected = sim.state.data().github.repos.iter().filter(|r| !r.archived).count() - 1;
    assert_eq!(names.len(), expected, "{names:?}");
    assert!(entity::pull_requests::Entity::find().count(&app.db).await.unwrap() > 0);
}
db_test!(hostile_repository_names_from_upstream_are_skipped);
