//! What every simulated Jira/GitHub request goes through, as on the real services:
//! scheduled outages, injected faults, latency, authentication, rate limits, broken bodies.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpResponse, HttpResponseBuilder};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use futures_util::StreamExt;
use serde_json::json;

use super::state::{Items, SimConfig, SimState, Upstream, Window};

/// Simulator credentials (DESIGN §11).
pub const JIRA_CLOUD_EMAIL: &str = "sim@example.com";
pub const JIRA_CLOUD_TOKEN: &str = "sim-token";
pub const JIRA_DC_PAT: &str = "sim-pat";
pub const GITHUB_TOKEN: &str = "sim-github-token";
/// A GitLab personal access token (sent as `PRIVATE-TOKEN` or `Authorization: Bearer`).
pub const GITLAB_TOKEN: &str = "sim-gitlab-token";

/// GitHub's primary limits reset hourly; secondary limits count per minute.
const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

pub async fn guard(req: ServiceRequest, next: Next<BoxBody>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(upstream) = Upstream::from_path(req.path()) else {
        return next.call(req).await;
    };
    let Some(state) = req.app_data::<Data<SimState>>().cloned() else {
        return next.call(req).await;
    };
    let cfg = state.config();
    // In flight from here until the answer is sent (latency included), per credential.
    let caller = ["Authorization", "PRIVATE-TOKEN"]
        .iter()
        .find_map(|h| req.headers().get(*h).and_then(|v| v.to_str().ok()))
        .unwrap_or("anonymous")
        .to_string();
    // GitLab's requests count among the Git hosts' (`max_in_flight.github`).
    let (_in_flight, now_in_flight) =
        state.enter(upstream != Upstream::JiraCloud && upstream != Upstream::JiraDc, &caller);
    let cap = match upstream {
        Upstream::Github | Upstream::GithubEnterprise => cfg.github_max_concurrent,
        Upstream::Gitlab => cfg.gitlab_max_concurrent,
        Upstream::JiraCloud | Upstream::JiraDc => cfg.jira_max_concurrent,
    };
    if let Some(cap) = cap.filter(|c| now_in_flight > *c) {
        let res = match upstream {
            Upstream::Github | Upstream::GithubEnterprise => github_secondary_limit(1),
            Upstream::Gitlab => gitlab_rate_limited(cap, None, 1),
            Upstream::JiraCloud | Upstream::JiraDc => jira_rate_limited(upstream, cap, 1),
        };
        return Ok(req.into_response(res));
    }
    if let Some(o) = &cfg.outage {
        let now = Utc::now();
        if now >= o.from && now < o.until {
            return Ok(req.into_response(server_error(upstream, StatusCode::SERVICE_UNAVAILABLE)));
        }
    }
    if cfg.rate_limit_storms.is_some_and(|s| state.storm_raging(&s)) {
        return Ok(req.into_response(storm(upstream)));
    }
    if cfg.fault_rate > 0.0 && state.roll() < cfg.fault_rate {
        return Ok(req.into_response(injected_fault(&state, upstream)));
    }
    let delay = cfg.latency_ms + state.roll_range(cfg.jitter_ms + 1).min(cfg.jitter_ms);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    // Jira answers serverInfo anonymously (a request without credentials), as the real one does.
    let anonymous_ok = matches!(upstream, Upstream::JiraCloud | Upstream::JiraDc)
        && req.path().ends_with("/serverInfo")
        && !req.headers().contains_key("Authorization");
    let token = match credential(&req, upstream) {
        Some(t) => t,
        None if anonymous_ok => "anonymous".to_string(),
        None => return Ok(req.into_response(unauthorized(upstream))),
    };
    let is_graphql = req.path().ends_with("/graphql");
    let mut github_window = None;
    let mut gitlab_window = None;
    match upstream {
        Upstream::Gitlab if cfg.gitlab_per_minute > 0 => {
            let window = Duration::from_secs(cfg.gitlab_window_secs.max(1));
            let w = state.charge(&token, "gitlab", window, 1);
            if w.used > cfg.gitlab_per_minute {
                let wait = (w.reset_at - Utc::now()).num_seconds().max(1) as u64;
                return Ok(req.into_response(gitlab_rate_limited(cfg.gitlab_per_minute, Some(w), wait)));
            }
            gitlab_window = Some(w);
        }
        Upstream::JiraCloud | Upstream::JiraDc => {
            if let Some(limit) = cfg.jira_burst_per_second {
                let w = state.charge(&token, "jira-burst", SECOND, 1);
                if w.used > limit {
                    return Ok(req.into_response(jira_rate_limited(upstream, limit, 1)));
                }
            }
        }
        Upstream::Github | Upstream::GithubEnterprise if github_limits_on(&cfg, upstream) && !is_graphql => {
            if let Some(per_minute) = cfg.github_secondary_per_minute {
                let w = state.charge(&token, "secondary", MINUTE, 1);
                if w.used > per_minute {
                    return Ok(req.into_response(github_secondary_limit(60)));
                }
            }
            let w = state.charge(&token, "core", HOUR, 1);
            if w.used > cfg.github_rest_budget {
                let status = if state.roll() < 0.5 {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::TOO_MANY_REQUESTS
                };
                let mut res = github_json(status, "API rate limit exceeded for user ID 1.");
                add_github_rate_headers(&mut res, "core", cfg.github_rest_budget, w);
                return Ok(req.into_response(res));
            }
            github_window = Some(w);
        }
        _ => {}
    }
    let mut res = next.call(req).await?;
    let items = res.response().extensions().get::<Items>().map_or(0, |i| i.0);
    let per_item = Duration::from_secs_f64((cfg.latency_per_item_ms.max(0.0) * items as f64 / 1000.0).min(600.0));
    if !per_item.is_zero() {
        tokio::time::sleep(per_item).await;
    }
    if let Some(mut w) = github_window {
        if res.status() == StatusCode::NOT_MODIFIED {
            state.refund(&token, "core", 1);
            w.used = w.used.saturating_sub(1);
        }
        add_github_rate_headers(res.response_mut(), "core", cfg.github_rest_budget, w);
    }
    if let Some(w) = gitlab_window {
        add_gitlab_rate_headers(res.response_mut(), cfg.gitlab_per_minute, w);
    }
    Ok(break_body(&state, &cfg, res).await)
}

