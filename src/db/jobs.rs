use entity::jobs;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder};

/// Both job rows, `jira_sync` first (the order they run in).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<jobs::Model>, DbErr> {
    let mut rows = jobs::Entity::find().order_by_asc(jobs::Column::Id).all(db).await?;
    rows.sort_by_key(|j| crate::domain::job::JobType::parse(&j.job_type).map(|t| t.order()));
    Ok(rows)
}
