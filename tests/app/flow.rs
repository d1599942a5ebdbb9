//! Flow configuration (issue #8): CRUD and validation through the JSON API and the pages,
//! case-insensitive matching, per-type flows, guided delete-and-reassign, discovery after a
//! real sync, and that a mapping change shows at once (resolution at query time).

mod api;
mod pages;

use chrono::Utc;
use entity::enums::{AuthKind, Flavour, IntegrationKind};
use entity::{integrations, jira_issues, jira_projects};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub struct Api<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Api<'a> {
    pub async fn admin(app: &'a TestApp) -> Self {
        let token = app.backend_token("admin@example.com", "pulse-admin").await;
        Self { app, token }
    }

    pub async fn viewer(app: &'a TestApp) -> Self {
        let token = app.backend_token("viewer@example.com", "pulse-viewer").await;
        Self { app, token }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let res = req.bearer_auth(&self.token).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.app.client.get(self.app.url(path))).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.app.client.post(self.app.url(path)).json(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.app.client.put(self.app.url(path)).json(&body)).await
    }

    /// The id of the step with this name.
    pub async fn step(&self, name: &str) -> i64 {
        let (_, all) = self.get("/api/v1/flow/steps").await;
        all["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step {name}: {all}"))["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn issue_type_mapping(&self, from: &str) -> i64 {
        let (_, all) = self.get("/api/v1/flow/issue-type-mappings").await;
        all["issue_type_mappings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["issuetype_from"] == from)
            .unwrap_or_else(|| panic!("no issue-type mapping {from}"))["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn status_mappings(&self) -> Vec<Value> {
        let (_, all) = self.get("/api/v1/flow/status-mappings").await;
        all["status_mappings"].as_array().unwrap().clone()
    }

    pub async fn unmapped(&self) -> Value {
        let (status, body) = self.get("/api/v1/flow/unmapped").await;
        assert_eq!(status, 200);
        body
    }
}

/// Stores issues directly (status, type) as a sync would, under one Jira integration.
pub async fn seed_issues(app: &TestApp, issues: &[(&str, &str, &str)]) {
    let now = Utc::now();
    let integration = integrations::ActiveModel {
        kind: Set(IntegrationKind::Jira),
        name: Set(format!("J{}", uuid::Uuid::new_v4().simple())),
        base_url: Set("https://jira.example.com".into()),
        flavour: Set(Flavour::Cloud),
        auth_kind: Set(AuthKind::Basic),
        settings: Set(json!({"projects": ["PAY"]})),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let project = jira_projects::ActiveModel {
        integration_id: Set(integration.id),
        external_id: Set("1".into()),
        key: Set("PAY".into()),
        name: Set("Payments".into()),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    for (n, (status, issue_type, category)) in issues.iter().enumerate() {
        jira_issues::ActiveModel {
            integration_id: Set(integration.id),
            project_id: Set(project.id),
            external_id: Set(format!("{n}")),
            key: Set(format!("PAY-{n}")),
            issue_type_name: Set(issue_type.to_string()),
            status_name: Set(status.to_string()),
            status_category_key: Set(category.to_string()),
            summary: Set("s".into()),
            created: Set(now),
            updated: Set(now),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
}
