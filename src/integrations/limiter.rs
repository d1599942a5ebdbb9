//! One adaptive concurrency limiter per token and host (AIMD): at most `ceiling` requests in
//! flight (the integration's `max_concurrency`); the allowance halves when the upstream says
//! "too many" (429, a secondary limit, `Retry-After`) and grows back by one after a window of
//! successes ([`WINDOW_PER_SLOT`] times the allowance), never above the ceiling.
//!
//! A whole burst of refusals halves the allowance once: only a refusal of a request that was
//! sent after the last decrease counts (the others were sent under the old allowance).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use tokio::sync::Notify;

/// A window of successes is this many times the allowance: growing back slowly keeps the
/// refusals of an upstream capped below the setting rare (at 1× the bench's Jira capped at 3
/// refused 14 % of requests, one per cycle of 2 → 3 → 4 → halved).
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
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut s = self.lock();
                if s.in_flight < s.allowance {
                    s.in_flight += 1;
                    s.peak = s.peak.max(s.in_flight);
                    return Permit {
                        limiter: self.clone(),
                        epoch: s.epoch,
                        finished: false,
                    };
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
