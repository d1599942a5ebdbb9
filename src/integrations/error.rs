//! What can go wrong talking to Jira or GitHub, classified for people and for retry logic.

use std::time::Duration;

use super::http::{BlockedAddress, chain_text, find_in_chain};

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the address is not allowed: {0}; set ALLOW_PRIVATE_INTEGRATION_HOSTS=true to permit private hosts")]
    Blocked(String),
    #[error("the request timed out")]
    Timeout,
    #[error("the host name could not be resolved (DNS): {0}")]
    Dns(String),
    #[error("the TLS connection failed (certificate or protocol): {0}")]
    Tls(String),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("the credentials were rejected (401): check the token{0}")]
    Unauthorized(&'static str),
    #[error("permission denied (403): {0}")]
    Forbidden(String),
    #[error("not found (404): {0}")]
    NotFound(String),
    #[error("rate limited by the server")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the server answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the answer could not be read: {0}")]
    Decode(String),
}

impl UpstreamError {
    /// Transport failures as a person would describe them.
    pub fn from_reqwest(err: &reqwest::Error) -> Self {
        if let Some(b) = find_in_chain::<BlockedAddress>(err) {
            return UpstreamError::Blocked(b.0.clone());
        }
        if err.is_timeout() {
            return UpstreamError::Timeout;
        }
        let text = chain_text(err);
        let lower = text.to_ascii_lowercase();
        if err.is_decode() || err.is_body() && !err.is_connect() {
            return UpstreamError::Decode(strip_urls(&text));
        }
        if lower.contains("dns error")
            || lower.contains("failed to lookup address")
            || lower.contains("name or service not known")
        {
            UpstreamError::Dns(strip_urls(&text))
        } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            UpstreamError::Tls(strip_urls(&text))
        } else if lower.contains("connection refused") {
            UpstreamError::Connect("the server refused the connection; check the host and port".into())
        } else {
            UpstreamError::Connect(strip_urls(&text))
        }
    }

    /// Worth retrying with backoff (the server or the network may recover).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            UpstreamError::Timeout
                | UpstreamError::Connect(_)
                | UpstreamError::RateLimited { .. }
                | UpstreamError::Decode(_)
        ) || matches!(self, UpstreamError::Status { status, .. } if *status >= 500)
    }
}

/// Error texts from reqwest may carry URLs with query strings; keep them out of messages.
fn strip_urls(text: &str) -> String {
    text.split_whitespace()
        .map(|w| if w.contains("://") { "<url>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}
