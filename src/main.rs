use std::process::ExitCode;

use clap::Parser;
use pulse_etl::cli::{self, Cli, Command};

/// See Cargo.toml and docs/decisions.md ("Memory").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// How long jemalloc keeps a freed page before returning it to the system, in milliseconds (its
/// default is 10,000). An analytics pass over every issue frees several hundred MB at 500k
/// issues; with the default the service's RSS stayed that much higher for the next 10 s or so.
/// Pages freed and reused within a second (a page view's) are kept as before.
#[cfg(not(target_env = "msvc"))]
const FREED_PAGES_KEPT_MS: isize = 1_000;

/// Applies [`FREED_PAGES_KEPT_MS`] to the arenas made from now on and to those already made.
#[cfg(not(target_env = "msvc"))]
fn return_freed_pages_sooner() -> Result<(), tikv_jemalloc_ctl::Error> {
    use tikv_jemalloc_ctl::{Access, AsName};
    b"arenas.dirty_decay_ms\0".name().write(FREED_PAGES_KEPT_MS)?;
    // Arena 0 is the main thread's; the others are made when another thread first allocates.
    b"arena.0.dirty_decay_ms\0".name().write(FREED_PAGES_KEPT_MS)
}

fn main() -> ExitCode {
    // Before the runtime starts its threads (and they their arenas).
    #[cfg(not(target_env = "msvc"))]
    if let Err(e) = return_freed_pages_sooner() {
        eprintln!("pulse-etl: warning: jemalloc keeps freed pages for its default 10 s ({e})");
    }
    run()
}

#[tokio::main]
async fn run() -> ExitCode {
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
