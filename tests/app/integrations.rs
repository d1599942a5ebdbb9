//! Integrations: the vault never leaks, connection tests speak to the simulators, SSRF guard,
//! validation, guarded deletion, key rotation.

use std::process::Command;

use entity::{integrations, jira_issues, jira_projects};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, Set, Statement};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Db, Options, TestApp, count, location, select_attr, spawn_app, spawn_app_with};
use pulse_etl::domain::integration::glob_match;

const JIRA_SECRET: &str = "sim-token";
const GITHUB_SECRET: &str = "sim-github-token";

async fn admin(app: &TestApp) -> String {
    app.backend_token("admin@example.com", "pulse-admin").await
}

fn sim_project(app: &TestApp) -> String {
    let sim = app.sim.as_ref().unwrap();
    sim.state
        .data()
        .jira
        .projects
        .first()
        .expect("the simulator has projects")
        .key
        .clone()
}

fn sim_repo(app: &TestApp) -> String {
    let sim = app.sim.as_ref().unwrap();
    let data = sim.state.data();
    let r = data
        .github
        .repos
        .iter()
        .find(|r| !r.archived)
        .expect("the simulator has repositories");
    format!("{}/{}", r.owner, r.name)
}

fn jira_cloud(app: &TestApp, name: &str) -> Value {
    json!({
        "kind": "jira", "name": name, "flavour": "cloud",
        "base_url": app.sim.as_ref().unwrap().urls.jira_cloud,
        "username": "sim@example.com", "secret": JIRA_SECRET,
        "settings": {"projects": [sim_project(app)]}
    })
}

fn github(app: &TestApp, name: &str) -> Value {
    json!({
        "kind": "github", "name": name, "flavour": "github",
        "base_url": app.sim.as_ref().unwrap().urls.github,
        "secret": GITHUB_SECRET,
        "settings": {"repositories": [sim_repo(app)], "organization": "acme",
                     "deployment_source": {"kind": "deployments", "pattern": "production"}}
    })
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn integrations_in_db(app: &TestApp) -> u64 {
    integrations::Entity::find().count(&app.db).await.unwrap()
}

async fn connection_tests_pass_against_the_simulators_for_every_flavour(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    let sim = app.sim.as_ref().unwrap();
    let dc = json!({
        "kind": "jira", "name": "DC", "flavour": "data_center", "base_url": sim.urls.jira_dc,
        "secret": "sim-pat", "settings": {"projects": [sim_project(&app)]}
    });
    let ghe = json!({
        "kind": "github", "name": "GHE", "flavour": "enterprise", "base_url": sim.urls.github_enterprise,
        "secret": GITHUB_SECRET, "settings": {"repositories": [sim_repo(&app)]}
    });
    for body in [jira_cloud(&app, "Cloud"), dc, github(&app, "Hub"), ghe] {
        let (status, saved) = post(&app, &token, "/api/v1/integrations", &body).await;
        assert_eq!(status, 201, "{body} → {saved}");
        assert_eq!(saved["test"]["ok"], true, "{saved}");
        assert_eq!(saved["last_test_ok"], true);
        assert_eq!(saved["has_secret"], true);
        assert!(saved.get("secret").is_none());
    }
    let (_, list) = get_json(&app, &token, "/api/v1/integrations").await;
    let summary: Vec<String> = list["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["last_test_message"].as_str().unwrap().to_string())
        .collect();
    assert!(summary.iter().any(|m| m.contains("Jira Cloud detected")), "{summary:?}");
    assert!(
        summary.iter().any(|m| m.contains("Jira Data Center detected")),
        "{summary:?}"
    );
    assert!(
        summary.iter().any(|m| m.contains("Rate limiting is disabled")),
        "GHE answers 404 on /rate_limit: {summary:?}"
    );
}
db_test!(connection_tests_pass_against_the_simulators_for_every_flavour);

async fn get_json(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn failing_connection_tests_say_what_is_wrong_and_save_nothing(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    let mut wrong_token = jira_cloud(&app, "J");
    wrong_token["secret"] = json!("not-the-token");
    let mut missing_project = jira_cloud(&app, "J");
    missing_project["settings"]["projects"] = json!(["NOPE"]);
    let mut wrong_flavour = jira_cloud(&app, "J");
    wrong_flavour["flavour"] = json!("data_center");
    wrong_flavour["secret"] = json!("sim-pat");
    wrong_flavour["base_url"] = json!(app.sim.as_ref().unwrap().urls.jira_dc);
    wrong_flavour["flavour"] = json!("cloud");
    let mut missing_repo = github(&app, "G");
    missing_repo["settings"]["repositories"] = json!(["acme/does-not-exist"]);
    let mut bad_github_token = github(&app, "G");
    bad_github_token["secret"] = json!("ghp_wrong");
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut unreachable = github(&app, "G");
    unreachable["base_url"] = json!(format!("http://127.0.0.1:{closed_port}"));
    let mut not_jira = jira_cloud(&app, "J");
    not_jira["base_url"] = json!(format!("{}/somewhere", app.sim.as_ref().unwrap().urls.admin));
    let cases = [
        (wrong_token, "401"),
        (missing_project, "NOPE was not found"),
        (wrong_flavour, "Data Center"),
        (missing_repo, "acme/does-not-exist was not found"),
        (bad_github_token, "401"),
        (unreachable, "could not connect"),
        (not_jira, "No Jira REST API answered"),
    ];
    for (body, expected) in cases {
        let (status, answer) = post(&app, &token, "/api/v1/integrations", &body).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["test"]["ok"], false);
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.to_lowercase().contains(&expected.to_lowercase()),
            "expected {expected:?} in {error:?}"
        );
    }
    assert_eq!(integrations_in_db(&app).await, 0, "nothing saved");
    let mut skip = jira_cloud(&app, "Saved untested");
    skip["secret"] = json!("not-the-token");
    let (status, saved) = post(&app, &token, "/api/v1/integrations?test=false", &skip).await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["last_test_ok"], Value::Null);
}
db_test!(failing_connection_tests_say_what_is_wrong_and_save_nothing);

