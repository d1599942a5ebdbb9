//! The access matrix: every entry of `routes::ROUTES` (the table `configure` registers from, so
//! a new route cannot be missing here) × every kind of caller gets exactly the answer DESIGN §5
//! prescribes; every state-changing route refuses a missing or foreign CSRF token; every page
//! carries the security headers and nothing the CSP would block.

use entity::enums::{JobType, RunTrigger};
use futures_util::StreamExt;
use pulse_etl::routes::{Access, ROUTES, Route};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Db, TestApp, client, select_attr, spawn_app};

/// A logged-in browser: its cookie and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

/// A fresh browser logs in; later requests replay its cookie by hand (so a refusal that clears
/// the session cannot change what the next request sends).
async fn session(app: &TestApp, email: &str, password: &str) -> Session {
    use reqwest::cookie::CookieStore;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let csrf_on = |path: &'static str| {
        let browser = browser.clone();
        async move {
            let html = browser.get(app.url(path)).send().await.unwrap().text().await.unwrap();
            select_attr(&html, "input[name=csrf_token]", "value").expect("csrf field")
        }
    };
    let login_csrf = csrf_on("/login").await;
    let res = browser
        .post(app.url("/login"))
        .form(&[("email", email), ("password", password), ("csrf_token", &login_csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{email} logs in");
    let csrf = csrf_on("/").await;
    let cookie = jar.cookies(&app.address.parse().unwrap()).unwrap();
    Session {
        cookie: cookie.to_str().unwrap().to_string(),
        csrf,
    }
}

/// Ids of real rows, so reads of `{id}` routes find something.
struct Fixture {
    integration: i64,
    step: i64,
    status_mapping: i64,
    type_mapping: i64,
    team: i64,
    run: i64,
    /// A served asset's name (names carry a content hash).
    asset: String,
}

async fn fixture(app: &TestApp, admin_token: &str) -> Fixture {
    let sim = app.sim.as_ref().unwrap();
    let body = json!({"kind": "jira", "name": "Jira", "flavour": "cloud", "base_url": sim.urls.jira_cloud,
                      "username": "sim@example.com", "secret": "sim-token", "settings": {"projects": ["PAY"]}});
    let res = client()
        .post(app.url("/api/v1/integrations?test=false"))
        .bearer_auth(admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "fixture integration");
    let integration = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = client()
        .post(app.url("/api/v1/teams"))
        .bearer_auth(admin_token)
        .json(&json!({"name": "Payments", "projects": ["PAY"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "fixture team");
    let team = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let first = |path: &'static str, key: &'static str| async move {
        let v: Value = client()
            .get(app.url(path))
            .bearer_auth(admin_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v[key]
            .as_array()
            .and_then(|l| l.first())
            .and_then(|r| r["id"].as_i64())
            .unwrap_or_else(|| panic!("a row from {path}: {v}"))
    };
    let run = pulse_etl::db::runs::start(&app.db, JobType::JiraSync, RunTrigger::Manual)
        .await
        .unwrap();
    let login = app.get("/login").await.text().await.unwrap();
    let css = select_attr(&login, "link[rel=stylesheet]", "href").unwrap();
    Fixture {
        integration,
        step: first("/api/v1/flow/steps", "steps").await,
        status_mapping: first("/api/v1/flow/status-mappings", "status_mappings").await,
        type_mapping: first("/api/v1/flow/issue-type-mappings", "issue_type_mappings").await,
        team,
        run: run.id,
        asset: css.trim_start_matches("/static/").to_string(),
    }
}

/// A concrete URL for a route pattern. An unknown placeholder fails the test: add its value here.
fn example(route: &Route, f: &Fixture) -> String {
    let mut out: Vec<String> = Vec::new();
    for seg in route.path.split('/') {
        let value = match seg {
            "{job}" => "jira_sync".to_string(),
            "{name}" => f.asset.clone(),
            "{kind}" => "steps".to_string(),
            "{run}" => f.run.to_string(),
            // Harmless actions: pausing a job that is not running, a removal dialog.
            "{action}" if route.path.starts_with("/flow/") => "delete".to_string(),
            "{action}" => "pause".to_string(),
            "{id}" => match out.last().map(String::as_str) {
                Some("integrations") => f.integration,
                Some("steps") => f.step,
                Some("status-mappings") => f.status_mapping,
                Some("issue-type-mappings") => f.type_mapping,
                Some("teams") => f.team,
                other => panic!("{}: no example id after {other:?}; add one in access.rs", route.path),
            }
            .to_string(),
            s if s.starts_with('{') => panic!("{}: no example for {s}; add one in access.rs", route.path),
            s => s.to_string(),
        };
        out.push(value);
    }
    out.join("/")
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

fn mutates(route: &Route) -> bool {
    route.method != "GET"
}

#[derive(Clone, Copy)]
enum Csrf<'a> {
    None,
    Token(&'a str),
}

/// One client for every call (building one per request was most of this test's time): no
/// cookie store, no redirects; each call sends exactly the credentials it is given.
fn plain_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    })
}

/// One request as a browser (cookie) or API client (bearer) would send it.
async fn call(
    app: &TestApp,
    route: &Route,
    url: &str,
    cookie: Option<&str>,
    bearer: Option<&str>,
    csrf: Csrf<'_>,
    htmx: bool,
) -> Response {
    let method = Method::from_bytes(route.method.as_bytes()).unwrap();
    let mut req = plain_client().request(method, app.url(url));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if htmx {
        req = req.header("HX-Request", "true");
    }
    if url == "/ws" {
        req = req
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Origin", app.url(""));
    }
    if mutates(route) {
        req = match (is_api(url), csrf) {
            (true, Csrf::Token(t)) => req.header("X-CSRF-Token", t).json(&json!({})),
            (true, Csrf::None) => req.json(&json!({})),
            (false, Csrf::Token(t)) => req.form(&[("csrf_token", t)]),
            (false, Csrf::None) => req.form(&[("x", "1")]),
        };
    }
    req.send().await.unwrap()
}

fn header(res: &Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// What someone without valid credentials gets: login for pages (htmx: `HX-Redirect`), 401 JSON
/// for the API.
async fn assert_sent_to_login(res: Response, route: &Route, url: &str, htmx: bool, who: &str) {
    let what = format!("{who}: {} {url} (htmx {htmx})", route.method);
    if is_api(url) {
        assert_eq!(res.status(), 401, "{what}");
        assert!(header(&res, "content-type").starts_with("application/json"), "{what}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].is_string(), "{what}: {body}");
        return;
    }
    let target = if route.method == "GET" && !htmx { url } else { "/" };
    let login = format!("/login?next={}", urlencode(target));
    if htmx {
        assert_eq!(res.status(), 401, "{what}");
        assert_eq!(header(&res, "hx-redirect"), login, "{what}");
    } else {
        assert_eq!(res.status(), 303, "{what}");
        assert_eq!(header(&res, "location"), login, "{what}");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A read by a logged-in user: 200 (the WebSocket upgrades; `/analytics` forwards to DORA).
async fn assert_readable(res: Response, url: &str, who: &str) {
    let what = format!("{who}: GET {url}");
    match url {
        "/ws" => assert_eq!(res.status(), 101, "{what}"),
        "/analytics" => {
            assert_eq!(res.status(), 303, "{what}");
            assert_eq!(header(&res, "location"), "/analytics/dora", "{what}");
        }
        _ => {
            assert_eq!(res.status(), 200, "{what}");
            let ct = header(&res, "content-type");
            if is_api(url) {
                assert!(ct.starts_with("application/json"), "{what}: {ct}");
            } else if ct.starts_with("text/html") {
                assert_page_is_hardened(res, &what).await;
            }
        }
    }
}

/// Security headers, and markup the CSP lets through untouched: scripts only from files, no
/// inline styles or event handlers.
async fn assert_page_is_hardened(res: Response, what: &str) {
    let csp = header(&res, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{what}: CSP lacks {directive}: {csp}");
    }
    assert!(!csp.contains("unsafe-"), "{what}: {csp}");
    assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(&res, "x-frame-options"), "DENY", "{what}");
    assert!(!header(&res, "referrer-policy").is_empty(), "{what}");
    let html = res.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let all = scraper::Selector::parse("*").unwrap();
    for el in doc.select(&all) {
        let v = el.value();
        match v.name() {
            "script" => {
                let src = v.attr("src").unwrap_or_default();
                assert!(src.starts_with("/static/"), "{what}: inline or foreign script {src:?}");
                assert!(el.text().all(|t| t.trim().is_empty()), "{what}: script with a body");
            }
            "style" => panic!("{what}: inline <style>"),
            _ => {}
        }
        for (name, _) in v.attrs() {
            assert!(
                name != "style" && !name.starts_with("on"),
                "{what}: <{} {name}>",
                v.name()
            );
        }
    }
}

async fn body_of_unknown(app: &TestApp, api: bool) -> String {
    let path = if api { "/api/v1/no-such-thing" } else { "/no-such-page" };
    let s = session(app, "admin@example.com", "pulse-admin").await;
    client()
        .get(app.url(path))
        .header("Cookie", s.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The logged-in callers every route is tried with.
struct Callers {
    viewer: Session,
    admin: Session,
    viewer_token: String,
}

/// Every caller but the expired ones, against one route.
async fn check_route(app: &TestApp, route: &Route, f: &Fixture, c: &Callers) {
    let url = example(route, f);
    let url = url.as_str();
    if route.access == Access::Public {
        if !mutates(route) {
            let res = call(app, route, url, None, None, Csrf::None, false).await;
            let want = if url == "/favicon.ico" { 301 } else { 200 };
            assert_eq!(res.status(), want, "public GET {url}");
        }
        return;
    }
    // Nobody, a token the backend never issued (as a Bearer header), a forged cookie.
    for htmx in [false, true] {
        let res = call(app, route, url, None, None, Csrf::None, htmx).await;
        assert_sent_to_login(res, route, url, htmx, "anonymous").await;
        let res = call(app, route, url, None, Some("not-a-token"), Csrf::None, htmx).await;
        assert_sent_to_login(res, route, url, htmx, "bad bearer token").await;
        let forged = "pulse_session=Zm9yZ2VkLWNvb2tpZS12YWx1ZQ";
        let res = call(app, route, url, Some(forged), None, Csrf::None, htmx).await;
        assert_sent_to_login(res, route, url, htmx, "forged cookie").await;
    }
    if !mutates(route) && route.access == Access::Admin {
        let res = call(app, route, url, Some(&c.viewer.cookie), None, Csrf::None, false).await;
        assert_eq!(res.status(), 403, "viewer: GET {url}");
        let res = call(app, route, url, Some(&c.admin.cookie), None, Csrf::None, false).await;
        assert_readable(res, url, "admin").await;
        return;
    }
    if !mutates(route) {
        for (who, s) in [("viewer", &c.viewer), ("admin", &c.admin)] {
            let res = call(app, route, url, Some(&s.cookie), None, Csrf::None, false).await;
            assert_readable(res, url, who).await;
            if !is_api(url) && url != "/ws" && url != "/analytics" {
                let res = call(app, route, url, Some(&s.cookie), None, Csrf::None, true).await;
                assert_eq!(res.status(), 200, "{who}: htmx GET {url}");
            }
        }
        if is_api(url) {
            let res = call(app, route, url, None, Some(&c.viewer_token), Csrf::None, false).await;
            assert_readable(res, url, "viewer bearer").await;
        }
        return;
    }
    // State-changing: CSRF first (missing, or another session's), then the role.
    for (who, s, foreign) in [
        ("viewer", &c.viewer, &c.admin.csrf),
        ("admin", &c.admin, &c.viewer.csrf),
    ] {
        for csrf in [Csrf::None, Csrf::Token(foreign)] {
            let res = call(app, route, url, Some(&s.cookie), None, csrf, false).await;
            assert_eq!(
                res.status(),
                403,
                "{who} without its CSRF token: {} {url}",
                route.method
            );
            assert!(res.text().await.unwrap().contains("CSRF"), "{who}: {url}");
        }
    }
    match route.access {
        Access::User => {
            // Logging out: any user, with the session's own token (a throwaway session).
            for (email, password) in [
                ("viewer@example.com", "pulse-viewer"),
                ("admin@example.com", "pulse-admin"),
            ] {
                let s = session(app, email, password).await;
                let res = call(app, route, url, Some(&s.cookie), None, Csrf::Token(&s.csrf), false).await;
                assert_eq!(res.status(), 303, "{email}: {} {url}", route.method);
            }
        }
        Access::Admin => {
            let res = call(
                app,
                route,
                url,
                Some(&c.viewer.cookie),
                None,
                Csrf::Token(&c.viewer.csrf),
                false,
            )
            .await;
            assert_eq!(res.status(), 403, "viewer: {} {url}", route.method);
            let body = res.text().await.unwrap();
            assert!(body.contains("administrator"), "viewer: {url}: {body}");
            if is_api(url) {
                let res = call(app, route, url, None, Some(&c.viewer_token), Csrf::None, false).await;
                assert_eq!(res.status(), 403, "viewer bearer: {} {url}", route.method);
            }
        }
        Access::Public => unreachable!("public routes were checked above"),
    }
}

async fn every_route_answers_every_caller_as_designed(db: Db) {
    let app = spawn_app(db).await;
    let sim = app.sim.as_ref().unwrap();
    let admin_token = app.backend_token("admin@example.com", "pulse-admin").await;
    let viewer_token = app.backend_token("viewer@example.com", "pulse-viewer").await;
    let f = fixture(&app, &admin_token).await;
    let viewer = session(&app, "viewer@example.com", "pulse-viewer").await;
    let admin = session(&app, "admin@example.com", "pulse-admin").await;
    let unknown_page = body_of_unknown(&app, false).await;
    let unknown_api = body_of_unknown(&app, true).await;
    assert!(ROUTES.len() > 70, "the table lists every route");

    let callers = Callers {
        viewer,
        admin,
        viewer_token,
    };
    // Independent checks, so they run side by side (the auth cache is off: each asks the backend).
    futures_util::stream::iter(ROUTES)
        .for_each_concurrent(8, |route| check_route(&app, route, &f, &callers))
        .await;
    let Callers { viewer, admin, .. } = callers;

    // Admins pass the checks (last: these change things; an earlier one may delete a fixture).
    for route in ROUTES.iter().filter(|r| mutates(r) && r.access == Access::Admin) {
        let url = example(route, &f);
        let res = call(
            &app,
            route,
            &url,
            Some(&admin.cookie),
            None,
            Csrf::Token(&admin.csrf),
            false,
        )
        .await;
        let status = res.status().as_u16();
        let location = header(&res, "location");
        let body = res.text().await.unwrap();
        let what = format!("admin: {} {url} → {status} {location} {body}", route.method);
        assert!(
            matches!(status, 200 | 201 | 204 | 303 | 400 | 404 | 409 | 422),
            "{what}"
        );
        assert!(!location.starts_with("/login"), "{what}");
        let unknown = if is_api(&url) { &unknown_api } else { &unknown_page };
        assert_ne!(&body, unknown, "{what}: no route matched");
    }

    // Expired: sessions and tokens that were valid a moment ago.
    sim.backend.expire_all();
    let expired = |route: &'static Route| {
        let (app, f, viewer, admin, admin_token) = (&app, &f, &viewer, &admin, &admin_token);
        async move {
            if route.access == Access::Public {
                return;
            }
            let url = example(route, f);
            let res = call(
                app,
                route,
                &url,
                Some(&viewer.cookie),
                None,
                Csrf::Token(&viewer.csrf),
                false,
            )
            .await;
            assert_sent_to_login(res, route, &url, false, "expired viewer session").await;
            let res = call(
                app,
                route,
                &url,
                Some(&admin.cookie),
                None,
                Csrf::Token(&admin.csrf),
                true,
            )
            .await;
            assert_sent_to_login(res, route, &url, true, "expired admin session").await;
            let res = call(app, route, &url, None, Some(admin_token), Csrf::None, false).await;
            assert_sent_to_login(res, route, &url, false, "expired admin bearer").await;
        }
    };
    futures_util::stream::iter(ROUTES).for_each_concurrent(8, expired).await;
}
db_test!(every_route_answers_every_caller_as_designed);

async fn the_login_and_error_pages_are_hardened_too(db: Db) {
    let app = spawn_app(db).await;
    for path in ["/login", "/no-such-page"] {
        let res = app.get(path).await;
        assert_page_is_hardened(res, path).await;
    }
    assert!(
        select_attr(
            &app.get("/login").await.text().await.unwrap(),
            "input[name=csrf_token]",
            "value"
        )
        .is_some()
    );
}
db_test!(the_login_and_error_pages_are_hardened_too);
