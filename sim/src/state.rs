//! Shared simulator state: the dataset, runtime knobs, fault dice and rate-limit books.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::model::Dataset;

/// Knobs that tests and benchmarks turn at run time (`POST {admin}/sim/config`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Added to every upstream (Jira/GitHub) response.
    pub latency_ms: u64,
    /// Up to this much more, drawn per request.
    pub jitter_ms: u64,
    /// Share (0–1) of upstream requests answered with a 5xx or 429.
    pub fault_rate: f64,
    /// Share answered 200 with a truncated (malformed) JSON body.
    pub malformed_rate: f64,
    /// Share whose connection is cut in the middle of the body.
    pub reset_rate: f64,
    /// Pause between body chunks (a slow upstream); 0 sends bodies at once.
    pub slow_body_ms: u64,
    /// Every upstream request in this window is answered 503.
    pub outage: Option<Outage>,
    /// Recurring 429 storms: every upstream request in a storm is refused with `Retry-After: 1`,
    /// so a client that honours it meets several 429s in a row.
    pub rate_limit_storms: Option<Storms>,
    /// Jira burst limit: requests per second per token (none = unlimited).
    pub jira_burst_per_second: Option<u32>,
    /// GitHub REST primary budget per token per hour (github.com default 5,000).
    pub github_rest_budget: u32,
    /// GitHub GraphQL points per token per hour (default 5,000).
    pub github_graphql_budget: u32,
    /// GitHub secondary limit: requests per minute per token (none = off).
    pub github_secondary_per_minute: Option<u32>,
    /// Rate limiting on the Enterprise simulator (off by default, as on GHES).
    pub enterprise_rate_limits: bool,
    /// Jira Cloud embeds at most this many changelog histories in search results.
    pub jira_cloud_changelog_cap: usize,
    /// Largest page the Jira search endpoints return, whatever `maxResults` asks.
    pub jira_max_results: usize,
    /// Added per item of an answer (Jira issues or changelog entries, GitHub nodes), so that
    /// bigger pages take longer, as on the real services.
    pub latency_per_item_ms: f64,
    /// Requests of one Jira token in flight beyond this are answered 429 with `Retry-After`.
    pub jira_max_concurrent: Option<u32>,
    /// Requests of one GitHub token in flight beyond this get the secondary-limit 403.
    pub github_max_concurrent: Option<u32>,
    /// GitLab's authenticated API limit: requests per window (`gitlab_window_secs`, a minute
    /// by default) per token (gitlab.com: 2,000 a minute; 0 = off, as self-managed GitLab is by
    /// default). REST and GraphQL requests count alike.
    pub gitlab_per_minute: u32,
    /// Requests of one GitLab token in flight beyond this are answered 429.
    pub gitlab_max_concurrent: Option<u32>,
    /// Length of GitLab's rate-limit window in seconds (gitlab.com: 60); tests shorten it.
    pub gitlab_window_secs: u64,
    /// Whether `/api/graphql` answers (false: 404, as a GitLab without GraphQL).
    pub gitlab_graphql: bool,
    /// GitLab's GraphQL complexity limit (250 for an authenticated request, as on gitlab.com).
    pub gitlab_max_complexity: u32,
}

/// How many items an answer carries (set by the handlers, read for the per-item latency).
#[derive(Clone, Copy, Debug)]
pub struct Items(pub u64);

/// The most requests seen in flight at once per token, Jira and GitHub (`/sim/stats`).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct MaxInFlight {
    pub jira: u32,
    pub github: u32,
}

/// One request in flight; counted out when dropped.
pub struct InFlight<'a> {
    state: &'a SimState,
    key: (bool, String),
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut map = self.state.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
        }
    }
}

/// A storm of `length_ms` starts every `every_ms`, counted from when storms were configured
/// (the first one starts then).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storms {
    pub every_ms: u64,
    pub length_ms: u64,
}

impl Storms {
    /// Whether `since_start` falls inside a storm.
    pub fn raging(&self, since_start: Duration) -> bool {
        self.every_ms > 0 && (since_start.as_millis() as u64) % self.every_ms < self.length_ms
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outage {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            jitter_ms: 0,
            fault_rate: 0.0,
            malformed_rate: 0.0,
            reset_rate: 0.0,
            slow_body_ms: 0,
            outage: None,
            rate_limit_storms: None,
            jira_burst_per_second: None,
            github_rest_budget: 5_000,
            github_graphql_budget: 5_000,
            github_secondary_per_minute: None,
            enterprise_rate_limits: false,
            jira_cloud_changelog_cap: 40,
            jira_max_results: 100,
            latency_per_item_ms: 0.0,
            jira_max_concurrent: None,
            github_max_concurrent: None,
            gitlab_per_minute: 2_000,
            gitlab_max_concurrent: None,
            gitlab_window_secs: 60,
            gitlab_graphql: true,
            gitlab_max_complexity: 250,
        }
    }
}

/// Which simulated upstream a request is for (from its base path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Upstream {
    JiraCloud,
    JiraDc,
    Github,
    GithubEnterprise,
    Gitlab,
}

