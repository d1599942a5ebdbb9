//! `pulse-etl rotate-key`: re-encrypts every stored secret under `ENCRYPTION_KEY`, reading rows
//! still under a key listed in `ENCRYPTION_KEY_PREVIOUS`.

use super::{CliError, CliResult};
use crate::config::decode_key;
use crate::crypto::Vault;
use crate::db;

pub async fn run() -> CliResult {
    let _ = dotenvy::dotenv();
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let mut problems = Vec::new();
    let url = get("DATABASE_URL");
    if url.is_none() {
        problems.push("DATABASE_URL is required".to_string());
    }
    let current = match get("ENCRYPTION_KEY").map(|k| decode_key(&k)) {
        None => {
            problems.push("ENCRYPTION_KEY is required (the new key)".into());
            None
        }
        Some(Err(why)) => {
            problems.push(format!("ENCRYPTION_KEY {why}"));
            None
        }
        Some(Ok(k)) => Some(k),
    };
    let mut previous = Vec::new();
    for (i, item) in get("ENCRYPTION_KEY_PREVIOUS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        match decode_key(item) {
            Ok(k) => previous.push(secrecy::SecretBox::new(Box::new(k))),
            Err(why) => problems.push(format!("ENCRYPTION_KEY_PREVIOUS entry {} {why}", i + 1)),
        }
    }
    let (Some(url), Some(current)) = (url, current) else {
        return Err(CliError::config(format!(
            "configuration error: {}",
            problems.join("; ")
        )));
    };
    if !problems.is_empty() {
        return Err(CliError::config(format!(
            "configuration error: {}",
            problems.join("; ")
        )));
    }
    let vault = Vault::new(&secrecy::SecretBox::new(Box::new(current)), &previous);
    let conn = db::connect(&url)
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
