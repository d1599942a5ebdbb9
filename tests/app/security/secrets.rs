//! A stored secret is only sent to the address it was saved for; private addresses are refused
//! when an integration is saved, tested or not.

use std::sync::{Arc, Mutex};

use pulse_etl::integrations::control::RunContext;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::db_test;
use crate::helpers::{Db, Options, TestApp, select_text, spawn_app, spawn_app_with};

/// A TCP listener on loopback that keeps every byte it is sent.
async fn listener() -> (String, Arc<Mutex<Vec<u8>>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    keep.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
    });
    (url, seen)
}

/// A loopback HTTP server that answers every request with `answer` and closes the connection,
/// keeping every byte it is sent.
async fn answering(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> (String, Arc<Mutex<Vec<u8>>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let (keep, answer) = (keep.clone(), answer.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                keep.lock().unwrap().extend_from_slice(&head);
                let _ = s.write_all(answer(&String::from_utf8_lossy(&head)).as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (url, seen)
}

fn seen_text(seen: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&seen.lock().unwrap()).into_owned()
}

async fn send(token: &str, req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.bearer_auth(token).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn create(app: &TestApp, token: &str, body: Value) -> i64 {
    let (status, saved) = send(token, app.client.post(app.url("/api/v1/integrations")).json(&body)).await;
    assert_eq!(status, 201, "{saved}");
    saved["id"].as_i64().unwrap()
}

async fn a_stored_secret_is_never_sent_to_a_new_address(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let sim = app.sim.as_ref().unwrap().urls.clone();
    let project = app.sim.as_ref().unwrap().state.data().jira.projects[0].key.clone();
    let github = create(
        &app,
        &token,
        json!({"kind": "github", "name": "G", "flavour": "github", "base_url": sim.github,
               "secret": "sim-github-token", "settings": {"organization": "acme"}}),
    )
    .await;
    let jira = create(
        &app,
        &token,
        json!({"kind": "jira", "name": "J", "flavour": "cloud", "base_url": sim.jira_cloud,
               "username": "sim@example.com", "secret": "sim-token", "settings": {"projects": [project]}}),
    )
    .await;
    let (elsewhere, seen) = listener().await;
    for (id, query) in [(github, ""), (github, "?test=false"), (jira, ""), (jira, "?test=false")] {
        let path = format!("/api/v1/integrations/{id}{query}");
        let (status, answer) = send(
            &token,
            app.client.put(app.url(&path)).json(&json!({
                "name": if id == github { "G" } else { "J" },
                "flavour": if id == github { "github" } else { "cloud" },
                "base_url": elsewhere, "username": "sim@example.com",
                "settings": if id == github { json!({"organization": "acme"}) } else { json!({"projects": [project]}) },
            })),
        )
        .await;
        assert_eq!(status, 422, "{path}: {answer}");
        assert_eq!(answer["fields"][0]["field"], "secret", "{answer}");
    }
    // The stored test of a saved integration still goes to its own address only.
    let (status, _) = send(
        &token,
        app.client.post(app.url(&format!("/api/v1/integrations/{github}/test"))),
    )
    .await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let got = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(got.is_empty(), "the new address was sent: {got}");
    // Nothing changed, and a path change on the same server keeps the stored secret.
    let (_, row) = send(
        &token,
        app.client.get(app.url(&format!("/api/v1/integrations/{github}"))),
    )
    .await;
    assert_eq!(row["base_url"], sim.github);
    let moved_path = format!("{}/", sim.github.trim_end_matches('/'));
    let (status, answer) = send(
        &token,
        app.client.put(app.url(&format!("/api/v1/integrations/{github}"))).json(
            &json!({"name": "G", "flavour": "github", "base_url": moved_path, "settings": {"organization": "acme"}}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    // With the secret typed again, the new address is tested with it (and refused: no GitHub).
    let (status, answer) = send(
        &token,
        app.client.put(app.url(&format!("/api/v1/integrations/{github}"))).json(
            &json!({"name": "G", "flavour": "github", "base_url": elsewhere, "secret": "typed-again",
                          "settings": {"organization": "acme"}}),
        ),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    let got = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(!got.contains("sim-github-token"), "{got}");
}
db_test!(a_stored_secret_is_never_sent_to_a_new_address);

/// The reason given for a refused address, with the setting that would allow it.
const REFUSED: &str = "set ALLOW_PRIVATE_INTEGRATION_HOSTS=true to permit private hosts";

/// With `ALLOW_PRIVATE_INTEGRATION_HOSTS` unset, private and loopback addresses are refused
/// when saving without a test too, through the API and the form, IP literals and names alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_when_saved_without_a_test() {
    let mut opts = Options::new(Db::Sqlite);
    opts.env.insert("ALLOW_PRIVATE_INTEGRATION_HOSTS", "false".into());
    let app = spawn_app_with(opts).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    for url in [
        "http://127.0.0.1:9/",
        "http://169.254.169.254/latest/",
        "http://localhost:9/",
        "http://[::1]:9/",
        "http://[::127.0.0.1]/",
        "http://[::ffff:0:127.0.0.1]/",
        "http://[2002:7f00:1::1]/",
        "http://[fec0::1]/",
    ] {
        let body = json!({"kind": "github", "name": "G", "flavour": "github", "base_url": url,
                          "secret": "x", "settings": {"organization": "acme"}});
        let (status, answer) = send(
            &token,
            app.client.post(app.url("/api/v1/integrations?test=false")).json(&body),
        )
        .await;
        assert_eq!(status, 422, "{url}: {answer}");
        assert_eq!(answer["fields"][0]["field"], "base_url", "{url}: {answer}");
        let message = answer["fields"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("the address is not allowed: ") && message.contains(REFUSED),
            "{url}: {answer}"
        );
    }
    // The form's "Save without testing" too.
    app.login_admin().await;
    let csrf = app.csrf("/integrations/new").await;
    let res = app
        .client
        .post(app.url("/integrations"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("kind", "github"),
            ("name", "G"),
            ("flavour", "github"),
            ("base_url", "http://localhost:9/"),
            ("secret", "x"),
            ("organization", "acme"),
            ("deployment_kind", "merges"),
            ("skip_test", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    let error = select_text(&page, "#base_url-error");
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("the address is not allowed: localhost (") && e.contains(REFUSED)),
        "the form says why: {error:?}"
    );
    let (_, list) = send(&token, app.client.get(app.url("/api/v1/integrations"))).await;
    assert_eq!(list["integrations"].as_array().unwrap().len(), 0);
}

/// GitLab's token travels in `PRIVATE-TOKEN`, which reqwest does not drop on a redirect to
/// another server: a saved GitLab that answers 302 to another address (here the same host on
/// another port) must not pass the token on, neither in the stored connection test nor in a
/// sync. Redirects that leave the saved scheme, host and port are not followed at all.
async fn a_gitlab_token_never_follows_a_redirect_to_another_origin(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let (elsewhere, seen_elsewhere) = answering(|_| {
        let body = r#"{"message":"401 Unauthorized"}"#;
        format!(
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
    })
    .await;
    let (saved, seen_saved) = answering(move |head| {
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        format!("HTTP/1.1 302 Found\r\nLocation: {elsewhere}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    })
    .await;
    // Saved without a test; the test the API would make goes through the redirect too.
    let (status, saved) = send(
        &token,
        app.client.post(app.url("/api/v1/integrations?test=false")).json(
            &json!({"kind": "gitlab", "name": "GL", "flavour": "self_managed", "base_url": saved,
                    "secret": "glpat-never-elsewhere", "settings": {"group": "acme"}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{saved}");
    let id = saved["id"].as_i64().unwrap();
    let (status, report) = send(
        &token,
        app.client.post(app.url(&format!("/api/v1/integrations/{id}/test"))),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["test"]["ok"], false, "{report}");
    let state = app.state();
    let deps = pulse_etl::integrations::github::sync::Deps {
        db: &state.db,
        vault: &state.vault,
        outbound: state.outbound,
    };
    let synced = pulse_etl::integrations::github::sync::run(&deps, &RunContext::detached()).await;
    let why = synced
        .expect_err("the sync cannot succeed against a redirect")
        .to_string();
    assert!(why.contains("302"), "the redirect is the failure: {why}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let asked = seen_text(&seen_saved).to_ascii_lowercase();
    assert!(
        asked.contains("private-token: glpat-never-elsewhere"),
        "the saved address was asked with the token: {asked}"
    );
    let got = seen_text(&seen_elsewhere);
    assert!(!got.to_ascii_lowercase().contains("private-token"), "{got}");
    assert!(!got.contains("glpat-never-elsewhere"), "{got}");
    assert!(got.is_empty(), "a redirect to another origin is not followed: {got}");
}
db_test!(a_gitlab_token_never_follows_a_redirect_to_another_origin);

/// The edit form (`POST /integrations/{id}`) with a new scheme, host or port and no secret is
/// refused like the API, tested or not, and the new address hears nothing.
async fn the_edit_form_needs_the_secret_again_for_a_new_address(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    let sim = app.sim.as_ref().unwrap().urls.clone();
    let github = create(
        &app,
        &token,
        json!({"kind": "github", "name": "G", "flavour": "github", "base_url": sim.github,
               "secret": "sim-github-token", "settings": {"organization": "acme"}}),
    )
    .await;
    let (elsewhere, seen) = listener().await;
    app.login_admin().await;
    for skip_test in [false, true] {
        let edit = format!("/integrations/{github}/edit");
        let csrf = app.csrf(&edit).await;
        let mut form = vec![
            ("csrf_token", csrf.as_str()),
            ("name", "G"),
            ("flavour", "github"),
            ("base_url", elsewhere.as_str()),
            ("secret", ""),
            ("organization", "acme"),
            ("deployment_kind", "merges"),
            ("active", "on"),
        ];
        if skip_test {
            form.push(("skip_test", "on"));
        }
        let res = app
            .client
            .post(app.url(&format!("/integrations/{github}")))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "skip_test={skip_test}");
        let page = res.text().await.unwrap();
        let error = select_text(&page, "#secret-error");
        assert!(
            error.as_deref().is_some_and(|e| e.contains("enter the secret again")),
            "skip_test={skip_test}: {error:?}"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let got = seen_text(&seen);
    assert!(got.is_empty(), "the new address was sent: {got}");
    let (_, row) = send(
        &token,
        app.client.get(app.url(&format!("/api/v1/integrations/{github}"))),
    )
    .await;
    assert_eq!(row["base_url"], sim.github, "nothing was saved");
}
db_test!(the_edit_form_needs_the_secret_again_for_a_new_address);
