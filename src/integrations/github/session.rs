//! One integration's conversation with GitHub during a sync: every request goes through
//! `request::send` (stop/pause checks, secondary limits, retries), the primary budgets of
//! GraphQL and REST are tracked from each answer, and a request the budget cannot pay is not
//! sent: the sync stops with the reset time instead. GraphQL pages shrink on 502/504.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::{GithubClient, classify};
use super::models::{Envelope, GqlData, RateLimitResources};
use super::sync::SyncError;
use crate::integrations::control::RunContext;
use crate::integrations::error::UpstreamError;
use crate::integrations::limiter::Limiter;
use crate::integrations::request::{self, MAX_ATTEMPTS, RequestError, json_without_nul};

/// Largest pull-request page (GitHub's maximum for a connection).
pub const MAX_PAGE: u32 = 100;
/// Pages never shrink below this.
pub const MIN_PAGE: u32 = 5;
/// After this many good pages at a shrunken size, try twice the size again.
const REGROW_AFTER: u32 = 3;
/// With neither a header nor a known budget, assume a rate limit resets this soon.
const UNKNOWN_RESET: chrono::Duration = chrono::Duration::minutes(1);
/// ETag cache bounds: entries, and the largest body kept.
const ETAG_ENTRIES: usize = 4096;
const ETAG_MAX_BODY: usize = 2 * 1024 * 1024;

/// A primary rate-limit budget as last reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    Unknown,
    /// Enterprise with rate limiting off (`/rate_limit` 404, `rateLimit: null`).
    Unlimited,
    Known {
        remaining: u32,
        limit: u32,
        reset_at: DateTime<Utc>,
    },
}

impl Budget {
    /// Points kept back for other users of the token: 1 % of the limit, at least 1.
    fn reserve(limit: u32) -> u32 {
        (limit / 100).max(1)
    }

    /// `Err(reset)` when a request of `cost` would dig into the reserve before the reset.
    fn afford(&self, cost: u32) -> Result<(), DateTime<Utc>> {
        match *self {
            Budget::Known {
                remaining,
                limit,
                reset_at,
            } if Utc::now() < reset_at && remaining < cost.saturating_add(Self::reserve(limit)) => Err(reset_at),
            _ => Ok(()),
        }
    }
}

/// A REST list page and where the next one is (`Link: rel="next"`, verbatim).
pub struct RestPage<T> {
    pub items: T,
    pub next: Option<String>,
}

/// Conditional-request cache (process-wide: runs come and go, the service stays): a `304 Not
/// Modified` costs no rate limit and its body is the one kept here.
#[derive(Clone)]
struct Cached {
    etag: String,
    body: Bytes,
    next: Option<String>,
}

static ETAGS: LazyLock<Mutex<HashMap<String, Cached>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

pub struct Session<'a> {
    pub ctx: &'a RunContext,
    pub client: GithubClient,
    /// The token's and host's: every request of the integration takes a slot.
    pub limiter: Arc<Limiter>,
    /// For messages.
    pub integration: String,
    graphql_budget: Mutex<Budget>,
    rest_budget: Mutex<Budget>,
    page: AtomicU32,
    good_pages: AtomicU32,
}

impl<'a> Session<'a> {
    pub fn new(ctx: &'a RunContext, client: GithubClient, limiter: Arc<Limiter>, integration: String) -> Self {
        Self {
            ctx,
            client,
            limiter,
            integration,
            graphql_budget: Mutex::new(Budget::Unknown),
            rest_budget: Mutex::new(Budget::Unknown),
            page: AtomicU32::new(MAX_PAGE),
            good_pages: AtomicU32::new(0),
        }
    }

    /// The pull-request page size now.
    pub fn page(&self) -> u32 {
        self.page.load(Ordering::Relaxed)
    }

    fn shrink(&self) {
        let now = self.page();
        let smaller = (now / 2).max(MIN_PAGE);
        if smaller < now {
            self.page.store(smaller, Ordering::Relaxed);
            self.ctx.stats.add("page_shrinks", 1, 0, 0);
            tracing::info!(page = smaller, "GitHub timed out; smaller pages");
        }
        self.good_pages.store(0, Ordering::Relaxed);
    }

    fn grow(&self) {
        let now = self.page();
        if now < MAX_PAGE && self.good_pages.fetch_add(1, Ordering::Relaxed) + 1 >= REGROW_AFTER {
            self.page.store((now * 2).min(MAX_PAGE), Ordering::Relaxed);
            self.good_pages.store(0, Ordering::Relaxed);
        }
    }

    pub fn graphql_budget(&self) -> Budget {
        *lock(&self.graphql_budget)
    }

    fn rate_limited(&self, reset_at: DateTime<Utc>) -> SyncError {
        SyncError::RateLimited {
            integration: self.integration.clone(),
            reset_at,
        }
    }

    pub fn request_error(&self, source: RequestError) -> SyncError {
        match source {
            RequestError::Interrupted(i) => SyncError::Interrupted(i),
            RequestError::RateLimitTooLong(d) => {
                self.rate_limited(Utc::now() + chrono::Duration::from_std(d).unwrap_or(UNKNOWN_RESET))
            }
            source => SyncError::Request {
                integration: self.integration.clone(),
                source,
            },
        }
    }

