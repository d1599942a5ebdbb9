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
}

impl RunStats {
    pub fn add(&self, entity: &'static str, fetched: u64, inserted: u64, updated: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let c = counts.entry(entity).or_default();
        c.fetched += fetched;
        c.inserted += inserted;
        c.updated += updated;
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
