//! Teams: a name plus repositories and projects, stored by name.

use chrono::Utc;
use entity::teams;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryOrder, Set};

use crate::domain::team::ValidTeam;

/// Every team, by name.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<teams::Model>, DbErr> {
    teams::Entity::find().order_by_asc(teams::Column::Name).all(db).await
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<Option<teams::Model>, DbErr> {
    teams::Entity::find_by_id(id).one(db).await
}

/// Whether another team already has this name (case-insensitive).
pub async fn name_taken(db: &impl ConnectionTrait, name: &str, except: Option<i64>) -> Result<bool, DbErr> {
    Ok(list(db)
        .await?
        .iter()
        .any(|t| Some(t.id) != except && t.name.eq_ignore_ascii_case(name)))
}

pub async fn create(db: &impl ConnectionTrait, v: &ValidTeam) -> Result<teams::Model, DbErr> {
    let now = Utc::now();
    teams::ActiveModel {
        name: Set(v.name.clone()),
        repositories: Set(serde_json::json!(v.repositories)),
        projects: Set(serde_json::json!(v.projects)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn update(db: &impl ConnectionTrait, row: teams::Model, v: &ValidTeam) -> Result<teams::Model, DbErr> {
    let mut active = row.into_active_model();
    active.name = Set(v.name.clone());
    active.repositories = Set(serde_json::json!(v.repositories));
    active.projects = Set(serde_json::json!(v.projects));
    active.updated_at = Set(Utc::now());
    active.update(db).await
}

pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(teams::Entity::delete_by_id(id).exec(db).await?.rows_affected == 1)
}

/// A stored list (`repositories` or `projects`) as strings.
pub fn names(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}
