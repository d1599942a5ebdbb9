//! The PR page and API: stage times (median, p75, p90), size, reviews, approvals and
//! throughput of non-bot pull requests merged in the window.

use chrono::{DateTime, Utc};
use entity::pr_stage_times;
use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;
use serde_json::{Value, json};

use super::filters::{Filters, ids};
use super::{Cache, FIX_INTEGRATIONS, Missing, Rows};
use crate::db;
use crate::domain::metrics::pr::{PrMoments, stages};
use crate::domain::metrics::{Summary, Window, mean, per_week};

#[derive(Clone, Debug, Default, Serialize)]
pub struct PrNumbers {
    pub window: Option<Window>,
    pub pull_requests: usize,
    pub bots_excluded: usize,
    pub coding: Summary,
    pub pickup: Summary,
    pub review: Summary,
    pub deploy: Summary,
    pub size: Summary,
    pub reviews_per_pr: Option<f64>,
    pub merged_without_approval: Option<f64>,
    pub throughput_per_week: f64,
    /// PR size (lines added + deleted) histogram: bin label and count.
    pub size_bins: Vec<(String, usize)>,
}

/// Upper bounds (inclusive) of the size bins; larger PRs fall in the last, open bin.
const SIZE_BINS: [i32; 5] = [10, 50, 200, 500, 1000];

fn size_bins(sizes: impl Iterator<Item = i32>) -> Vec<(String, usize)> {
    let mut counts = [0usize; SIZE_BINS.len() + 1];
    for s in sizes {
        counts[SIZE_BINS.iter().position(|b| s <= *b).unwrap_or(SIZE_BINS.len())] += 1;
    }
    let mut lo = 0;
    let mut out: Vec<(String, usize)> = SIZE_BINS
        .iter()
        .zip(counts)
        .map(|(hi, n)| {
            let label = format!("{lo}–{hi} lines");
            lo = hi + 1;
            (label, n)
        })
        .collect();
    out.push((
        format!("over {} lines", SIZE_BINS[SIZE_BINS.len() - 1]),
        counts[SIZE_BINS.len()],
    ));
    out
}

/// A merged PR for the drill-down list.
#[derive(Clone, Debug, Serialize)]
pub struct PrDrillDown {
    pub id: i64,
    pub repository: String,
    pub number: i32,
    pub title: String,
    /// The pull request's page on GitHub.
    pub url: String,
    pub author: Option<String>,
    pub merged_at: Option<DateTime<Utc>>,
    pub coding: Option<f64>,
    pub pickup: Option<f64>,
    pub review: Option<f64>,
    pub deploy: Option<f64>,
    pub size: i32,
}

#[derive(Debug, Serialize)]
pub struct PrReport {
    pub filters: Filters,
    pub current: PrNumbers,
    pub previous: PrNumbers,
    pub trend: Vec<PrNumbers>,
    pub rows: Vec<PrDrillDown>,
    pub missing: Option<Missing>,
    pub repositories: Vec<String>,
    pub freshness: db::analytics::Freshness,
}

fn stage_spans(p: &pr_stage_times::Model) -> crate::domain::metrics::pr::Stages {
    let m = PrMoments {
        first_commit_at: p.first_commit_at,
        first_response_at: p.first_response_at,
        first_review_at: p.first_review_at,
        reviews: p.reviews,
        approved: p.approved,
    };
    stages(&m, p.created, p.merged_at, p.deployed_at)
}

/// The numbers over `w` for PRs merged in it (pure).
pub fn numbers(prs: &[&pr_stage_times::Model], w: &Window) -> PrNumbers {
    let merged: Vec<_> = prs
        .iter()
        .copied()
        .filter(|p| p.merged_at.is_some_and(|m| w.contains(m)))
        .collect();
    let humans: Vec<_> = merged.iter().filter(|p| !p.is_bot).collect();
    let spans: Vec<_> = humans.iter().map(|p| stage_spans(p)).collect();
    let n = humans.len();
    let reviews: Vec<f64> = humans.iter().map(|p| f64::from(p.reviews)).collect();
    PrNumbers {
        window: Some(*w),
        pull_requests: n,
        bots_excluded: merged.len() - n,
        coding: Summary::of(spans.iter().filter_map(|s| s.coding)),
        pickup: Summary::of(spans.iter().filter_map(|s| s.pickup)),
        review: Summary::of(spans.iter().filter_map(|s| s.review)),
        deploy: Summary::of(spans.iter().filter_map(|s| s.deploy)),
        size: Summary::of(humans.iter().map(|p| f64::from(p.size))),
        reviews_per_pr: mean(&reviews),
        merged_without_approval: (n > 0).then(|| humans.iter().filter(|p| !p.approved).count() as f64 / n as f64),
        throughput_per_week: per_week(n, w),
        size_bins: size_bins(humans.iter().map(|p| p.size)),
    }
}

