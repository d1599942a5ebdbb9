//! Logging (tracing) and Prometheus metrics.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Latency buckets (seconds) for HTTP requests: page renders sit in the low milliseconds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Buckets (seconds) for a whole sync run: from a nothing-new run to a first sync of a big site.
const JOB_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];
/// Buckets (seconds) for one upstream request: real Jira and GitHub answer in 0.1–5 s.
const UPSTREAM_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];
/// Buckets (seconds) for an analytics rebuild.
const REBUILD_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init_tracing(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The process-wide Prometheus recorder (one per process: the `metrics` facade is global).
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                (Matcher::Suffix("_seconds".into()), HTTP_BUCKETS),
                (Matcher::Full(JOB_DURATION.into()), JOB_BUCKETS),
                (Matcher::Full(UPSTREAM_DURATION.into()), UPSTREAM_BUCKETS),
                (Matcher::Full(ANALYTICS_REBUILD.into()), REBUILD_BUCKETS),
            ];
            let builder = buckets
                .into_iter()
                .try_fold(PrometheusBuilder::new(), |b, (m, v)| b.set_buckets_for_metric(m, v))
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            describe();
            metrics::gauge!("pulse_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

/// Counts and times every request by its route pattern (bounded label values).
pub async fn track_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let res = next.call(req).await?;
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    tracing::debug!(%method, %route, %status, ms = elapsed * 1000.0, "request");
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route).record(elapsed);
    Ok(res)
}

/// The method as a metric label: the standard ones by name, any other token (HTTP allows
/// arbitrary methods, and anyone can send them without logging in) as `other`, so the label
/// set stays bounded.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

// Metric families (DESIGN §11 and the ops issue): base units, `_total` on counters, labels from
// small fixed sets (job, outcome, item, upstream, status code) or from configuration (an
// integration's name), never from what a caller sends.
pub const JOB_RUNS: &str = "pulse_job_runs_total";
pub const JOB_DURATION: &str = "pulse_job_duration_seconds";
pub const JOB_LAST_SUCCESS: &str = "pulse_job_last_success_timestamp_seconds";
pub const SYNC_ITEMS: &str = "pulse_sync_items_total";
pub const UPSTREAM_REQUESTS: &str = "pulse_upstream_requests_total";
pub const UPSTREAM_DURATION: &str = "pulse_upstream_request_duration_seconds";
pub const RATE_LIMIT_WAIT: &str = "pulse_rate_limit_wait_seconds_total";
pub const RATE_LIMIT_REMAINING: &str = "pulse_rate_limit_remaining";
pub const WEBSOCKET_CLIENTS: &str = "pulse_websocket_clients";
pub const ANALYTICS_REBUILD: &str = "pulse_analytics_rebuild_seconds";
pub const LEADER: &str = "pulse_leader";
pub const NOTIFICATIONS: &str = "pulse_notifications_total";
pub const HEAP_ALLOCATED: &str = "pulse_heap_allocated_bytes";
pub const HEAP_RESIDENT: &str = "pulse_heap_resident_bytes";

/// HELP text for every family (TYPE comes with the first value).
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by method, route pattern and status."
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route pattern."
    );
    describe_gauge!(
        "pulse_build_info",
        "The running build (always 1), labelled with its version."
    );
    describe_counter!(JOB_RUNS, "Sync runs that ended, by job and outcome.");
    describe_histogram!(
        JOB_DURATION,
        Unit::Seconds,
        "How long a sync run took, start to end, by job."
    );
    describe_gauge!(
        JOB_LAST_SUCCESS,
        Unit::Seconds,
        "When the job last succeeded (Unix time), by job."
    );
    describe_counter!(
        SYNC_ITEMS,
        "Items fetched from upstream by the syncs, by job and kind of item."
    );
    describe_counter!(
        UPSTREAM_REQUESTS,
        "Requests sent to Jira or GitHub, by upstream and HTTP status (\"error\": no answer)."
    );
    describe_histogram!(
        UPSTREAM_DURATION,
        Unit::Seconds,
        "Time for Jira or GitHub to answer one request."
    );
    describe_counter!(
        RATE_LIMIT_WAIT,
        Unit::Seconds,
        "Time the syncs waited for an upstream rate limit."
    );
    describe_gauge!(
        RATE_LIMIT_REMAINING,
        "Requests (GitHub GraphQL: points) the upstream says are left in the current rate-limit window, by integration and resource (GitHub's core, graphql, search; default for Jira)."
    );
    describe_gauge!(WEBSOCKET_CLIENTS, "Live-status WebSockets open now.");
    describe_histogram!(
        ANALYTICS_REBUILD,
        Unit::Seconds,
        "Time to rebuild the analytics precompute."
    );
    describe_gauge!(
        LEADER,
        "1 while this process runs the orchestrator (the leader among replicas), else 0."
    );
    describe_counter!(NOTIFICATIONS, "Webhook notifications sent, by event and result.");
    describe_gauge!(
        HEAP_ALLOCATED,
        Unit::Bytes,
        "Bytes of memory the service holds allocated, as its allocator counts them when scraped."
    );
    describe_gauge!(
        HEAP_RESIDENT,
        Unit::Bytes,
        "Bytes of physical memory the allocator holds: what is allocated, its own bookkeeping and freed pages not yet returned to the system."
    );
    // Present from the start at 0, so a dashboard or `rate()` sees them before the first event.
    metrics::gauge!(WEBSOCKET_CLIENTS).set(0.0);
    for upstream in ["jira", "github", "gitlab"] {
        metrics::counter!(RATE_LIMIT_WAIT, "upstream" => upstream).increment(0);
    }
}

