//! The `jira_sync` job: every active Jira integration into the database, losing nothing.
//!
//! Per project the query is `project = K AND updated >= <watermark − overlap> ORDER BY created,
//! key` — ordered by creation so pages stay stable while issues are edited during the sync. Each
//! page (issues + complete status history + checkpoint) is written in one transaction; the
//! project's watermark advances only when its last page is stored. A resumed run continues from
//! the checkpoint with the same query.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use entity::{integrations, jira_projects};
use reqwest::Method;
use sea_orm::{DatabaseConnection, DbErr};
use serde::{Deserialize, Serialize};
use serde_json::json;
use url::Url;

use super::client::{JiraAuth, JiraClient, Myself, classify};
use super::models::{
    BulkChangelogs, ChangelogPage, CloudSearchPage, DcSearchPage, History, Issue, IssueType, Project, Status,
};
use crate::crypto::{CryptoError, Vault};
use crate::db;
use crate::db::jira::{IssueRow, IssueTypeRow, StatusRow, TransitionRow};
use crate::domain::integration::{Flavour, IntegrationKind, JiraSettings, Settings};
use crate::domain::job::JobType;
use crate::integrations::control::{Interrupted, RunContext};
use crate::integrations::http::{self, Outbound};
use crate::integrations::request::{self, RequestError};

pub const JOB: JobType = JobType::JiraSync;
/// Re-read this much before the watermark: JQL has minute resolution and search is eventually consistent.
pub const OVERLAP: chrono::Duration = chrono::Duration::minutes(5);
/// Issues per search page we ask for (servers may cap it lower; Data Center says so in the answer).
pub const PAGE_SIZE: u64 = 100;
/// Issue ids per bulkfetch call (Jira's limit is 1000).
const BULK_IDS: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    #[error("{integration}: {source}")]
    Request { integration: String, source: RequestError },
    #[error("{integration}: the stored credentials cannot be decrypted: {source}")]
    Crypto { integration: String, source: CryptoError },
    #[error("{integration}: {message}")]
    Invalid { integration: String, message: String },
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

impl SyncError {
    pub fn interrupted(&self) -> Option<Interrupted> {
        match self {
            SyncError::Interrupted(i) => Some(*i),
            SyncError::Request {
                source: RequestError::Interrupted(i),
                ..
            } => Some(*i),
            _ => None,
        }
    }
}

/// `project = "K" [AND updated >= "yyyy/MM/dd HH:mm"] [AND (extra)] ORDER BY created ASC, key ASC`,
/// the date in the Jira user's time zone, rounded down to the minute. The key is a validated
/// project key; quotes and backslashes are dropped all the same, so it can only ever be one
/// string literal.
pub fn search_jql(key: &str, since: Option<DateTime<Utc>>, zone: chrono_tz::Tz, extra: Option<&str>) -> String {
    let mut jql = format!("project = \"{}\"", key.replace(['"', '\\'], ""));
    if let Some(since) = since {
        jql.push_str(&format!(
            " AND updated >= \"{}\"",
            since.with_timezone(&zone).format("%Y/%m/%d %H:%M")
        ));
    }
    if let Some(extra) = extra {
        jql.push_str(&format!(" AND ({extra})"));
    }
    jql.push_str(" ORDER BY created ASC, key ASC");
    jql
}

/// Where an interrupted project sync resumes: the same query, from the same page.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ProjectCursor {
    /// The `updated >=` bound the query was started with (None: full history).
    pub since: Option<DateTime<Utc>>,
    pub next_page_token: Option<String>,
    pub start_at: Option<u64>,
    /// Largest `updated` stored so far; becomes the watermark when the project completes.
    pub max_updated: Option<DateTime<Utc>>,
    pub stored: u64,
}

/// The job checkpoint: one cursor per `integration:project` in progress.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub projects: BTreeMap<String, ProjectCursor>,
}

pub struct Deps<'a> {
    pub db: &'a DatabaseConnection,
    pub vault: &'a Vault,
    pub outbound: Outbound,
}

