//! Generates a simulator dataset and reports how long it took.
//!
//! `cargo run --release -p pulse-sim --example generate [small|medium|large] [seed] [--json FILE]
//! [--advance MINUTES]`

use std::time::Instant;

use chrono::{TimeZone, Utc};
use pulse_sim::generate::{SizeOptions, advance, check_invariants, generate};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("large", String::as_str);
    let Some(size) = SizeOptions::named(name) else {
        eprintln!("unknown size {name:?} (small, medium, large)");
        std::process::exit(2);
    };
    let seed = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let anchor = Utc
        .with_ymd_and_hms(2026, 1, 15, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);

    let started = Instant::now();
    let data = generate(seed, &size, anchor);
    let elapsed = started.elapsed();

    let transitions: usize = data
        .jira
        .issues
        .iter()
        .flat_map(|i| &i.changelog)
        .filter(|h| h.items.iter().any(|it| it.field == "status"))
        .count();
    let pulls = data.github.repos.iter().flat_map(|r| &r.pulls);
    let (mut prs, mut reviews, mut commits, mut comments, mut review_comments) = (0, 0, 0, 0, 0);
    for p in pulls {
        prs += 1;
        reviews += p.reviews.len();
        commits += p.commits.len();
        comments += p.comments.len();
        review_comments += p.review_comments.len();
    }
    let deployments: usize = data.github.repos.iter().map(|r| r.deployments.len()).sum();
    let runs: usize = data.github.repos.iter().map(|r| r.workflow_runs.len()).sum();
    println!(
        "size={name} seed={seed} time={:.3}s issues={} transitions={transitions} prs={prs} \
         reviews={reviews} commits={commits} comments={comments} review_comments={review_comments} \
         deployments={deployments} runs={runs}",
        elapsed.as_secs_f64(),
        data.jira.issues.len(),
    );
    if let Some(minutes) = flag(&args, "--advance").and_then(|m| m.parse::<u32>().ok()) {
        let mut data = data.clone();
        let started = Instant::now();
        let summary = advance(&mut data, seed, minutes);
        println!(
            "advance minutes={minutes} time={:.3}s {summary:?} problems={}",
            started.elapsed().as_secs_f64(),
            check_invariants(&data).len()
        );
    }
    if let Some(pos) = args.iter().position(|a| a == "--json")
        && let Some(path) = args.get(pos + 1)
    {
        match serde_json::to_vec_pretty(&data) {
            Ok(bytes) => {
                if let Err(e) = std::fs::write(path, bytes) {
                    eprintln!("cannot write {path}: {e}");
                }
            }
            Err(e) => eprintln!("cannot serialise: {e}"),
        }
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let pos = args.iter().position(|a| a == name)?;
    args.get(pos + 1).map(String::as_str)
}
