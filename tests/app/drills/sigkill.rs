//! SIGKILL at a seeded point of a Jira and of a GitHub sync, restart, let it finish: the rows
//! equal the simulator's ground truth (nothing missing, nothing twice).
//!
//! The kill point comes from the seed: after a seeded number of upstream requests answered by
//! the simulator, plus a seeded delay of 0–24 ms (so it lands anywhere in the handling of a page,
//! including in the middle of its transaction). The seed also seeds the simulator's dataset.
//! Replay one: `DRILL_SEEDS=7 cargo test --test app drills::sigkill -- --nocapture`
//! (`DRILL_KILL_AFTER=N` overrides the drawn number of requests).

use entity::enums::{JobStatus, JobType};
use std::time::{Duration, Instant};

use entity::{jira_issues, pull_requests};
use pulse_sim::SimOptions;
use pulse_sim::generate::SizeOptions;
use pulse_sim::state::SimConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use super::{add_integration, jira_body, start_job, wait_finished};
use crate::crash::{Serve, admin_token, job};
use crate::db_test;
use crate::github_sync::truth::{
    Setup, assert_matches_sim as assert_github_matches_sim, assert_no_partial_pull_request_in,
};
use crate::github_sync::{github_body, jira_projects_body};
use crate::helpers::{Db, fresh_database, init, random_key};
use crate::jira_sync::{assert_matches_sim as assert_jira_matches_sim, assert_no_partial_issue};

/// Seeds of the drills; `DRILL_SEEDS=1,2,3` replaces them.
fn seeds() -> Vec<u64> {
    match std::env::var("DRILL_SEEDS") {
        Ok(list) => list
            .split(',')
            .map(|s| s.trim().parse().expect("DRILL_SEEDS: comma-separated numbers"))
            .collect(),
        Err(_) => vec![3, 17, 2024],
    }
}

#[derive(Clone, Copy, Debug)]
enum Sync {
    Jira,
    Github,
}

impl Sync {
    fn job(self) -> JobType {
        match self {
            Sync::Jira => JobType::JiraSync,
            Sync::Github => JobType::GithubSync,
        }
    }

    /// The simulator routes this sync reads.
    fn upstream(self) -> &'static str {
        match self {
            Sync::Jira => "/jira-cloud",
            Sync::Github => "/github",
        }
    }

    /// Dataset sizes: several pages per project / repository, a few seconds of sync.
    fn size(self) -> SizeOptions {
        match self {
            Sync::Jira => SizeOptions::small(),
            Sync::Github => SizeOptions {
                prs: 600,
                ..SizeOptions::small()
            },
        }
    }

    /// Where the kill may land, in upstream requests answered: from the first page to well
    /// before the end. An undisturbed run of these datasets made 29 (Jira: reference data,
    /// 20 search pages, full changelogs) and 13 (GitHub: rate limit, organisation, then GraphQL
    /// pages and deployments of 3 repositories) requests (seed 3; `DRILL_KILL_AFTER=1000`
    /// shows the count).
    fn kill_range(self) -> std::ops::RangeInclusive<u64> {
        match self {
            Sync::Jira => 6..=24,
            Sync::Github => 3..=9,
        }
    }

    async fn rows(self, conn: &DatabaseConnection) -> u64 {
        match self {
            Sync::Jira => jira_issues::Entity::find().count(conn).await.unwrap(),
            Sync::Github => pull_requests::Entity::find().count(conn).await.unwrap(),
        }
    }
}

async fn drill(db: Db, sync: Sync) {
    init();
    let all = Instant::now();
    for seed in seeds() {
        drill_one(db, sync, seed).await;
    }
    eprintln!(
        "drill sigkill {sync:?} on {db:?}: {} seeds in {:.1?}",
        seeds().len(),
        all.elapsed()
    );
}