/// A sync run ended.
pub fn job_finished(
    job: &'static str,
    outcome: &'static str,
    took: std::time::Duration,
    items: impl IntoIterator<Item = (&'static str, u64)>,
) {
    metrics::counter!(JOB_RUNS, "job" => job, "outcome" => outcome).increment(1);
    metrics::histogram!(JOB_DURATION, "job" => job).record(took.as_secs_f64());
    for (item, n) in items {
        metrics::counter!(SYNC_ITEMS, "job" => job, "item" => item).increment(n);
    }
}

/// When `job` last succeeded.
pub fn job_succeeded_at(job: &'static str, at: chrono::DateTime<chrono::Utc>) {
    metrics::gauge!(JOB_LAST_SUCCESS, "job" => job).set(at.timestamp() as f64);
}

/// What an upstream says is left of `integration`'s rate-limit budget. `resource` is GitHub's
/// name for the budget (only the ones it documents are kept as labels; Jira sends none).
pub fn rate_limit_remaining(integration: &str, resource: Option<&str>, remaining: f64) {
    let resource = match resource.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => "default",
        Some("core") => "core",
        Some("graphql") => "graphql",
        Some("search") => "search",
        Some(_) => "other",
    };
    metrics::gauge!(RATE_LIMIT_REMAINING, "integration" => integration.to_owned(), "resource" => resource)
        .set(remaining);
}

/// The allocator's counts at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heap {
    /// Bytes the process holds allocated.
    pub allocated: u64,
    /// Bytes of physical memory the allocator holds for them, with its bookkeeping and the pages
    /// freed but not yet returned (the allocator's part of RSS).
    pub resident: u64,
}

impl Heap {
    /// The allocator's counts now; `None` where the process does not allocate through jemalloc
    /// (a test binary, Windows) and the counts are its own idle ones.
    pub fn now() -> Option<Self> {
        #[cfg(not(target_env = "msvc"))]
        {
            use tikv_jemalloc_ctl::{epoch, stats};
            // The counts are cached per epoch; advancing it refreshes them.
            epoch::advance().ok()?;
            let heap = Self {
                allocated: stats::allocated::read().ok()? as u64,
                resident: stats::resident::read().ok()? as u64,
            };
            // Under another allocator jemalloc has handed out next to nothing.
            (heap.allocated >= 1 << 20).then_some(heap)
        }
        #[cfg(target_env = "msvc")]
        None
    }

    /// Megabytes allocated, for logs.
    pub fn allocated_mb(&self) -> u64 {
        self.allocated >> 20
    }

    /// Megabytes resident, for logs.
    pub fn resident_mb(&self) -> u64 {
        self.resident >> 20
    }
}

/// Sets the heap gauges to the allocator's counts now (before each scrape).
pub fn record_heap() {
    if let Some(h) = Heap::now() {
        metrics::gauge!(HEAP_ALLOCATED).set(h.allocated as f64);
        metrics::gauge!(HEAP_RESIDENT).set(h.resident as f64);
    }
}

/// Whether this process leads.
pub fn leading(yes: bool) {
    metrics::gauge!(LEADER).set(if yes { 1.0 } else { 0.0 });
}

/// One upstream request answered (`status`: its HTTP status class, `429`, or `error` for no
/// answer), and how long it took. `upstream`: `jira` or `github` (bounded labels).
pub fn upstream_request(upstream: &'static str, status: &'static str, took: std::time::Duration) {
    metrics::counter!(UPSTREAM_REQUESTS, "upstream" => upstream, "status" => status).increment(1);
    metrics::histogram!(UPSTREAM_DURATION, "upstream" => upstream).record(took.as_secs_f64());
}

/// Time a sync waited for an upstream's rate limit.
/// The counter holds whole seconds (the recorder's counters are integers); the milliseconds
/// are summed per upstream, so many short waits add up instead of each rounding to 0.
pub fn rate_limit_waited(upstream: &'static str, waited: std::time::Duration) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static WAITED_MS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
    let slot = &WAITED_MS[usize::from(upstream != "jira")];
    let ms = waited.as_millis() as u64;
    let before = slot.fetch_add(ms, Ordering::Relaxed);
    let whole = (before + ms) / 1000 - before / 1000;
    metrics::counter!(RATE_LIMIT_WAIT, "upstream" => upstream).increment(whole);
}

/// The status class label of an answer.
pub fn status_class(status: u16) -> &'static str {
    match status {
        429 => "429",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
