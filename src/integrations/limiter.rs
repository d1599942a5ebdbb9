//! One adaptive concurrency limiter per token and host (AIMD): at most `ceiling` requests in
//! flight (the integration's `max_concurrency`); the allowance halves when the upstream says
//! "too many" (429, a secondary limit, `Retry-After`) and grows back by one after a window of
//! successes ([`WINDOW_PER_SLOT`] times the allowance), never above the ceiling.
//!
//! A whole burst of refusals halves the allowance once: only a refusal of a request that was
//! sent after the last decrease counts (the others were sent under the old allowance).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use tokio::sync::Notify;

/// A window of successes is this many times the allowance: growing back slowly keeps the
/// refusals of an upstream capped below the setting rare (measured: docs/decisions.md,
/// "Concurrent syncs").
pub const WINDOW_PER_SLOT: u32 = 3;

/// Bounds of `settings.max_concurrency`.
pub const MIN_CONCURRENCY: u32 = 1;
pub const MAX_CONCURRENCY: u32 = 32;

#[derive(Debug)]
struct State {
    ceiling: u32,
    allowance: u32,
    in_flight: u32,
    successes: u32,
    /// Ranks of the requests waiting for a slot (rank → how many): a slot goes to the highest.
    waiting: BTreeMap<u64, u32>,
    /// Bumped at every decrease; a permit remembers the epoch it was granted in.
    epoch: u64,
    peak: u32,
    throttled: u64,
}

/// What a limiter saw since it was last configured (a run's figures).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LimiterStats {
    /// The setting.
    pub ceiling: u32,
    /// Most requests in flight at once.
    pub peak_in_flight: u32,
    /// Answers that said "too many requests" (429, secondary limits, `Retry-After`).
    pub throttled: u64,
    /// The allowance when the figures were taken.
    pub allowance: u32,
}

#[derive(Debug)]
pub struct Limiter {
    /// `jira` or `github`: the metrics' upstream label.
    pub upstream: &'static str,
    state: Mutex<State>,
    freed: Notify,
}

/// How a request ended, for the limiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Refused for sending too much: halve.
    Throttled,
    /// Anything else (5xx, network error, dropped): neither grows nor shrinks.
    Neutral,
}

/// A slot in flight; released when dropped (as `Neutral` unless `finish` said otherwise).
pub struct Permit {
    limiter: Arc<Limiter>,
    epoch: u64,
    finished: bool,
}

impl Permit {
    pub fn finish(mut self, outcome: Outcome) {
        self.finished = true;
        self.limiter.release(self.epoch, outcome);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.finished {
            self.limiter.release(self.epoch, Outcome::Neutral);
        }
    }
}

/// A request waiting for a slot, counted in [`State::waiting`] until it gets one or gives up.
struct Queued<'l> {
    limiter: &'l Limiter,
    rank: u64,
}

impl Queued<'_> {
    /// Got a slot.
    fn leave(self, s: &mut State) {
        s.unwait(self.rank);
        std::mem::forget(self);
    }
}

impl Drop for Queued<'_> {
    /// Given up (the request was dropped while waiting): the others may take the slot.
    fn drop(&mut self) {
        self.limiter.lock().unwait(self.rank);
        self.limiter.freed.notify_waiters();
    }
}

impl State {
    fn unwait(&mut self, rank: u64) {
        if let Some(n) = self.waiting.get_mut(&rank) {
            *n -= 1;
            if *n == 0 {
                self.waiting.remove(&rank);
            }
        }
    }
}

