use std::time::Duration;

use crate::db_test;
use crate::helpers::{Db, Options, client, count, location, select_attr, set_cookies, spawn_app, spawn_app_with};

async fn login_leads_to_the_dashboard_with_both_jobs(db: Db) {
    let app = spawn_app(db).await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2F");

    let res = app.login("admin@example.com", "pulse-admin").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");

    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["vary"], "HX-Request");
    let html = res.text().await.unwrap();
    assert_eq!(count(&html, "[data-job=jira_sync] [data-status=NOT_STARTED]"), 1);
    assert_eq!(count(&html, "[data-job=github_sync] [data-status=NOT_STARTED]"), 1);
    assert_eq!(count(&html, "form[action='/logout']"), 1, "user menu has logout");
    assert_eq!(
        count(&html, "#orchestrator-panel button[type=submit]"),
        1,
        "admin can save settings"
    );
}
db_test!(login_leads_to_the_dashboard_with_both_jobs);

async fn a_wrong_password_shows_a_form_error_and_no_session(db: Db) {
    let app = spawn_app(db).await;
    let res = app.login("admin@example.com", "nope").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert_eq!(count(&html, "#login-error"), 1);
    assert_eq!(
        select_attr(&html, "input[name=email]", "value").as_deref(),
        Some("admin@example.com")
    );
    assert_eq!(app.get("/").await.status(), 303, "still not logged in");
}
db_test!(a_wrong_password_shows_a_form_error_and_no_session);

async fn login_returns_to_next_but_never_off_site(db: Db) {
    let app = spawn_app(db).await;
    let res = app.get("/?view=compact").await;
    assert_eq!(location(&res), "/login?next=%2F%3Fview%3Dcompact");
    let html = app.get("/login?next=%2F%3Fview%3Dcompact").await.text().await.unwrap();
    let next = select_attr(&html, "input[name=next]", "value").unwrap();
    assert_eq!(next, "/?view=compact");
    let csrf = select_attr(&html, "input[name=csrf_token]", "value").unwrap();
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "viewer@example.com"),
            ("password", "pulse-viewer"),
            ("csrf_token", &csrf),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/");
}
db_test!(login_returns_to_next_but_never_off_site);

async fn logout_ends_the_session_at_the_backend(db: Db) {
    let app = spawn_app(db).await;
    app.login_admin().await;
    let sim = app.sim.as_ref().unwrap();
    assert_eq!(sim.backend.live_sessions(), 1);
    assert_eq!(app.get("/").await.status(), 200);
    let old_cookie = app.cookie_header();
    assert!(old_cookie.contains("pulse_session="));

    let csrf = app.csrf("/logout").await;
    let res = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?logged_out=1");
    assert_eq!(sim.backend.live_sessions(), 0, "the backend token was invalidated");
    assert_eq!(app.get("/").await.status(), 303);

    let replay = client()
        .get(app.url("/"))
        .header("cookie", old_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303, "an old cookie is worthless after logout");
}
db_test!(logout_ends_the_session_at_the_backend);

async fn htmx_requests_without_login_get_hx_redirect(db: Db) {
    let app = spawn_app(db).await;
    let res = app
        .client
        .get(app.url("/"))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["hx-redirect"], "/login?next=%2F");
}
db_test!(htmx_requests_without_login_get_hx_redirect);

