use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::domain::integration::Flavour;
use crate::integrations::error::UpstreamError;

/// How requests authenticate: Cloud uses Basic (email + API token), Data Center a Bearer PAT.
pub enum JiraAuth {
    Basic { email: String, token: SecretString },
    Bearer(SecretString),
}

pub struct JiraClient {
    http: reqwest::Client,
    /// Site or context root without a trailing slash (may carry a path, e.g. `/jira`).
    base: String,
    flavour: Flavour,
    auth: JiraAuth,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Myself {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    #[serde(default)]
    pub deployment_type: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

impl ServerInfo {
    /// Jira says `Cloud` for Cloud and `Server` for Data Center / Server.
    pub fn flavour(&self) -> Option<Flavour> {
        match self.deployment_type.as_deref() {
            Some("Cloud") => Some(Flavour::Cloud),
            Some("Server") | Some("DataCenter") => Some(Flavour::DataCenter),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Project {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub name: String,
}

impl JiraClient {
    pub fn new(http: reqwest::Client, base: &Url, flavour: Flavour, auth: JiraAuth) -> Self {
        Self {
            http,
            base: base.as_str().trim_end_matches('/').to_string(),
            flavour,
            auth,
        }
    }

    fn api_version(&self) -> &'static str {
        if self.flavour == Flavour::Cloud { "3" } else { "2" }
    }

    /// `{base}/rest/api/{3|2}/{path}`.
    pub fn api_url(&self, path: &str) -> String {
        format!("{}/rest/api/{}/{path}", self.base, self.api_version())
    }

    /// A request to `{base}/rest/api/{v}/{path}` with credentials and `Accept: application/json`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.authorize(self.http.request(method, self.api_url(path)))
            .header("Accept", "application/json")
    }

    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            JiraAuth::Basic { email, token } => req.basic_auth(email, Some(token.expose_secret())),
            JiraAuth::Bearer(token) => req.bearer_auth(token.expose_secret()),
        }
    }

    /// GET a JSON document; HTTP errors become `UpstreamError`s with Jira's own message.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, UpstreamError> {
        let req = self
            .authorize(self.http.get(self.api_url(path)))
            .header("Accept", "application/json");
        let res = req.send().await.map_err(|e| UpstreamError::from_reqwest(&e))?;
        let status = res.status();
        let body = res.bytes().await.map_err(|e| UpstreamError::from_reqwest(&e))?;
        if !status.is_success() {
            return Err(status_error(status, &body));
        }
        crate::integrations::request::json_without_nul(&body)
            .map_err(|e| UpstreamError::Decode(format!("not Jira's JSON ({e})")))
    }

    pub async fn myself(&self) -> Result<Myself, UpstreamError> {
        self.get_json("myself").await
    }

    pub async fn server_info(&self) -> Result<ServerInfo, UpstreamError> {
        self.get_json("serverInfo").await
    }

    /// serverInfo without credentials (Jira serves it anonymously): tells Cloud from Data
    /// Center even when the credentials are for the other flavour.
    pub async fn server_info_anonymous(&self) -> Result<ServerInfo, UpstreamError> {
        let res = self
            .http
            // v2 exists on both Cloud and Data Center (v3 is Cloud-only).
            .get(format!("{}/rest/api/2/serverInfo", self.base))
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&e))?;
        let status = res.status();
        let body = res.bytes().await.map_err(|e| UpstreamError::from_reqwest(&e))?;
        if !status.is_success() {
            return Err(status_error(status, &body));
        }
        crate::integrations::request::json_without_nul(&body)
            .map_err(|e| UpstreamError::Decode(format!("not Jira's JSON ({e})")))
    }

    pub async fn project(&self, key: &str) -> Result<Project, UpstreamError> {
        let key: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
        self.get_json(&format!("project/{key}")).await
    }
}

/// Maps a non-success answer to an error (for `request::send`).
pub fn classify(status: StatusCode, _headers: &reqwest::header::HeaderMap, body: &[u8]) -> UpstreamError {
    status_error(status, body)
}

/// Jira's error bodies are `{"errorMessages":[…],"errors":{…}}`.
fn status_error(status: StatusCode, body: &[u8]) -> UpstreamError {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["errorMessages"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(|m| m.as_str())
                .map(String::from)
        })
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    match status.as_u16() {
        401 => UpstreamError::Unauthorized(""),
        403 => UpstreamError::Forbidden(message),
        404 => UpstreamError::NotFound(message),
        429 => UpstreamError::RateLimited { retry_after: None },
        s => UpstreamError::Status { status: s, message },
    }
}
