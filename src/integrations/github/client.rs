use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::integrations::error::UpstreamError;

/// API version header GitHub documents as the stable default.
const API_VERSION: &str = "2022-11-28";

pub struct GithubClient {
    http: reqwest::Client,
    /// REST root without trailing slash: `https://api.github.com` or `https://host/api/v3`.
    rest: String,
    token: SecretString,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Debug, Deserialize)]
pub struct Repo {
    pub name: String,
    pub full_name: String,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub archived: bool,
}

/// Core REST budget, or None when the server has rate limiting turned off (Enterprise default).
#[derive(Debug)]
pub struct RateStatus {
    pub limit: u64,
    pub remaining: u64,
    pub reset: i64,
}

impl GithubClient {
    pub fn new(http: reqwest::Client, rest_root: &Url, token: SecretString) -> Self {
        Self {
            http,
            rest: rest_root.as_str().trim_end_matches('/').to_string(),
            token,
        }
    }

    /// GraphQL sits beside the REST root: `/graphql` on github.com, `/api/graphql` on GHES.
    pub fn graphql_url(&self) -> String {
        match self.rest.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{}/graphql", self.rest),
        }
    }

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, UpstreamError> {
        let res = self
            .http
            .get(format!("{}/{}", self.rest, path.trim_start_matches('/')))
            .bearer_auth(self.token.expose_secret())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&e))?;
        let status = res.status();
        let remaining = res
            .headers()
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = res.bytes().await.map_err(|e| UpstreamError::from_reqwest(&e))?;
        if !status.is_success() {
            return Err(status_error(status, &body, remaining.as_deref()));
        }
        serde_json::from_slice(&body).map_err(|e| UpstreamError::Decode(format!("not GitHub's JSON ({e})")))
    }

    pub async fn user(&self) -> Result<User, UpstreamError> {
        self.get_json("user").await
    }

    pub async fn repo(&self, full_name: &str) -> Result<Repo, UpstreamError> {
        self.get_json(&format!("repos/{full_name}")).await
    }

    pub async fn org_repos_page(&self, org: &str, per_page: u32) -> Result<Vec<Repo>, UpstreamError> {
        self.get_json(&format!("orgs/{org}/repos?per_page={per_page}")).await
    }

    pub async fn rate_limit(&self) -> Result<Option<RateStatus>, UpstreamError> {
        match self.get_json::<serde_json::Value>("rate_limit").await {
            Ok(v) => {
                let core = &v["resources"]["core"];
                Ok(Some(RateStatus {
                    limit: core["limit"].as_u64().unwrap_or(0),
                    remaining: core["remaining"].as_u64().unwrap_or(0),
                    reset: core["reset"].as_i64().unwrap_or(0),
                }))
            }
            // GHES answers 404 when rate limiting is disabled.
            Err(UpstreamError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// GitHub error bodies are `{"message": …}`; 403/429 with no budget left is a rate limit.
fn status_error(status: StatusCode, body: &[u8], remaining: Option<&str>) -> UpstreamError {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(String::from))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let secondary = message.to_ascii_lowercase().contains("secondary rate limit");
    match status.as_u16() {
        401 => UpstreamError::Unauthorized(" (GitHub said: Bad credentials)"),
        403 | 429 if remaining == Some("0") || secondary || status.as_u16() == 429 => {
            UpstreamError::RateLimited { retry_after: None }
        }
        403 => UpstreamError::Forbidden(format!("{message} — the token may lack a scope (repo, read:org)")),
        404 => UpstreamError::NotFound(message),
        s => UpstreamError::Status { status: s, message },
    }
}