async fn the_api_answers_401_json_without_or_with_a_bad_token(db: Db) {
    let app = spawn_app(db).await;
    for auth in [None, Some("Bearer not-a-token"), Some("Basic YWRtaW46eA==")] {
        let mut req = app.client.get(app.url("/api/v1/jobs/status"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
    }
    let token = app.backend_token("viewer@example.com", "pulse-viewer").await;
    let res = app
        .client
        .get(app.url("/api/v1/jobs/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let types: Vec<_> = body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["jira_sync", "github_sync"]);
    assert_eq!(body["orchestrator"]["interval_minutes"], 60);
}
db_test!(the_api_answers_401_json_without_or_with_a_bad_token);

async fn a_viewer_is_refused_admin_actions_with_403(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("viewer@example.com", "pulse-viewer").await;
    let body = serde_json::json!({"interval_minutes": 30, "enabled": true, "retry_enabled": true, "retry_interval_minutes": 10, "max_retry_attempts": 2});
    let res = app
        .client
        .put(app.url("/api/v1/orchestrator/settings"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let err: serde_json::Value = res.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("administrator"));

    app.login_viewer().await;
    let html = app.get("/").await.text().await.unwrap();
    assert_eq!(
        count(&html, "#orchestrator-panel button[type=submit]"),
        0,
        "viewers see no save button"
    );
    assert_eq!(count(&html, "#orchestrator-panel fieldset[disabled]"), 1);
    let csrf = select_attr(&html, "input[name=csrf_token]", "value").unwrap();
    let res = app
        .client
        .post(app.url("/orchestrator/settings"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("interval_minutes", "30"),
            ("retry_interval_minutes", "10"),
            ("max_retry_attempts", "2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let admin = app.backend_token("admin@example.com", "pulse-admin").await;
    let res = app
        .client
        .put(app.url("/api/v1/orchestrator/settings"))
        .bearer_auth(&admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "admins may, with a Bearer token and no CSRF token");
}
db_test!(a_viewer_is_refused_admin_actions_with_403);

async fn a_missing_or_forged_csrf_token_is_refused(db: Db) {
    let app = spawn_app(db).await;
    app.login_admin().await;
    let good = app.csrf("/").await;
    let form = |csrf: Option<&str>| {
        let mut f = vec![
            ("interval_minutes", "45"),
            ("retry_interval_minutes", "10"),
            ("max_retry_attempts", "2"),
            ("enabled", "true"),
        ];
        if let Some(c) = csrf {
            f.push(("csrf_token", c));
        }
        f.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    for csrf in [None, Some("forged-token")] {
        let res = app
            .client
            .post(app.url("/orchestrator/settings"))
            .form(&form(csrf))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{csrf:?}");
    }
    let res = app
        .client
        .post(app.url("/orchestrator/settings"))
        .header("X-CSRF-Token", "forged")
        .form(&form(None))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "forged header");
    let body = serde_json::json!({"interval_minutes": 30, "enabled": true, "retry_enabled": true, "retry_interval_minutes": 10, "max_retry_attempts": 2});
    let res = app
        .client
        .put(app.url("/api/v1/orchestrator/settings"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "cookie-authenticated API call without the header");

    let res = app
        .client
        .post(app.url("/orchestrator/settings"))
        .form(&form(Some(&good)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the real token works in the form field");
    let res = app
        .client
        .put(app.url("/api/v1/orchestrator/settings"))
        .header("X-CSRF-Token", &good)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "and in the header");

    // The login form has its own pre-session token.
    let other = client();
    let res = other
        .post(app.url("/login"))
        .form(&[
            ("email", "admin@example.com"),
            ("password", "pulse-admin"),
            ("csrf_token", good.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a login post without its own session token");
}
db_test!(a_missing_or_forged_csrf_token_is_refused);

async fn an_unreachable_backend_gives_503_never_a_redirect(db: Db) {
    let mut app = spawn_app(db).await;
    app.login_admin().await;
    assert_eq!(app.get("/").await.status(), 200);
    app.stop_sim().await;

    // The simulator's server has stopped when `stop_sim` returns, but once in a clean-clone CI run
    // the next page still got 200: an answer on the service's pooled connection to it in that
    // moment, is the likely reading (not verified). So the page is asked again until it says 503,
    // for at most 5 s, and it must never redirect meanwhile.
    let started = std::time::Instant::now();
    let res = loop {
        let res = app.get("/").await;
        match res.status().as_u16() {
            503 => break res,
            200 if started.elapsed() < std::time::Duration::from_secs(5) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            other => panic!("with the backend gone: {other}, not 503"),
        }
    };
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let res = app.get("/api/v1/jobs/status").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("unavailable"));
    // Logging in while the backend is down says so too.
    let res = app.login("admin@example.com", "pulse-admin").await;
    assert_eq!(res.status(), 503);
}
db_test!(an_unreachable_backend_gives_503_never_a_redirect);

async fn an_expired_backend_token_sends_the_user_to_login(db: Db) {
    let mut opts = Options::new(db);
    opts.sim.token_ttl = Duration::from_millis(800);
    let app = spawn_app_with(opts).await;
    app.login_admin().await;
    assert_eq!(app.get("/").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login"));
}
db_test!(an_expired_backend_token_sends_the_user_to_login);

async fn validations_are_cached_for_the_configured_ttl(db: Db) {
    let mut opts = Options::new(db);
    opts.env.insert("AUTH_CACHE_TTL_SECONDS", "30".into());
    let mut app = spawn_app_with(opts).await;
    app.login_admin().await;
    assert_eq!(app.get("/").await.status(), 200);
    app.stop_sim().await;
    assert_eq!(
        app.get("/").await.status(),
        200,
        "a validated token is trusted for the TTL"
    );
}
db_test!(validations_are_cached_for_the_configured_ttl);

#[tokio::test]
async fn the_session_cookie_is_host_bound_httponly_lax_and_secure() {
    let mut opts = Options::new(Db::Sqlite);
    opts.cookie_secure = true;
    let app = spawn_app_with(opts).await;
    let res = app.get("/login").await;
    let cookie = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.starts_with("__Host-pulse_session="))
        .expect("session cookie");
    let lower = cookie.to_ascii_lowercase();
    for flag in ["httponly", "samesite=lax", "secure", "path=/"] {
        assert!(lower.contains(flag), "{flag} missing in {cookie}");
    }
    assert!(!lower.contains("domain="), "__Host- cookies carry no Domain");
}
