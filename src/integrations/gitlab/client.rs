//! GitLab REST v4 at `{base}/api/v4`: authenticated requests (`PRIVATE-TOKEN`), offset paging
//! by `x-next-page`, and GitLab's error wording mapped to [`UpstreamError`].

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::models::{Group, Project, TokenInfo, User, Version};
use crate::integrations::error::UpstreamError;

pub struct GitlabClient {
    http: reqwest::Client,
    /// `{base}/api/v4`, without a trailing slash.
    api: String,
    token: SecretString,
}

/// A path segment for GitLab's `:id` (a numeric id, or a full path URL-encoded whole).
pub fn encode_id(id_or_path: &str) -> String {
    url::form_urlencoded::byte_serialize(id_or_path.as_bytes()).collect()
}

impl GitlabClient {
    /// `base` is the instance's address (`https://gitlab.com`, or a self-managed one, possibly
    /// under a relative path); an `/api/v4` already given is not doubled.
    pub fn new(http: reqwest::Client, base: &Url, token: SecretString) -> Self {
        let root = base.as_str().trim_end_matches('/');
        let api = if root.ends_with("/api/v4") {
            root.to_string()
        } else {
            format!("{root}/api/v4")
        };
        Self { http, api, token }
    }

    /// The API URL of `path_or_url`: a path is joined to the API root; an absolute URL is
    /// accepted only on the API root's host, so the token never travels elsewhere.
    pub fn api_url(&self, path_or_url: &str) -> Result<String, UpstreamError> {
        if !path_or_url.contains("://") {
            return Ok(format!("{}/{}", self.api, path_or_url.trim_start_matches('/')));
        }
        let target = Url::parse(path_or_url).map_err(|e| UpstreamError::Decode(format!("bad link URL ({e})")))?;
        let root = Url::parse(&self.api).map_err(|e| UpstreamError::Decode(format!("bad API root ({e})")))?;
        if target.origin() != root.origin() {
            return Err(UpstreamError::Decode(
                "a pagination link points to another host; not following it".into(),
            ));
        }
        Ok(target.into())
    }

    /// An authenticated `GET` (for `request::send`, which sends and retries it).
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.http
            .get(url)
            .header("PRIVATE-TOKEN", self.token.expose_secret())
            .header("Accept", "application/json")
    }

    /// `{base}/api/graphql`, beside the REST root.
    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.api.trim_end_matches("/v4"))
    }

    /// An authenticated GraphQL `POST` of `body` (for `request::send`).
    pub fn post_graphql(&self, body: &serde_json::Value) -> RequestBuilder {
        self.http
            .post(self.graphql_url())
            .header("PRIVATE-TOKEN", self.token.expose_secret())
            .header("Accept", "application/json")
            .json(body)
    }

    /// One `GET` without retries (the connection test).
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, UpstreamError> {
        let url = self.api_url(path)?;
        let res = self
            .get(&url)
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&e))?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.bytes().await.map_err(|e| UpstreamError::from_reqwest(&e))?;
        // GitLab words its 401 `{"message": "401 Unauthorized"}`; another server's 401 says
        // the URL does not point at a GitLab (the connection test tells the two apart).
        if status == StatusCode::UNAUTHORIZED && !String::from_utf8_lossy(&body).contains("401 Unauthorized") {
            return Err(UpstreamError::Decode("a 401 that is not GitLab's".into()));
        }
        if !status.is_success() {
            return Err(classify(status, &headers, &body));
        }
        crate::integrations::request::json_without_nul(&body)
            .map_err(|e| UpstreamError::Decode(format!("not GitLab's JSON ({e})")))
    }

    pub async fn version(&self) -> Result<Version, UpstreamError> {
        self.get_json("version").await
    }

    pub async fn user(&self) -> Result<User, UpstreamError> {
        self.get_json("user").await
    }

    pub async fn token_self(&self) -> Result<TokenInfo, UpstreamError> {
        self.get_json("personal_access_tokens/self").await
    }

    pub async fn group(&self, id_or_path: &str) -> Result<Group, UpstreamError> {
        self.get_json(&format!("groups/{}", encode_id(id_or_path))).await
    }

    pub async fn project(&self, id_or_path: &str) -> Result<Project, UpstreamError> {
        self.get_json(&format!("projects/{}", encode_id(id_or_path))).await
    }
}

/// Maps a non-success answer to an error (the `classify` of `request::send`). GitLab's bodies
/// are `{"message": …}` or `{"error": …}`.
pub fn classify(status: StatusCode, _headers: &HeaderMap, body: &[u8]) -> UpstreamError {
    let json = serde_json::from_slice::<serde_json::Value>(body).ok();
    let message = json
        .as_ref()
        .and_then(|v| v["message"].as_str().or_else(|| v["error"].as_str()).map(String::from))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    match status.as_u16() {
        401 => UpstreamError::Unauthorized(" (GitLab said: 401 Unauthorized)"),
        403 => UpstreamError::Forbidden(format!("{message} — the token may lack the read_api scope")),
        404 => UpstreamError::NotFound(message),
        429 => UpstreamError::RateLimited { retry_after: None },
        s => UpstreamError::Status { status: s, message },
    }
}

/// The next page of an offset-paged list: `x-next-page` (empty on the last page).
pub fn next_page(headers: &HeaderMap) -> Option<u32> {
    headers
        .get("x-next-page")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The `Link: rel="next"` target (keyset paging), verbatim.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_root_is_not_doubled_and_links_stay_on_the_host() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let c = GitlabClient::new(
            http.clone(),
            &Url::parse("https://git.example.com/gitlab/").unwrap(),
            SecretString::from("t".to_string()),
        );
        assert_eq!(
            c.api_url("projects/1").unwrap(),
            "https://git.example.com/gitlab/api/v4/projects/1"
        );
        assert!(c.api_url("https://evil.example.com/api/v4/projects").is_err());
        let c = GitlabClient::new(
            http,
            &Url::parse("https://gitlab.com/api/v4").unwrap(),
            SecretString::from("t".to_string()),
        );
        assert_eq!(c.api_url("version").unwrap(), "https://gitlab.com/api/v4/version");
        assert_eq!(c.graphql_url(), "https://gitlab.com/api/graphql");
        assert_eq!(encode_id("acme/platform/api"), "acme%2Fplatform%2Fapi");
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            "<https://g/api/v4/x?id_after=5>; rel=\"next\", <https://g/api/v4/x>; rel=\"first\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&h).as_deref(), Some("https://g/api/v4/x?id_after=5"));
    }
}
