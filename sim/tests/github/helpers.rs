use std::path::PathBuf;
use std::sync::Once;

use pulse_sim::SimOptions;
use pulse_sim::model::Dataset;
use pulse_sim::server::{self, SimHandle};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const TOKEN: &str = "sim-github-token";

pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub struct Sim {
    pub handle: SimHandle,
    pub client: reqwest::Client,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    /// github.com REST root.
    pub gh: String,
    /// Enterprise REST root.
    pub ghe: String,
    pub data: Dataset,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header").to_string())
    }
}

impl Sim {
    pub async fn start() -> Self {
        init();
        let handle = server::start(SimOptions::default()).expect("start simulator");
        let data = super::dataset::dataset();
        *handle.state.data_mut() = data.clone();
        let gh = handle.urls.github.clone();
        let origin = gh.trim_end_matches("/github").to_string();
        Self {
            ghe: handle.urls.github_enterprise.clone(),
            client: reqwest::Client::new(),
            handle,
            origin,
            gh,
            data,
        }
    }

    pub async fn stop(self) {
        self.handle.stop().await;
    }

    pub async fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = self
            .client
            .get(url)
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Accept", "application/vnd.github+json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request");
        Answer {
            status: res.status(),
            headers: res.headers().clone(),
            text: res.text().await.expect("body"),
        }
    }

    pub async fn get(&self, url: &str) -> Answer {
        self.get_with(url, &[]).await
    }

    pub async fn get_ok(&self, url: &str) -> Answer {
        let a = self.get(url).await;
        assert_eq!(a.status, StatusCode::OK, "{url}: {}", a.text);
        a
    }

    /// POSTs a GraphQL query to `endpoint`.
    pub async fn gql_at(&self, endpoint: &str, query: &str, variables: Value) -> Answer {
        let res = self
            .client
            .post(endpoint)
            .header("Authorization", format!("bearer {TOKEN}"))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("graphql request");
        Answer {
            status: res.status(),
            headers: res.headers().clone(),
            text: res.text().await.expect("body"),
        }
    }

    /// github.com GraphQL; asserts HTTP 200 and returns the body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let a = self.gql_at(&format!("{}/graphql", self.gh), query, variables).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a.json()
    }

    /// Like [`gql`](Self::gql) but fails on any `errors`.
    pub async fn gql_data(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    pub fn ghe_graphql(&self) -> String {
        format!("{}/ghe/api/graphql", self.origin)
    }
}

/// `rel` → URL of a Link header.
pub fn links(header: Option<&str>) -> Vec<(String, String)> {
    let Some(h) = header else { return Vec::new() };
    h.split(", <")
        .map(|part| {
            let part = part.trim_start_matches('<');
            let (url, rel) = part.split_once(">; rel=\"").expect("link part");
            (rel.trim_end_matches('"').to_string(), url.to_string())
        })
        .collect()
}

pub fn link(header: Option<&str>, rel: &str) -> Option<String> {
    links(header).into_iter().find(|(r, _)| r == rel).map(|(_, u)| u)
}

/// The shared fixtures folder (`shared/` beside the repository, as in CI).
pub fn fixtures() -> PathBuf {
    let candidates = [
        std::env::var("PULSE_SHARED_DIR").ok().map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")),
        Some(PathBuf::from("/work/shared")),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|p| p.join("fixtures"))
        .find(|p| p.join("devlake-e2e").is_dir())
        .expect("shared/fixtures not found (set PULSE_SHARED_DIR)")
}
