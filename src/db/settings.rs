use chrono::Utc;
use entity::orchestrator_settings as settings;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, Set};

use crate::domain::settings::OrchestratorSettings;

/// The single settings row (seeded by the migrations).
pub async fn get(db: &impl ConnectionTrait) -> Result<settings::Model, DbErr> {
    settings::Entity::find_by_id(1)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("orchestrator_settings row 1".into()))
}

pub async fn update(db: &impl ConnectionTrait, new: &OrchestratorSettings) -> Result<settings::Model, DbErr> {
    let mut row = get(db).await?.into_active_model();
    row.interval_minutes = Set(new.interval_minutes);
    row.enabled = Set(new.enabled);
    row.retry_enabled = Set(new.retry_enabled);
    row.retry_interval_minutes = Set(new.retry_interval_minutes);
    row.max_retry_attempts = Set(new.max_retry_attempts);
    row.updated_at = Set(Utc::now());
    row.update(db).await
}

/// When the next main cycle is due (None while the schedule is disabled).
pub async fn set_next_run(db: &impl ConnectionTrait, at: Option<chrono::DateTime<Utc>>) -> Result<(), DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    settings::Entity::update_many()
        .col_expr(settings::Column::NextRunAt, at.into())
        .filter(settings::Column::Id.eq(1))
        .exec(db)
        .await?;
    Ok(())
}
