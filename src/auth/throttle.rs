//! Login throttling: after a few wrong passwords for one e-mail address, or many from one client
//! address, further attempts wait, and the wait doubles with each failure (up to a cap). Waiting
//! attempts are refused before the Backend Service is asked and do not lengthen the wait, so an
//! attacker cannot lock a user out for longer than the cap. Kept in memory per process: a
//! replica behind a load balancer throttles on its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords for one e-mail address before attempts start to wait.
pub const FREE_FAILURES_PER_EMAIL: u32 = 5;
/// Wrong passwords from one client address (any e-mail) before attempts start to wait: higher,
/// since an office may share one address.
pub const FREE_FAILURES_PER_ADDRESS: u32 = 20;
/// The longest wait for one e-mail address (kept short: anyone can cause it).
const MAX_WAIT_EMAIL: Duration = Duration::from_secs(5 * 60);
/// The longest wait for one client address.
const MAX_WAIT_ADDRESS: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Tracked keys per kind; beyond it, forgotten entries are pruned, then the stalest.
const MAX_ENTRIES: usize = 50_000;

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    wait_until: Option<Instant>,
}

#[derive(Default)]
struct Maps {
    emails: HashMap<String, Entry>,
    addresses: HashMap<IpAddr, Entry>,
}

#[derive(Default)]
pub struct LoginThrottle {
    maps: Mutex<Maps>,
}

/// Attempts must wait this long (whole seconds, at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(pub u64);

fn wait_after(failures: u32, free: u32, max: Duration) -> Option<Duration> {
    let over = failures.checked_sub(free)?;
    let secs = 1u64.checked_shl(over.min(20)).unwrap_or(u64::MAX);
    Some(Duration::from_secs(secs).min(max))
}

fn remaining(entry: Option<&Entry>, now: Instant) -> Option<Duration> {
    entry
        .and_then(|e| e.wait_until)
        .and_then(|until| until.checked_duration_since(now))
        .filter(|d| !d.is_zero())
}

fn record<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Entry>,
    key: &K,
    now: Instant,
    free: u32,
    max: Duration,
) {
    if map.len() >= MAX_ENTRIES && !map.contains_key(key) {
        map.retain(|_, e| now.duration_since(e.last_failure) < FORGET_AFTER);
        if map.len() >= MAX_ENTRIES
            && let Some(stalest) = map.iter().min_by_key(|(_, e)| e.last_failure).map(|(k, _)| k.clone())
        {
            map.remove(&stalest);
        }
    }
    let e = map.entry(key.clone()).or_insert(Entry {
        failures: 0,
        last_failure: now,
        wait_until: None,
    });
    if now.duration_since(e.last_failure) >= FORGET_AFTER {
        e.failures = 0;
    }
    e.failures = e.failures.saturating_add(1);
    e.last_failure = now;
    e.wait_until = wait_after(e.failures, free, max).map(|d| now + d);
}

impl LoginThrottle {
    /// Whether an attempt for `email` from `addr` must wait, and how long.
    pub fn check(&self, email: &str, addr: IpAddr) -> Option<Wait> {
        let now = Instant::now();
        let maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let email = remaining(maps.emails.get(&email_key(email)), now);
        let addr = remaining(maps.addresses.get(&addr), now);
        email.max(addr).map(|d| Wait(d.as_secs_f64().ceil().max(1.0) as u64))
    }

    /// A wrong password: counts for the e-mail address and the client address.
    pub fn failed(&self, email: &str, addr: IpAddr) {
        let now = Instant::now();
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        record(
            &mut maps.emails,
            &email_key(email),
            now,
            FREE_FAILURES_PER_EMAIL,
            MAX_WAIT_EMAIL,
        );
        record(
            &mut maps.addresses,
            &addr,
            now,
            FREE_FAILURES_PER_ADDRESS,
            MAX_WAIT_ADDRESS,
        );
    }

    /// A successful login clears its e-mail address (the client address keeps its count, so a
    /// valid account cannot be used to reset guessing at others).
    pub fn succeeded(&self, email: &str) {
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        maps.emails.remove(&email_key(email));
    }
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_and_double() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..FREE_FAILURES_PER_EMAIL {
            assert_eq!(t.check("Admin@Example.com", ip), None);
            t.failed("admin@example.com", ip);
        }
        assert_eq!(t.check("ADMIN@example.com ", ip), Some(Wait(1)));
        t.failed("admin@example.com", ip);
        assert_eq!(t.check("admin@example.com", ip), Some(Wait(2)));
        assert_eq!(
            t.check("viewer@example.com", ip),
            None,
            "another account is not held up"
        );
        t.succeeded("admin@example.com");
        assert_eq!(t.check("admin@example.com", ip), None);
    }

    #[test]
    fn one_address_guessing_many_accounts_waits_too() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.2".parse().unwrap();
        for i in 0..FREE_FAILURES_PER_ADDRESS {
            t.failed(&format!("user{i}@example.com"), ip);
        }
        assert_eq!(t.check("new@example.com", ip), Some(Wait(1)));
        assert_eq!(t.check("new@example.com", "192.0.2.3".parse().unwrap()), None);
    }

    #[test]
    fn waits_are_capped() {
        assert_eq!(wait_after(4, 5, MAX_WAIT_EMAIL), None);
        assert_eq!(wait_after(5, 5, MAX_WAIT_EMAIL), Some(Duration::from_secs(1)));
        assert_eq!(wait_after(1_000, 5, MAX_WAIT_EMAIL), Some(MAX_WAIT_EMAIL));
        assert_eq!(wait_after(u32::MAX, 20, MAX_WAIT_ADDRESS), Some(MAX_WAIT_ADDRESS));
    }
}
