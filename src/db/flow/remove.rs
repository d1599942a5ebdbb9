//! Guided delete-and-reassign (DESIGN §9): the impact first, then reassignment and removal in
//! one transaction. "Remove" is delete or deactivate; both move the dependents first.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{flow_steps, issue_type_mappings, status_mappings};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use serde::Serialize;

use super::discovery::{IssueGroup, issue_groups};
use crate::domain::flow::reassign::{self, Item, ReassignError, Removal};
use crate::domain::flow::{FlowResolver, name_key};

/// What removing one item would do.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Impact {
    /// Status mappings that move to the chosen target.
    pub status_mappings: u64,
    /// Active issues whose flow position changes.
    pub issues: u64,
    /// Items that may take over (active, not the item itself).
    pub targets: Vec<i64>,
    /// Why the removal is refused whatever the target, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Where the issues go when no target is involved (status mappings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("not found")]
    NotFound,
    /// Refused whatever the target (the last step of a category that mappings need).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Invalid(#[from] ReassignError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn issues_where(groups: &[IssueGroup], f: impl Fn(&IssueGroup) -> bool) -> u64 {
    groups.iter().filter(|g| f(g)).map(|g| g.issues).sum()
}

fn step_items(cfg: &FlowResolver) -> Vec<Item> {
    cfg.steps()
        .iter()
        .map(|s| Item {
            id: s.id,
            name: s.name.clone(),
            active: s.active,
            dependents: cfg.status_mappings().iter().filter(|m| m.flow_step_id == s.id).count() as u64,
        })
        .collect()
}

/// Deactivating a type mapping moves nothing (its per-type mappings simply stop applying);
/// deleting it moves them to the target type.
fn type_items(cfg: &FlowResolver, deactivate: bool) -> Vec<Item> {
    cfg.issue_type_mappings()
        .iter()
        .map(|t| Item {
            id: t.id,
            name: t.issuetype_from.clone(),
            active: t.active,
            dependents: if deactivate {
                0
            } else {
                cfg.status_mappings()
                    .iter()
                    .filter(|m| m.issue_type_mapping_id == Some(t.id))
                    .count() as u64
            },
        })
        .collect()
}

pub async fn step_impact(db: &impl ConnectionTrait, id: i64) -> Result<Option<Impact>, DbErr> {
    let cfg = super::resolver(db).await?;
    if cfg.step(id).is_none() {
        return Ok(None);
    }
    let groups = issue_groups(db).await?;
    let items = step_items(&cfg);
    Ok(Some(Impact {
        status_mappings: items.iter().find(|i| i.id == id).map_or(0, |i| i.dependents),
        issues: issues_where(&groups, |g| {
            cfg.status_mapping(&g.status, &g.issue_type)
                .is_some_and(|m| m.flow_step_id == id)
        }),
        targets: reassign::candidates(&items, &[id]).map(|i| i.id).collect(),
        refused: reassign::check_categories(&cfg, &[id]).err(),
        fallback: None,
    }))
}

pub async fn issue_type_mapping_impact(
    db: &impl ConnectionTrait,
    id: i64,
    deactivate: bool,
) -> Result<Option<Impact>, DbErr> {
    let cfg = super::resolver(db).await?;
    let Some(t) = cfg.issue_type_mappings().iter().find(|t| t.id == id) else {
        return Ok(None);
    };
    let groups = issue_groups(db).await?;
    let items = type_items(&cfg, deactivate);
    let key = name_key(&t.issuetype_from);
    Ok(Some(Impact {
        status_mappings: items.iter().find(|i| i.id == id).map_or(0, |i| i.dependents),
        issues: issues_where(&groups, |g| name_key(&g.issue_type) == key),
        targets: reassign::candidates(&items, &[id]).map(|i| i.id).collect(),
        refused: None,
        fallback: Some(if deactivate {
            "its issues are left out of every metric until it is activated again".into()
        } else {
            "its issues count with the mappings for all types, and the type is listed as unmapped".into()
        }),
    }))
}

pub async fn status_mapping_impact(db: &impl ConnectionTrait, id: i64) -> Result<Option<Impact>, DbErr> {
    let cfg = super::resolver(db).await?;
    let Some(m) = cfg.status_mappings().iter().find(|m| m.id == id).cloned() else {
        return Ok(None);
    };
    let groups = issue_groups(db).await?;
    let typeless = cfg.status_mappings().iter().find(|o| {
        o.id != id && o.issue_type_mapping_id.is_none() && name_key(&o.status_from) == name_key(&m.status_from)
    });
    let fallback = match (m.issue_type_mapping_id, typeless.and_then(|t| cfg.step(t.flow_step_id))) {
        (Some(_), Some(step)) => format!("they follow the mapping for all types, to {}", step.name),
        _ => "they become unmapped and fall back to their Jira status category".into(),
    };
    Ok(Some(Impact {
        status_mappings: 0,
        issues: issues_where(&groups, |g| {
            cfg.status_mapping(&g.status, &g.issue_type).is_some_and(|x| x.id == id)
        }),
        targets: Vec::new(),
        refused: None,
        fallback: Some(fallback),
    }))
}

