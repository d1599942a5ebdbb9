//! How a running sync is steered and observed: stop/pause, progress, counters.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// Why a sync ended before finishing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    /// Force stop: the in-flight request was dropped, the open batch rolled back.
    #[error("stopped")]
    Stopped,
    /// Pause: stopped at a request boundary; the checkpoint is kept.
    #[error("paused")]
    Paused,
}

/// Shared between the job and whoever controls it (orchestrator, tests).
#[derive(Clone, Default)]
pub struct RunControl {
    stop: CancellationToken,
    pause: CancellationToken,
}

impl RunControl {
    pub fn new() -> Self {
        Self::default()
    }

    /// Force stop: wakes every wait and aborts the request in flight.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Pause at the next request boundary (or during a rate-limit wait).
    pub fn pause(&self) {
        self.pause.cancel();
    }

    /// A control of its own for part of a run (one integration's streams): stopped and paused
    /// with this one, and pausable alone.
    pub fn child(&self) -> Self {
        Self {
            stop: self.stop.child_token(),
            pause: self.pause.child_token(),
        }
    }

    /// Called before every request.
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.stop.is_cancelled() {
            Err(Interrupted::Stopped)
        } else if self.pause.is_cancelled() {
            Err(Interrupted::Paused)
        } else {
            Ok(())
        }
    }

    /// Sleeps (for a rate limit or backoff) unless stopped or paused first.
    pub async fn sleep(&self, d: Duration) -> Result<(), Interrupted> {
        tokio::select! {
            _ = self.stop.cancelled() => Err(Interrupted::Stopped),
            _ = self.pause.cancelled() => Err(Interrupted::Paused),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }

    /// Waits for `f` (a slot to send in) unless stopped or paused first.
    pub async fn before_request<F: Future>(&self, f: F) -> Result<F::Output, Interrupted> {
        self.check()?;
        tokio::select! {
            _ = self.stop.cancelled() => Err(Interrupted::Stopped),
            _ = self.pause.cancelled() => Err(Interrupted::Paused),
            out = f => Ok(out),
        }
    }

    /// Runs a request; a force stop drops it mid-flight (a pause lets it finish).
    pub async fn run<F: Future>(&self, f: F) -> Result<F::Output, Interrupted> {
        tokio::select! {
            _ = self.stop.cancelled() => Err(Interrupted::Stopped),
            out = f => Ok(out),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct EntityCounts {
    pub fetched: u64,
    pub inserted: u64,
    pub updated: u64,
}

/// What one part of a run (a Jira project, a GitHub repository) did: the run log's line for it.
#[derive(Debug, Default)]
pub struct ScopeStats {
    /// Answers received (a page, a follow-up, a count).
    pub pages: AtomicU64,
    /// Requests sent again after a 5xx, a timeout, a reset or an unreadable body.
    pub retries: AtomicU64,
    /// Answers that said "too many requests".
    pub throttled: AtomicU64,
    pub rate_limit_wait_ms: AtomicU64,
    /// Requests this part still expects to send, as far as it knows (0: unknown or none). When
    /// requests wait for a slot, the limiter serves the largest first: the longest chain of
    /// pages then never runs on alone at the end of a run while the other slots sit idle.
    pub rank: AtomicU64,
    items: Mutex<BTreeMap<&'static str, u64>>,
}

impl ScopeStats {
    /// Items fetched in this scope, by entity.
    pub fn items(&self) -> BTreeMap<&'static str, u64> {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// "12 pages, 1,130 issues, 4,210 status transitions; 1 retry; 2 rate-limit waits (3.2 s)".
    pub fn describe(&self) -> String {
        let pages = self.pages.load(Ordering::Relaxed);
        let mut parts = vec![plural(pages, "page", "pages")];
        // The synced items first, in the order a reader thinks of them; the rest by name.
        const FIRST: [&str; 8] = [
            "issues",
            "status_transitions",
            "pull_requests",
            "reviews",
            "commits",
            "comments",
            "links",
            "deployments",
        ];
        let mut items: Vec<(&str, u64)> = self.items().into_iter().collect();
        items.sort_by_key(|(entity, _)| FIRST.iter().position(|f| f == entity).unwrap_or(FIRST.len()));
        for (entity, n) in items {
            parts.push(format!("{} {}", thousands(n), entity.replace('_', " ")));
        }
        let mut out = parts.join(", ");
        let retries = self.retries.load(Ordering::Relaxed);
        out.push_str("; ");
        out.push_str(&plural(retries, "retry", "retries"));
        let throttled = self.throttled.load(Ordering::Relaxed);
        let waited = self.rate_limit_wait_ms.load(Ordering::Relaxed);
        out.push_str("; ");
        if throttled == 0 {
            out.push_str("no rate-limit waits");
        } else {
            out.push_str(&format!(
                "{} ({:.1} s)",
                plural(throttled, "rate-limit wait", "rate-limit waits"),
                waited as f64 / 1000.0
            ));
        }
        out
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

tokio::task_local! {
    /// The part of the run the current future works for (set by `RunStats::in_scope`).
    static SCOPE: Arc<ScopeStats>;
}

tokio::task_local! {
    /// The name of the integration the current future syncs (the metrics' `integration` label).
    static INTEGRATION: Arc<str>;
}

/// Runs `fut` as the sync of the integration called `name`.
pub async fn for_integration<F: Future>(name: String, fut: F) -> F::Output {
    INTEGRATION.scope(Arc::from(name), fut).await
}

/// The integration the calling future syncs, if any.
pub fn current_integration() -> Option<Arc<str>> {
    INTEGRATION.try_with(Arc::clone).ok()
}

/// The [`ScopeStats::rank`] of the scope the calling future runs in (0 outside any).
pub fn current_rank() -> u64 {
    SCOPE.try_with(|s| s.rank.load(Ordering::Relaxed)).unwrap_or(0)
}

/// Adds to the counters of the scope the calling future runs in, if any.
pub fn in_current_scope(f: impl FnOnce(&ScopeStats)) {
    let _ = SCOPE.try_with(|s| f(s));
}

/// Counters of one run: per entity, API requests, time spent waiting for rate limits.
#[derive(Default)]
pub struct RunStats {
    pub api_requests: AtomicU64,
    pub rate_limit_wait_ms: AtomicU64,
    pub retries: AtomicU64,
    /// Answers that refused a request for sending too much (429, secondary limits).
    pub throttled: AtomicU64,
    /// Most requests in flight at once to one upstream during the run.
    pub peak_in_flight: AtomicU64,
    counts: Mutex<BTreeMap<&'static str, EntityCounts>>,
    scopes: Mutex<BTreeMap<String, Arc<ScopeStats>>>,
}

impl RunStats {
    /// Runs `fut` with its requests and items counted under `name` too (futures it polls, such
    /// as follow-ups sent side by side, count there as well). Two futures with one name share
    /// the counters (a project read in several slices).
    pub async fn in_scope<F: Future>(&self, name: String, fut: F) -> F::Output {
        let scope = {
            let mut scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
            scopes.entry(name).or_default().clone()
        };
        SCOPE.scope(scope, fut).await
    }

    /// Every scope of the run, by name.
    pub fn scopes(&self) -> Vec<(String, Arc<ScopeStats>)> {
        let scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        scopes.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub fn add(&self, entity: &'static str, fetched: u64, inserted: u64, updated: u64) {
        // A scope's own row (its project, the repositories listed) is not what it synced.
        if fetched > 0 && !matches!(entity, "projects" | "repositories") {
            in_current_scope(|s| {
                *s.items
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(entity)
                    .or_default() += fetched;
            });
        }
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let c = counts.entry(entity).or_default();
        c.fetched += fetched;
        c.inserted += inserted;
        c.updated += updated;
    }

    /// A stored page of pull requests (GitHub's, or GitLab's merge requests): `fetched` of them,
    /// their nested rows, and what the write inserted and updated.
    pub fn add_pulls(&self, fetched: u64, prs: &[crate::db::github::PrRow], written: &crate::db::github::PullCounts) {
        let nested = |f: fn(&crate::db::github::PrRow) -> usize| prs.iter().map(f).sum::<usize>() as u64;
        self.add("pull_requests", fetched, written.pulls.inserted, written.pulls.updated);
        self.add(
            "reviews",
            nested(|p| p.reviews.len()),
            written.reviews.inserted,
            written.reviews.updated,
        );
        self.add(
            "commits",
            nested(|p| p.commits.len()),
            written.commits.inserted,
            written.commits.updated,
        );
        self.add(
            "comments",
            nested(|p| p.comments.len()),
            written.comments.inserted,
            written.comments.updated,
        );
        self.add(
            "links",
            nested(|p| p.links.len()),
            written.links.inserted,
            written.links.updated,
        );
    }

    pub fn counts(&self) -> BTreeMap<&'static str, EntityCounts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes in what an upstream's limiter saw during this run.
    pub fn note_limiter(&self, seen: &crate::integrations::limiter::LimiterStats) {
        self.peak_in_flight
            .fetch_max(u64::from(seen.peak_in_flight), Ordering::Relaxed);
    }

    pub fn requests(&self) -> u64 {
        self.api_requests.load(Ordering::Relaxed)
    }

    pub fn waited_ms(&self) -> u64 {
        self.rate_limit_wait_ms.load(Ordering::Relaxed)
    }
}

/// Receives progress (0–100) and a message as the run goes.
pub type ProgressFn = Arc<dyn Fn(i32, String) + Send + Sync>;

/// Everything a sync needs besides the database: control, counters, progress.
#[derive(Clone)]
pub struct RunContext {
    pub control: RunControl,
    pub stats: Arc<RunStats>,
    pub progress: ProgressFn,
    /// The lease owner the orchestrator claimed the job for; checkpoints are saved only while
    /// the job row still names it (fencing). `None`: unfenced (tests, CLI).
    pub lease_owner: Option<Arc<str>>,
}

impl RunContext {
    pub fn new(control: RunControl, progress: ProgressFn) -> Self {
        Self {
            control,
            stats: Arc::new(RunStats::default()),
            progress,
            lease_owner: None,
        }
    }

    /// Saves checkpoints only while `owner` holds the job's lease.
    pub fn fenced_by(mut self, owner: &str) -> Self {
        self.lease_owner = Some(Arc::from(owner));
        self
    }

    pub fn fence(&self) -> Option<&str> {
        self.lease_owner.as_deref()
    }

    /// A context nobody watches (tests, CLI).
    pub fn detached() -> Self {
        Self::new(RunControl::new(), Arc::new(|_, _| {}))
    }

    /// The same run with a control of its own (see [`RunControl::child`]).
    pub fn child(&self) -> Self {
        let mut c = self.clone();
        c.control = self.control.child();
        c
    }

    pub fn report(&self, percent: i32, message: impl Into<String>) {
        (self.progress)(percent.clamp(0, 100), message.into());
    }
}

/// Runs `streams` at most `n` at a time. After the first error the others stop at their next
/// request boundary (`halt`, the streams' own control, is paused), so pages already fetched
/// are still written with their checkpoints; that first error is returned once all have ended.
pub async fn all_or_first_error<T, E>(
    streams: Vec<impl Future<Output = Result<T, E>>>,
    n: usize,
    halt: &RunControl,
) -> Result<Vec<T>, E> {
    use futures_util::StreamExt;
    let mut running = futures_util::stream::iter(streams).buffer_unordered(n.max(1));
    let mut out = Vec::new();
    let mut first = None;
    while let Some(result) = running.next().await {
        match result {
            Ok(v) => out.push(v),
            Err(e) if first.is_none() => {
                halt.pause();
                first = Some(e);
            }
            Err(_) => {}
        }
    }
    first.map_or(Ok(out), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scope_counts_what_its_futures_did_and_says_it_in_one_line() {
        let stats = RunStats::default();
        stats
            .in_scope("Jira: project PAY".into(), async {
                stats.add("projects", 1, 0, 0);
                stats.add("full_changelogs", 3, 0, 0);
                stats.add("issues", 1130, 1130, 0);
                stats.add("status_transitions", 4210, 4210, 0);
                in_current_scope(|s| {
                    s.pages.fetch_add(12, Ordering::Relaxed);
                    s.retries.fetch_add(1, Ordering::Relaxed);
                });
            })
            .await;
        // Outside any scope: counted for the run only.
        stats.add("issues", 5, 5, 0);
        stats
            .in_scope("Jira: project WEB".into(), async {
                in_current_scope(|s| {
                    s.pages.fetch_add(1, Ordering::Relaxed);
                    s.throttled.fetch_add(2, Ordering::Relaxed);
                    s.rate_limit_wait_ms.fetch_add(3250, Ordering::Relaxed);
                });
            })
            .await;
        let lines: Vec<String> = stats
            .scopes()
            .into_iter()
            .map(|(name, s)| format!("{name} — {}", s.describe()))
            .collect();
        assert_eq!(
            lines,
            [
                "Jira: project PAY — 12 pages, 1,130 issues, 4,210 status transitions, 3 full changelogs; 1 retry; no rate-limit waits",
                "Jira: project WEB — 1 page; 0 retries; 2 rate-limit waits (3.2 s)",
            ]
        );
        assert_eq!(stats.counts()["issues"].fetched, 1135);
    }
}