impl Upstream {
    pub fn from_path(path: &str) -> Option<Self> {
        if path.starts_with(super::paths::JIRA_CLOUD) {
            Some(Upstream::JiraCloud)
        } else if path.starts_with(super::paths::JIRA_DC) {
            Some(Upstream::JiraDc)
        } else if path.starts_with(super::paths::GITLAB) {
            Some(Upstream::Gitlab)
        } else if path.starts_with(super::paths::GITHUB_ENTERPRISE_ROOT) {
            Some(Upstream::GithubEnterprise)
        } else if path.starts_with(super::paths::GITHUB) {
            Some(Upstream::Github)
        } else {
            None
        }
    }

    pub fn is_github(self) -> bool {
        matches!(self, Upstream::Github | Upstream::GithubEnterprise)
    }
}

/// One token's use of a rate-limited resource in the current window.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub started: Instant,
    pub reset_at: DateTime<Utc>,
    pub used: u32,
}

pub struct SimState {
    pub seed: u64,
    /// When the simulator started.
    pub started: Instant,
    /// When the storms now configured were set (they are timed from it).
    storms_from: Mutex<Instant>,
    data: RwLock<Dataset>,
    config: RwLock<SimConfig>,
    dice: Mutex<StdRng>,
    windows: Mutex<HashMap<(String, &'static str), Window>>,
    /// Requests in flight per (GitHub?, credential).
    in_flight: Mutex<HashMap<(bool, String), u32>>,
    max_in_flight: Mutex<MaxInFlight>,
}

impl SimState {
    pub fn new(seed: u64, data: Dataset, config: SimConfig) -> Self {
        let now = Instant::now();
        Self {
            seed,
            started: now,
            storms_from: Mutex::new(now),
            data: RwLock::new(data),
            config: RwLock::new(config),
            dice: Mutex::new(StdRng::seed_from_u64(seed ^ 0x5eed_fa17)),
            windows: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            max_in_flight: Mutex::new(MaxInFlight::default()),
        }
    }

    pub fn data(&self) -> RwLockReadGuard<'_, Dataset> {
        self.data.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn data_mut(&self) -> RwLockWriteGuard<'_, Dataset> {
        self.data.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn config(&self) -> SimConfig {
        self.config.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the configuration; storms that change start counting now.
    pub fn set_config(&self, config: SimConfig) {
        let mut current = self.config.write().unwrap_or_else(|p| p.into_inner());
        if current.rate_limit_storms != config.rate_limit_storms {
            *self.storms_from.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        }
        *current = config;
    }

    /// Whether a configured storm rages now.
    pub fn storm_raging(&self, storms: &Storms) -> bool {
        storms.raging(self.storms_from.lock().unwrap_or_else(|p| p.into_inner()).elapsed())
    }

    /// A uniform draw in [0, 1) from the seeded dice (deterministic for a given request order).
    pub fn roll(&self) -> f64 {
        self.dice.lock().unwrap_or_else(|p| p.into_inner()).random::<f64>()
    }

    pub fn roll_range(&self, upper: u64) -> u64 {
        if upper == 0 {
            return 0;
        }
        self.dice
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random_range(0..upper)
    }

    /// Counts one use of `resource` by `token` in a fixed window of `length`; returns the
    /// window after counting `cost`. The caller decides whether `used` exceeds its limit.
    pub fn charge(&self, token: &str, resource: &'static str, length: Duration, cost: u32) -> Window {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let w = windows
            .entry((token.to_string(), resource))
            .or_insert_with(|| new_window(now, length));
        if now.duration_since(w.started) >= length {
            *w = new_window(now, length);
        }
        w.used = w.used.saturating_add(cost);
        *w
    }

    /// Gives back `cost` (GitHub: a `304 Not Modified` does not count against the limit).
    pub fn refund(&self, token: &str, resource: &'static str, cost: u32) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = windows.get_mut(&(token.to_string(), resource)) {
            w.used = w.used.saturating_sub(cost);
        }
    }

    /// The window as it stands, without counting anything.
    pub fn peek(&self, token: &str, resource: &'static str, length: Duration) -> Window {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match windows.get(&(token.to_string(), resource)) {
            Some(w) if Instant::now().duration_since(w.started) < length => *w,
            _ => new_window(Instant::now(), length),
        }
    }

    /// Counts a request of `credential` in flight (to GitHub or Jira) until the guard drops;
    /// returns how many of its requests are in flight now, this one included.
    pub fn enter(&self, github: bool, credential: &str) -> (InFlight<'_>, u32) {
        let key = (github, credential.to_string());
        let now = {
            let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            let n = map.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let mut max = self.max_in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let slot = if github { &mut max.github } else { &mut max.jira };
        *slot = (*slot).max(now);
        (InFlight { state: self, key }, now)
    }

    pub fn max_in_flight(&self) -> MaxInFlight {
        *self.max_in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn reset_max_in_flight(&self) {
        *self.max_in_flight.lock().unwrap_or_else(|p| p.into_inner()) = MaxInFlight::default();
    }

    /// Forgets every rate-limit window (tests reset budgets between phases).
    pub fn reset_limits(&self) {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

fn new_window(now: Instant, length: Duration) -> Window {
    let reset_at = Utc::now() + chrono::Duration::from_std(length).unwrap_or_else(|_| chrono::Duration::hours(1));
    Window {
        started: now,
        reset_at,
        used: 0,
    }
}