/// Whether GitHub rate limits apply (always on github.com; opt-in on Enterprise).
pub fn github_limits_on(cfg: &SimConfig, upstream: Upstream) -> bool {
    upstream == Upstream::Github || cfg.enterprise_rate_limits
}

/// The token a request carries, if it is the simulator's credential for that upstream.
fn credential(req: &ServiceRequest, upstream: Upstream) -> Option<String> {
    if upstream == Upstream::Gitlab
        && let Some(t) = req.headers().get("PRIVATE-TOKEN").and_then(|v| v.to_str().ok())
    {
        return (t.trim() == GITLAB_TOKEN).then(|| GITLAB_TOKEN.to_string());
    }
    let header = req.headers().get("Authorization")?.to_str().ok()?;
    let (scheme, value) = header.split_once(' ')?;
    let value = value.trim();
    let ok = match upstream {
        Upstream::JiraCloud => {
            scheme.eq_ignore_ascii_case("basic")
                && BASE64
                    .decode(value)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .as_deref()
                    == Some(&format!("{JIRA_CLOUD_EMAIL}:{JIRA_CLOUD_TOKEN}"))
        }
        Upstream::JiraDc => scheme.eq_ignore_ascii_case("bearer") && value == JIRA_DC_PAT,
        Upstream::Github | Upstream::GithubEnterprise => {
            (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")) && value == GITHUB_TOKEN
        }
        Upstream::Gitlab => scheme.eq_ignore_ascii_case("bearer") && value == GITLAB_TOKEN,
    };
    ok.then(|| value.to_string())
}

pub fn unauthorized(upstream: Upstream) -> HttpResponse {
    if upstream == Upstream::Gitlab {
        gitlab_json(StatusCode::UNAUTHORIZED, "401 Unauthorized")
    } else if upstream.is_github() {
        github_json(StatusCode::UNAUTHORIZED, "Bad credentials")
    } else {
        jira_json(
            StatusCode::UNAUTHORIZED,
            "Client must be authenticated to access this resource.",
        )
    }
}

/// Jira's error collection: `{"errorMessages":[…],"errors":{}}`.
pub fn jira_json(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponseBuilder::new(status).json(json!({ "errorMessages": [message], "errors": {} }))
}

/// GitHub's error body: `{"message","documentation_url","status"}`.
pub fn github_json(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponseBuilder::new(status).json(json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    }))
}