#[tokio::test]
async fn a_hung_upstream_times_out_with_a_clear_message() {
    let app = spawn_app(Db::Sqlite).await;
    let token = admin(&app).await;
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(sock);
        }
    });
    let mut body = github(&app, "Slow");
    body["base_url"] = json!(format!("http://127.0.0.1:{port}"));
    // A hang guard: the test's integration timeout is 3 s.
    let (status, answer) = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        post(&app, &token, "/api/v1/integrations", &body),
    )
    .await
    .expect("hang guard: the connection test to a hung upstream did not end in 60 s");
    assert_eq!(status, 422, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("timed out"), "{answer}");
    assert_eq!(answer["test"]["ok"], false, "{answer}");
    assert!(
        accepted.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the test reached the hung upstream (it timed out waiting there, not connecting)"
    );
    assert_eq!(integrations_in_db(&app).await, 0, "nothing saved");
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let mut opts = Options::new(Db::Sqlite);
    opts.env.insert("ALLOW_PRIVATE_INTEGRATION_HOSTS", "false".into());
    let app = spawn_app_with(opts).await;
    let token = admin(&app).await;
    let sim_port = app
        .sim
        .as_ref()
        .unwrap()
        .urls
        .github
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    for url in [
        format!("http://127.0.0.1:{sim_port}/github"),
        format!("http://localhost:{sim_port}/github"),
        "http://10.0.0.7/".to_string(),
        "http://169.254.169.254/latest/".to_string(),
        format!("http://[::1]:{sim_port}/github"),
        "http://[::ffff:127.0.0.1]/".to_string(),
    ] {
        let mut body = github(&app, "G");
        body["base_url"] = json!(url);
        let (status, answer) = post(&app, &token, "/api/v1/integrations", &body).await;
        assert_eq!(status, 422, "{url}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("not allowed"),
            "{url}: {answer}"
        );
    }
    assert_eq!(integrations_in_db(&app).await, 0);
}

