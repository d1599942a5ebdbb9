//! Fault drills (issue #10 part 4) against real `pulse-etl serve` processes, real HTTP to the
//! simulators and real databases: SIGKILL at seeded points of a Jira and a GitHub sync, the
//! database unavailable for 30 s during a sync, the Backend Service down while a job runs.
//! Upstream fault mixes are in `jira_sync` and `github_sync` (`*_lose_nothing`).
//! Run with `--nocapture` to see each drill's seed, kill point and timings.

mod backend;
mod database;
mod sigkill;
pub mod tcp_proxy;

use entity::enums::JobStatus;
use std::time::{Duration, Instant};

use pulse_sim::SimHandle;
use pulse_sim::model::STORY_POINTS_FIELD;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use crate::crash::{Serve, job};

/// The Jira Cloud integration over every simulated project (with story points).
pub fn jira_body(sim: &SimHandle) -> Value {
    let projects: Vec<String> = sim.state.data().jira.projects.iter().map(|p| p.key.clone()).collect();
    json!({"kind": "jira", "name": "Jira", "flavour": "cloud", "base_url": sim.urls.jira_cloud,
           "username": "sim@example.com", "secret": "sim-token",
           "settings": {"projects": projects, "story_points_field": STORY_POINTS_FIELD}})
}

pub async fn add_integration(serve: &Serve, token: &str, body: Value) {
    let res = serve.post(token, "/api/v1/integrations?test=false", body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
}

pub async fn start_job(serve: &Serve, token: &str, name: &str) {
    let res = serve
        .post(token, &format!("/api/v1/jobs/{name}/start"), json!({}))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
}

/// Waits until the job is FINISHED. A run that failed with a long retry wait ahead (a database
/// error is retried after `retry_interval_minutes`) is started again by hand, as an operator
/// would once the database is back.
pub async fn wait_finished(
    conn: &DatabaseConnection,
    serve: &Serve,
    token: &str,
    name: &str,
    limit: Duration,
) -> entity::jobs::Model {
    let started = Instant::now();
    loop {
        let row = job(conn, name).await;
        if row.status == JobStatus::Finished {
            return row;
        }
        let far = chrono::Utc::now() + chrono::Duration::seconds(30);
        if row.status == JobStatus::Failed && row.next_retry_at.is_none_or(|t| t > far) {
            start_job(serve, token, name).await;
        }
        assert!(
            started.elapsed() < limit,
            "{name} not finished in {limit:?}: {} {:?}",
            row.status,
            row.last_error
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
