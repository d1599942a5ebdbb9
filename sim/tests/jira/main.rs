//! Black-box tests of the simulated Jira Cloud (REST v3) and Data Center (REST v2): the
//! simulator server in-process, a small hand-built dataset, real HTTP with reqwest.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod changelog;
mod cloud;
mod dataset;
mod dc;
mod reference;
mod shapes;

use std::sync::Once;

use chrono::DateTime;
pub use dataset::{BIG, ISSUES, USER_TZ, base, dataset};
use pulse_sim::model::{Dataset, JiraIssue};
use pulse_sim::state::SimConfig;
use pulse_sim::upstream::{JIRA_CLOUD_EMAIL, JIRA_CLOUD_TOKEN, JIRA_DC_PAT};
use pulse_sim::{SimHandle, SimOptions};
use reqwest::StatusCode;
use serde_json::Value;

pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub struct Sim {
    pub handle: SimHandle,
    pub http: reqwest::Client,
    pub truth: Dataset,
}

impl Sim {
    pub async fn start() -> Sim {
        Self::with_config(SimConfig::default()).await
    }

    pub async fn with_config(config: SimConfig) -> Sim {
        init();
        let handle = pulse_sim::server::start(SimOptions {
            config,
            ..SimOptions::default()
        })
        .unwrap();
        let truth = dataset();
        *handle.state.data_mut() = truth.clone();
        Sim {
            handle,
            http: reqwest::Client::new(),
            truth,
        }
    }

    pub fn cloud_url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.urls.jira_cloud)
    }

    pub fn dc_url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.urls.jira_dc)
    }

    pub fn cloud(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.cloud_url(path))
            .basic_auth(JIRA_CLOUD_EMAIL, Some(JIRA_CLOUD_TOKEN))
    }

    pub fn dc(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.dc_url(path)).bearer_auth(JIRA_DC_PAT)
    }

    pub async fn cloud_get(&self, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        send(self.cloud(reqwest::Method::GET, path).query(query)).await
    }

    pub async fn cloud_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        send(self.cloud(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn dc_get(&self, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        send(self.dc(reqwest::Method::GET, path).query(query)).await
    }

    pub async fn dc_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        send(self.dc(reqwest::Method::POST, path).json(&body)).await
    }

    pub fn issue(&self, id: &str) -> &JiraIssue {
        self.truth.jira.issues.iter().find(|i| i.id == id).unwrap()
    }

    pub async fn stop(self) {
        self.handle.stop().await;
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {e}: {text}"));
    (status, body)
}

/// The single Jira error message of a 4xx body.
pub fn error_message(body: &Value) -> String {
    assert_eq!(body["errors"], serde_json::json!({}), "{body}");
    let msgs = body["errorMessages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{body}");
    msgs[0].as_str().unwrap().to_string()
}

pub fn ids(issues: &[Value]) -> Vec<String> {
    issues.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

/// `2022-07-16T06:31:38.612+0800`.
pub fn is_jira_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 28
        && DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f%z").is_ok()
        && b[19] == b'.'
        && (b[23] == b'+' || b[23] == b'-')
        && b[24..].iter().all(u8::is_ascii_digit)
}

// ---------------------------------------------------------------------------------------------
// Recorded fixtures (DevLake raw tables; see fixtures/README.md)

/// The `data` column of a DevLake raw-table CSV (the product's `tests/fixtures/devlake-jira/`, which
/// its own tests read too): one recorded item per row.
pub fn recorded(file: &str) -> Vec<Value> {
    let path = format!("{}/../tests/fixtures/devlake-jira/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let col = reader.headers().unwrap().iter().position(|h| h == "data").unwrap();
    reader
        .records()
        .map(|r| serde_json::from_str(&r.unwrap()[col]).unwrap())
        .collect()
}
