//! The failure-notification webhook: stored encrypted, bound to its row.

use chrono::Utc;
use entity::notification_settings as settings;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, Set};
use secrecy::SecretString;

use super::integrations::SaveError;
use crate::crypto::Vault;

/// The one row's id.
const ROW: i64 = 1;

/// What the webhook's ciphertext is bound to.
fn aad() -> Vec<u8> {
    b"pulse-etl:notification_settings.webhook_url".to_vec()
}

/// The settings row (an empty one when nothing was ever saved).
pub async fn get(db: &impl ConnectionTrait) -> Result<settings::Model, DbErr> {
    let now = Utc::now();
    Ok(settings::Entity::find_by_id(ROW)
        .one(db)
        .await?
        .unwrap_or(settings::Model {
            id: ROW,
            webhook_url: None,
            webhook_host: None,
            last_sent_at: None,
            last_ok: None,
            last_message: None,
            created_at: now,
            updated_at: now,
        }))
}

/// The webhook address, decrypted.
pub async fn webhook(db: &impl ConnectionTrait, vault: &Vault) -> Result<Option<SecretString>, SaveError> {
    match get(db).await?.webhook_url {
        Some(stored) => Ok(Some(vault.decrypt(&stored, &aad())?)),
        None => Ok(None),
    }
}

/// Sets (or with `None` removes) the webhook; the last delivery's result is forgotten.
pub async fn set_webhook(
    db: &impl ConnectionTrait,
    vault: &Vault,
    url: Option<(&SecretString, &str)>,
) -> Result<settings::Model, SaveError> {
    let sealed = match url {
        Some((u, _)) => Some(vault.encrypt(u, &aad())?),
        None => None,
    };
    let now = Utc::now();
    let row = settings::ActiveModel {
        id: Set(ROW),
        webhook_url: Set(sealed),
        webhook_host: Set(url.map(|(_, host)| host.to_string())),
        last_sent_at: Set(None),
        last_ok: Set(None),
        last_message: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(match settings::Entity::find_by_id(ROW).one(db).await? {
        Some(_) => row.update(db).await?,
        None => row.insert(db).await?,
    })
}

/// Records how the last delivery went.
pub async fn record(db: &impl ConnectionTrait, ok: bool, message: &str) -> Result<(), DbErr> {
    let Some(row) = settings::Entity::find_by_id(ROW).one(db).await? else {
        return Ok(());
    };
    let now = Utc::now();
    let mut active = row.into_active_model();
    active.last_sent_at = Set(Some(now));
    active.last_ok = Set(Some(ok));
    active.last_message = Set(Some(message.chars().take(500).collect()));
    active.updated_at = Set(now);
    active.update(db).await?;
    Ok(())
}

/// Re-encrypts the webhook under the current key (`rotate-key`); whether it changed.
pub async fn rotate(db: &impl ConnectionTrait, vault: &Vault) -> Result<bool, SaveError> {
    let row = get(db).await?;
    let Some(stored) = row.webhook_url.as_deref().filter(|s| !vault.is_current(s)) else {
        return Ok(false);
    };
    let plain = vault.decrypt(stored, &aad())?;
    let mut active = row.into_active_model();
    active.webhook_url = Set(Some(vault.encrypt(&plain, &aad())?));
    active.update(db).await?;
    Ok(true)
}
