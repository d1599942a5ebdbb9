use std::process::ExitCode;

use clap::Parser;
use pulse_etl::cli::{self, Cli, Command};

/// See Cargo.toml and docs/decisions.md ("Memory").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // reqwest is built without a default TLS provider; ring is the one the rest of the stack uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve => cli::serve::run().await,
        #[cfg(feature = "demo")]
        Command::Demo(args) => cli::demo::run(args).await,
        #[cfg(feature = "demo")]
        Command::Sim(args) => cli::sim::run(args).await,
        Command::Migrate(args) => cli::migrate::run(args).await,
        Command::RotateKey => cli::rotate_key::run().await,
        Command::Sync(args) => cli::sync::run(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pulse-etl: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
