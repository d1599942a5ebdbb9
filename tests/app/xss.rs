//! Hostile text everywhere it can come from — our own forms (integration, flow step, mapping
//! names), synced Jira and GitHub data (status, type, project and user names, summaries, PR
//! titles, branches), job errors and logs, query strings — renders as text on every page.

use entity::enums::{EventLevel, JobType, RunOutcome, RunTrigger};
use pulse_etl::integrations::control::RunContext;
use pulse_etl::integrations::{github, jira};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Db, TestApp, spawn_app};

/// Breaks out of text, of double- and single-quoted attributes, and tries script, handlers and
/// htmx attributes. Under 100 characters with a suffix (names are limited to 100).
const PAYLOAD: &str = r#"<script>x()</script><img src=x onerror=x() data-xss>"'><b data-xss hx-get=/logout>"#;
/// Text the payload leaves behind when escaped; pages must show it (so the test can fail).
const VISIBLE: &str = "<img src=x onerror=x() data-xss>";

fn hostile(i: usize) -> String {
    format!("{PAYLOAD}{i}")
}

/// Every string the synced data shows the user becomes hostile in the simulator.
fn poison_the_simulator(app: &TestApp) {
    let sim = app.sim.as_ref().unwrap();
    let mut data = sim.state.data_mut();
    let mut n = 0;
    // With a NUL character too, which PostgreSQL text cannot hold: the sync drops it.
    let mut next = || {
        n += 1;
        format!("{}\0", hostile(n))
    };
    for s in &mut data.jira.statuses {
        s.name = next();
    }
    for t in &mut data.jira.issue_types {
        t.name = next();
    }
    for p in &mut data.jira.projects {
        p.name = next();
    }
    for u in &mut data.jira.users {
        u.display_name = next();
    }
    for i in &mut data.jira.issues {
        i.summary = next();
        i.priority = Some(next());
    }
    for u in &mut data.github.users {
        u.name = next();
    }
    for r in &mut data.github.repos {
        for p in &mut r.pulls {
            p.title = next();
            p.head_ref = format!("feature/{}", next());
            p.body = next();
            for c in &mut p.commits {
                c.message = next();
                c.author_name = next();
            }
            for r in &mut p.reviews {
                r.body = next();
            }
            for c in &mut p.comments {
                c.body = next();
            }
        }
        for d in &mut r.deployments {
            for s in &mut d.statuses {
                s.description = next();
            }
        }
    }
}

