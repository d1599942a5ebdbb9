use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
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

    /// The REST URL of `path_or_url`: a path is joined to the REST root; an absolute URL (a
    /// `Link: rel="next"` target, followed verbatim) is accepted only on the REST root's host,
    /// so the token never travels elsewhere.
    pub fn rest_url(&self, path_or_url: &str) -> Result<String, UpstreamError> {
        if !path_or_url.contains("://") {
            return Ok(format!("{}/{}", self.rest, path_or_url.trim_start_matches('/')));
        }
        let target = Url::parse(path_or_url).map_err(|e| UpstreamError::Decode(format!("bad link URL ({e})")))?;
        let root = Url::parse(&self.rest).map_err(|e| UpstreamError::Decode(format!("bad REST root ({e})")))?;
        if target.origin() != root.origin() {
            return Err(UpstreamError::Decode(
                "a pagination link points to another host; not following it".into(),
            ));
        }
        Ok(target.into())
    }

    /// Key for caching the answer to `url`: answers are only reused for the same token.
    pub fn cache_key(&self, url: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.token.expose_secret().as_bytes());
        let prefix: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("{prefix} {url}")
    }

    /// An authenticated REST `GET` (for `request::send`, which sends and retries it).
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.http
            .get(url)
            .bearer_auth(self.token.expose_secret())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
    }

    /// An authenticated GraphQL `POST` of `body` (`{"query", "variables"}`).
    pub fn graphql(&self, body: &serde_json::Value) -> RequestBuilder {
        self.http
            .post(self.graphql_url())
            .bearer_auth(self.token.expose_secret())
            .header("Accept", "application/json")
            .json(body)
    }

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, UpstreamError> {
        Ok(self.get_page(path).await?.0)
    }

    /// One page of a REST list (a path, or a `Link: rel="next"` URL on the same host) and the
    /// next page's URL.
    pub async fn get_page<T: DeserializeOwned>(&self, path_or_url: &str) -> Result<(T, Option<String>), UpstreamError> {
        let res = self
            .get(&self.rest_url(path_or_url)?)
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&e))?;
        let status = res.status();
        let next = super::session::link_next(res.headers());
        let remaining = res
            .headers()
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = res.bytes().await.map_err(|e| UpstreamError::from_reqwest(&e))?;
        if !status.is_success() {
            return Err(status_error(status, &body, remaining.as_deref()));
        }
        crate::integrations::request::json_without_nul(&body)
            .map(|v| (v, next))
            .map_err(|e| UpstreamError::Decode(format!("not GitHub's JSON ({e})")))
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

/// Maps a non-success answer to an error (the `classify` of `request::send`).
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> UpstreamError {
    let remaining = headers.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok());
    status_error(status, body, remaining)
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