/// Syncs every active Jira integration. Progress is split evenly between integrations.
pub async fn run(deps: &Deps<'_>, ctx: &RunContext) -> Result<(), SyncError> {
    let all: Vec<integrations::Model> = db::integrations::list(deps.db)
        .await?
        .into_iter()
        .filter(|i| i.active && i.kind == IntegrationKind::Jira)
        .collect();
    if all.is_empty() {
        ctx.report(100, "No active Jira integrations");
        return Ok(());
    }
    // Whatever this run writes, and however it ends, analytics sees the data changed.
    db::analytics::sources_changed(deps.db).await?;
    let n = all.len();
    for (i, integration) in all.into_iter().enumerate() {
        let share = Share {
            from: (i * 100 / n) as i32,
            to: ((i + 1) * 100 / n) as i32,
        };
        sync_integration(deps, ctx, &integration, share).await?;
    }
    ctx.report(100, "Jira sync finished");
    Ok(())
}

/// The part of the 0–100 progress range one integration (or project) owns.
#[derive(Clone, Copy)]
struct Share {
    from: i32,
    to: i32,
}

impl Share {
    fn at(self, fraction: f64) -> i32 {
        self.from + ((self.to - self.from) as f64 * fraction.clamp(0.0, 1.0)) as i32
    }

    fn part(self, i: usize, n: usize) -> Share {
        Share {
            from: self.at(i as f64 / n as f64),
            to: self.at((i + 1) as f64 / n as f64),
        }
    }
}

struct Session<'a> {
    deps: &'a Deps<'a>,
    ctx: &'a RunContext,
    client: JiraClient,
    integration: &'a integrations::Model,
    settings: JiraSettings,
    zone: chrono_tz::Tz,
}

async fn sync_integration(
    deps: &Deps<'_>,
    ctx: &RunContext,
    row: &integrations::Model,
    share: Share,
) -> Result<(), SyncError> {
    let name = row.name.clone();
    let invalid = |message: String| SyncError::Invalid {
        integration: name.clone(),
        message,
    };
    let secret = db::integrations::decrypt_secret(deps.vault, row).map_err(|source| SyncError::Crypto {
        integration: name.clone(),
        source,
    })?;
    let flavour = row.flavour;
    if flavour.kind() != IntegrationKind::Jira {
        return Err(invalid(format!("{flavour} is not a Jira flavour")));
    }
    let Settings::Jira(settings) = Settings::from_json(IntegrationKind::Jira, &row.settings) else {
        return Err(invalid("settings are not Jira settings".into()));
    };
    let base = Url::parse(&row.base_url).map_err(|e| invalid(format!("invalid base URL: {e}")))?;
    deps.outbound
        .guard
        .check_url(&base)
        .map_err(|e| invalid(e.to_string()))?;
    let http = http::client(deps.outbound.guard, deps.outbound.timeout).map_err(|e| invalid(e.to_string()))?;
    let auth = match flavour {
        Flavour::Cloud => JiraAuth::Basic {
            email: row.username.clone().unwrap_or_default(),
            token: secret,
        },
        _ => JiraAuth::Bearer(secret),
    };
    let client = JiraClient::new(http, &base, flavour, auth);
    let mut s = Session {
        deps,
        ctx,
        client,
        integration: row,
        settings,
        zone: chrono_tz::UTC,
    };

    ctx.report(share.at(0.0), format!("{name}: reading statuses and issue types"));
    let me: Myself = s.get("myself").await?;
    s.zone = me
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    s.sync_reference_data().await?;
    let keys = s.settings.projects.clone();
    for (i, key) in keys.iter().enumerate() {
        s.sync_project(key, share.part(i, keys.len())).await?;
    }
    db::integrations::mark_synced(deps.db, row.id).await?;
    Ok(())
}