pub async fn report(db: &DatabaseConnection, cache: &Cache, filters: Filters) -> Result<PrReport, DbErr> {
    report_rows(db, cache, filters, Rows::Shown).await
}

/// The report with `rows` of its drill-down list.
pub async fn report_rows(
    db: &DatabaseConnection,
    cache: &Cache,
    filters: Filters,
    rows_wanted: Rows,
) -> Result<PrReport, DbErr> {
    let (freshness, snapshot) = cache.current(db).await?;
    let repo_choices = db::analytics::repository_choices(db).await?;
    let repos = ids(&filters.repositories, &repo_choices);
    let w = filters.window;
    let prev = w.previous();
    let prs = merged_or_deployed(&snapshot.prs, &repos, prev.start(), w.end());
    let prs: Vec<_> = prs
        .into_iter()
        .filter(|p| {
            filters.authors.is_empty()
                || p.author
                    .as_deref()
                    .is_some_and(|a| filters.authors.iter().any(|f| f.eq_ignore_ascii_case(a)))
        })
        .collect();
    let current = numbers(&prs, &w);
    let previous = numbers(&prs, &prev);
    let trend = w.buckets().iter().map(|b| numbers(&prs, b)).collect();
    let missing = (current.pull_requests == 0).then(|| {
        if repo_choices.is_empty() {
            Missing::new(
                "No GitHub repositories or GitLab projects have been synced yet: add a GitHub or GitLab integration and run the Git sync.",
                FIX_INTEGRATIONS,
            )
        } else {
            Missing::new(
                format!(
                    "No pull request by a human author was merged between {} and {} in the chosen repositories.",
                    w.from, w.to
                ),
                None,
            )
        }
    });
    let mut shown: Vec<_> = prs
        .iter()
        .filter(|p| !p.is_bot && p.merged_at.is_some_and(|m| w.contains(m)))
        .collect();
    shown.sort_by_key(|p| std::cmp::Reverse(p.merged_at));
    shown.truncate(rows_wanted.limit());
    let ids: Vec<i64> = shown.iter().map(|p| p.pull_request_id).collect();
    let labels: std::collections::HashMap<i64, (i32, String)> = db::analytics::pull_request_labels(db, &ids)
        .await?
        .into_iter()
        .map(|(id, number, title, _)| (id, (number, title)))
        .collect();
    let repo_urls = db::analytics::repository_urls(db).await?;
    let rows = shown
        .iter()
        .map(|p| {
            let s = stage_spans(p);
            let (number, title) = labels.get(&p.pull_request_id).cloned().unwrap_or_default();
            PrDrillDown {
                id: p.pull_request_id,
                repository: repo_choices
                    .iter()
                    .find(|r| r.0 == p.repository_id)
                    .map_or_else(String::new, |r| r.1.clone()),
                url: repo_urls
                    .get(&p.repository_id)
                    .map(|r| format!("{r}/{number}"))
                    .unwrap_or_default(),
                number,
                title,
                author: p.author.clone(),
                merged_at: p.merged_at,
                coding: s.coding,
                pickup: s.pickup,
                review: s.review,
                deploy: s.deploy,
                size: p.size,
            }
        })
        .collect();
    Ok(PrReport {
        filters,
        current,
        previous,
        trend,
        rows,
        missing,
        repositories: repo_choices.into_iter().map(|r| r.1).collect(),
        freshness,
    })
}

/// PRs of `repositories` (all when empty) merged, or deployed, in `[from, to)`.
pub fn merged_or_deployed<'a>(
    prs: &'a [pr_stage_times::Model],
    repositories: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<&'a pr_stage_times::Model> {
    let inside = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t >= from && t < to);
    prs.iter()
        .filter(|p| repositories.is_empty() || repositories.contains(&p.repository_id))
        .filter(|p| inside(p.merged_at) || inside(p.deployed_at))
        .collect()
}

fn summary(s: &Summary) -> Value {
    json!({"median": s.median, "p75": s.p75, "p90": s.p90, "count": s.count})
}

pub fn to_json(r: &PrReport) -> Value {
    let n = |x: &PrNumbers| {
        json!({
            "from": x.window.map(|w| w.from), "to": x.window.map(|w| w.to),
            "pull_requests": x.pull_requests,
            "bots_excluded": x.bots_excluded,
            "coding_hours": summary(&x.coding),
            "pickup_hours": summary(&x.pickup),
            "review_hours": summary(&x.review),
            "deploy_hours": summary(&x.deploy),
            "size_lines": summary(&x.size),
            "reviews_per_pr": x.reviews_per_pr,
            "merged_without_approval": x.merged_without_approval,
            "throughput_per_week": x.throughput_per_week,
        })
    };
    let mut doc = n(&r.current);
    doc["reason"] = json!(r.missing.as_ref().map(|m| &m.reason));
    doc["previous"] = n(&r.previous);
    doc["trend"] = Value::Array(r.trend.iter().map(n).collect());
    doc["filters"] = json!(r.filters);
    r.freshness.annotate(&mut doc);
    doc
}
