//! `notification_settings`: the failure-notification webhook (at most one row). `webhook_url`
//! holds ciphertext only.

use sea_orm::entity::prelude::*;

/// No `Serialize`, and `Debug` leaves the webhook out: its address carries a token.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_settings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Blob", nullable)]
    pub webhook_url: Option<Vec<u8>>,
    /// The webhook's host, shown so admins can tell which one is set.
    pub webhook_host: Option<String>,
    pub last_sent_at: Option<DateTimeUtc>,
    pub last_ok: Option<bool>,
    pub last_message: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("webhook_url", &self.webhook_url.as_ref().map(|_| "[REDACTED]"))
            .field("webhook_host", &self.webhook_host)
            .field("last_sent_at", &self.last_sent_at)
            .field("last_ok", &self.last_ok)
            .field("last_message", &self.last_message)
            .finish()
    }
}