impl Limiter {
    pub fn new(upstream: &'static str, ceiling: u32) -> Arc<Self> {
        let ceiling = ceiling.clamp(MIN_CONCURRENCY, MAX_CONCURRENCY);
        Arc::new(Self {
            upstream,
            state: Mutex::new(State {
                ceiling,
                allowance: ceiling,
                in_flight: 0,
                successes: 0,
                waiting: BTreeMap::new(),
                epoch: 0,
                peak: 0,
                throttled: 0,
            }),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new run: the setting as it is now, the full allowance, fresh figures.
    pub fn configure(&self, ceiling: u32) {
        let mut s = self.lock();
        s.ceiling = ceiling.clamp(MIN_CONCURRENCY, MAX_CONCURRENCY);
        s.allowance = s.ceiling;
        s.successes = 0;
        s.peak = s.in_flight;
        s.throttled = 0;
        drop(s);
        self.freed.notify_waiters();
    }

    /// Waits for a slot.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        self.acquire_ranked(0).await
    }

    /// Waits for a slot; while requests wait, a freed slot goes to the highest `rank` (the
    /// caller's estimate of the requests it still has to send; equal ranks in no set order).
    pub async fn acquire_ranked(self: &Arc<Self>, rank: u64) -> Permit {
        let mut queued: Option<Queued<'_>> = None;
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut s = self.lock();
                let first = s.waiting.keys().next_back().is_none_or(|&top| rank >= top);
                if s.in_flight < s.allowance && first {
                    s.in_flight += 1;
                    s.peak = s.peak.max(s.in_flight);
                    if let Some(q) = queued.take() {
                        q.leave(&mut s);
                    }
                    return Permit {
                        limiter: self.clone(),
                        epoch: s.epoch,
                        finished: false,
                    };
                }
                if queued.is_none() {
                    *s.waiting.entry(rank).or_default() += 1;
                    queued = Some(Queued { limiter: self, rank });
                }
            }
            freed.await;
        }
    }

    fn release(&self, epoch: u64, outcome: Outcome) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Success => {
                s.successes += 1;
                if s.successes >= s.allowance * WINDOW_PER_SLOT && s.allowance < s.ceiling {
                    s.allowance += 1;
                    s.successes = 0;
                }
            }
            Outcome::Throttled => {
                s.throttled += 1;
                if epoch == s.epoch {
                    s.allowance = (s.allowance / 2).max(MIN_CONCURRENCY);
                    s.successes = 0;
                    s.epoch += 1;
                }
            }
            Outcome::Neutral => {}
        }
        drop(s);
        self.freed.notify_waiters();
    }

    pub fn stats(&self) -> LimiterStats {
        let s = self.lock();
        LimiterStats {
            ceiling: s.ceiling,
            peak_in_flight: s.peak,
            throttled: s.throttled,
            allowance: s.allowance,
        }
    }
}

/// Limiters by host and token (hashed with a per-process key; the token itself is not kept).
type Registry = HashMap<(String, u64), Weak<Limiter>>;
static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Default::default);
static TOKEN_KEY: LazyLock<RandomState> = LazyLock::new(RandomState::new);

/// The limiter of `host` + `token`, shared by every integration and run that uses them at
/// once; configured with `ceiling` for the run about to start.
/// After one integration's streams have ended: what its limiter saw goes into the run's figures
/// and onto the integration page ("up to 3 of 4 requests in flight · 0 refusals"); then, when
/// every stream succeeded (`result`), the integration is marked synced.
pub async fn record_integration_run<T, E: From<sea_orm::DbErr>>(
    db: &sea_orm::DatabaseConnection,
    stats: &super::control::RunStats,
    integration_id: i64,
    limiter: &Limiter,
    result: Result<T, E>,
) -> Result<(), E> {
    let seen = limiter.stats();
    stats.note_limiter(&seen);
    let figures = serde_json::json!({ "max_concurrency": seen.ceiling, "peak_in_flight": seen.peak_in_flight,
                                      "throttled": seen.throttled, "at": chrono::Utc::now() });
    crate::db::integrations::set_sync_stats(db, integration_id, &figures).await?;
    result?;
    crate::db::integrations::mark_synced(db, integration_id).await?;
    Ok(())
}

/// The limiter of `token` at `base`'s host and port.
pub fn for_base(upstream: &'static str, base: &url::Url, token: &[u8], ceiling: u32) -> Arc<Limiter> {
    let host = format!(
        "{}:{}",
        base.host_str().unwrap_or_default(),
        base.port_or_known_default().unwrap_or(0)
    );
    for_token(upstream, &host, token, ceiling)
}