async fn validation_errors_name_their_fields_and_save_nothing(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    let (status, _) = post(
        &app,
        &token,
        "/api/v1/integrations?test=false",
        &jira_cloud(&app, "Acme Jira"),
    )
    .await;
    assert_eq!(status, 201);
    let cases = [
        (json!({"base_url": "not a url"}), "base_url"),
        (json!({"base_url": "ftp://jira.example.com"}), "base_url"),
        (json!({"name": "  "}), "name"),
        (json!({"name": "ACME JIRA"}), "name"),
        (json!({"settings": {"projects": []}}), "projects"),
        (json!({"username": null}), "username"),
    ];
    for (patch, field) in cases {
        let mut body = jira_cloud(&app, "Other");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = post(&app, &token, "/api/v1/integrations?test=false", &body).await;
        assert_eq!(status, 422, "{patch}");
        assert_eq!(answer["fields"][0]["field"], field, "{patch}: {answer}");
    }
    let res = app
        .client
        .post(app.url("/api/v1/integrations"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(integrations_in_db(&app).await, 1);

    // The page form shows the messages next to the fields.
    app.login_admin().await;
    let csrf = app.csrf("/integrations/new?kind=jira").await;
    let res = app
        .client
        .post(app.url("/integrations"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("kind", "jira"),
            ("name", "acme jira"),
            ("flavour", "cloud"),
            ("base_url", "nope"),
            ("username", "x@y.z"),
            ("secret", "s"),
            ("projects", "PAY"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(count(&html, "#base_url-error"), 1);
    assert_eq!(select_attr(&html, "#base_url", "aria-invalid").as_deref(), Some("true"));
    assert_eq!(
        select_attr(&html, "#name", "value").as_deref(),
        Some("acme jira"),
        "input kept"
    );
    assert_eq!(integrations_in_db(&app).await, 1);
}
db_test!(validation_errors_name_their_fields_and_save_nothing);

async fn secrets_never_leave_the_vault(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    let jira_secret = "jira-PLAINTEXT-4f1c9e";
    let gh_secret = "ghp_PLAINTEXT_77ab31";
    let mut a = jira_cloud(&app, "A");
    a["secret"] = json!(jira_secret);
    let mut b = github(&app, "B");
    b["secret"] = json!(gh_secret);
    for body in [&a, &b] {
        let (status, answer) = post(&app, &token, "/api/v1/integrations?test=false", body).await;
        assert_eq!(status, 201);
        assert!(!answer.to_string().contains("PLAINTEXT"));
    }
    let ids: Vec<i64> = integrations::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    app.login_admin().await;
    let mut pages = vec!["/integrations".to_string(), "/api/v1/integrations".to_string()];
    for id in &ids {
        pages.push(format!("/integrations/{id}/edit"));
        pages.push(format!("/api/v1/integrations/{id}"));
        pages.push(format!("/integrations/{id}/delete"));
    }
    for p in &pages {
        let body = app.get(p).await.text().await.unwrap();
        assert!(!body.contains("PLAINTEXT"), "{p} shows a secret");
    }
    // Not in the stored bytes either.
    match db {
        Db::Sqlite => {
            let _ = app.db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await;
            for entry in std::fs::read_dir(&app.dir).unwrap() {
                let bytes = std::fs::read(entry.unwrap().path()).unwrap();
                assert!(
                    !bytes.windows(9).any(|w| w == b"PLAINTEXT"),
                    "plaintext in the SQLite files"
                );
            }
        }
        Db::Postgres => {
            let rows = app
                .db
                .query_all_raw(Statement::from_string(
                    app.db.get_database_backend(),
                    "SELECT row_to_json(i)::text AS t FROM integrations i",
                ))
                .await
                .unwrap();
            assert_eq!(rows.len(), 2);
            for r in rows {
                let text: String = r.try_get("", "t").unwrap();
                assert!(!text.contains("PLAINTEXT"), "plaintext in PostgreSQL: {text}");
            }
        }
    }
}
db_test!(secrets_never_leave_the_vault);

async fn an_edit_with_a_blank_secret_keeps_the_stored_one(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    let (_, saved) = post(&app, &token, "/api/v1/integrations", &jira_cloud(&app, "J")).await;
    let id = saved["id"].as_i64().unwrap();
    app.login_admin().await;
    let html = app.get(&format!("/integrations/{id}/edit")).await.text().await.unwrap();
    assert_eq!(
        select_attr(&html, "#secret", "value").as_deref(),
        Some(""),
        "the secret is never sent back"
    );
    let csrf = select_attr(&html, "input[name=csrf_token]", "value").unwrap();
    let project = sim_project(&app);
    let res = app
        .client
        .post(app.url(&format!("/integrations/{id}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "J renamed"),
            ("flavour", "cloud"),
            ("base_url", app.sim.as_ref().unwrap().urls.jira_cloud.as_str()),
            ("username", "sim@example.com"),
            ("secret", ""),
            ("projects", project.as_str()),
            ("active", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    // The stored secret still works: the connection test passes with it.
    let (status, tested) = post(&app, &token, &format!("/api/v1/integrations/{id}/test"), &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(tested["test"]["ok"], true, "{tested}");
    assert_eq!(tested["integration"]["name"], "J renamed");
}
db_test!(an_edit_with_a_blank_secret_keeps_the_stored_one);

async fn deleting_an_integration_with_data_shows_the_impact_first(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    let (_, saved) = post(&app, &token, "/api/v1/integrations?test=false", &jira_cloud(&app, "J")).await;
    let id = saved["id"].as_i64().unwrap();
    let now = chrono::Utc::now();
    let project = jira_projects::ActiveModel {
        integration_id: Set(id),
        external_id: Set("1".into()),
        key: Set("PAY".into()),
        name: Set("Payments".into()),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    for n in 1..=3 {
        let issue = jira_issues::ActiveModel {
            integration_id: Set(id),
            project_id: Set(project.id),
            external_id: Set(format!("{n}")),
            key: Set(format!("PAY-{n}")),
            issue_type_name: Set("Story".into()),
            status_name: Set("Done".into()),
            status_category_key: Set("done".into()),
            summary: Set("s".into()),
            created: Set(now),
            updated: Set(now),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
        entity::jira_status_transitions::ActiveModel {
            issue_id: Set(issue.id),
            changelog_id: Set(format!("{n}00")),
            item_index: Set(0),
            to_status: Set("Done".into()),
            at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/integrations/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["impact"]["jira_issues"], 3);
    assert_eq!(
        jira_issues::Entity::find().count(&app.db).await.unwrap(),
        3,
        "nothing deleted yet"
    );

    app.login_admin().await;
    let html = app
        .get(&format!("/integrations/{id}/delete"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(count(&html, "[data-count=jira_issues]"), 1);
    assert_eq!(count(&html, "form[action$='/active']"), 1, "deactivation is offered");
    let csrf = select_attr(&html, "input[name=csrf_token]", "value").unwrap();
    let res = app
        .client
        .post(app.url(&format!("/integrations/{id}/delete")))
        .form(&[("csrf_token", csrf.as_str()), ("confirm", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/integrations");
    assert_eq!(integrations_in_db(&app).await, 0);
    assert_eq!(
        jira_issues::Entity::find().count(&app.db).await.unwrap(),
        0,
        "its data went with it"
    );
    assert_eq!(jira_projects::Entity::find().count(&app.db).await.unwrap(), 0);
    assert_eq!(
        entity::jira_status_transitions::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0,
        "the status history went too"
    );
}
db_test!(deleting_an_integration_with_data_shows_the_impact_first);

async fn viewers_read_but_cannot_change_integrations(db: Db) {
    let app = spawn_app(db).await;
    let admin_token = admin(&app).await;
    let (_, saved) = post(
        &app,
        &admin_token,
        "/api/v1/integrations?test=false",
        &github(&app, "G"),
    )
    .await;
    let id = saved["id"].as_i64().unwrap();
    let viewer = app.backend_token("viewer@example.com", "pulse-viewer").await;
    let (status, list) = get_json(&app, &viewer, "/api/v1/integrations").await;
    assert_eq!(status, 200);
    assert_eq!(list["integrations"].as_array().unwrap().len(), 1);
    assert_eq!(
        post(&app, &viewer, "/api/v1/integrations", &github(&app, "H")).await.0,
        403
    );
    assert_eq!(
        post(&app, &viewer, &format!("/api/v1/integrations/{id}/test"), &json!({}))
            .await
            .0,
        403
    );
    app.login_viewer().await;
    let html = app.get("/integrations").await.text().await.unwrap();
    assert_eq!(count(&html, "#integrations-table tbody tr"), 1);
    assert_eq!(count(&html, "a[href='/integrations/new?kind=jira']"), 0);
    assert_eq!(count(&html, "td.actions"), 0);
    assert_eq!(app.get("/integrations/new?kind=jira").await.status(), 403);
}
db_test!(viewers_read_but_cannot_change_integrations);

#[tokio::test]
async fn rotate_key_re_encrypts_every_secret_under_the_new_key() {
    let app = spawn_app(Db::Sqlite).await;
    let token = admin(&app).await;
    for name in ["A", "B"] {
        assert_eq!(
            post(&app, &token, "/api/v1/integrations?test=false", &jira_cloud(&app, name))
                .await
                .0,
            201
        );
    }
    let new_key = crate::helpers::random_key(32);
    let run = |previous: &str| {
        Command::new(env!("CARGO_BIN_EXE_pulse-etl"))
            .arg("rotate-key")
            .env_clear()
            .env("DATABASE_URL", &app.database_url)
            .env("ENCRYPTION_KEY", &new_key)
            .env("ENCRYPTION_KEY_PREVIOUS", previous)
            .current_dir(&app.dir)
            .output()
            .unwrap()
    };
    let without_old = run("");
    assert_eq!(
        without_old.status.code(),
        Some(1),
        "cannot read rows under an unknown key"
    );
    assert!(String::from_utf8_lossy(&without_old.stderr).contains("nothing changed"));
    let out = run(&app.encryption_key);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-encrypted 2 secret"));
    let again = run(&app.encryption_key);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("re-encrypted 0 secret"),
        "idempotent"
    );
    // Only the new key is needed now.
    let key = pulse_etl::config::decode_key(&new_key).unwrap();
    let vault = pulse_etl::crypto::Vault::new(&secrecy::SecretBox::new(Box::new(key)), &[]);
    for row in integrations::Entity::find().all(&app.db).await.unwrap() {
        let secret = pulse_etl::db::integrations::decrypt_secret(&vault, &row).unwrap();
        assert_eq!(secrecy::ExposeSecret::expose_secret(&secret), JIRA_SECRET);
    }
}

#[tokio::test]
async fn secrets_never_reach_the_logs_even_at_debug_level() {
    crate::helpers::init();
    let sim = pulse_sim::server::start(pulse_sim::SimOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pulse-etl"))
        .arg("serve")
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.path().join("l.db").display()),
        )
        .env("BACKEND_SERVICE_URL", &sim.urls.backend)
        .env("SECRET_KEY", "s".repeat(64))
        .env("ENCRYPTION_KEY", crate::helpers::random_key(32))
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .env("ALLOW_PRIVATE_INTEGRATION_HOSTS", "true")
        .env("LOG_LEVEL", "debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let token: Value = http
        .post(format!("{}/api/v1/auth/login", sim.urls.backend))
        .json(&json!({"email": "admin@example.com", "password": "pulse-admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap();
    let project = sim.state.data().jira.projects.first().map(|p| p.key.clone()).unwrap();
    for (secret, expect) in [("sim-token", 201), ("wrong-PLAINTEXT-token", 422)] {
        let body = json!({"kind": "jira", "name": format!("J {expect}"), "flavour": "cloud", "base_url": sim.urls.jira_cloud,
                          "username": "sim@example.com", "secret": secret, "settings": {"projects": [project]}});
        let res = http
            .post(format!("{base}/api/v1/integrations"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), expect);
    }
    let res = http
        .get(format!("{base}/api/v1/integrations"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status();
    let out = child.wait_with_output().await.unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("integration created"), "the logs were captured: {logs}");
    for secret in ["sim-token", "PLAINTEXT", token] {
        assert!(!logs.contains(secret), "{secret} appears in the logs");
    }
    sim.stop().await;
}

/// A deployment pattern written as a regular expression once saved silently and then matched
/// nothing: it is refused with the glob to write, through the API and the form.
async fn regular_expression_patterns_are_refused_with_a_glob(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    let mut body = github(&app, "Regex");
    body["settings"]["deployment_source"]["pattern"] = json!("^production$");
    let (status, answer) = post(&app, &token, "/api/v1/integrations?test=false", &body).await;
    assert_eq!(status, 422, "{answer}");
    let field = answer["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "deployment_pattern");
    let message = field.expect("the pattern's field is named")["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("Write it as \"production\""), "{message}");
    body["settings"]["name_filter"] = json!("api-(web|worker)");
    body["settings"]["deployment_source"]["pattern"] = json!("production");
    let (status, answer) = post(&app, &token, "/api/v1/integrations?test=false", &body).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("no alternatives"),
        "{answer}"
    );
    let res = app
        .client
        .get(app.url("/api/v1/integrations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let listed: Value = res.json().await.unwrap();
    assert_eq!(listed["integrations"].as_array().unwrap().len(), 0, "nothing was saved");
}
db_test!(regular_expression_patterns_are_refused_with_a_glob);

/// The hotfix glob and the failure signals are GitHub settings: defaults shown (hotfix*, both
/// signals off), values kept, a regular expression refused like the deployment pattern.
async fn hotfix_branch_and_failure_signals_are_settings(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    let body = github(&app, "Defaults");
    let (status, answer) = post(&app, &token, "/api/v1/integrations?test=false", &body).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["settings"]["hotfix_branch"], "hotfix*", "{answer}");
    assert_eq!(
        answer["settings"]["failure_signals"],
        json!({"revert": false, "failed_status": false})
    );
    let mut body = github(&app, "Signals");
    body["settings"]["hotfix_branch"] = json!(" fix/* ");
    body["settings"]["failure_signals"] = json!({"revert": true, "failed_status": true});
    let (status, answer) = post(&app, &token, "/api/v1/integrations?test=false", &body).await;
    assert_eq!(status, 201, "{answer}");
    let (_, got) = get_json(&app, &token, &format!("/api/v1/integrations/{}", answer["id"])).await;
    assert_eq!(got["settings"]["hotfix_branch"], "fix/*", "{got}");
    assert_eq!(
        got["settings"]["failure_signals"],
        json!({"revert": true, "failed_status": true})
    );
    let mut body = github(&app, "Regex hotfix");
    body["settings"]["hotfix_branch"] = json!("^hotfix/.*");
    let (status, answer) = post(&app, &token, "/api/v1/integrations?test=false", &body).await;
    assert_eq!(status, 422, "{answer}");
    let field = answer["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "hotfix_branch")
        .expect("the hotfix field is named");
    assert!(
        field["message"].as_str().unwrap().contains("Write it as \"hotfix/*\""),
        "{field}"
    );
}
db_test!(hotfix_branch_and_failure_signals_are_settings);

/// The deployment-source preview reads what the simulated repository has over the last 90 days
/// (counted here from the simulator's own data) and what each source kind would count.
async fn the_preview_shows_what_each_deployment_source_would_count(db: Db) {
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    let repo_name = sim_repo(&app);
    let since = chrono::Utc::now() - chrono::Duration::days(90);
    let (envs, deploy_runs, releases) = {
        let data = app.sim.as_ref().unwrap().state.data();
        let repo = data
            .github
            .repos
            .iter()
            .find(|r| format!("{}/{}", r.owner, r.name) == repo_name)
            .unwrap();
        let mut envs = std::collections::BTreeMap::<String, u64>::new();
        for d in repo.deployments.iter().filter(|d| d.created_at >= since) {
            *envs.entry(d.environment.clone()).or_default() += 1;
        }
        let runs = repo
            .workflow_runs
            .iter()
            .filter(|r| r.created_at >= since && r.head_branch == repo.default_branch)
            .filter(|r| glob_match("*deploy*", &r.name))
            .count();
        let releases = repo
            .releases
            .iter()
            .filter(|r| !r.draft && !r.prerelease && r.published_at.is_some_and(|p| p >= since))
            .count();
        (envs, runs, releases)
    };
    let production = envs.get("production").copied().unwrap_or(0);
    assert!(production > 0, "the simulator deploys to production: {envs:?}");
    let body = |kind: &str, pattern: Option<&str>| {
        json!({
            "kind": "github", "name": "Preview", "flavour": "github",
            "base_url": app.sim.as_ref().unwrap().urls.github,
            "secret": GITHUB_SECRET,
            "settings": {"repositories": [repo_name], "deployment_source": {"kind": kind, "pattern": pattern}}
        })
    };
    let path = "/api/v1/integrations/preview";
    let (status, p) = post(&app, &token, path, &body("deployments", Some("production"))).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["matched"], production, "{p}");
    for (env, n) in &envs {
        assert_eq!(p["repositories"][0]["environments"][env], *n, "{env}: {p}");
    }
    let (_, p) = post(&app, &token, path, &body("deployments", Some("nothing-like-it*"))).await;
    assert_eq!(p["matched"], 0, "{p}");
    let (status, p) = post(&app, &token, path, &body("deployments", Some("^production$"))).await;
    assert_eq!(
        status, 422,
        "regular expressions are refused before anything is read: {p}"
    );
    let (_, p) = post(&app, &token, path, &body("workflow_runs", None)).await;
    assert_eq!(p["matched"], deploy_runs, "{p}");
    let (_, p) = post(&app, &token, path, &body("releases", None)).await;
    assert_eq!(p["matched"], releases, "{p}");
    let (_, p) = post(&app, &token, path, &body("merges", None)).await;
    assert!(p["matched"].is_null(), "{p}");
    // A stored integration previews with its stored secret; nothing is saved by a preview.
    let (status, saved) = post(
        &app,
        &token,
        "/api/v1/integrations?test=false",
        &body("deployments", None),
    )
    .await;
    assert_eq!(status, 201, "{saved}");
    let mut blank = body("deployments", Some("production"));
    blank["secret"] = json!("");
    let (status, p) = post(&app, &token, &format!("{path}?id={}", saved["id"]), &blank).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["matched"], production, "{p}");
    let (status, _) = post(&app, &token, path, &blank).await;
    assert_eq!(status, 422, "a new integration needs its secret");
    integrations::Entity::delete_many().exec(&app.db).await.unwrap();

    // The form: a pattern matching nothing is not saved until confirmed.
    app.login_admin().await;
    let csrf = app.csrf("/integrations/new?kind=github").await;
    let mut form = vec![
        ("csrf_token", csrf.clone()),
        ("kind", "github".into()),
        ("name", "Nothing matches".into()),
        ("flavour", "github".into()),
        ("base_url", app.sim.as_ref().unwrap().urls.github.clone()),
        ("secret", GITHUB_SECRET.into()),
        ("repositories", repo_name.clone()),
        ("deployment_kind", "deployments".into()),
        ("deployment_pattern", "nothing-like-it*".into()),
        ("hotfix_branch", "hotfix*".into()),
    ];
    let res = app
        .client
        .post(app.url("/integrations/preview"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert_eq!(
        select_attr(&html, "#deployment-preview", "data-matched").as_deref(),
        Some("0")
    );
    let res = app
        .client
        .post(app.url("/integrations"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(count(&html, "#confirm_no_match"), 1, "the form asks to confirm");
    assert_eq!(integrations_in_db(&app).await, 0);
    form.push(("confirm_no_match", "true".into()));
    let res = app
        .client
        .post(app.url("/integrations"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "saved once confirmed");
    assert_eq!(integrations_in_db(&app).await, 1);
}
db_test!(the_preview_shows_what_each_deployment_source_would_count);
