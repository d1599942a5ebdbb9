//! Sending one upstream request the way a sync must: check stop/pause first, honour rate
//! limits (`Retry-After`, Jira's ISO `X-RateLimit-Reset`, GitHub's epoch `x-ratelimit-reset`),
//! retry 5xx, timeouts, resets and unreadable bodies with jittered backoff, a bounded number of times.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::control::{Interrupted, RunContext, in_current_scope};
use super::error::UpstreamError;
use super::limiter::{Limiter, Outcome};
use crate::telemetry;

/// Attempts per request before the page (and the run) fails.
pub const MAX_ATTEMPTS: u32 = 6;
/// First backoff; doubles per attempt up to `MAX_BACKOFF`, with full jitter.
const BASE_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A rate-limit wait longer than this fails the run instead (the orchestrator retries later).
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(15 * 60);
/// GitHub secondary limits without `retry-after`: wait at least a minute.
const SECONDARY_LIMIT_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
    #[error("gave up after {attempts} attempts: {last}")]
    Exhausted { attempts: u32, last: UpstreamError },
    #[error("rate limited for {0:?}, longer than a run waits; the next run resumes from the checkpoint")]
    RateLimitTooLong(Duration),
}

/// A successful answer.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: actix_web::web::Bytes,
}

/// Sends `build()` until it succeeds (2xx or 304), a non-retryable error, or attempts run out.
/// `classify` maps a non-success answer to an error (services word errors differently).
/// Every attempt first takes a slot of `limiter` (the token's and host's), and tells it how the
/// attempt ended; the slot is given back before any rate-limit wait or backoff.
pub async fn send(
    ctx: &RunContext,
    limiter: &Arc<Limiter>,
    build: impl Fn() -> RequestBuilder,
    classify: impl Fn(StatusCode, &HeaderMap, &[u8]) -> UpstreamError,
) -> Result<Answer, RequestError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let permit = ctx
            .control
            .before_request(limiter.acquire_ranked(super::control::current_rank()))
            .await?;
        ctx.stats.api_requests.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let outcome = ctx
            .control
            .run(async {
                let res = build().send().await.map_err(|e| UpstreamError::from_reqwest(&e))?;
                let status = res.status();
                let headers = res.headers().clone();
                let body = res.bytes().await.map_err(|e| UpstreamError::from_reqwest(&e))?;
                Ok::<_, UpstreamError>(Answer { status, headers, body })
            })
            .await?;
        let status = match &outcome {
            Ok(a) => {
                note_budget(&a.headers);
                telemetry::status_class(a.status.as_u16())
            }
            Err(_) => "error",
        };
        telemetry::upstream_request(limiter.upstream, status, sent.elapsed());
        tracing::trace!(
            upstream = limiter.upstream,
            status,
            ms = sent.elapsed().as_millis() as u64,
            "request answered"
        );
        let err = match outcome {
            Ok(a) if a.status.is_success() || a.status == StatusCode::NOT_MODIFIED => {
                permit.finish(Outcome::Success);
                in_current_scope(|s| {
                    s.pages.fetch_add(1, Ordering::Relaxed);
                });
                return Ok(a);
            }
            Ok(a) => {
                let e = classify(a.status, &a.headers, &a.body);
                if let Some(wait) = rate_limit_wait(a.status, &a.headers, &a.body) {
                    permit.finish(Outcome::Throttled);
                    ctx.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    in_current_scope(|s| {
                        s.throttled.fetch_add(1, Ordering::Relaxed);
                    });
                    wait_for_rate_limit(ctx, limiter.upstream, wait).await?;
                    if attempt < MAX_ATTEMPTS * 2 {
                        continue;
                    }
                    return Err(RequestError::Exhausted {
                        attempts: attempt,
                        last: e,
                    });
                }
                e
            }
            Err(e) => e,
        };
        drop(permit);
        if !err.is_transient() {
            return Err(RequestError::Upstream(err));
        }
        if attempt >= MAX_ATTEMPTS {
            return Err(RequestError::Exhausted {
                attempts: attempt,
                last: err,
            });
        }
        ctx.stats.retries.fetch_add(1, Ordering::Relaxed);
        in_current_scope(|s| {
            s.retries.fetch_add(1, Ordering::Relaxed);
        });
        tracing::debug!(attempt, error = %err, "retrying upstream request");
        ctx.control.sleep(backoff(attempt)).await?;
    }
}

