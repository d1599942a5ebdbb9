//! `pulse-etl rotate-key`: re-encrypts every stored secret under `ENCRYPTION_KEY`, reading rows
//! still under a key listed in `ENCRYPTION_KEY_PREVIOUS`.

use secrecy::ExposeSecret;

use super::{CliError, CliResult};
use crate::config::RotateSettings;
use crate::crypto::Vault;
use crate::db;

pub async fn run() -> CliResult {
    let settings = RotateSettings::from_env().map_err(CliError::config)?;
    let vault = Vault::new(&settings.keys.current, &settings.keys.previous);
    let conn = db::connect(settings.database_url.expose_secret())
        .await
        .map_err(|e| CliError::failed(anyhow::anyhow!("cannot connect to the database: {e}")))?;
    db::migrate(&conn)
        .await
        .map_err(|e| CliError::failed(anyhow::anyhow!("cannot apply migrations: {e}")))?;
    let changed = db::integrations::rotate_secrets(&conn, &vault)
        .await
        .map_err(|e| CliError::failed(anyhow::anyhow!("rotation failed, nothing changed: {e}")))?;
    println!("re-encrypted {changed} secret(s) under the current key; ENCRYPTION_KEY_PREVIOUS can be removed");
    Ok(())
}
