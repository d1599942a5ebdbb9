use entity::jobs;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

/// Both job rows, `jira_sync` first (the order they run in).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<jobs::Model>, DbErr> {
    let mut rows = jobs::Entity::find().order_by_asc(jobs::Column::Id).all(db).await?;
    rows.sort_by_key(|j| crate::domain::job::JobType::parse(&j.job_type).map(|t| t.order()));
    Ok(rows)
}

/// The job's checkpoint (where an interrupted run resumes), if any.
pub async fn checkpoint(db: &impl ConnectionTrait, job_type: &str) -> Result<Option<serde_json::Value>, DbErr> {
    Ok(find(db, job_type).await?.and_then(|j| j.checkpoint))
}

/// Saves the checkpoint; call in the same transaction as the data it describes.
pub async fn set_checkpoint(
    db: &impl ConnectionTrait,
    job_type: &str,
    value: Option<serde_json::Value>,
) -> Result<(), DbErr> {
    jobs::Entity::update_many()
        .col_expr(jobs::Column::Checkpoint, value.into())
        .col_expr(jobs::Column::UpdatedAt, chrono::Utc::now().into())
        .filter(jobs::Column::JobType.eq(job_type))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find(db: &impl ConnectionTrait, job_type: &str) -> Result<Option<jobs::Model>, DbErr> {
    jobs::Entity::find()
        .filter(jobs::Column::JobType.eq(job_type))
        .one(db)
        .await
}
