use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::{CliError, CliResult};
use crate::sim::{self, SimOptions};

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
}

pub async fn run(args: SimArgs) -> CliResult {
    let opts = SimOptions {
        bind: args.bind,
        seed: args.seed,
        token_ttl: Duration::from_secs(args.token_ttl_seconds),
    };
    let handle = sim::server::start(opts)
        .map_err(|e| CliError::failed(anyhow::anyhow!("cannot start the simulators: {e}")))?;
    let line = serde_json::to_string(&handle.urls).map_err(|e| CliError::failed(e.into()))?;
    println!("{line}");
    shutdown_signal()
        .await
        .map_err(|e| CliError::failed(e.into()))?;
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