    fn upstream_error(&self, e: UpstreamError) -> SyncError {
        self.request_error(RequestError::Upstream(e))
    }

    fn graphql_error(&self, message: String) -> SyncError {
        SyncError::Graphql {
            integration: self.integration.clone(),
            message,
        }
    }

    /// `GET /rate_limit` (free of the primary limit): both budgets up front; a 404 means
    /// rate limiting is off (GitHub Enterprise Server's default).
    pub async fn probe_rate_limit(&self) -> Result<(), SyncError> {
        let url = self.client.rest_url("rate_limit").map_err(|e| self.upstream_error(e))?;
        let answer = request::send(self.ctx, &self.limiter, || self.client.get(&url), classify).await;
        let answer = match answer {
            Err(RequestError::Upstream(UpstreamError::NotFound(_))) => {
                *lock(&self.graphql_budget) = Budget::Unlimited;
                *lock(&self.rest_budget) = Budget::Unlimited;
                return Ok(());
            }
            other => other.map_err(|e| self.request_error(e))?,
        };
        // An unreadable answer only means the budgets stay unknown until the first answers.
        if let Ok(r) = serde_json::from_slice::<RateLimitResources>(&answer.body) {
            let known = |name: &str| {
                r.resources.get(name).map(|b| Budget::Known {
                    remaining: b.remaining,
                    limit: b.limit,
                    reset_at: DateTime::from_timestamp(b.reset, 0).unwrap_or_else(Utc::now),
                })
            };
            for name in ["core", "graphql"] {
                if let Some(b) = r.resources.get(name) {
                    crate::telemetry::rate_limit_remaining(&self.integration, Some(name), f64::from(b.remaining));
                }
            }
            if let Some(b) = known("graphql") {
                *lock(&self.graphql_budget) = b;
            }
            if let Some(b) = known("core") {
                *lock(&self.rest_budget) = b;
            }
        }
        Ok(())
    }

