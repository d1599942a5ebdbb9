use clap::Args;
use migration::{Migrator, MigratorTrait};

use super::{CliError, CliResult};
use crate::db;

#[derive(Args)]
pub struct MigrateArgs {
    /// Roll back the last N migrations instead of applying pending ones.
    #[arg(long, value_name = "N")]
    pub down: Option<u32>,
}

pub async fn run(args: MigrateArgs) -> CliResult {
    let _ = dotenvy::dotenv();
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| CliError::config("configuration error: DATABASE_URL is required"))?;
    let conn = db::connect(&url)
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
