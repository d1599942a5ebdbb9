use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::{CliError, CliResult};
use pulse_sim::SimOptions;
use pulse_sim::generate::SizeOptions;
use pulse_sim::state::SimConfig;

#[derive(Args)]
pub struct SimArgs {
    /// Listen address; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Seed of the generated dataset (same seed, same data).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Lifetime of Backend Service tokens, in seconds.
    #[arg(long, default_value_t = 12 * 3600)]
    pub token_ttl_seconds: u64,
    /// Added to every Jira/GitHub response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share (0–1) of Jira/GitHub requests answered with a 5xx or 429.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Dataset size: small (tests), medium (demo) or large (benchmarks), then per-item overrides.
    #[arg(long, default_value = "small")]
    pub size: String,
    #[arg(long)]
    pub projects: Option<usize>,
    #[arg(long)]
    pub issues: Option<usize>,
    #[arg(long)]
    pub repos: Option<usize>,
    #[arg(long)]
    pub prs: Option<usize>,
    /// Days of history.
    #[arg(long)]
    pub days: Option<u32>,
    /// The simulated present (RFC 3339); default today 00:00 UTC.
    #[arg(long)]
    pub anchor: Option<chrono::DateTime<chrono::Utc>>,
    /// Jira burst limit in requests per second per token (default unlimited).
    #[arg(long)]
    pub jira_burst: Option<u32>,
    /// GitHub REST budget per token per hour.
    #[arg(long, default_value_t = 5_000)]
    pub github_budget: u32,
    /// Added per item of an answer (Jira issues and changelog entries, GitHub nodes), in
    /// milliseconds (fractions allowed): bigger pages take longer.
    #[arg(long, default_value_t = 0.0)]
    pub latency_per_item_ms: f64,
    /// Requests of one Jira token in flight beyond N are answered 429 with `Retry-After`.
    #[arg(long)]
    pub jira_max_concurrent: Option<u32>,
    /// Requests of one GitHub token in flight beyond N get the secondary-limit 403.
    #[arg(long)]
    pub github_max_concurrent: Option<u32>,
}

pub async fn run(args: SimArgs) -> CliResult {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(CliError::config("--fault-rate must be between 0 and 1"));
    }
    if !(0.0..=10_000.0).contains(&args.latency_per_item_ms) {
        return Err(CliError::config("--latency-per-item-ms must be between 0 and 10000"));
    }
    if args.jira_max_concurrent == Some(0) || args.github_max_concurrent == Some(0) {
        return Err(CliError::config(
            "--jira-max-concurrent and --github-max-concurrent must be at least 1",
        ));
    }
    let mut size =
        SizeOptions::named(&args.size).ok_or_else(|| CliError::config("--size must be small, medium or large"))?;
    size.projects = args.projects.unwrap_or(size.projects);
    size.issues = args.issues.unwrap_or(size.issues);
    size.repos = args.repos.unwrap_or(size.repos);
    size.prs = args.prs.unwrap_or(size.prs);
    size.days = args.days.unwrap_or(size.days);
    let config = SimConfig {
        latency_ms: args.latency_ms,
        fault_rate: args.fault_rate,
        jira_burst_per_second: args.jira_burst,
        github_rest_budget: args.github_budget,
        latency_per_item_ms: args.latency_per_item_ms,
        jira_max_concurrent: args.jira_max_concurrent,
        github_max_concurrent: args.github_max_concurrent,
        ..SimConfig::default()
    };
    let opts = SimOptions {
        bind: args.bind,
        seed: args.seed,
        token_ttl: Duration::from_secs(args.token_ttl_seconds),
        size,
        anchor: args.anchor,
        config,
    };
    let handle = pulse_sim::server::start(opts)
        .map_err(|e| CliError::failed(anyhow::anyhow!("cannot start the simulators: {e}")))?;
    let line = serde_json::to_string(&handle.urls).map_err(|e| CliError::failed(e.into()))?;
    println!("{line}");
    shutdown_signal().await.map_err(|e| CliError::failed(e.into()))?;
    handle.stop().await;
    Ok(())
}

/// SIGTERM or Ctrl-C.
pub async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
