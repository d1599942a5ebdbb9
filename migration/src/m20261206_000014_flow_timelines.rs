//! Forecasting flow analytics (issue #22): each issue's place in the flow over time (when it
//! entered each step), so aging work in progress as of any instant and the cumulative flow
//! diagram read the precomputed rows instead of replaying every changelog per request. The
//! pass stamp is dropped, so the next check recomputes every issue and fills the column.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IssueFlowTimes {
    Table,
    Timeline,
}

#[derive(DeriveIden)]
enum AnalyticsRefresh {
    Table,
    Name,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(IssueFlowTimes::Table)
                    .add_column(json_binary_null(IssueFlowTimes::Timeline))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(AnalyticsRefresh::Table)
                    .and_where(Expr::col(AnalyticsRefresh::Name).eq("precompute"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(IssueFlowTimes::Table)
                    .drop_column(IssueFlowTimes::Timeline)
                    .to_owned(),
            )
            .await
    }
}