pub fn for_token(upstream: &'static str, host: &str, token: &[u8], ceiling: u32) -> Arc<Limiter> {
    let key = (host.to_ascii_lowercase(), TOKEN_KEY.hash_one(token));
    let mut map = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    map.retain(|_, l| l.strong_count() > 0);
    let limiter = match map.get(&key).and_then(Weak::upgrade) {
        Some(l) => l,
        None => {
            let l = Limiter::new(upstream, ceiling);
            map.insert(key, Arc::downgrade(&l));
            l
        }
    };
    limiter.configure(ceiling);
    limiter
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permits(l: &Arc<Limiter>, n: usize) -> Vec<Permit> {
        (0..n)
            .map(|_| {
                let p = futures_util::FutureExt::now_or_never(l.acquire());
                p.expect("a slot is free")
            })
            .collect()
    }

    #[tokio::test]
    async fn never_more_in_flight_than_the_allowance() {
        let l = Limiter::new("jira", 3);
        let held = permits(&l, 3);
        assert!(futures_util::FutureExt::now_or_never(l.acquire()).is_none());
        drop(held);
        assert_eq!(permits(&l, 3).len(), 3);
        assert_eq!(l.stats().peak_in_flight, 3);
    }

    #[tokio::test]
    async fn a_burst_of_refusals_halves_once_then_successes_grow_it_back_to_the_ceiling() {
        let l = Limiter::new("jira", 8);
        let held = permits(&l, 8);
        for p in held {
            p.finish(Outcome::Throttled);
        }
        assert_eq!(l.stats().allowance, 4, "eight refusals of one burst halve once");
        assert_eq!(l.stats().throttled, 8);
        let held = permits(&l, 4);
        assert!(futures_util::FutureExt::now_or_never(l.acquire()).is_none());
        let mut held = held.into_iter();
        held.next().unwrap().finish(Outcome::Throttled);
        assert_eq!(
            l.stats().allowance,
            2,
            "a refusal sent under the new allowance halves again"
        );
        for p in held {
            p.finish(Outcome::Neutral);
        }
        // A window of successes (WINDOW_PER_SLOT times the allowance) adds one.
        for expected in [3, 4, 5, 6, 7, 8, 8] {
            let n = l.stats().allowance as usize;
            for round in 0..WINDOW_PER_SLOT {
                assert_eq!(
                    l.stats().allowance as usize,
                    n,
                    "not before the window is full ({round})"
                );
                for p in permits(&l, n) {
                    p.finish(Outcome::Success);
                }
            }
            assert_eq!(l.stats().allowance, expected);
        }
        for p in permits(&l, 1) {
            p.finish(Outcome::Throttled);
        }
        assert_eq!(l.stats().allowance, 4);
        l.configure(2);
        assert_eq!(l.stats().allowance, 2);
        assert_eq!(l.stats().throttled, 0, "a new run starts its own figures");
    }

    #[tokio::test]
    async fn a_waiter_gets_the_slot_a_release_frees() {
        let l = Limiter::new("jira", 1);
        let held = permits(&l, 1);
        let l2 = l.clone();
        let waiter = tokio::spawn(async move { l2.acquire().await.finish(Outcome::Success) });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(held);
        waiter.await.unwrap();
        assert_eq!(l.stats().peak_in_flight, 1);
    }

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_highest_rank_waiting() {
        let l = Limiter::new("github", 1);
        let held = permits(&l, 1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for rank in [1, 7, 3] {
            let (l, order) = (l.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let p = l.acquire_ranked(rank).await;
                order.lock().unwrap().push(rank);
                tokio::task::yield_now().await;
                p.finish(Outcome::Success);
            }));
            tokio::task::yield_now().await;
        }
        // A newcomer of a lower rank does not take a slot the higher ones wait for.
        drop(held);
        assert!(futures_util::FutureExt::now_or_never(l.acquire_ranked(2)).is_none());
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![7, 3, 1]);
        // A waiter that gives up leaves the queue: the slot goes to the next.
        let held = permits(&l, 1);
        let high = tokio::spawn({
            let l = l.clone();
            async move { l.acquire_ranked(9).await }
        });
        tokio::task::yield_now().await;
        high.abort();
        let _ = high.await;
        drop(held);
        assert!(futures_util::FutureExt::now_or_never(l.acquire_ranked(0)).is_some());
        assert!(l.lock().waiting.is_empty());
    }

    #[test]
    fn one_limiter_per_host_and_token() {
        let a = for_token("jira", "jira.example.com", b"t1", 8);
        let b = for_token("jira", "JIRA.example.com", b"t1", 8);
        let c = for_token("jira", "jira.example.com", b"t2", 8);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(for_token("jira", "x", b"t", 99).stats().ceiling, MAX_CONCURRENCY);
        assert_eq!(for_token("jira", "y", b"t", 0).stats().ceiling, MIN_CONCURRENCY);
    }
}
