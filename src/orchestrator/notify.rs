//! Failure notifications: a webhook (Slack-compatible JSON) called when a job fails, recovers
//! or stops at a rate limit. Delivery runs beside the job and never affects it: a webhook that
//! is down, slow or refused is logged, counted and shown on the dashboard, nothing more. The
//! address passes the same private-address guard as integrations.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::crypto::Vault;
use crate::db;
use crate::domain::job::JobType;
use crate::integrations::http::{self, Outbound};
use crate::telemetry;

/// The longest a delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    Failed,
    Recovered,
    RateLimited,
    /// "Send a test" on the dashboard.
    Test,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Failed => "job_failed",
            NoticeKind::Recovered => "job_recovered",
            NoticeKind::RateLimited => "job_rate_limited",
            NoticeKind::Test => "test",
        }
    }
}

/// What happened, for one notification.
#[derive(Clone, Debug)]
pub struct Notice {
    pub kind: NoticeKind,
    pub job: Option<JobType>,
    pub run_id: Option<i64>,
    /// The error, or what was done.
    pub detail: String,
}

impl Notice {
    /// The body: `text` for Slack (and chat tools that read Slack's format), the same facts as
    /// fields for everything else.
    pub fn payload(&self) -> Value {
        let job = self.job.map(JobType::title).unwrap_or("pulse-etl");
        let text = match self.kind {
            NoticeKind::Failed => format!(":red_circle: pulse-etl: {job} failed: {}", self.detail),
            NoticeKind::Recovered => format!(":large_green_circle: pulse-etl: {job} succeeded again: {}", self.detail),
            NoticeKind::RateLimited => format!(
                ":large_yellow_circle: pulse-etl: {job} stopped at a rate limit: {}",
                self.detail
            ),
            NoticeKind::Test => format!("pulse-etl: a test notification ({})", self.detail),
        };
        json!({
            "text": text,
            "event": self.kind.as_str(),
            "job": self.job.map(JobType::as_str),
            "run_id": self.run_id,
            "detail": self.detail,
        })
    }
}

/// Sends `notice` to the webhook, if one is set; records the result. `Ok(false)`: none set.
pub async fn deliver(
    db: &DatabaseConnection,
    vault: &Vault,
    outbound: Outbound,
    notice: &Notice,
) -> Result<bool, String> {
    let url = match db::notifications::webhook(db, vault).await {
        Ok(Some(url)) => url,
        Ok(None) => return Ok(false),
        Err(e) => return Err(format!("the webhook could not be read: {e}")),
    };
    let result = post(outbound, url.expose_secret(), &notice.payload()).await;
    let (ok, message) = match &result {
        Ok(status) => (true, format!("{} delivered ({status})", notice.kind.as_str())),
        Err(e) => (false, format!("{} not delivered: {e}", notice.kind.as_str())),
    };
    metrics::counter!(telemetry::NOTIFICATIONS, "event" => notice.kind.as_str(), "result" => if ok { "ok" } else { "error" })
        .increment(1);
    if let Err(e) = db::notifications::record(db, ok, &message).await {
        tracing::warn!(error = %e, "could not record the notification's result");
    }
    result.map(|_| true)
}

async fn post(outbound: Outbound, url: &str, body: &Value) -> Result<u16, String> {
    let url = url::Url::parse(url).map_err(|e| format!("the webhook address is invalid: {e}"))?;
    outbound.guard.check_url(&url).map_err(|b| b.to_string())?;
    let client = http::client(outbound.guard, DELIVERY_TIMEOUT.min(outbound.timeout))
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let res = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| crate::integrations::error::UpstreamError::from_reqwest(&e).to_string())?;
    let status = res.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(format!("the webhook answered {status}"))
    }
}

/// Delivers in the background: the job goes on whatever happens to the notification.
pub fn spawn(db: DatabaseConnection, vault: std::sync::Arc<Vault>, outbound: Outbound, notice: Notice) {
    tokio::spawn(async move {
        match deliver(&db, &vault, outbound, &notice).await {
            Ok(_) => {}
            Err(e) => tracing::warn!(event = notice.kind.as_str(), error = %e, "notification not delivered"),
        }
    });
}

/// Why a webhook was not saved (answered 422 next to the field).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Save(#[from] crate::db::integrations::SaveError),
}

/// Saves the webhook address (`None` removes it): an http(s) URL that passes the
/// private-address guard, like an integration's.
pub async fn save_webhook(
    db: &DatabaseConnection,
    vault: &Vault,
    outbound: Outbound,
    raw: Option<&str>,
) -> Result<entity::notification_settings::Model, WebhookError> {
    let Some(raw) = raw.map(str::trim) else {
        return Ok(db::notifications::set_webhook(db, vault, None).await?);
    };
    if raw.is_empty() {
        return Err(WebhookError::Invalid("Enter the webhook's URL".into()));
    }
    if let Some(problem) = crate::domain::text::single_line_problem(raw) {
        return Err(WebhookError::Invalid(problem.into()));
    }
    let url =
        crate::domain::links::parse_http_url(raw).map_err(|why| WebhookError::Invalid(format!("The address {why}")))?;
    outbound
        .guard
        .check_destination(&url)
        .await
        .map_err(|b| WebhookError::Invalid(crate::integrations::error::UpstreamError::Blocked(b.0).to_string()))?;
    let host = url.host_str().unwrap_or_default().to_string();
    let secret = secrecy::SecretString::from(url.to_string());
    Ok(db::notifications::set_webhook(db, vault, Some((&secret, &host))).await?)
}