/// Like `send`, then parses JSON; an unreadable body is re-fetched like a 5xx, never skipped.
pub async fn send_json<T: DeserializeOwned>(
    ctx: &RunContext,
    limiter: &Arc<Limiter>,
    build: impl Fn() -> RequestBuilder,
    classify: impl Fn(StatusCode, &HeaderMap, &[u8]) -> UpstreamError,
) -> Result<T, RequestError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let answer = send(ctx, limiter, &build, &classify).await?;
        match json_without_nul(&answer.body) {
            Ok(v) => return Ok(v),
            Err(e) => {
                let err = UpstreamError::Decode(format!("malformed JSON ({e})"));
                if attempt >= MAX_ATTEMPTS {
                    return Err(RequestError::Exhausted {
                        attempts: attempt,
                        last: err,
                    });
                }
                ctx.stats.retries.fetch_add(1, Ordering::Relaxed);
                in_current_scope(|s| {
                    s.retries.fetch_add(1, Ordering::Relaxed);
                });
                tracing::debug!(attempt, error = %err, "re-fetching an unreadable page");
                ctx.control.sleep(backoff(attempt)).await?;
            }
        }
    }
}

/// The budget an answer says is left (`X-RateLimit-Remaining`; GitHub names the resource,
/// `core` or `graphql`, in `X-RateLimit-Resource`), as the integration's gauge.
fn note_budget(headers: &HeaderMap) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let Some(remaining) = header("x-ratelimit-remaining").and_then(|v| v.parse::<f64>().ok()) else {
        return;
    };
    let Some(integration) = super::control::current_integration() else {
        return;
    };
    telemetry::rate_limit_remaining(&integration, header("x-ratelimit-resource"), remaining);
}

fn backoff(attempt: u32) -> Duration {
    let exp = BASE_BACKOFF.saturating_mul(1 << attempt.min(16)).min(MAX_BACKOFF);
    let ms = rand::rng().random_range(exp.as_millis() as u64 / 2..=exp.as_millis() as u64);
    Duration::from_millis(ms)
}

/// Sleeps `wait` (a rate limit's), counted in the run's and the upstream's waiting time; a wait
/// longer than [`MAX_RATE_LIMIT_WAIT`] is an error instead.
pub async fn wait_for_rate_limit(ctx: &RunContext, upstream: &'static str, wait: Duration) -> Result<(), RequestError> {
    if wait > MAX_RATE_LIMIT_WAIT {
        return Err(RequestError::RateLimitTooLong(wait));
    }
    let started = Instant::now();
    tracing::info!(wait_ms = wait.as_millis() as u64, "rate limited; waiting");
    let result = ctx.control.sleep(wait).await;
    let waited = started.elapsed().as_millis() as u64;
    ctx.stats.rate_limit_wait_ms.fetch_add(waited, Ordering::Relaxed);
    in_current_scope(|s| {
        s.rate_limit_wait_ms.fetch_add(waited, Ordering::Relaxed);
    });
    telemetry::rate_limit_waited(upstream, started.elapsed());
    Ok(result?)
}

/// How long the server asks us to wait, if this answer is a rate limit.
pub fn rate_limit_wait(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let retry_after = header("retry-after").and_then(parse_retry_after);
    let limited = match status.as_u16() {
        429 => true,
        503 => retry_after.is_some(),
        403 => {
            header("x-ratelimit-remaining") == Some("0")
                || retry_after.is_some()
                || String::from_utf8_lossy(body)
                    .to_ascii_lowercase()
                    .contains("rate limit")
        }
        _ => false,
    };
    if !limited {
        return None;
    }
    if let Some(d) = retry_after {
        return Some(d);
    }
    if let Some(reset) = header("x-ratelimit-reset").or_else(|| header("ratelimit-reset")) {
        // GitHub and GitLab (`RateLimit-Reset`): epoch seconds; Jira Cloud: ISO `yyyy-MM-ddTHH:mmZ`.
        let at = reset
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .or_else(|| parse_iso_reset(reset));
        if let Some(at) = at {
            return Some((at - Utc::now()).to_std().unwrap_or(Duration::from_secs(1)));
        }
    }
    Some(if status.as_u16() == 403 {
        SECONDARY_LIMIT_WAIT
    } else {
        Duration::from_secs(5)
    })
}

fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.parse::<f64>() {
        // `inf`, `1e30` and NaN parse as numbers too; `from_secs_f64` would panic on them.
        return Duration::try_from_secs_f64(secs).ok();
    }
    DateTime::parse_from_rfc2822(v)
        .ok()
        .map(|t| (t.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or_default())
}