async fn drill_one(db: Db, sync: Sync, seed: u64) {
    let began = Instant::now();
    let mut dice = StdRng::seed_from_u64(seed);
    let drawn = dice.random_range(sync.kill_range());
    let kill_after = std::env::var("DRILL_KILL_AFTER")
        .ok()
        .map(|n| n.parse().expect("DRILL_KILL_AFTER: a number of requests"))
        .unwrap_or(drawn);
    let extra_ms = dice.random_range(0..25u64);
    eprintln!(
        "drill sigkill {sync:?} on {db:?}: seed {seed}, kill after {kill_after} upstream requests + {extra_ms} ms \
         (replay: DRILL_SEEDS={seed})"
    );
    let sim = pulse_sim::server::start(SimOptions {
        seed,
        size: sync.size(),
        ..SimOptions::default()
    })
    .unwrap();
    // Small Jira pages and some latency: the sync takes a few seconds, the kill lands mid-way.
    sim.state.set_config(SimConfig {
        latency_ms: 10,
        jira_max_results: 10,
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(db, &dir).await;
    let key = random_key(32);
    let token = admin_token(&sim).await;
    let conn = pulse_etl::db::connect(&database_url).await.unwrap();

    let first = Serve::start(&database_url, &key, &sim).await;
    let setup: Option<Setup> = match sync {
        Sync::Jira => {
            add_integration(&first, &token, jira_body(&sim)).await;
            None
        }
        Sync::Github => {
            // The Jira integration names the projects whose keys pull requests link to.
            add_integration(&first, &token, jira_projects_body(&sim)).await;
            let (body, setup) = github_body(&sim, "github", "deployments", None);
            add_integration(&first, &token, body).await;
            Some(setup)
        }
    };
    let before = sim.stats.served(sync.upstream());
    start_job(&first, &token, sync.job().as_str()).await;
    let started = Instant::now();
    let mut polls = 0u64;
    while sim.stats.served(sync.upstream()) - before < kill_after {
        polls += 1;
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "seed {seed}: fewer than {kill_after} upstream requests in 30 s"
        );
        if polls.is_multiple_of(50) {
            let row = job(&conn, sync.job().as_str()).await;
            assert!(
                row.status != JobStatus::Finished,
                "seed {seed}: the sync ended after {} upstream requests, before the kill point {kill_after}; \
                 lower the kill range",
                sim.stats.served(sync.upstream()) - before
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(extra_ms)).await;
    let pid = first.pid();
    first.kill().await;
    let served = sim.stats.served(sync.upstream()) - before;
    let left = job(&conn, sync.job().as_str()).await;
    assert_eq!(
        left.status,
        JobStatus::Running,
        "seed {seed}: the kill after {served} requests came after the end of the sync; lower the kill range"
    );
    let rows_at_kill = sync.rows(&conn).await;
    eprintln!(
        "  seed {seed}: SIGKILL pid {pid} after {served} upstream requests, {rows_at_kill} rows stored, progress {}%",
        left.progress
    );
    // Whatever the killed process committed is whole (its open transaction is gone).
    match &setup {
        None => assert_no_partial_issue(&sim, &conn).await,
        Some(setup) => assert_no_partial_pull_request_in(&sim, &conn, setup).await,
    }

    // The next process finds the RUNNING row with a stale lease (3 s), marks the run
    // interrupted and retries it from the checkpoint.
    sim.state.set_config(SimConfig::default());
    let restarted = Instant::now();
    let second = Serve::start(&database_url, &key, &sim).await;
    let done = wait_finished(&conn, &second, &token, sync.job().as_str(), Duration::from_secs(90)).await;
    let recovered = restarted.elapsed();
    assert_eq!(done.last_error, None, "seed {seed}");
    match &setup {
        None => assert_jira_matches_sim(&sim, &conn).await,
        Some(setup) => assert_github_matches_sim(&sim, &conn, setup).await,
    }
    let (runs, _) = pulse_etl::db::runs::list(&conn, sync.job(), 0, 10).await.unwrap();
    let outcomes: Vec<(&str, &str)> = runs.iter().map(|r| (r.trigger.as_str(), r.outcome.as_str())).collect();
    assert_eq!(
        outcomes,
        [("retry", "success"), ("manual", "interrupted")],
        "seed {seed}: the killed run, then its recovery (newest first)"
    );
    let fetched_again = runs[0].counts["pull_requests"]["fetched"]
        .as_u64()
        .or(runs[0].counts["issues"]["fetched"].as_u64())
        .unwrap_or(0);
    eprintln!(
        "  seed {seed}: restarted, finished {recovered:.1?} later ({fetched_again} items fetched by the resumed run, \
         {} rows in all); rows equal the simulator's; drill took {:.1?}",
        sync.rows(&conn).await,
        began.elapsed()
    );
    second.kill().await;
    sim.stop().await;
}

async fn sigkill_at_seeded_points_of_a_jira_sync(db: Db) {
    drill(db, Sync::Jira).await;
}
db_test!(sigkill_at_seeded_points_of_a_jira_sync);

async fn sigkill_at_seeded_points_of_a_github_sync(db: Db) {
    drill(db, Sync::Github).await;
}
db_test!(sigkill_at_seeded_points_of_a_github_sync);