    /// Sends a GraphQL document built for the current page size by `body`, costing `cost(page)`
    /// points. `shrinks`: a 502/504 halves the page size before the retry.
    pub async fn graphql<T: GqlData>(
        &self,
        body: impl Fn(u32) -> Value,
        cost: impl Fn(u32) -> u32,
        shrinks: bool,
    ) -> Result<T, SyncError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            lock(&self.graphql_budget)
                .afford(cost(self.page()))
                .map_err(|reset| self.rate_limited(reset))?;
            let answer = request::send(
                self.ctx,
                &self.limiter,
                || self.client.graphql(&body(self.page())),
                |status, headers, bytes| {
                    if shrinks && matches!(status.as_u16(), 502 | 504) {
                        self.shrink();
                    }
                    classify(status, headers, bytes)
                },
            )
            .await
            .map_err(|e| self.request_error(e))?;
            let envelope: Envelope<T> = match json_without_nul(&answer.body) {
                Ok(e) => e,
                Err(e) => {
                    let err = UpstreamError::Decode(format!("malformed GraphQL answer ({e})"));
                    self.retry_unreadable(attempt, err).await?;
                    continue;
                }
            };
            if envelope.errors.iter().any(|e| e.is_rate_limit()) {
                let reset = header_reset(&answer.headers)
                    .or(match self.graphql_budget() {
                        Budget::Known { reset_at, .. } if reset_at > Utc::now() => Some(reset_at),
                        _ => None,
                    })
                    .unwrap_or_else(|| Utc::now() + UNKNOWN_RESET);
                let limit = match self.graphql_budget() {
                    Budget::Known { limit, .. } => limit,
                    _ => 0,
                };
                *lock(&self.graphql_budget) = Budget::Known {
                    remaining: 0,
                    limit,
                    reset_at: reset,
                };
                return Err(self.rate_limited(reset));
            }
            let too_big = envelope
                .errors
                .iter()
                .any(|e| e.kind.as_deref() == Some("MAX_NODE_LIMIT_EXCEEDED"));
            if too_big && shrinks && self.page() > MIN_PAGE && attempt < MAX_ATTEMPTS {
                self.shrink();
                continue;
            }
            if !envelope.errors.is_empty() {
                let messages: Vec<String> = envelope.errors.into_iter().map(|e| e.message).collect();
                return Err(self.graphql_error(messages.join("; ")));
            }
            let Some(data) = envelope.data else {
                return Err(self.graphql_error("the answer has no data".into()));
            };
            *lock(&self.graphql_budget) = match data.rate_limit() {
                Some(r) => Budget::Known {
                    remaining: r.remaining,
                    limit: r.limit.unwrap_or(r.remaining.saturating_add(r.cost)),
                    reset_at: r.reset_at,
                },
                None => Budget::Unlimited,
            };
            if shrinks {
                self.grow();
            }
            return Ok(data);
        }
    }

    /// A REST `GET` of a path or a `Link` URL. With `cache`, the page is sent conditionally
    /// (`If-None-Match`) and a 304 reuses the body kept from the last 200.
    pub async fn rest<T: DeserializeOwned>(&self, path_or_url: &str, cache: bool) -> Result<RestPage<T>, SyncError> {
        let url = self.client.rest_url(path_or_url).map_err(|e| self.upstream_error(e))?;
        let key = self.client.cache_key(&url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            lock(&self.rest_budget)
                .afford(1)
                .map_err(|reset| self.rate_limited(reset))?;
            let cached = if cache { lock(&ETAGS).get(&key).cloned() } else { None };
            let answer = request::send(
                self.ctx,
                &self.limiter,
                || {
                    let req = self.client.get(&url);
                    match &cached {
                        Some(c) => req.header("If-None-Match", c.etag.as_str()),
                        None => req,
                    }
                },
                classify,
            )
            .await
            .map_err(|e| self.request_error(e))?;
            self.note_rest_budget(&answer.headers);
            let (body, next) = match (answer.status, &cached) {
                (StatusCode::NOT_MODIFIED, Some(c)) => (c.body.clone(), c.next.clone()),
                (StatusCode::NOT_MODIFIED, None) => {
                    return Err(self.upstream_error(UpstreamError::Decode(
                        "304 Not Modified to an unconditional request".into(),
                    )));
                }
                _ => (answer.body.clone(), link_next(&answer.headers)),
            };
            let items: T = match json_without_nul(&body) {
                Ok(v) => v,
                Err(e) => {
                    lock(&ETAGS).remove(&key);
                    let err = UpstreamError::Decode(format!("malformed JSON ({e})"));
                    self.retry_unreadable(attempt, err).await?;
                    continue;
                }
            };
            if cache
                && answer.status == StatusCode::OK
                && body.len() <= ETAG_MAX_BODY
                && let Some(etag) = answer.headers.get("etag").and_then(|v| v.to_str().ok())
            {
                let mut etags = lock(&ETAGS);
                if etags.len() >= ETAG_ENTRIES {
                    etags.clear();
                }
                etags.insert(
                    key.clone(),
                    Cached {
                        etag: etag.to_string(),
                        body,
                        next: next.clone(),
                    },
                );
            }
            return Ok(RestPage { items, next });
        }
    }

    fn note_rest_budget(&self, headers: &HeaderMap) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        if let (Some(remaining), Some(limit), Some(reset)) = (
            num("x-ratelimit-remaining"),
            num("x-ratelimit-limit"),
            num("x-ratelimit-reset"),
        ) {
            *lock(&self.rest_budget) = Budget::Known {
                remaining: u32::try_from(remaining).unwrap_or(0),
                limit: u32::try_from(limit).unwrap_or(0),
                reset_at: DateTime::from_timestamp(reset, 0).unwrap_or_else(Utc::now),
            };
        }
    }

    /// An unreadable body is fetched again (bounded), never skipped.
    async fn retry_unreadable(&self, attempt: u32, err: UpstreamError) -> Result<(), SyncError> {
        if attempt >= MAX_ATTEMPTS {
            return Err(self.request_error(RequestError::Exhausted {
                attempts: attempt,
                last: err,
            }));
        }
        self.ctx.stats.retries.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(attempt, error = %err, "re-fetching an unreadable GitHub answer");
        self.ctx
            .control
            .sleep(Duration::from_millis(200 * u64::from(attempt)))
            .await
            .map_err(SyncError::Interrupted)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `x-ratelimit-reset` (epoch seconds), when present.
fn header_reset(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|s| DateTime::from_timestamp(s, 0))
}

/// The `rel="next"` target of a `Link` header.
pub fn link_next(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().eq_ignore_ascii_case("rel=\"next\"") || p.trim().eq_ignore_ascii_case("rel=next"));
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn the_next_link_is_found_among_the_others() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            HeaderValue::from_static(
                "<https://x/repositories/1/issues?page=2>; rel=\"prev\", <https://x/repositories/1/issues?page=4&per_page=3>; rel=\"next\", <https://x/r?page=9>; rel=\"last\"",
            ),
        );
        assert_eq!(
            link_next(&h).as_deref(),
            Some("https://x/repositories/1/issues?page=4&per_page=3")
        );
        h.insert("link", HeaderValue::from_static("<https://x/r?page=1>; rel=\"first\""));
        assert_eq!(link_next(&h), None);
    }

    #[test]
    fn a_budget_keeps_a_reserve_until_it_resets() {
        let soon = Utc::now() + chrono::Duration::minutes(10);
        let b = Budget::Known {
            remaining: 60,
            limit: 5000,
            reset_at: soon,
        };
        assert!(b.afford(10).is_ok());
        assert_eq!(b.afford(11), Err(soon));
        let past = Budget::Known {
            remaining: 0,
            limit: 5000,
            reset_at: Utc::now() - chrono::Duration::seconds(1),
        };
        assert!(past.afford(100).is_ok(), "a reset budget is spent again");
        assert!(Budget::Unlimited.afford(u32::MAX).is_ok());
    }
}
