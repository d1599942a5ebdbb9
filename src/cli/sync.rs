//! `pulse-etl sync --job jira_sync`: one sync run now, in this process (ops, benchmarks).
//! Needs only `DATABASE_URL` and `ENCRYPTION_KEY` (plus the optional integration settings).

use std::time::Instant;

use clap::Args;
use secrecy::ExposeSecret;
use serde_json::json;

use super::{CliError, CliResult};
use crate::config::SyncSettings;
use crate::crypto::Vault;
use crate::db;
use crate::domain::job::JobType;
use crate::integrations::control::RunContext;
use crate::integrations::http::{Guard, Outbound};
use crate::integrations::{github, jira};

#[derive(Args)]
pub struct SyncArgs {
    /// Which job to run: jira_sync or github_sync.
    #[arg(long)]
    pub job: String,
    /// Print one JSON line with the outcome, duration, requests, counts and peak memory.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: SyncArgs) -> CliResult {
    let job = JobType::parse(&args.job).ok_or_else(|| {
        CliError::config(format!(
            "--job must be {} or {} (got {:?})",
            jira::sync::JOB,
            github::sync::JOB,
            args.job
        ))
    })?;
    let settings = SyncSettings::from_env().map_err(CliError::config)?;
    crate::telemetry::init_tracing(&settings.log_level, settings.log_format);
    let vault = Vault::new(&settings.keys.current, &settings.keys.previous);
    let conn = db::connect(settings.database_url.expose_secret())
        .await
        .map_err(|e| CliError::failed(anyhow::anyhow!("cannot connect to the database: {e}")))?;
    db::migrate(&conn)
        .await
        .map_err(|e| CliError::failed(anyhow::anyhow!("cannot apply migrations: {e}")))?;
    let outbound = Outbound {
        guard: Guard {
            allow_private: settings.outbound.allow_private_hosts,
        },
        timeout: settings.outbound.timeout,
    };
    let ctx = RunContext::detached();
    let started = Instant::now();
    let result = if job == github::sync::JOB {
        let deps = github::sync::Deps {
            db: &conn,
            vault: &vault,
            outbound,
        };
        github::sync::run(&deps, &ctx).await.map_err(|e| e.to_string())
    } else {
        let deps = jira::sync::Deps {
            db: &conn,
            vault: &vault,
            outbound,
        };
        jira::sync::run(&deps, &ctx).await.map_err(|e| e.to_string())
    };
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        let line = json!({
            "job": args.job,
            "ok": result.is_ok(),
            "error": result.as_ref().err(),
            "seconds": seconds,
            "api_requests": ctx.stats.requests(),
            "rate_limit_wait_ms": ctx.stats.waited_ms(),
            "peak_in_flight": ctx.stats.peak_in_flight.load(std::sync::atomic::Ordering::Relaxed),
            "throttled": ctx.stats.throttled.load(std::sync::atomic::Ordering::Relaxed),
            "counts": ctx.stats.counts(),
            // The run log's line for each project and repository.
            "scopes": ctx
                .stats
                .scopes()
                .into_iter()
                .map(|(name, scope)| (name, scope.describe()))
                .collect::<std::collections::BTreeMap<_, _>>(),
            "peak_rss_kb": peak_rss_kb(),
        });
        println!("{line}");
    } else if result.is_ok() {
        println!(
            "{} finished in {seconds:.1} s with {} API requests",
            args.job,
            ctx.stats.requests()
        );
    }
    result.map_err(|e| CliError::failed(anyhow::anyhow!("{} failed: {e}", args.job)))
}

/// Peak resident memory of this process (Linux `VmHWM`), in KiB.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
