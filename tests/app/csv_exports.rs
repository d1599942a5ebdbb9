//! Every drill-down list as CSV (`format=csv` on the metrics API, linked from each page): every
//! row, not the 200 a page shows, with the page's filters; parsed back and compared with the
//! JSON numbers of the same window.

use serde_json::Value;

use crate::analytics::fixture::WINDOW;
use crate::analytics::seeded;
use crate::db_test;
use crate::helpers::{Db, TestApp, select_attr};

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    let token = app.backend_token("viewer@example.com", "pulse-viewer").await;
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

/// The header and the records of a CSV answer.
async fn csv_of(app: &TestApp, path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let res = get(app, path).await;
    assert_eq!(res.status(), 200, "{path}");
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    get(app, path).await.json().await.unwrap()
}

async fn drill_downs_come_as_csv_with_the_pages_filters(db: Db) {
    let app = seeded(db).await;
    let dora = json_of(&app, &format!("/api/v1/metrics/dora?{WINDOW}")).await;
    let (header, rows) = csv_of(&app, &format!("/api/v1/metrics/dora?{WINDOW}&format=csv")).await;
    assert_eq!(header[..2], ["deployed_at", "repository"]);
    assert_eq!(rows.len() as u64, dora["deployments"].as_u64().unwrap());
    // Three of the four deployments failed (an incident after each): their keys are listed.
    assert_eq!(rows.iter().filter(|r| !r[4].is_empty()).count(), 3, "{rows:?}");
    let mut newest_first = rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(newest_first, rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>());

    let (_, web) = csv_of(
        &app,
        &format!("/api/v1/metrics/dora?{WINDOW}&repositories=acme/web&format=csv"),
    )
    .await;
    assert_eq!(web.len(), 1);
    assert_eq!(web[0][1], "acme/web");

    let prs = json_of(&app, &format!("/api/v1/metrics/prs?{WINDOW}")).await;
    let (header, rows) = csv_of(&app, &format!("/api/v1/metrics/prs?{WINDOW}&format=csv")).await;
    assert_eq!(header[..4], ["repository", "number", "title", "url"]);
    assert_eq!(rows.len() as u64, prs["pull_requests"].as_u64().unwrap());
    assert!(rows.iter().all(|r| r[3].starts_with("http")), "{rows:?}");

    let flow = json_of(&app, &format!("/api/v1/metrics/flow?{WINDOW}&projects=DEV")).await;
    let (header, rows) = csv_of(&app, &format!("/api/v1/metrics/flow?{WINDOW}&projects=DEV&format=csv")).await;
    assert_eq!(header[..3], ["key", "summary", "url"]);
    assert_eq!(rows.len() as u64, flow["issues"].as_u64().unwrap());
    assert!(rows.iter().all(|r| r[0].starts_with("DEV-")), "{rows:?}");
    let cycle: Vec<f64> = rows.iter().map(|r| r[7].parse().unwrap()).collect();
    assert_eq!(cycle.iter().sum::<f64>(), 72.0, "48 h and 24 h");

    // Bad filters are refused as for the JSON, not answered with an empty file.
    let res = get(&app, "/api/v1/metrics/flow?from=2026-03-14&to=2026-03-01&format=csv").await;
    assert_eq!(res.status(), 400);
}
db_test!(drill_downs_come_as_csv_with_the_pages_filters);

async fn each_page_links_its_list_as_csv(db: Db) {
    let app = seeded(db).await;
    app.login_viewer().await;
    for (page, api) in [("dora", "dora"), ("prs", "prs"), ("flow", "flow")] {
        let html = app
            .get(&format!("/analytics/{page}?{WINDOW}"))
            .await
            .text()
            .await
            .unwrap();
        let href = select_attr(&html, "a.csv-link", "href").unwrap_or_else(|| panic!("{page}: no CSV link"));
        assert!(
            href.starts_with(&format!("/api/v1/metrics/{api}?from=2026-03-01&to=2026-03-14")),
            "{href}"
        );
        assert!(href.ends_with("&format=csv"), "{href}");
        // The browser's session is enough to download it.
        let res = app.get(&href).await;
        assert_eq!(res.status(), 200, "{href}");
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    }
}
db_test!(each_page_links_its_list_as_csv);
