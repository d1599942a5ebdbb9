//! Command-line entry points (DESIGN §3). This layer, like `main`, may wire in the simulators
//! (`demo`, `sim`), and only with the `demo` feature.

#[cfg(feature = "demo")]
pub mod demo;
pub mod migrate;
pub mod rotate_key;
pub mod serve;
#[cfg(feature = "demo")]
pub mod sim;
pub mod sync;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "pulse-etl",
    version,
    about = "Jira and GitHub ETL with DORA metrics and a live dashboard"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve in production: configuration from the environment, migrations applied at start.
    Serve,
    /// Everything on loopback with no setup: SQLite, simulators, demo logins.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Only the simulators (Backend Service, Jira, GitHub); prints their URLs as JSON.
    #[cfg(feature = "demo")]
    Sim(sim::SimArgs),
    /// Apply (or roll back with --down N) the database migrations and exit.
    Migrate(migrate::MigrateArgs),
    /// Run one sync now, in this process (needs DATABASE_URL and ENCRYPTION_KEY).
    Sync(sync::SyncArgs),
    /// Re-encrypt every stored credential under ENCRYPTION_KEY (old keys in ENCRYPTION_KEY_PREVIOUS).
    RotateKey,
}

/// A failed command: one line for stderr and the process exit code.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: u8,
}

impl CliError {
    /// Exit code 2: the configuration is missing or malformed.
    pub fn config(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: 2,
        }
    }

    /// Exit code 1: start-up or runtime failure; the cause chain on one line.
    pub fn failed(e: anyhow::Error) -> Self {
        Self {
            message: format!("{e:#}"),
            code: 1,
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        Self::failed(e)
    }
}

pub type CliResult = Result<(), CliError>;

/// A start-up failure; exit code 2 when another process already serves the SQLite file.
pub fn start_error(e: anyhow::Error) -> CliError {
    if e.downcast_ref::<crate::db::AlreadyRunning>().is_some() {
        CliError::config(format!("{e:#}"))
    } else {
        CliError::failed(e)
    }
}