/// Moves each step's status mappings to its target, then deletes (or deactivates) the steps,
/// all in one transaction. Returns each step with the step that received its mappings.
pub async fn remove_steps(
    db: &DatabaseConnection,
    removals: &[Removal],
    deactivate: bool,
) -> Result<Vec<(i64, Option<i64>)>, RemoveError> {
    let txn = crate::db::begin_write(db).await?;
    let cfg = super::resolver(&txn).await?;
    if let Some(r) = removals.iter().find(|r| cfg.step(r.id).is_none()) {
        return Err(if removals.len() == 1 {
            RemoveError::NotFound
        } else {
            RemoveError::Invalid(ReassignError::NotFound(r.id))
        });
    }
    let plan = reassign::plan(&step_items(&cfg), removals)?;
    let ids: Vec<i64> = removals.iter().map(|r| r.id).collect();
    reassign::check_categories(&cfg, &ids).map_err(RemoveError::Refused)?;
    let now = Utc::now();
    for (id, target) in &plan {
        if let Some(t) = target {
            status_mappings::Entity::update_many()
                .col_expr(status_mappings::Column::FlowStepId, Expr::value(*t))
                .col_expr(status_mappings::Column::UpdatedAt, Expr::value(now))
                .filter(status_mappings::Column::FlowStepId.eq(*id))
                .exec(&txn)
                .await?;
        }
    }
    if deactivate {
        flow_steps::Entity::update_many()
            .col_expr(flow_steps::Column::Active, Expr::value(false))
            .col_expr(flow_steps::Column::IsCommitmentPoint, Expr::value(false))
            .col_expr(flow_steps::Column::UpdatedAt, Expr::value(now))
            .filter(flow_steps::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
    } else {
        flow_steps::Entity::delete_many()
            .filter(flow_steps::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(plan)
}

/// Deleting moves each type mapping's per-type status mappings to the target type (a moved
/// mapping whose status the target already maps is dropped: the target's own wins), then
/// deletes; deactivating only switches the type mappings off. One transaction.
pub async fn remove_issue_type_mappings(
    db: &DatabaseConnection,
    removals: &[Removal],
    deactivate: bool,
) -> Result<Vec<(i64, Option<i64>)>, RemoveError> {
    let txn = crate::db::begin_write(db).await?;
    let cfg = super::resolver(&txn).await?;
    if let Some(r) = removals
        .iter()
        .find(|r| !cfg.issue_type_mappings().iter().any(|t| t.id == r.id))
    {
        return Err(if removals.len() == 1 {
            RemoveError::NotFound
        } else {
            RemoveError::Invalid(ReassignError::NotFound(r.id))
        });
    }
    let plan = reassign::plan(&type_items(&cfg, deactivate), removals)?;
    let ids: Vec<i64> = removals.iter().map(|r| r.id).collect();
    let now = Utc::now();
    if deactivate {
        issue_type_mappings::Entity::update_many()
            .col_expr(issue_type_mappings::Column::Active, Expr::value(false))
            .col_expr(issue_type_mappings::Column::UpdatedAt, Expr::value(now))
            .filter(issue_type_mappings::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        return Ok(plan);
    }
    let mut taken: HashMap<i64, HashSet<String>> = HashMap::new();
    for m in cfg.status_mappings() {
        if let Some(t) = m.issue_type_mapping_id {
            taken.entry(t).or_default().insert(name_key(&m.status_from));
        }
    }
    for (id, target) in &plan {
        let Some(t) = target else { continue };
        for m in cfg
            .status_mappings()
            .iter()
            .filter(|m| m.issue_type_mapping_id == Some(*id))
        {
            if taken.entry(*t).or_default().insert(name_key(&m.status_from)) {
                status_mappings::Entity::update_many()
                    .col_expr(status_mappings::Column::IssueTypeMappingId, Expr::value(*t))
                    .col_expr(status_mappings::Column::UpdatedAt, Expr::value(now))
                    .filter(status_mappings::Column::Id.eq(m.id))
                    .exec(&txn)
                    .await?;
            } else {
                status_mappings::Entity::delete_by_id(m.id).exec(&txn).await?;
            }
        }
    }
    status_mappings::Entity::delete_many()
        .filter(status_mappings::Column::IssueTypeMappingId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    issue_type_mappings::Entity::delete_many()
        .filter(issue_type_mappings::Column::Id.is_in(ids))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(plan)
}

/// Nothing references a status mapping: its issues re-resolve at query time.
pub async fn remove_status_mapping(db: &impl ConnectionTrait, id: i64, deactivate: bool) -> Result<(), RemoveError> {
    let found = status_mappings::Entity::find_by_id(id).one(db).await?;
    if found.is_none() {
        return Err(RemoveError::NotFound);
    }
    if deactivate {
        status_mappings::Entity::update_many()
            .col_expr(status_mappings::Column::Active, Expr::value(false))
            .col_expr(status_mappings::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(status_mappings::Column::Id.eq(id))
            .exec(db)
            .await?;
    } else {
        status_mappings::Entity::delete_by_id(id).exec(db).await?;
    }
    Ok(())
}