async fn api(app: &TestApp, token: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let res = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// Our own forms accept the hostile names (they are just names).
async fn hostile_configuration(app: &TestApp, token: &str) -> Vec<String> {
    use reqwest::Method;
    let sim = app.sim.as_ref().unwrap();
    let projects: Vec<String> = sim.state.data().jira.projects.iter().map(|p| p.key.clone()).collect();
    let jira = api(
        app,
        token,
        Method::POST,
        "/api/v1/integrations?test=false",
        json!({
        "kind": "jira", "name": hostile(1001), "flavour": "cloud", "base_url": sim.urls.jira_cloud,
        "username": "sim@example.com", "secret": "sim-token", "settings": {"projects": projects}}),
    )
    .await;
    // Inactive (not synced): hostile extra JQL, shown in its form.
    let idle = api(app, token, Method::POST, "/api/v1/integrations?test=false", json!({
        "kind": "jira", "name": hostile(1007), "flavour": "data_center", "base_url": "https://jira.example.com/<b data-xss>",
        "secret": "x", "active": false,
        "settings": {"projects": ["PAY"], "extra_jql": format!("summary ~ \"{VISIBLE}\"")}})).await;
    let gh = api(app, token, Method::POST, "/api/v1/integrations?test=false", json!({
        "kind": "github", "name": hostile(1002), "flavour": "github", "base_url": sim.urls.github,
        "secret": "sim-github-token",
        "settings": {"organization": "acme", "name_filter": "*", "deployment_source": {"kind": "deployments", "pattern": "<b data-xss>*"}}})).await;
    let step = api(
        app,
        token,
        Method::POST,
        "/api/v1/flow/steps",
        json!({
        "name": hostile(1003), "category": "IN_PROGRESS", "position": 35}),
    )
    .await;
    let step_id = step["id"].as_i64().unwrap();
    let ty = api(app, token, Method::POST, "/api/v1/flow/issue-type-mappings", json!({
        "issuetype_from": hostile(1004), "issuetype_to": hostile(1005), "work_category": "FEATURE", "hierarchy_level": 0})).await;
    let status = api(
        app,
        token,
        Method::POST,
        "/api/v1/flow/status-mappings",
        json!({
        "status_from": hostile(1006), "flow_step_id": step_id, "issue_type_mapping_id": ty["id"]}),
    )
    .await;
    vec![
        format!("/integrations/{}/edit", jira["id"]),
        format!("/integrations/{}/edit", idle["id"]),
        format!("/integrations/{}/delete", gh["id"]),
        format!("/flow/steps/{step_id}/edit"),
        format!("/flow/steps/{step_id}/delete"),
        format!("/flow/issue-type-mappings/{}/edit", ty["id"]),
        format!("/flow/issue-type-mappings/{}/delete", ty["id"]),
        format!("/flow/status-mappings/{}/edit", status["id"]),
        format!("/flow/status-mappings/{}/delete", status["id"]),
    ]
}

async fn sync_everything(app: &TestApp) {
    let state = app.state();
    let ctx = RunContext::detached();
    let deps = jira::sync::Deps {
        db: &state.db,
        vault: &state.vault,
        outbound: state.outbound,
    };
    jira::sync::run(&deps, &ctx).await.expect("jira sync");
    let deps = github::sync::Deps {
        db: &state.db,
        vault: &state.vault,
        outbound: state.outbound,
    };
    github::sync::run(&deps, &ctx).await.expect("github sync");
}

fn shows(html: &str, needle: &str) -> bool {
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap();
    doc.root_element().text().collect::<String>().contains(needle)
        || doc
            .select(&all)
            .any(|e| e.value().attrs().any(|(_, v)| v.contains(needle)))
}

/// No element, attribute or script the payload could have created.
fn assert_inert(html: &str, what: &str) {
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap();
    for el in doc.select(&all) {
        let v = el.value();
        for (name, _) in v.attrs() {
            assert!(
                name != "data-xss" && !name.starts_with("on") && name != "style",
                "{what}: injected attribute {name} on <{}>",
                v.name()
            );
        }
        if v.name() == "script" {
            assert!(
                v.attr("src").is_some_and(|s| s.starts_with("/static/")),
                "{what}: injected <script>"
            );
        }
        if v.name() == "img" {
            assert_ne!(v.attr("src"), Some("x"), "{what}: injected <img>");
        }
        if v.attr("hx-get") == Some("/logout") {
            panic!("{what}: injected hx-get");
        }
    }
}

async fn hostile_text_renders_escaped_on_every_page(db: Db) {
    let app = spawn_app(db).await;
    let token = app.backend_token("admin@example.com", "pulse-admin").await;
    poison_the_simulator(&app);
    let mut pages = hostile_configuration(&app, &token).await;
    sync_everything(&app).await;
    // A job's error and its run log can quote upstream text.
    let run = pulse_etl::db::runs::start(&app.db, JobType::JiraSync, RunTrigger::Manual)
        .await
        .unwrap();
    pulse_etl::db::runs::log(&app.db, run.id, EventLevel::Error, &hostile(2001))
        .await
        .unwrap();
    pulse_etl::db::runs::finish(
        &app.db,
        run.id,
        RunOutcome::Failed,
        &json!({}),
        0,
        0,
        Some(&hostile(2002)),
    )
    .await
    .unwrap();
    entity::jobs::Entity::update_many()
        .col_expr(entity::jobs::Column::LastError, Some(hostile(2003)).into())
        .exec(&app.db)
        .await
        .unwrap();
    let q: String = url::form_urlencoded::byte_serialize(PAYLOAD.as_bytes()).collect();
    pages.extend([
        "/".to_string(),
        "/jobs/jira_sync".into(),
        format!("/jobs/jira_sync?run={}", run.id),
        format!("/jobs/jira_sync?run={}&q={q}&level={q}", run.id),
        "/jobs/github_sync".into(),
        "/integrations".into(),
        "/integrations/new?kind=jira".into(),
        "/flow".into(),
        "/analytics/dora?range=90".into(),
        "/analytics/prs?range=90".into(),
        "/analytics/flow?range=90".into(),
        format!("/analytics/flow?range=custom&from={q}&to={q}&projects={q}&repositories={q}"),
        format!("/analytics/prs?repositories={q}&projects={q}&benchmark={q}"),
        format!("/login?next={q}"),
        format!("/no-such-page/{q}"),
    ]);
    app.login_admin().await;
    // Pages that show hostile text (the rest may not show any; they are still checked).
    let must_show: Vec<String> = pages[..9]
        .iter()
        .cloned()
        .chain([
            "/".into(),
            format!("/jobs/jira_sync?run={}", run.id),
            "/integrations".into(),
            "/flow".into(),
        ])
        .collect();
    for path in &pages {
        for htmx in [false, true] {
            let mut req = app.client.get(app.url(path));
            if htmx {
                req = req.header("HX-Request", "true");
            }
            let res = req.send().await.unwrap();
            assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
            let html = res.text().await.unwrap();
            assert_inert(&html, path);
            // The hostile text really is on the page, as text or as an attribute's value: the
            // checks above had something to find.
            if !htmx && must_show.contains(path) {
                assert!(shows(&html, VISIBLE), "{path}: the hostile text is not shown");
            }
        }
    }
    let flow = app.get("/flow").await.text().await.unwrap();
    let unmapped = crate::helpers::count(&flow, "#unmapped-table tr[data-unmapped-status]");
    assert!(unmapped > 0, "the synced hostile statuses are listed as unmapped");
}
db_test!(hostile_text_renders_escaped_on_every_page);
