//! Creating and changing flow steps and mappings (validated input only).

use chrono::Utc;
use entity::{flow_steps, issue_type_mappings, status_mappings};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::domain::flow::input::{ValidIssueTypeMapping, ValidStatusMapping, ValidStep};

/// Gap between positions, so a step can be placed between two others by hand.
const POSITION_STEP: i32 = 10;

async fn clear_commitment_point(db: &impl ConnectionTrait, except: Option<i64>) -> Result<(), DbErr> {
    let mut q = flow_steps::Entity::update_many()
        .col_expr(flow_steps::Column::IsCommitmentPoint, Expr::value(false))
        .col_expr(flow_steps::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(flow_steps::Column::IsCommitmentPoint.eq(true));
    if let Some(id) = except {
        q = q.filter(flow_steps::Column::Id.ne(id));
    }
    q.exec(db).await?;
    Ok(())
}

/// Inserts a step (at the end unless a position is given); marking it the commitment point
/// unmarks the previous one.
pub async fn create_step(db: &DatabaseConnection, v: &ValidStep) -> Result<flow_steps::Model, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let position = match v.position {
        Some(p) => p,
        None => {
            let max: Option<i32> = flow_steps::Entity::find()
                .select_only()
                .column_as(flow_steps::Column::Position.max(), "m")
                .into_tuple()
                .one(&txn)
                .await?
                .flatten();
            max.unwrap_or(0) + POSITION_STEP
        }
    };
    if v.is_commitment_point {
        clear_commitment_point(&txn, None).await?;
    }
    let now = Utc::now();
    let row = flow_steps::ActiveModel {
        name: Set(v.name.clone()),
        position: Set(position),
        category: Set(v.category),
        is_commitment_point: Set(v.is_commitment_point),
        active: Set(v.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

pub async fn update_step(
    db: &DatabaseConnection,
    existing: flow_steps::Model,
    v: &ValidStep,
) -> Result<flow_steps::Model, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    if v.is_commitment_point {
        clear_commitment_point(&txn, Some(existing.id)).await?;
    }
    let mut row = existing.into_active_model();
    row.name = Set(v.name.clone());
    row.category = Set(v.category);
    if let Some(p) = v.position {
        row.position = Set(p);
    }
    row.is_commitment_point = Set(v.is_commitment_point);
    row.active = Set(v.active);
    row.updated_at = Set(Utc::now());
    let row = row.update(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// Moves a step one place up or down; positions are renumbered 10, 20, … in the same
/// transaction so ties and gaps never make the order ambiguous.
pub async fn move_step(db: &DatabaseConnection, id: i64, up: bool) -> Result<(), DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let mut steps = flow_steps::Entity::find()
        .order_by_asc(flow_steps::Column::Position)
        .order_by_asc(flow_steps::Column::Id)
        .all(&txn)
        .await?;
    let Some(i) = steps.iter().position(|s| s.id == id) else {
        return Err(DbErr::RecordNotFound(format!("flow step {id}")));
    };
    let j = if up {
        i.checked_sub(1)
    } else {
        Some(i + 1).filter(|j| *j < steps.len())
    };
    if let Some(j) = j {
        steps.swap(i, j);
    }
    let now = Utc::now();
    for (k, s) in steps.into_iter().enumerate() {
        let position = (k as i32 + 1) * POSITION_STEP;
        if s.position != position {
            let mut row = s.into_active_model();
            row.position = Set(position);
            row.updated_at = Set(now);
            row.update(&txn).await?;
        }
    }
    txn.commit().await
}

pub async fn create_issue_type_mapping(
    db: &impl ConnectionTrait,
    v: &ValidIssueTypeMapping,
) -> Result<issue_type_mappings::Model, DbErr> {
    let now = Utc::now();
    issue_type_mappings::ActiveModel {
        issuetype_from: Set(v.issuetype_from.clone()),
        issuetype_to: Set(v.issuetype_to.clone()),
        work_category: Set(v.work_category),
        hierarchy_level: Set(v.hierarchy_level),
        active: Set(v.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn update_issue_type_mapping(
    db: &impl ConnectionTrait,
    existing: issue_type_mappings::Model,
    v: &ValidIssueTypeMapping,
) -> Result<issue_type_mappings::Model, DbErr> {
    let mut row = existing.into_active_model();
    row.issuetype_from = Set(v.issuetype_from.clone());
    row.issuetype_to = Set(v.issuetype_to.clone());
    row.work_category = Set(v.work_category);
    row.hierarchy_level = Set(v.hierarchy_level);
    row.active = Set(v.active);
    row.updated_at = Set(Utc::now());
    row.update(db).await
}

pub async fn create_status_mapping(
    db: &impl ConnectionTrait,
    v: &ValidStatusMapping,
) -> Result<status_mappings::Model, DbErr> {
    let now = Utc::now();
    status_mappings::ActiveModel {
        status_from: Set(v.status_from.clone()),
        flow_step_id: Set(v.flow_step_id),
        issue_type_mapping_id: Set(v.issue_type_mapping_id),
        active: Set(v.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn update_status_mapping(
    db: &impl ConnectionTrait,
    existing: status_mappings::Model,
    v: &ValidStatusMapping,
) -> Result<status_mappings::Model, DbErr> {
    let mut row = existing.into_active_model();
    row.status_from = Set(v.status_from.clone());
    row.flow_step_id = Set(v.flow_step_id);
    row.issue_type_mapping_id = Set(v.issue_type_mapping_id);
    row.active = Set(v.active);
    row.updated_at = Set(Utc::now());
    row.update(db).await
}
