//! Database migrations for pulse-etl.
//!
//! The same schema-builder code runs on SQLite and PostgreSQL. Migrations are
//! split by area; each `down` drops its tables children-first.

pub use sea_orm_migration::prelude::*;

mod common;
mod m20261128_000001_core;
mod m20261128_000002_jira;
mod m20261128_000003_flow;
mod m20261128_000004_github;
mod m20261128_000005_flow_defaults;
mod m20261128_000006_analytics;
mod m20261128_000007_flow_unique_names;
mod m20261128_000008_replicas;
mod m20261204_000009_transitions_unchecked;
mod m20261206_000010_notifications;
mod m20261206_000011_teams;
mod m20261206_000012_integration_sync_stats;
mod m20261206_000013_analytics_changes;
mod m20261206_000014_flow_timelines;
mod m20261207_000015_issue_groups_index;

/// Applies / rolls back every pulse-etl migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_core::Migration),
            Box::new(m20261128_000002_jira::Migration),
            Box::new(m20261128_000003_flow::Migration),
            Box::new(m20261128_000004_github::Migration),
            Box::new(m20261128_000005_flow_defaults::Migration),
            Box::new(m20261128_000006_analytics::Migration),
            Box::new(m20261128_000007_flow_unique_names::Migration),
            Box::new(m20261128_000008_replicas::Migration),
            Box::new(m20261204_000009_transitions_unchecked::Migration),
            Box::new(m20261206_000010_notifications::Migration),
            Box::new(m20261206_000011_teams::Migration),
            Box::new(m20261206_000012_integration_sync_stats::Migration),
            Box::new(m20261206_000013_analytics_changes::Migration),
            Box::new(m20261206_000014_flow_timelines::Migration),
            Box::new(m20261207_000015_issue_groups_index::Migration),
        ]
    }
}
