//! Storing Jira data: reference data, and issue pages written in one transaction each with
//! batched idempotent upserts.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{jira_issue_types, jira_issues, jira_projects, jira_status_transitions, jira_statuses};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, Set, Statement,
};

use crate::db::batch::{CHUNK, FIXED, batches, batches_of, text};

pub struct StatusRow {
    pub external_id: String,
    pub name: String,
    pub category_key: String,
}

/// Upserts the statuses Jira reports; those it no longer reports become inactive (not deleted).
pub async fn sync_statuses(
    db: &impl ConnectionTrait,
    integration_id: i64,
    rows: &[StatusRow],
) -> Result<(u64, u64), DbErr> {
    let rows = &last_per_id(rows, |r| &r.external_id);
    let now = Utc::now();
    let existing = existing_ids(
        db,
        integration_id,
        jira_statuses::Entity,
        jira_statuses::Column::IntegrationId,
        jira_statuses::Column::ExternalId,
    )
    .await?;
    let models: Vec<jira_statuses::ActiveModel> = rows
        .iter()
        .map(|r| jira_statuses::ActiveModel {
            integration_id: Set(integration_id),
            external_id: Set(r.external_id.clone()),
            name: Set(r.name.clone()),
            category_key: Set(r.category_key.clone()),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in models.chunks(CHUNK) {
        jira_statuses::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([jira_statuses::Column::IntegrationId, jira_statuses::Column::ExternalId])
                    .update_columns([
                        jira_statuses::Column::Name,
                        jira_statuses::Column::CategoryKey,
                        jira_statuses::Column::Active,
                        jira_statuses::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let seen: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    jira_statuses::Entity::update_many()
        .col_expr(jira_statuses::Column::Active, false.into())
        .filter(jira_statuses::Column::IntegrationId.eq(integration_id))
        .filter(jira_statuses::Column::ExternalId.is_not_in(seen))
        .exec(db)
        .await?;
    let inserted = rows.iter().filter(|r| !existing.contains(&r.external_id)).count() as u64;
    Ok((inserted, rows.len() as u64 - inserted))
}

pub struct IssueTypeRow {
    pub external_id: String,
    pub name: String,
    pub subtask: bool,
    pub hierarchy_level: i32,
}

pub async fn sync_issue_types(
    db: &impl ConnectionTrait,
    integration_id: i64,
    rows: &[IssueTypeRow],
) -> Result<(u64, u64), DbErr> {
    let rows = &last_per_id(rows, |r| &r.external_id);
    let now = Utc::now();
    let existing = existing_ids(
        db,
        integration_id,
        jira_issue_types::Entity,
        jira_issue_types::Column::IntegrationId,
        jira_issue_types::Column::ExternalId,
    )
    .await?;
    let models: Vec<jira_issue_types::ActiveModel> = rows
        .iter()
        .map(|r| jira_issue_types::ActiveModel {
            integration_id: Set(integration_id),
            external_id: Set(r.external_id.clone()),
            name: Set(r.name.clone()),
            subtask: Set(r.subtask),
            hierarchy_level: Set(r.hierarchy_level),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in models.chunks(CHUNK) {
        jira_issue_types::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    jira_issue_types::Column::IntegrationId,
                    jira_issue_types::Column::ExternalId,
                ])
                .update_columns([
                    jira_issue_types::Column::Name,
                    jira_issue_types::Column::Subtask,
                    jira_issue_types::Column::HierarchyLevel,
                    jira_issue_types::Column::Active,
                    jira_issue_types::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let seen: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    jira_issue_types::Entity::update_many()
        .col_expr(jira_issue_types::Column::Active, false.into())
        .filter(jira_issue_types::Column::IntegrationId.eq(integration_id))
        .filter(jira_issue_types::Column::ExternalId.is_not_in(seen))
        .exec(db)
        .await?;
    let inserted = rows.iter().filter(|r| !existing.contains(&r.external_id)).count() as u64;
    Ok((inserted, rows.len() as u64 - inserted))
}

async fn existing_ids<E: EntityTrait>(
    db: &impl ConnectionTrait,
    integration_id: i64,
    _entity: E,
    integration_col: E::Column,
    external_col: E::Column,
) -> Result<HashSet<String>, DbErr> {
    let ids: Vec<String> = E::find()
        .select_only()
        .column(external_col)
        .filter(integration_col.eq(integration_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().collect())
}

/// Finds or creates the project row (refreshing its key and name).
pub async fn upsert_project(
    db: &impl ConnectionTrait,
    integration_id: i64,
    external_id: &str,
    key: &str,
    name: &str,
) -> Result<jira_projects::Model, DbErr> {
    let now = Utc::now();
    let found = jira_projects::Entity::find()
        .filter(jira_projects::Column::IntegrationId.eq(integration_id))
        .filter(jira_projects::Column::ExternalId.eq(external_id))
        .one(db)
        .await?;
    match found {
        Some(p) if p.key == key && p.name == name && p.active => Ok(p),
        Some(p) => {
            let mut a = p.into_active_model();
            a.key = Set(key.into());
            a.name = Set(name.into());
            a.active = Set(true);
            a.updated_at = Set(now);
            a.update(db).await
        }
        None => {
            jira_projects::ActiveModel {
                integration_id: Set(integration_id),
                external_id: Set(external_id.into()),
                key: Set(key.into()),
                name: Set(name.into()),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await
        }
    }
}

pub async fn set_project_watermark(db: &impl ConnectionTrait, project_id: i64, at: DateTime<Utc>) -> Result<(), DbErr> {
    jira_projects::Entity::update_many()
        .col_expr(jira_projects::Column::SyncWatermark, Some(at).into())
        .col_expr(jira_projects::Column::UpdatedAt, Utc::now().into())
        .filter(jira_projects::Column::Id.eq(project_id))
        .exec(db)
        .await?;
    Ok(())
}

pub struct IssueRow {
    pub external_id: String,
    pub key: String,
    pub issue_type_name: String,
    pub status_name: String,
    pub status_category_key: String,
    pub summary: String,
    pub priority: Option<String>,
    pub assignee: Option<String>,
    pub reporter: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub resolved: Option<DateTime<Utc>>,
    pub story_points: Option<f64>,
    pub parent_key: Option<String>,
    pub parent_external_id: Option<String>,
    /// Status changes, complete (oldest or newest first; order does not matter).
    pub transitions: Vec<TransitionRow>,
}

pub struct TransitionRow {
    pub changelog_id: String,
    pub item_index: i32,
    pub from_status: Option<String>,
    pub to_status: String,
    pub from_status_id: Option<String>,
    pub to_status_id: Option<String>,
    pub at: DateTime<Utc>,
    pub author: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCounts {
    pub issues_inserted: u64,
    pub issues_updated: u64,
    pub issues_unchanged: u64,
    pub transitions_inserted: u64,
}

/// Writes one page of issues and their status history, and records the issues written for the
/// analytics precompute. Issues whose `updated` did not change are skipped (their history cannot
/// have changed either). Call inside a transaction.
pub async fn store_issues(
    db: &impl ConnectionTrait,
    integration_id: i64,
    project_id: i64,
    rows: &[IssueRow],
) -> Result<PageCounts, DbErr> {
    let rows = &last_per_id(rows, |r| &r.external_id);
    let mut counts = PageCounts::default();
    if rows.is_empty() {
        return Ok(counts);
    }
    let now = Utc::now();
    if db.get_database_backend() == DbBackend::Postgres {
        let written = pg_upsert_issues(db, integration_id, project_id, rows, now, &mut counts).await?;
        counts.transitions_inserted += pg_insert_transitions(db, &written, now).await?;
        crate::db::analytics::changes::issues_written(db, written.iter().map(|w| w.id).collect()).await?;
        return Ok(counts);
    }
    let ids: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let stored: HashMap<String, DateTime<Utc>> = jira_issues::Entity::find()
        .select_only()
        .column(jira_issues::Column::ExternalId)
        .column(jira_issues::Column::Updated)
        .filter(jira_issues::Column::IntegrationId.eq(integration_id))
        .filter(jira_issues::Column::ExternalId.is_in(ids))
        .into_tuple::<(String, DateTime<Utc>)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let changed: Vec<&IssueRow> = rows
        .iter()
        .copied()
        .filter(|r| match stored.get(&r.external_id) {
            Some(updated) if *updated == r.updated => {
                counts.issues_unchanged += 1;
                false
            }
            Some(_) => {
                counts.issues_updated += 1;
                true
            }
            None => {
                counts.issues_inserted += 1;
                true
            }
        })
        .collect();
    if changed.is_empty() {
        return Ok(counts);
    }
    upsert_issues(db, integration_id, project_id, &changed, now).await?;
    let changed_ids: Vec<String> = changed.iter().map(|r| r.external_id.clone()).collect();
    let id_of: HashMap<String, i64> = jira_issues::Entity::find()
        .select_only()
        .column(jira_issues::Column::ExternalId)
        .column(jira_issues::Column::Id)
        .filter(jira_issues::Column::IntegrationId.eq(integration_id))
        .filter(jira_issues::Column::ExternalId.is_in(changed_ids))
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let with_ids: Vec<(i64, &IssueRow)> = changed
        .iter()
        .filter_map(|r| id_of.get(&r.external_id).map(|id| (*id, *r)))
        .collect();
    counts.transitions_inserted += insert_transitions(db, &with_ids, now).await?;
    crate::db::analytics::changes::issues_written(db, with_ids.iter().map(|(id, _)| *id).collect()).await?;
    Ok(counts)
}

async fn upsert_issues(
    db: &impl ConnectionTrait,
    integration_id: i64,
    project_id: i64,
    changed: &[&IssueRow],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let models: Vec<(usize, jira_issues::ActiveModel)> = changed
        .iter()
        .map(|r| {
            (
                issue_size(r),
                jira_issues::ActiveModel {
                    integration_id: Set(integration_id),
                    project_id: Set(project_id),
                    external_id: Set(r.external_id.clone()),
                    key: Set(r.key.clone()),
                    issue_type_name: Set(r.issue_type_name.clone()),
                    status_name: Set(r.status_name.clone()),
                    status_category_key: Set(r.status_category_key.clone()),
                    summary: Set(r.summary.clone()),
                    priority: Set(r.priority.clone()),
                    assignee: Set(r.assignee.clone()),
                    reporter: Set(r.reporter.clone()),
                    created: Set(r.created),
                    updated: Set(r.updated),
                    resolved: Set(r.resolved),
                    story_points: Set(r.story_points),
                    parent_key: Set(r.parent_key.clone()),
                    parent_external_id: Set(r.parent_external_id.clone()),
                    active: Set(true),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                },
            )
        })
        .collect();
    for chunk in batches(models) {
        jira_issues::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([jira_issues::Column::IntegrationId, jira_issues::Column::ExternalId])
                    .update_columns([
                        jira_issues::Column::ProjectId,
                        jira_issues::Column::Key,
                        jira_issues::Column::IssueTypeName,
                        jira_issues::Column::StatusName,
                        jira_issues::Column::StatusCategoryKey,
                        jira_issues::Column::Summary,
                        jira_issues::Column::Priority,
                        jira_issues::Column::Assignee,
                        jira_issues::Column::Reporter,
                        jira_issues::Column::Created,
                        jira_issues::Column::Updated,
                        jira_issues::Column::Resolved,
                        jira_issues::Column::StoryPoints,
                        jira_issues::Column::ParentKey,
                        jira_issues::Column::ParentExternalId,
                        jira_issues::Column::Active,
                        jira_issues::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

async fn insert_transitions(
    db: &impl ConnectionTrait,
    issues: &[(i64, &IssueRow)],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut inserted = 0;
    let transitions: Vec<(usize, jira_status_transitions::ActiveModel)> = issues
        .iter()
        .flat_map(|&(issue_id, r)| {
            r.transitions.iter().map(move |t| {
                (
                    transition_size(t),
                    jira_status_transitions::ActiveModel {
                        issue_id: Set(issue_id),
                        changelog_id: Set(t.changelog_id.clone()),
                        item_index: Set(t.item_index),
                        from_status: Set(t.from_status.clone()),
                        to_status: Set(t.to_status.clone()),
                        from_status_id: Set(t.from_status_id.clone()),
                        to_status_id: Set(t.to_status_id.clone()),
                        at: Set(t.at),
                        author: Set(t.author.clone()),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
            })
        })
        .collect();
    for chunk in batches(transitions) {
        inserted += jira_status_transitions::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([
                    jira_status_transitions::Column::IssueId,
                    jira_status_transitions::Column::ChangelogId,
                    jira_status_transitions::Column::ItemIndex,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(inserted)
}

/// PostgreSQL: the page's issues in one statement whose text never changes (one prepared
/// statement, one round trip), the rows passed as a single JSON parameter. Multi-row VALUES
/// statements made PostgreSQL parse and plan a new statement text for almost every batch.
/// An issue whose `updated` did not change is left alone (its history cannot have changed
/// either); the statement returns the id of every issue it inserted or updated, so no lookup
/// before or after it is needed (the two `external_id IN (…)` lookups it replaced were the
/// largest cost of a PostgreSQL sync: docs/decisions.md, "Jira pages on PostgreSQL").
async fn pg_upsert_issues<'r>(
    db: &impl ConnectionTrait,
    integration_id: i64,
    project_id: i64,
    rows: &[&'r IssueRow],
    now: DateTime<Utc>,
    counts: &mut PageCounts,
) -> Result<Vec<Written<'r>>, DbErr> {
    let by_id: HashMap<&str, &IssueRow> = rows.iter().map(|r| (r.external_id.as_str(), *r)).collect();
    let json: Vec<(usize, serde_json::Value)> = rows
        .iter()
        .map(|r| {
            let row = serde_json::json!({
                "external_id": r.external_id, "key": r.key, "issue_type_name": r.issue_type_name,
                "status_name": r.status_name, "status_category_key": r.status_category_key, "summary": r.summary,
                "priority": r.priority, "assignee": r.assignee, "reporter": r.reporter, "created": r.created,
                "updated": r.updated, "resolved": r.resolved, "story_points": r.story_points,
                "parent_key": r.parent_key, "parent_external_id": r.parent_external_id,
            });
            (issue_size(r) + JSON_KEYS, row)
        })
        .collect();
    const SQL: &str = "INSERT INTO jira_issues AS i (integration_id, project_id, external_id, key, issue_type_name, \
        status_name, status_category_key, summary, priority, assignee, reporter, created, updated, resolved, \
        story_points, parent_key, parent_external_id, active, created_at, updated_at) \
        SELECT $1, $2, external_id, key, issue_type_name, status_name, status_category_key, summary, priority, \
        assignee, reporter, created, updated, resolved, story_points, parent_key, parent_external_id, true, $3, $3 \
        FROM json_to_recordset($4::text::json) AS x(external_id text, key text, issue_type_name text, status_name text, \
        status_category_key text, summary text, priority text, assignee text, reporter text, created timestamptz, \
        updated timestamptz, resolved timestamptz, story_points double precision, parent_key text, \
        parent_external_id text) \
        ON CONFLICT (integration_id, external_id) DO UPDATE SET project_id = EXCLUDED.project_id, \
        key = EXCLUDED.key, issue_type_name = EXCLUDED.issue_type_name, status_name = EXCLUDED.status_name, \
        status_category_key = EXCLUDED.status_category_key, summary = EXCLUDED.summary, \
        priority = EXCLUDED.priority, assignee = EXCLUDED.assignee, reporter = EXCLUDED.reporter, \
        created = EXCLUDED.created, updated = EXCLUDED.updated, resolved = EXCLUDED.resolved, \
        story_points = EXCLUDED.story_points, parent_key = EXCLUDED.parent_key, \
        parent_external_id = EXCLUDED.parent_external_id, active = true, updated_at = EXCLUDED.updated_at \
        WHERE i.updated IS DISTINCT FROM EXCLUDED.updated \
        RETURNING i.id, i.external_id, (i.xmax = 0) AS inserted";
    let mut out = Vec::with_capacity(rows.len());
    for chunk in json_chunks(json) {
        let written = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                SQL,
                [integration_id.into(), project_id.into(), now.into(), chunk.into()],
            ))
            .await?;
        for w in written {
            let id: i64 = w.try_get("", "id")?;
            let external_id: String = w.try_get("", "external_id")?;
            let inserted = w.try_get::<bool>("", "inserted")?;
            if inserted {
                counts.issues_inserted += 1;
            } else {
                counts.issues_updated += 1;
            }
            if let Some(row) = by_id.get(external_id.as_str()) {
                out.push(Written { id, row, inserted });
            }
        }
    }
    counts.issues_unchanged += (rows.len() - out.len()) as u64;
    Ok(out)
}

/// An issue [`pg_upsert_issues`] wrote: its id, and whether it is new.
struct Written<'r> {
    id: i64,
    row: &'r IssueRow,
    inserted: bool,
}

/// PostgreSQL: the page's status transitions in fixed statements (see [`pg_upsert_issues`]). A
/// new issue's history cannot be stored yet, so its rows go in with a plain `INSERT` (each
/// changelog item once); only an updated issue's history needs `ON CONFLICT DO NOTHING`, whose
/// speculative insertion cost a 1M-row load about an eighth more (docs/decisions.md).
async fn pg_insert_transitions(
    db: &impl ConnectionTrait,
    issues: &[Written<'_>],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    const INSERT: &str = "INSERT INTO jira_status_transitions (issue_id, changelog_id, item_index, from_status, \
        to_status, from_status_id, to_status_id, at, author, created_at, updated_at) \
        SELECT issue_id, changelog_id, item_index, from_status, to_status, from_status_id, to_status_id, at, \
        author, $1, $1 \
        FROM json_to_recordset($2::text::json) AS x(issue_id bigint, changelog_id text, item_index integer, \
        from_status text, to_status text, from_status_id text, to_status_id text, at timestamptz, author text)";
    let mut inserted = 0;
    for new in [true, false] {
        let rows: Vec<(usize, serde_json::Value)> = issues
            .iter()
            .filter(|w| w.inserted == new)
            .flat_map(|w| {
                let history = last_per_id(&w.row.transitions, |t| (t.changelog_id.as_str(), t.item_index));
                history.into_iter().map(move |t| {
                    let row = serde_json::json!({
                        "issue_id": w.id, "changelog_id": t.changelog_id, "item_index": t.item_index,
                        "from_status": t.from_status, "to_status": t.to_status, "from_status_id": t.from_status_id,
                        "to_status_id": t.to_status_id, "at": t.at, "author": t.author,
                    });
                    (transition_size(t) + JSON_KEYS, row)
                })
            })
            .collect();
        let sql = if new {
            INSERT.to_string()
        } else {
            format!("{INSERT} ON CONFLICT (issue_id, changelog_id, item_index) DO NOTHING")
        };
        for chunk in json_chunks(rows) {
            let res = db
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    &sql,
                    [now.into(), chunk.into()],
                ))
                .await?;
            inserted += res.rows_affected();
        }
    }
    Ok(inserted)
}

/// Estimated bytes of an issue row in a statement.
fn issue_size(r: &IssueRow) -> usize {
    let names = r.external_id.len() + r.key.len() + r.issue_type_name.len() + r.status_name.len();
    let texts = [
        &r.priority,
        &r.assignee,
        &r.reporter,
        &r.parent_key,
        &r.parent_external_id,
    ];
    9 * FIXED + names + r.status_category_key.len() + r.summary.len() + texts.into_iter().map(text).sum::<usize>()
}

/// Estimated bytes of a status-transition row in a statement.
fn transition_size(t: &TransitionRow) -> usize {
    let texts = [&t.from_status, &t.from_status_id, &t.to_status_id, &t.author];
    6 * FIXED + t.changelog_id.len() + t.to_status.len() + texts.into_iter().map(text).sum::<usize>()
}

/// The rows as JSON array texts of about [`JSON_BYTES`] each (a larger row goes alone); sizes
/// are the estimates of the row, plus its JSON keys. Sent as text and read with
/// `json_to_recordset`: converting each document to `jsonb` first cost PostgreSQL about a third
/// more CPU per page (docs/decisions.md).
fn json_chunks(rows: Vec<(usize, serde_json::Value)>) -> Vec<String> {
    batches_of(rows, usize::MAX, JSON_BYTES)
        .into_iter()
        .map(|chunk| serde_json::Value::Array(chunk).to_string())
        .collect()
}

/// Bytes of JSON keys and punctuation per row, about.
const JSON_KEYS: usize = 256;

/// About 64 KiB of JSON per statement: faster than smaller statements or a whole page in one
/// (docs/decisions.md, "Jira pages on PostgreSQL").
const JSON_BYTES: usize = 64 * 1024;

/// Each item once, the last listed winning (as row-by-row upserts would): Jira can list an item
/// twice (the recorded issue types of tests/fixtures/devlake-jira list id 10001 twice), and
/// PostgreSQL refuses an upsert statement that touches one row twice, failing the whole page.
fn last_per_id<'a, T, K: std::hash::Hash + Eq>(rows: &'a [T], id: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut last: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        last.insert(id(r), i);
    }
    rows.iter()
        .enumerate()
        .filter(|(i, r)| last.get(&id(r)) == Some(i))
        .map(|(_, r)| r)
        .collect()
}