fn server_error(upstream: Upstream, status: StatusCode) -> HttpResponse {
    if upstream == Upstream::Gitlab {
        let message = match status.as_u16() {
            502 => "502 Bad Gateway",
            503 => "503 Service Unavailable",
            504 => "504 Gateway Timeout",
            _ => "500 Internal Server Error",
        };
        gitlab_json(status, message)
    } else if upstream.is_github() {
        let message = match status.as_u16() {
            502 | 504 => {
                "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists."
            }
            _ => "Server Error",
        };
        github_json(status, message)
    } else {
        jira_json(status, "Internal server error")
    }
}

fn injected_fault(state: &SimState, upstream: Upstream) -> HttpResponse {
    const CHOICES: [u16; 5] = [500, 502, 503, 504, 429];
    let code = CHOICES[state.roll_range(CHOICES.len() as u64) as usize];
    match (code, upstream.is_github()) {
        (429, _) if upstream == Upstream::Gitlab => gitlab_rate_limited(10, None, 1),
        (429, false) => jira_rate_limited(upstream, 10, 1),
        (429, true) => github_secondary_limit(1),
        (code, _) => server_error(
            upstream,
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        ),
    }
}

/// A request in a 429 storm: Jira's burst-limit answer, GitHub's secondary limit as a 429;
/// both ask to wait one second.
fn storm(upstream: Upstream) -> HttpResponse {
    if upstream == Upstream::Gitlab {
        gitlab_rate_limited(10, None, 1)
    } else if upstream.is_github() {
        let mut res = github_secondary_limit(1);
        *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        res
    } else {
        jira_rate_limited(upstream, 10, 1)
    }
}

/// Jira Cloud: 429 + `Retry-After` seconds + ISO `X-RateLimit-Reset` + `RateLimit-Reason`;
/// Data Center: 429 + `retry-after` + token-bucket headers.
pub fn jira_rate_limited(upstream: Upstream, limit: u32, retry_after_secs: u64) -> HttpResponse {
    let mut res = HttpResponseBuilder::new(StatusCode::TOO_MANY_REQUESTS);
    res.insert_header(("Retry-After", retry_after_secs.to_string()))
        .insert_header(("X-RateLimit-Limit", limit.to_string()))
        .insert_header(("X-RateLimit-Remaining", "0"));
    if upstream == Upstream::JiraCloud {
        let reset = Utc::now() + chrono::Duration::seconds(retry_after_secs as i64);
        res.insert_header(("X-RateLimit-Reset", reset.format("%Y-%m-%dT%H:%MZ").to_string()))
            .insert_header(("RateLimit-Reason", "jira-burst-based"));
    } else {
        res.insert_header(("X-RateLimit-Interval-Seconds", "1"))
            .insert_header(("X-RateLimit-FillRate", limit.to_string()));
    }
    res.json(json!({ "errorMessages": ["Rate limit exceeded."], "errors": {} }))
}

pub fn github_secondary_limit(retry_after_secs: u64) -> HttpResponse {
    let mut res = github_json(
        StatusCode::FORBIDDEN,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
    );
    if let Ok(v) = retry_after_secs.to_string().parse() {
        res.headers_mut().insert(actix_web::http::header::RETRY_AFTER, v);
    }
    res
}

/// GitLab's error body: `{"message": "404 Project Not Found"}`.
pub fn gitlab_json(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponseBuilder::new(status).json(json!({ "message": message }))
}

