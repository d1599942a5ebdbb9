//! Jira's wire format (Cloud v3 and Data Center v2), only the parts a sync reads.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// Jira timestamps: `2022-07-16T06:31:38.612+0800` (offset without a colon), RFC 3339, or —
/// in the bulkfetch spec example — epoch seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct JiraTime(pub DateTime<Utc>);

impl<'de> Deserialize<'de> for JiraTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(i64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => parse_time(&s)
                .map(JiraTime)
                .ok_or_else(|| serde::de::Error::custom(format!("not a Jira timestamp: {s:?}"))),
            Raw::Number(n) => {
                let dt = if n > 100_000_000_000 {
                    DateTime::from_timestamp_millis(n)
                } else {
                    DateTime::from_timestamp(n, 0)
                };
                dt.map(JiraTime)
                    .ok_or_else(|| serde::de::Error::custom("timestamp out of range"))
            }
        }
    }
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `/rest/api/3/search/jql`: no total; `nextPageToken` is absent on the last page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudSearchPage {
    pub issues: Vec<Issue>,
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub is_last: Option<bool>,
}

/// `/rest/api/2/search` (Data Center): offset paging with a server-capped `maxResults`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DcSearchPage {
    pub start_at: u64,
    pub max_results: u64,
    pub total: u64,
    pub issues: Vec<Issue>,
}

#[derive(Debug, Deserialize)]
pub struct Issue {
    pub id: String,
    pub key: String,
    pub fields: IssueFields,
    #[serde(default)]
    pub changelog: Option<Changelog>,
}

#[derive(Debug, Deserialize)]
pub struct IssueFields {
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub status: Option<StatusRef>,
    #[serde(default)]
    pub issuetype: Option<Named>,
    #[serde(default)]
    pub project: Option<ProjectRef>,
    #[serde(default)]
    pub priority: Option<Named>,
    #[serde(default)]
    pub assignee: Option<UserRef>,
    #[serde(default)]
    pub reporter: Option<UserRef>,
    #[serde(default)]
    pub created: Option<JiraTime>,
    #[serde(default)]
    pub updated: Option<JiraTime>,
    #[serde(default)]
    pub resolutiondate: Option<JiraTime>,
    #[serde(default)]
    pub parent: Option<ParentRef>,
    /// Every other requested field (the story-points custom field lives here).
    #[serde(flatten)]
    pub other: HashMap<String, serde_json::Value>,
}

impl IssueFields {
    /// A numeric custom field (story points are a number, sometimes a numeric string).
    pub fn number(&self, field: &str) -> Option<f64> {
        match self.other.get(field)? {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Named {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusRef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub status_category: Option<StatusCategory>,
}

#[derive(Debug, Deserialize)]
pub struct StatusCategory {
    pub key: String,
}

#[derive(Debug, Deserialize)]
pub struct ProjectRef {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ParentRef {
    pub id: String,
    pub key: String,
}

/// Cloud users carry `accountId`; Data Center users `name`/`key`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

impl UserRef {
    pub fn label(&self) -> Option<String> {
        self.display_name
            .clone()
            .or_else(|| self.name.clone())
            .or_else(|| self.account_id.clone().filter(|a| !a.is_empty()))
    }
}

/// Embedded changelog: newest first, possibly truncated (`total > histories.len()`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Changelog {
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub max_results: u64,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub histories: Vec<History>,
}

impl Changelog {
    pub fn is_complete(&self) -> bool {
        self.start_at == 0 && self.histories.len() as u64 >= self.total
    }
}

#[derive(Debug, Deserialize)]
pub struct History {
    pub id: String,
    #[serde(default)]
    pub author: Option<UserRef>,
    pub created: JiraTime,
    #[serde(default)]
    pub items: Vec<ChangeItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeItem {
    pub field: String,
    #[serde(default)]
    pub field_id: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub from_string: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub to_string: Option<String>,
}

impl ChangeItem {
    /// Status changes carry `field == "status"`; `fieldId` is absent on old payloads.
    pub fn is_status(&self) -> bool {
        self.field_id.as_deref() == Some("status") || self.field.eq_ignore_ascii_case("status")
    }
}

/// `/rest/api/3/issue/{id}/changelog`: oldest first, offset paging.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangelogPage {
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub max_results: u64,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub is_last: Option<bool>,
    #[serde(default)]
    pub values: Vec<History>,
}

/// `POST /rest/api/3/changelog/bulkfetch`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkChangelogs {
    #[serde(default)]
    pub issue_change_logs: Vec<IssueChangelogs>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueChangelogs {
    pub issue_id: String,
    #[serde(default)]
    pub change_histories: Vec<History>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub status_category: Option<StatusCategory>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueType {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub subtask: bool,
    #[serde(default)]
    pub hierarchy_level: Option<i32>,
}

#[derive(Debug, Deserialize)]
pub struct Project {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_offsets_without_a_colon_parse() {
        let t = parse_time("2022-07-16T06:31:38.612+0800").unwrap();
        assert_eq!(t.to_rfc3339(), "2022-07-15T22:31:38.612+00:00");
        assert_eq!(
            parse_time("2023-07-27T06:13:47.545+0000").unwrap().to_rfc3339(),
            "2023-07-27T06:13:47.545+00:00"
        );
        assert!(parse_time("2022-07-16").is_none());
        let epoch: JiraTime = serde_json::from_str("1492070429").unwrap();
        assert_eq!(epoch.0.timestamp(), 1492070429);
    }
}