impl Session<'_> {
    fn request_error(&self, source: RequestError) -> SyncError {
        match source {
            RequestError::Interrupted(i) => SyncError::Interrupted(i),
            source => SyncError::Request {
                integration: self.integration.name.clone(),
                source,
            },
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, SyncError> {
        request::send_json(self.ctx, || self.client.request(Method::GET, path), classify)
            .await
            .map_err(|e| self.request_error(e))
    }

    async fn post<T: serde::de::DeserializeOwned>(&self, path: &str, body: &serde_json::Value) -> Result<T, SyncError> {
        request::send_json(
            self.ctx,
            || self.client.request(Method::POST, path).json(body),
            classify,
        )
        .await
        .map_err(|e| self.request_error(e))
    }

    async fn sync_reference_data(&self) -> Result<(), SyncError> {
        let statuses: Vec<Status> = self.get("status").await?;
        let rows: Vec<StatusRow> = statuses
            .into_iter()
            .map(|s| StatusRow {
                external_id: s.id,
                name: s.name,
                category_key: s.status_category.map(|c| c.key).unwrap_or_else(|| "undefined".into()),
            })
            .collect();
        let (inserted, updated) = db::jira::sync_statuses(self.deps.db, self.integration.id, &rows).await?;
        self.ctx.stats.add("statuses", rows.len() as u64, inserted, updated);
        let types: Vec<IssueType> = self.get("issuetype").await?;
        let rows: Vec<IssueTypeRow> = types
            .into_iter()
            .map(|t| IssueTypeRow {
                external_id: t.id,
                name: t.name,
                subtask: t.subtask,
                hierarchy_level: t.hierarchy_level.unwrap_or(if t.subtask { -1 } else { 0 }),
            })
            .collect();
        let (inserted, updated) = db::jira::sync_issue_types(self.deps.db, self.integration.id, &rows).await?;
        self.ctx.stats.add("issue_types", rows.len() as u64, inserted, updated);
        Ok(())
    }

    fn cursor_key(&self, project_key: &str) -> String {
        format!("{}:{project_key}", self.integration.id)
    }

    async fn sync_project(&self, key: &str, share: Share) -> Result<(), SyncError> {
        let name = &self.integration.name;
        let project: Project = self.get(&format!("project/{}", encode(key))).await?;
        let row = db::jira::upsert_project(
            self.deps.db,
            self.integration.id,
            &project.id,
            &project.key,
            &project.name,
        )
        .await?;
        self.ctx.stats.add("projects", 1, 0, 0);
        let checkpoint = load_checkpoint(self.deps.db).await?;
        let mut cursor = match checkpoint.projects.get(&self.cursor_key(key)) {
            Some(c) => c.clone(),
            None => ProjectCursor {
                since: row.sync_watermark.map(|w| w - OVERLAP),
                ..Default::default()
            },
        };
        let jql = self.jql(key, cursor.since);
        let fields = self.fields();
        let mut page = self.search(&jql, &fields, &cursor).await?;
        loop {
            let (issues, next, total) = page;
            let fetched = issues.len() as u64;
            let rows = self.complete_rows(issues).await?;
            cursor.max_updated = rows.iter().map(|r| r.updated).chain(cursor.max_updated).max();
            cursor.stored += fetched;
            let done = next.is_none();
            match next {
                Some(Next::Token(t)) => cursor.next_page_token = Some(t),
                Some(Next::StartAt(s)) => cursor.start_at = Some(s),
                None => {}
            }
            // The next page is fetched while this one is written (the simulator or Jira renders
            // while the database writes); it is used only after this page has committed.
            let store = self.store_page(key, &row, &rows, &cursor, done);
            let prefetch = async {
                match done {
                    true => None,
                    false => Some(self.search(&jql, &fields, &cursor).await),
                }
            };
            let (counts, prefetched) = tokio::join!(store, prefetch);
            let counts = counts?;
            self.ctx
                .stats
                .add("issues", fetched, counts.issues_inserted, counts.issues_updated);
            let transitions: u64 = rows.iter().map(|r| r.transitions.len() as u64).sum();
            self.ctx
                .stats
                .add("status_transitions", transitions, counts.transitions_inserted, 0);
            let fraction = match total {
                Some(t) if t > 0 => cursor.stored as f64 / t as f64,
                _ if done => 1.0,
                _ => 0.5,
            };
            self.ctx.report(
                share.at(fraction),
                format!("{name}: {key}: {} issues stored", cursor.stored),
            );
            match prefetched {
                Some(next_page) => page = next_page?,
                None => return Ok(()),
            }
        }
    }

    /// Writes one page with the project's checkpoint (or, on its last page, its watermark) in
    /// one transaction. A force stop that arrives meanwhile rolls the page back.
    async fn store_page(
        &self,
        key: &str,
        row: &jira_projects::Model,
        rows: &[IssueRow],
        cursor: &ProjectCursor,
        done: bool,
    ) -> Result<db::jira::PageCounts, SyncError> {
        let txn = db::begin_page(self.deps.db).await?;
        let counts = db::jira::store_issues(&txn, self.integration.id, row.id, rows).await?;
        let mut cp = load_checkpoint(&txn).await?;
        if done {
            cp.projects.remove(&self.cursor_key(key));
            if let Some(w) = cursor
                .max_updated
                .filter(|w| row.sync_watermark.is_none_or(|old| *w > old))
            {
                db::jira::set_project_watermark(&txn, row.id, w).await?;
            }
        } else {
            cp.projects.insert(self.cursor_key(key), cursor.clone());
        }
        save_checkpoint(&txn, &cp, self.ctx.fence()).await?;
        self.ctx
            .control
            .check()
            .or_else(|i| if i == Interrupted::Paused { Ok(()) } else { Err(i) })?;
        txn.commit().await?;
        Ok(counts)
    }

    fn jql(&self, key: &str, since: Option<DateTime<Utc>>) -> String {
        search_jql(key, since, self.zone, self.settings.extra_jql.as_deref())
    }

    fn fields(&self) -> Vec<String> {
        let mut f: Vec<String> = [
            "summary",
            "status",
            "issuetype",
            "project",
            "priority",
            "assignee",
            "reporter",
            "created",
            "updated",
            "resolutiondate",
            "parent",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        if let Some(sp) = &self.settings.story_points_field {
            f.push(sp.clone());
        }
        f
    }

    /// One page: the issues, where the next page starts (None = last page), and the total if known.
    async fn search(
        &self,
        jql: &str,
        fields: &[String],
        cursor: &ProjectCursor,
    ) -> Result<(Vec<Issue>, Option<Next>, Option<u64>), SyncError> {
        match self.client.flavour() {
            Flavour::Cloud => {
                let mut body = json!({ "jql": jql, "fields": fields, "expand": "changelog", "maxResults": PAGE_SIZE });
                if let Some(t) = &cursor.next_page_token {
                    body["nextPageToken"] = json!(t);
                }
                let page: CloudSearchPage = self.post("search/jql", &body).await?;
                let next = page.next_page_token.filter(|t| !t.is_empty()).map(Next::Token);
                Ok((page.issues, next, None))
            }
            _ => {
                let start_at = cursor.start_at.unwrap_or(0);
                let body = json!({ "jql": jql, "fields": fields, "expand": ["changelog"], "startAt": start_at, "maxResults": PAGE_SIZE });
                let page: DcSearchPage = self.post("search", &body).await?;
                // The server caps maxResults; the page says what it used.
                let next_start = page.start_at + page.issues.len() as u64;
                let next = (next_start < page.total && !page.issues.is_empty()).then_some(Next::StartAt(next_start));
                Ok((page.issues, next, Some(page.total)))
            }
        }
    }

    /// Turns a page into rows, fetching the rest of every truncated changelog first.
    async fn complete_rows(&self, issues: Vec<Issue>) -> Result<Vec<IssueRow>, SyncError> {
        let truncated: Vec<String> = issues
            .iter()
            .filter(|i| i.changelog.as_ref().is_none_or(|c| !c.is_complete()))
            .map(|i| i.id.clone())
            .collect();
        let mut full: HashMap<String, Vec<History>> = HashMap::new();
        if !truncated.is_empty() {
            full = self.full_changelogs(&truncated).await?;
            self.ctx.stats.add("full_changelogs", truncated.len() as u64, 0, 0);
        }
        issues
            .into_iter()
            .map(|mut issue| {
                let embedded = issue.changelog.take().map(|c| c.histories).unwrap_or_default();
                let histories = full.remove(&issue.id).unwrap_or(embedded);
                self.to_row(issue, histories)
            })
            .collect()
    }

    async fn full_changelogs(&self, ids: &[String]) -> Result<HashMap<String, Vec<History>>, SyncError> {
        let mut out: HashMap<String, Vec<History>> = ids.iter().map(|id| (id.clone(), Vec::new())).collect();
        match self.client.flavour() {
            Flavour::Cloud => {
                for chunk in ids.chunks(BULK_IDS) {
                    let mut token: Option<String> = None;
                    loop {
                        let mut body = json!({ "issueIdsOrKeys": chunk, "fieldIds": ["status"], "maxResults": 1000 });
                        if let Some(t) = &token {
                            body["nextPageToken"] = json!(t);
                        }
                        let page: BulkChangelogs = self.post("changelog/bulkfetch", &body).await?;
                        for entry in page.issue_change_logs {
                            out.entry(entry.issue_id).or_default().extend(entry.change_histories);
                        }
                        match page.next_page_token.filter(|t| !t.is_empty()) {
                            Some(t) => token = Some(t),
                            None => break,
                        }
                    }
                }
            }
            _ => {
                // Data Center embeds the whole history; when it did not, page the issue's changelog.
                for id in ids {
                    let mut start_at = 0;
                    loop {
                        let page: ChangelogPage = self
                            .get(&format!(
                                "issue/{}/changelog?startAt={start_at}&maxResults=100",
                                encode(id)
                            ))
                            .await?;
                        let n = page.values.len() as u64;
                        out.entry(id.clone()).or_default().extend(page.values);
                        start_at += n;
                        if n == 0 || page.is_last == Some(true) || start_at >= page.total {
                            break;
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn to_row(&self, issue: Issue, histories: Vec<History>) -> Result<IssueRow, SyncError> {
        let invalid = |what: &str| SyncError::Invalid {
            integration: self.integration.name.clone(),
            message: format!("issue {} has no {what}; check the fields the sync requests", issue.key),
        };
        let f = &issue.fields;
        let status = f.status.as_ref().ok_or_else(|| invalid("status"))?;
        let created = f.created.ok_or_else(|| invalid("created"))?.0;
        let updated = f.updated.ok_or_else(|| invalid("updated"))?.0;
        let transitions = histories
            .iter()
            .flat_map(|h| {
                h.items
                    .iter()
                    .enumerate()
                    .filter(|(_, it)| it.is_status())
                    .map(move |(idx, it)| TransitionRow {
                        changelog_id: h.id.clone(),
                        item_index: idx as i32,
                        from_status: it.from_string.clone(),
                        to_status: it.to_string.clone().unwrap_or_default(),
                        from_status_id: it.from.clone(),
                        to_status_id: it.to.clone(),
                        at: h.created.0,
                        author: h.author.as_ref().and_then(|a| a.label()),
                    })
            })
            .collect();
        Ok(IssueRow {
            external_id: issue.id.clone(),
            key: issue.key.clone(),
            issue_type_name: f.issuetype.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
            status_name: status.name.clone(),
            status_category_key: status
                .status_category
                .as_ref()
                .map(|c| c.key.clone())
                .unwrap_or_else(|| "undefined".into()),
            summary: f.summary.clone().unwrap_or_default(),
            priority: f.priority.as_ref().map(|p| p.name.clone()),
            assignee: f.assignee.as_ref().and_then(|a| a.label()),
            reporter: f.reporter.as_ref().and_then(|a| a.label()),
            created,
            updated,
            resolved: f.resolutiondate.map(|t| t.0),
            story_points: self.settings.story_points_field.as_deref().and_then(|sp| f.number(sp)),
            parent_key: f.parent.as_ref().map(|p| p.key.clone()),
            parent_external_id: f.parent.as_ref().map(|p| p.id.clone()),
            transitions,
        })
    }
}

enum Next {
    Token(String),
    StartAt(u64),
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn load_checkpoint(db: &impl sea_orm::ConnectionTrait) -> Result<Checkpoint, DbErr> {
    Ok(db::jobs::checkpoint(db, JOB)
        .await?
        .and_then(|v| serde_json::from_value(v.get("jira")?.clone()).ok())
        .unwrap_or_default())
}

async fn save_checkpoint(
    db: &impl sea_orm::ConnectionTrait,
    cp: &Checkpoint,
    fence: Option<&str>,
) -> Result<(), DbErr> {
    let value = if cp.projects.is_empty() {
        None
    } else {
        Some(json!({ "jira": cp }))
    };
    db::jobs::set_checkpoint(db, JOB, value, fence).await
}
