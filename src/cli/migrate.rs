use clap::Args;
use migration::{Migrator, MigratorTrait};
use secrecy::ExposeSecret;

use super::{CliError, CliResult};
use crate::db;

#[derive(Args)]
pub struct MigrateArgs {
    /// Roll back the last N migrations instead of applying pending ones.
    #[arg(long, value_name = "N")]
    pub down: Option<u32>,
}

pub async fn run(args: MigrateArgs) -> CliResult {
    let url = crate::config::database_url_from_env().map_err(CliError::config)?;
    let conn = db::connect(url.expose_secret())
        .await
        .map_err(|e| CliError::failed(anyhow::anyhow!("cannot connect to the database: {e}")))?;
    let result = match args.down {
        Some(n) => Migrator::down(&conn, Some(n)).await,
        None => Migrator::up(&conn, None).await,
    };
    result.map_err(|e| CliError::failed(anyhow::anyhow!("migration failed: {e}")))?;
    let pending = db::pending_migrations(&conn).await.unwrap_or(0);
    println!("migrations done; {pending} pending");
    Ok(())
}
