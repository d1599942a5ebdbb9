//! `analytics_changes`: rows a sync wrote that the analytics precompute has not yet seen.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "analytics_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `issue`, `pull_request`, `deployments` (row_id = the repository) or `all`.
    pub kind: String,
    pub row_id: i64,
    /// For `deployments`: the earliest `created` (old or new) of the repository's changed
    /// deployments; the pull requests whose deployment may change are those not deployed before it.
    pub at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