/// GitLab's throttle answer: 429, `Retry-After`, the `RateLimit-*` headers of the window, and
/// the plain-text body Rack::Attack sends.
pub fn gitlab_rate_limited(limit: u32, w: Option<Window>, retry_after_secs: u64) -> HttpResponse {
    let mut res = HttpResponseBuilder::new(StatusCode::TOO_MANY_REQUESTS)
        .insert_header(("Retry-After", retry_after_secs.to_string()))
        .content_type("text/plain")
        .body("Retry later\n");
    let w = w.unwrap_or(Window {
        started: std::time::Instant::now(),
        reset_at: Utc::now() + chrono::Duration::seconds(retry_after_secs as i64),
        used: limit.saturating_add(1),
    });
    add_gitlab_rate_headers(&mut res, limit, w);
    res
}

/// `RateLimit-*` headers as GitLab.com sends them on every authenticated API answer.
pub fn add_gitlab_rate_headers(res: &mut HttpResponse, limit: u32, w: Window) {
    // Whole seconds, rounded up: the window has reset by then (GitLab's windows end on a second).
    let reset = w.reset_at.timestamp() + i64::from(w.reset_at.timestamp_subsec_nanos() > 0);
    let pairs = [
        ("ratelimit-name", "throttle_authenticated_api".to_string()),
        ("ratelimit-limit", limit.to_string()),
        ("ratelimit-observed", w.used.to_string()),
        ("ratelimit-remaining", limit.saturating_sub(w.used).to_string()),
        ("ratelimit-reset", reset.to_string()),
        (
            "ratelimit-resettime",
            w.reset_at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ),
    ];
    let headers = res.headers_mut();
    for (name, value) in pairs {
        if let (Ok(n), Ok(v)) = (
            actix_web::http::header::HeaderName::from_bytes(name.as_bytes()),
            actix_web::http::header::HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }
}

/// `x-ratelimit-*` headers as GitHub sends them (reset in epoch seconds).
pub fn add_github_rate_headers(res: &mut HttpResponse, resource: &str, limit: u32, w: Window) {
    let headers = res.headers_mut();
    let pairs = [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", limit.saturating_sub(w.used).to_string()),
        ("x-ratelimit-reset", w.reset_at.timestamp().to_string()),
        ("x-ratelimit-used", w.used.min(limit).to_string()),
        ("x-ratelimit-resource", resource.to_string()),
    ];
    for (name, value) in pairs {
        if let (Ok(n), Ok(v)) = (
            actix_web::http::header::HeaderName::from_bytes(name.as_bytes()),
            actix_web::http::header::HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }
}

/// Malformed bodies, connection resets and slow bodies, for successful answers only.
async fn break_body(state: &SimState, cfg: &SimConfig, res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let wants_break = cfg.malformed_rate > 0.0 || cfg.reset_rate > 0.0 || cfg.slow_body_ms > 0;
    if !wants_break || !res.status().is_success() {
        return res;
    }
    let malformed = cfg.malformed_rate > 0.0 && state.roll() < cfg.malformed_rate;
    let reset = !malformed && cfg.reset_rate > 0.0 && state.roll() < cfg.reset_rate;
    if !malformed && !reset && cfg.slow_body_ms == 0 {
        return res;
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = match body.try_into_bytes() {
        Ok(b) => b,
        Err(body) => match actix_web::body::to_bytes(body).await {
            Ok(b) => b,
            Err(_) => Bytes::new(),
        },
    };
    let cut = bytes.len() / 2;
    let slow = Duration::from_millis(cfg.slow_body_ms);
    let res = if malformed {
        head.set_body(BoxBody::new(bytes.slice(..cut)))
    } else {
        let chunks: Vec<Bytes> = if reset {
            vec![bytes.slice(..cut)]
        } else {
            bytes.chunks(4096).map(|c| bytes.slice_ref(c)).collect()
        };
        let mut items: Vec<Result<Bytes, std::io::Error>> = chunks.into_iter().map(Ok).collect();
        if reset {
            items.push(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated reset",
            )));
        }
        let stream = futures_util::stream::iter(items).then(move |item| async move {
            if !slow.is_zero() {
                tokio::time::sleep(slow).await;
            }
            item
        });
        let mut res = head.set_body(BoxBody::new(actix_web::body::BodyStream::new(stream)));
        res.headers_mut().remove(actix_web::http::header::CONTENT_LENGTH);
        res
    };
    ServiceResponse::new(req, res.map_into_boxed_body())
}
