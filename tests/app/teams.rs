//! Teams: admins define them (pages and API), viewers read them, and `team=ID` on every metrics
//! API and page means exactly the team's repositories and projects.

use serde_json::{Value, json};

use crate::analytics::fixture::WINDOW;
use crate::analytics::seeded;
use crate::db_test;
use crate::helpers::{Db, TestApp, count, location, spawn_app};

async fn call(app: &TestApp, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn teams_are_kept_and_checked_through_the_api(db: Db) {
    use reqwest::Method;
    let app = spawn_app(db).await;
    let admin = app.backend_token("admin@example.com", "pulse-admin").await;
    let viewer = app.backend_token("viewer@example.com", "pulse-viewer").await;
    let body = json!({"name": "Payments", "repositories": ["acme/api", "acme/API"], "projects": ["ops"]});
    let (code, team) = call(&app, &admin, Method::POST, "/api/v1/teams", Some(body.clone())).await;
    assert_eq!(code, 201, "{team}");
    assert_eq!(team["repositories"], json!(["acme/api"]));
    assert_eq!(team["projects"], json!(["OPS"]));
    let id = team["id"].as_i64().unwrap();
    let (code, answer) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "payments", "projects": ["DEV"]})),
    )
    .await;
    assert_eq!(code, 422, "names are unique whatever the case: {answer}");
    for bad in [
        json!({"name": "X"}),
        json!({"name": "", "projects": ["OPS"]}),
        json!({"name": "Y", "repositories": ["api"]}),
    ] {
        assert_eq!(
            call(&app, &admin, Method::POST, "/api/v1/teams", Some(bad.clone()))
                .await
                .0,
            422,
            "{bad}"
        );
    }
    assert_eq!(
        call(
            &app,
            &viewer,
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": "V", "projects": ["OPS"]}))
        )
        .await
        .0,
        403
    );
    let (code, list) = call(&app, &viewer, Method::GET, "/api/v1/teams", None).await;
    assert_eq!((code, list["teams"].as_array().unwrap().len()), (200, 1));
    let (code, saved) = call(
        &app,
        &admin,
        Method::PUT,
        &format!("/api/v1/teams/{id}"),
        Some(json!({"name": "Payments", "repositories": ["acme/web"], "projects": []})),
    )
    .await;
    assert_eq!(code, 200, "{saved}");
    assert_eq!(saved["repositories"], json!(["acme/web"]));
    assert_eq!(
        call(&app, &admin, Method::DELETE, &format!("/api/v1/teams/{id}"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, &viewer, Method::GET, &format!("/api/v1/teams/{id}"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(&app, &viewer, Method::GET, "/api/v1/metrics/dora?team=999", None)
            .await
            .0,
        400
    );
}
db_test!(teams_are_kept_and_checked_through_the_api);

/// Every metrics API gives a team's numbers exactly as the same repositories and projects
/// chosen by hand; a team without projects counts no issues (not all of them).
async fn a_team_equals_its_repositories_and_projects(db: Db) {
    use reqwest::Method;
    let app = seeded(db).await;
    let admin = app.backend_token("admin@example.com", "pulse-admin").await;
    let (_, team) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "API team", "repositories": ["acme/api"], "projects": ["OPS"]})),
    )
    .await;
    let id = team["id"].as_i64().unwrap();
    for metric in ["dora", "prs", "flow"] {
        let by_team = call(
            &app,
            &admin,
            Method::GET,
            &format!("/api/v1/metrics/{metric}?{WINDOW}&team={id}"),
            None,
        )
        .await
        .1;
        let by_hand = call(
            &app,
            &admin,
            Method::GET,
            &format!("/api/v1/metrics/{metric}?{WINDOW}&repositories=acme/api&projects=OPS"),
            None,
        )
        .await
        .1;
        let strip = |mut v: Value| {
            v.as_object_mut().unwrap().remove("filters");
            without_time_in_done(&mut v);
            v
        };
        assert_eq!(strip(by_team), strip(by_hand), "{metric}");
    }
    let everything = call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/metrics/flow?{WINDOW}"),
        None,
    )
    .await
    .1;
    assert!(everything["issues"].as_u64().unwrap() > 0);
    let (_, no_projects) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "Web team", "repositories": ["acme/web"]})),
    )
    .await;
    let flow = call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/metrics/flow?{WINDOW}&team={}", no_projects["id"]),
        None,
    )
    .await
    .1;
    assert_eq!(flow["issues"], 0, "a team without projects counts no issues");
    // The page offers the team and links keep it.
    app.login_viewer().await;
    let page = app
        .get(&format!("/analytics/dora?{WINDOW}&team={id}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(count(&page, &format!("#f-team option[value=\"{id}\"][selected]")), 1);
    assert!(page.contains(&format!("team={id}")));
}
db_test!(a_team_equals_its_repositories_and_projects);

/// Without JavaScript: admins add, edit and delete teams with forms; viewers only read.
async fn teams_pages_work_without_javascript(db: Db) {
    let app = spawn_app(db).await;
    app.login_admin().await;
    let csrf = app.csrf("/teams").await;
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let req = app.client.post(app.url(&path)).form(&form);
        async move { req.send().await.unwrap() }
    };
    let res = post(
        "/teams".into(),
        vec![
            ("csrf_token", csrf.clone()),
            ("name", "Core".into()),
            ("repositories", "acme/api\nacme/web".into()),
            ("projects", "OPS".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/teams");
    let page = app.get("/teams").await.text().await.unwrap();
    assert_eq!(count(&page, "#teams-table tr[data-team]"), 1);
    assert!(page.contains("Added team Core."));
    let res = post(
        "/teams".into(),
        vec![
            ("csrf_token", csrf.clone()),
            ("name", "Bad".into()),
            ("repositories", "not-a-repo".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("not-a-repo"), "the typed input is kept");
    let id = scraper::Html::parse_document(&page)
        .select(&scraper::Selector::parse("#teams-table tr[data-team]").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("data-team")
        .unwrap()
        .to_string();
    let res = post(
        format!("/teams/{id}"),
        vec![
            ("csrf_token", csrf.clone()),
            ("name", "Core platform".into()),
            ("projects", "OPS DEV".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(app.get("/teams").await.text().await.unwrap().contains("Core platform"));
    let res = post(format!("/teams/{id}/delete"), vec![("csrf_token", csrf.clone())]).await;
    assert_eq!(res.status(), 303);
    let page = app.get("/teams").await.text().await.unwrap();
    assert_eq!(count(&page, "#teams-table tr[data-team]"), 0);
    app.login_viewer().await;
    let page = app.get("/teams").await.text().await.unwrap();
    assert_eq!(count(&page, "#add-team"), 0, "viewers get no form");
}
db_test!(teams_pages_work_without_javascript);

/// Time in the Done step runs until the moment of the request, so two requests a few
/// milliseconds apart differ there; everything else must be equal.
fn without_time_in_done(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(steps)) = map.get_mut("time_in_step_hours") {
                steps.remove("Done");
            }
            map.values_mut().for_each(without_time_in_done);
        }
        Value::Array(items) => items.iter_mut().for_each(without_time_in_done),
        _ => {}
    }
}

/// The dashboard shows each team's headline numbers over the last 30 days, the same numbers as
/// the metrics API for that team and window, with an arrow against the 30 days before.
async fn the_dashboard_shows_each_teams_headline_numbers(db: Db) {
    use pulse_etl::views::analytics::{duration, number, percent};
    use reqwest::Method;

    use crate::ops::{add_integrations, admin, run_job, wait_idle};
    let app = spawn_app(db).await;
    let token = admin(&app).await;
    add_integrations(&app, &token).await;
    // Starting the Jira job runs the chain: the Git job follows it.
    assert_eq!(run_job(&app, &token, "jira_sync").await, "FINISHED");
    assert_eq!(wait_idle(&app, &token, "github_sync", 1).await, "FINISHED");
    let sim = app.sim.as_ref().unwrap();
    let (repos, projects) = {
        let data = sim.state.data();
        let repos: Vec<String> = data
            .github
            .repos
            .iter()
            .filter(|r| !r.archived)
            .take(2)
            .map(|r| format!("{}/{}", r.owner, r.name))
            .collect();
        (repos, vec![data.jira.projects[0].key.clone()])
    };
    let (status, team) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "Core", "repositories": repos, "projects": projects})),
    )
    .await;
    assert_eq!(status, 201, "{team}");
    let id = team["id"].as_i64().unwrap();

    let dora = call(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/metrics/dora?range=30&team={id}"),
        None,
    )
    .await
    .1;
    let flow = call(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/metrics/flow?range=30&team={id}"),
        None,
    )
    .await
    .1;
    app.login_viewer().await;
    let html = app.get("/").await.text().await.unwrap();
    let row = format!("#teams-panel tr[data-team='{id}']");
    let cells: Vec<String> = scraper::Html::parse_document(&html)
        .select(&scraper::Selector::parse(&format!("{row} td")).unwrap())
        .map(|td| td.text().collect::<String>().trim().to_string())
        .collect();
    assert_eq!(cells.len(), 5, "{html}");
    assert_eq!(cells[0], "Core");
    let shown = |v: &Value, f: fn(f64) -> String| v.as_f64().map_or_else(|| "—".to_string(), f);
    let starts = |cell: &str, want: String| assert!(cell.starts_with(&want), "{cell:?} is not {want:?}");
    starts(&cells[1], shown(&dora["deployment_frequency_per_week"], number));
    starts(&cells[2], shown(&dora["change_lead_time_hours"]["median"], duration));
    starts(&cells[3], shown(&dora["change_failure_rate"], percent));
    starts(&cells[4], shown(&flow["cycle_time_hours"]["median"], duration));
    assert!(
        dora["deployments"].as_u64().unwrap() > 0,
        "the simulator deploys within 30 days: {dora}"
    );
    // Each present number carries its trend against the days before.
    assert!(count(&html, &format!("{row} span.trend")) >= 1);
    // No team, no panel.
    call(&app, &token, Method::DELETE, &format!("/api/v1/teams/{id}"), None).await;
    assert_eq!(count(&app.get("/").await.text().await.unwrap(), "#teams-panel"), 0);
}
db_test!(the_dashboard_shows_each_teams_headline_numbers);
