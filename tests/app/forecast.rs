//! Forecasting flow analytics through the API, on the hand-built analytics fixture: the
//! scatter's points and percentile lines, and Monte Carlo forecasts whose history is exactly
//! the issues the flow list shows as done.

use chrono::{DateTime, NaiveDate, Utc};
use pulse_etl::domain::metrics::forecast;
use serde_json::Value;

use crate::analytics::fixture::WINDOW;
use crate::analytics::seeded;
use crate::db_test;
use crate::helpers::{Db, TestApp};

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let token = app.backend_token("viewer@example.com", "pulse-viewer").await;
    let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn json(app: &TestApp, path: &str) -> Value {
    let (status, body) = get(app, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    assert!((got - want).abs() < 1e-6, "{got} != {want}");
}

async fn the_scatter_has_a_point_per_completed_issue_and_its_percentiles(db: Db) {
    let app = seeded(db).await;
    let s = json(&app, &format!("/api/v1/metrics/flow/scatter?{WINDOW}&projects=DEV")).await;
    let points = s["points"].as_array().unwrap();
    // DEV-1 (48 h) and DEV-2 (24 h), oldest first; the excluded issues are not drawn.
    assert_eq!(points.len(), 2, "{s}");
    assert!(points.iter().all(|p| p["key"].as_str().unwrap().starts_with("DEV-")));
    assert!(points[0]["completed_at"].as_str() <= points[1]["completed_at"].as_str());
    let mut cycle: Vec<f64> = points.iter().map(|p| p["cycle_time_hours"].as_f64().unwrap()).collect();
    cycle.sort_by(f64::total_cmp);
    assert_eq!(cycle, vec![24.0, 48.0]);
    close(&s["percentiles_hours"]["p50"], 36.0);
    close(&s["percentiles_hours"]["p70"], 40.8);
    close(&s["percentiles_hours"]["p85"], 44.4);
    close(&s["percentiles_hours"]["p95"], 46.8);
    // A window with nothing done: no points, no lines.
    let empty = json(&app, "/api/v1/metrics/flow/scatter?from=2025-01-01&to=2025-01-31").await;
    assert_eq!(empty["points"].as_array().unwrap().len(), 0);
    assert!(empty["percentiles_hours"]["p85"].is_null());
}
db_test!(the_scatter_has_a_point_per_completed_issue_and_its_percentiles);

async fn forecasts_read_the_throughput_of_the_issues_done_and_are_reproducible(db: Db) {
    let app = seeded(db).await;
    // The history: what the flow list says was done on each day of the window.
    let (_, text) = get(&app, &format!("/api/v1/metrics/flow?{WINDOW}&format=csv")).await;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let done: Vec<DateTime<Utc>> = reader.records().map(|r| r.unwrap()[5].parse().unwrap()).collect();
    assert!(!done.is_empty());
    let (from, to) = (
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 3, 14).unwrap(),
    );
    let history = forecast::daily_throughput(done.iter().copied(), from, to);
    assert_eq!(history.iter().sum::<u32>() as usize, done.len());

    let ask =
        format!("/api/v1/metrics/flow/forecast?{WINDOW}&history_from=2026-03-01&history_to=2026-03-14&days=14&seed=7");
    let f = json(&app, &ask).await;
    assert_eq!(f["trials"], 10_000);
    assert_eq!(f["seed"], 7);
    assert_eq!(f["history_days"], 14);
    close(&f["throughput_per_day"]["mean"], done.len() as f64 / 14.0);
    let expected = forecast::how_many(&history, 14, 10_000, 7);
    for (level, answer) in &expected.levels {
        assert_eq!(
            f["how_many"][format!("p{level}")].as_u64(),
            answer.map(u64::from),
            "p{level}: {f}"
        );
    }
    let trials: u64 = f["how_many"]["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["trials"].as_u64().unwrap())
        .sum();
    assert_eq!(trials, 10_000);
    assert_eq!(json(&app, &ask).await, f, "the same seed gives the same answer");
    let default = json(&app, &format!("/api/v1/metrics/flow/forecast?{WINDOW}")).await;
    assert_eq!(
        default["how_many"]["days"], 14,
        "no question: how many in the next two weeks"
    );

    let when = json(
        &app,
        &format!("/api/v1/metrics/flow/forecast?{WINDOW}&history_from=2026-03-01&history_to=2026-03-14&items=5"),
    )
    .await;
    assert_eq!(when["seed"], 1, "a default seed, stated");
    let expected = forecast::when(&history, 5, 10_000, 1);
    assert_eq!(when["when"]["p85"].as_u64(), expected.levels[1].1.map(u64::from));
    assert!(when["when"]["p50"].as_u64() <= when["when"]["p95"].as_u64());

    for bad in [
        "&days=10&items=3",
        "&days=0",
        "&trials=1000000",
        "&days=5&history_from=2026-03-20",
    ] {
        let (status, body) = get(&app, &format!("/api/v1/metrics/flow/forecast?{WINDOW}{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    }
}
db_test!(forecasts_read_the_throughput_of_the_issues_done_and_are_reproducible);

/// The flow page shows the scatter (a dot per completed issue, the outliers linked) and both forecasts, with
/// the same answers as the API for the same question.
async fn the_flow_page_shows_the_scatter_and_the_forecasts(db: Db) {
    use crate::helpers::{count, select_attr, select_text};
    let app = seeded(db).await;
    let api = json(&app, &format!("/api/v1/metrics/flow/forecast?{WINDOW}&days=7")).await;
    let scatter = json(&app, &format!("/api/v1/metrics/flow/scatter?{WINDOW}")).await;
    app.login_viewer().await;
    let html = app
        .get(&format!("/analytics/flow?{WINDOW}&forecast_days=7&forecast_items=3"))
        .await
        .text()
        .await
        .unwrap();
    // Every point is drawn: the linked ones as circles, the others in one path, one stroke per
    // distinct position (a repeat would paint nothing more).
    let plain: usize = scraper::Html::parse_document(&html)
        .select(&scraper::Selector::parse("#scatter svg path.points").unwrap())
        .map(|p| p.value().attr("data-points").unwrap().parse::<usize>().unwrap())
        .sum();
    let d = select_attr(&html, "#scatter svg path.points", "d").unwrap_or_default();
    let strokes: Vec<&str> = d.split('M').filter(|s| !s.is_empty()).collect();
    let distinct: std::collections::HashSet<&str> = strokes.iter().copied().collect();
    assert_eq!(distinct.len(), strokes.len(), "one stroke per position: {d}");
    assert!(
        !strokes.is_empty() && strokes.len() <= plain,
        "{} strokes for {plain} points",
        strokes.len()
    );
    assert_eq!(
        count(&html, "#scatter svg circle.point") + plain,
        scatter["points"].as_array().unwrap().len()
    );
    // The outliers (above the p85 line) link to Jira; the others are plain dots.
    let p85_hours = scatter["percentiles_hours"]["p85"].as_f64().unwrap();
    let outliers = scatter["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["cycle_time_hours"].as_f64().unwrap() > p85_hours)
        .count();
    assert!(outliers > 0);
    assert_eq!(
        count(&html, "#scatter svg a circle.point"),
        outliers,
        "each outlier links to Jira"
    );
    let p85 = select_text(&html, "#forecast-how-many tbody tr:nth-child(2) td:nth-child(2)").unwrap();
    assert_eq!(p85, format!("{} items", api["how_many"]["p85"]));
    assert!(select_text(&html, "#forecast h3").unwrap().contains("next 7 days"));
    assert_eq!(count(&html, "#forecast-when tbody tr"), 3);
    assert_eq!(count(&html, "input[name=forecast_items][value='3']"), 1);
    // Flow distribution: each period's completed issues per category add up to the window's,
    // category by category.
    let flow = json(&app, &format!("/api/v1/metrics/flow?{WINDOW}")).await;
    let doc = scraper::Html::parse_document(&html);
    let cell = scraper::Selector::parse("td").unwrap();
    let head = scraper::Selector::parse("#distribution-table thead th").unwrap();
    let heads: Vec<String> = doc.select(&head).map(|h| h.text().collect()).collect();
    let mut totals = vec![0u64; heads.len()];
    for row in doc.select(&scraper::Selector::parse("#distribution-table tbody tr").unwrap()) {
        for (i, td) in row.select(&cell).enumerate().skip(1) {
            let text: String = td.text().collect();
            totals[i] += text.split_whitespace().next().unwrap().parse::<u64>().unwrap();
        }
    }
    assert_eq!(totals.last().copied(), flow["issues"].as_u64());
    for (i, category) in heads.iter().enumerate().skip(1).take(heads.len() - 2) {
        let want = flow["by_work_category"][category]["issues"].as_u64().unwrap_or(0);
        assert_eq!(totals[i], want, "{category}");
    }
    let (status, _) = get(&app, &format!("/analytics/flow?{WINDOW}&forecast_days=0")).await;
    assert_eq!(status, 400);
}
db_test!(the_flow_page_shows_the_scatter_and_the_forecasts);
