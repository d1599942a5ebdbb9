//! What synced data needs from the flow configuration: issue counts per (status, type), and
//! the statuses and issue types seen in Jira that no mapping covers yet.

use std::collections::HashMap;

use entity::{jira_issue_types, jira_issues, jira_statuses};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;

use crate::domain::flow::{FlowResolver, Resolution, name_key};

/// Active issues currently in one (status, issue type).
#[derive(Clone, Debug)]
pub struct IssueGroup {
    pub status: String,
    pub issue_type: String,
    pub category_key: String,
    pub issues: u64,
}

pub async fn issue_groups(db: &impl ConnectionTrait) -> Result<Vec<IssueGroup>, DbErr> {
    let rows: Vec<(String, String, String, i64)> = jira_issues::Entity::find()
        .select_only()
        .column(jira_issues::Column::StatusName)
        .column(jira_issues::Column::IssueTypeName)
        .column(jira_issues::Column::StatusCategoryKey)
        // COUNT(*), not of a column: the index on (active, status, type, category) covers it.
        .column_as(sea_orm::sea_query::Expr::cust("COUNT(*)"), "n")
        .filter(jira_issues::Column::Active.eq(true))
        .group_by(jira_issues::Column::StatusName)
        .group_by(jira_issues::Column::IssueTypeName)
        .group_by(jira_issues::Column::StatusCategoryKey)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(status, issue_type, category_key, n)| IssueGroup {
            status,
            issue_type,
            category_key,
            issues: n.max(0) as u64,
        })
        .collect())
}

/// A Jira status or issue type that no mapping covers.
#[derive(Clone, Debug, Serialize)]
pub struct Unmapped {
    pub name: String,
    /// Jira's status category (`new`, `indeterminate`, `done`), for statuses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_key: Option<String>,
    /// Jira's hierarchy level, for issue types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hierarchy_level: Option<i32>,
    /// Active issues affected now.
    pub issues: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Discovery {
    pub statuses: Vec<Unmapped>,
    pub issue_types: Vec<Unmapped>,
}

/// Statuses (from the synced status list and the issues) that some issue cannot resolve, or
/// that have no mapping at all; issue types (likewise) without a type mapping. Names that differ
/// only in case are one entry.
pub async fn unmapped(db: &impl ConnectionTrait, cfg: &FlowResolver) -> Result<Discovery, DbErr> {
    let groups = issue_groups(db).await?;
    unmapped_in(db, cfg, &groups).await
}

/// [`unmapped`] with the issue groups already read ([`issue_groups`] counts every active issue:
/// a page that shows both reads them once).
pub async fn unmapped_in(
    db: &impl ConnectionTrait,
    cfg: &FlowResolver,
    groups: &[IssueGroup],
) -> Result<Discovery, DbErr> {
    let statuses: Vec<(String, String)> = jira_statuses::Entity::find()
        .select_only()
        .column(jira_statuses::Column::Name)
        .column(jira_statuses::Column::CategoryKey)
        .filter(jira_statuses::Column::Active.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let types: Vec<(String, i32)> = jira_issue_types::Entity::find()
        .select_only()
        .column(jira_issue_types::Column::Name)
        .column(jira_issue_types::Column::HierarchyLevel)
        .filter(jira_issue_types::Column::Active.eq(true))
        .into_tuple()
        .all(db)
        .await?;

    let mut status_out: HashMap<String, Unmapped> = HashMap::new();
    for (name, key) in &statuses {
        if !cfg.is_status_mapped(name) {
            status_out.entry(name_key(name)).or_insert_with(|| Unmapped {
                name: name.clone(),
                category_key: Some(key.clone()),
                hierarchy_level: None,
                issues: 0,
            });
        }
    }
    for g in groups {
        if matches!(
            cfg.resolve(&g.status, &g.issue_type, Some(&g.category_key)),
            Resolution::Unmapped { .. }
        ) {
            status_out
                .entry(name_key(&g.status))
                .or_insert_with(|| Unmapped {
                    name: g.status.clone(),
                    category_key: Some(g.category_key.clone()),
                    hierarchy_level: None,
                    issues: 0,
                })
                .issues += g.issues;
        }
    }

    let mut type_out: HashMap<String, Unmapped> = HashMap::new();
    for (name, level) in &types {
        if cfg.issue_type_mapping_any(name).is_none() {
            type_out.entry(name_key(name)).or_insert_with(|| Unmapped {
                name: name.clone(),
                category_key: None,
                hierarchy_level: Some(*level),
                issues: 0,
            });
        }
    }
    for g in groups {
        if cfg.issue_type_mapping_any(&g.issue_type).is_none() {
            type_out
                .entry(name_key(&g.issue_type))
                .or_insert_with(|| Unmapped {
                    name: g.issue_type.clone(),
                    category_key: None,
                    hierarchy_level: None,
                    issues: 0,
                })
                .issues += g.issues;
        }
    }
    let sorted = |m: HashMap<String, Unmapped>| {
        let mut v: Vec<Unmapped> = m.into_values().collect();
        v.sort_by(|a, b| {
            b.issues
                .cmp(&a.issues)
                .then_with(|| name_key(&a.name).cmp(&name_key(&b.name)))
        });
        v
    };
    Ok(Discovery {
        statuses: sorted(status_out),
        issue_types: sorted(type_out),
    })
}