fn parse_iso_reset(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%MZ")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Decodes a JSON answer with every NUL character (`\u0000`) dropped from its strings:
/// PostgreSQL text cannot hold NUL, and one in a single Jira summary or GitHub title would fail
/// the whole page there, on every run (the recorded Jira issue EE-4 of tests/fixtures/devlake-jira
/// has one). Nothing else is changed. In JSON text a NUL can only be the escape `\u0000`, and
/// outside strings there is no backslash, so a scan of the escapes finds every one.
pub fn json_without_nul<T: DeserializeOwned>(body: &[u8]) -> serde_json::Result<T> {
    const NUL: &[u8] = br"\u0000";
    if memchr::memmem::find(body, NUL).is_none() {
        return serde_json::from_slice(body);
    }
    let mut clean = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'\\' {
            clean.push(body[i]);
            i += 1;
        } else if body[i..].starts_with(NUL) {
            i += NUL.len();
        } else {
            // Any other escape: the backslash and the character after it (so `\\u0000`, an
            // escaped backslash followed by the text "u0000", is kept as it is).
            let end = (i + 2).min(body.len());
            clean.extend_from_slice(&body[i..end]);
            i = end;
        }
    }
    serde_json::from_slice(&clean)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_wins_then_the_reset_header() {
        let w = rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &headers(&[("retry-after", "7")]), b"");
        assert_eq!(w, Some(Duration::from_secs(7)));
        let reset = (Utc::now() + chrono::Duration::seconds(120)).timestamp().to_string();
        let w = rate_limit_wait(
            StatusCode::FORBIDDEN,
            &headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &reset)]),
            b"",
        )
        .unwrap();
        assert!(w > Duration::from_secs(100) && w <= Duration::from_secs(120), "{w:?}");
        let iso = (Utc::now() + chrono::Duration::minutes(3))
            .format("%Y-%m-%dT%H:%MZ")
            .to_string();
        let w = rate_limit_wait(
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[("x-ratelimit-reset", &iso)]),
            b"",
        )
        .unwrap();
        assert!(w > Duration::from_secs(60), "{w:?}");
        // GitLab: a 429 without `Retry-After` waits until `RateLimit-Reset` (epoch seconds).
        let w = rate_limit_wait(
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", &reset)]),
            b"",
        )
        .unwrap();
        assert!(w > Duration::from_secs(100) && w <= Duration::from_secs(120), "{w:?}");
    }

    #[test]
    fn a_plain_403_is_not_a_rate_limit_but_a_secondary_limit_is() {
        assert_eq!(
            rate_limit_wait(
                StatusCode::FORBIDDEN,
                &headers(&[]),
                b"{\"message\":\"Resource not accessible\"}"
            ),
            None
        );
        assert_eq!(
            rate_limit_wait(
                StatusCode::FORBIDDEN,
                &headers(&[]),
                b"You have exceeded a secondary rate limit"
            ),
            Some(SECONDARY_LIMIT_WAIT)
        );
        assert_eq!(
            rate_limit_wait(StatusCode::SERVICE_UNAVAILABLE, &headers(&[]), b""),
            None
        );
        assert_eq!(
            rate_limit_wait(StatusCode::SERVICE_UNAVAILABLE, &headers(&[("retry-after", "2")]), b""),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(500));
        assert!(backoff(20) <= MAX_BACKOFF);
    }

    #[test]
    fn absurd_retry_after_values_are_ignored_not_a_panic() {
        for v in ["inf", "1e30", "NaN", "-1", "-0.5"] {
            let h = headers(&[("retry-after", v)]);
            assert_eq!(
                rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &h, b""),
                Some(Duration::from_secs(5)),
                "{v}"
            );
        }
        let h = headers(&[("retry-after", "1.5")]);
        assert_eq!(
            rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &h, b""),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn nul_characters_are_dropped_and_nothing_else() {
        let v: serde_json::Value =
            json_without_nul(br#"{"a":"x\u0000y","b":"\\u0000","c":"\u00e9\"\u0000","d":["\u0000"]}"#).unwrap();
        assert_eq!(v["a"], "xy");
        // An escaped backslash, then the text u0000: not a NUL.
        assert_eq!(v["b"], "\\u0000");
        assert_eq!(v["c"], "\u{e9}\"");
        assert_eq!(v["d"][0], "");
        let plain: serde_json::Value = json_without_nul(br#"{"a":"\\","b":"\u0001"}"#).unwrap();
        assert_eq!(plain, serde_json::json!({"a": "\\", "b": "\u{1}"}));
        // Malformed stays malformed.
        assert!(json_without_nul::<serde_json::Value>(br#"{"a":"\u0000"#).is_err());
        assert!(json_without_nul::<serde_json::Value>(b"\\").is_err());
    }
}
