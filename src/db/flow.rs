//! Flow configuration: flow steps, issue-type mappings and status mappings (DESIGN §6, §9).

pub mod discovery;
pub mod remove;
pub mod save;

use entity::{flow_steps, issue_type_mappings, status_mappings};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder};

use crate::domain::flow::{FlowResolver, IssueTypeMapping, StatusMapping, Step};

/// One flow step by id.
pub async fn find_step(db: &impl ConnectionTrait, id: i64) -> Result<Option<flow_steps::Model>, DbErr> {
    flow_steps::Entity::find_by_id(id).one(db).await
}

/// One issue-type mapping by id.
pub async fn find_issue_type_mapping(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<issue_type_mappings::Model>, DbErr> {
    issue_type_mappings::Entity::find_by_id(id).one(db).await
}

/// One status mapping by id.
pub async fn find_status_mapping(db: &impl ConnectionTrait, id: i64) -> Result<Option<status_mappings::Model>, DbErr> {
    status_mappings::Entity::find_by_id(id).one(db).await
}

pub fn step_from(m: &flow_steps::Model) -> Step {
    Step {
        id: m.id,
        name: m.name.clone(),
        position: m.position,
        category: m.category,
        is_commitment_point: m.is_commitment_point,
        active: m.active,
    }
}

pub fn issue_type_mapping_from(m: &issue_type_mappings::Model) -> IssueTypeMapping {
    IssueTypeMapping {
        id: m.id,
        issuetype_from: m.issuetype_from.clone(),
        issuetype_to: m.issuetype_to.clone(),
        work_category: m.work_category,
        hierarchy_level: m.hierarchy_level,
        active: m.active,
    }
}

pub fn status_mapping_from(m: &status_mappings::Model) -> StatusMapping {
    StatusMapping {
        id: m.id,
        status_from: m.status_from.clone(),
        flow_step_id: m.flow_step_id,
        issue_type_mapping_id: m.issue_type_mapping_id,
        active: m.active,
    }
}

/// The three tables as stored.
pub struct Config {
    pub steps: Vec<flow_steps::Model>,
    pub issue_type_mappings: Vec<issue_type_mappings::Model>,
    pub status_mappings: Vec<status_mappings::Model>,
}

pub async fn config(db: &impl ConnectionTrait) -> Result<Config, DbErr> {
    Ok(Config {
        steps: flow_steps::Entity::find()
            .order_by_asc(flow_steps::Column::Position)
            .order_by_asc(flow_steps::Column::Id)
            .all(db)
            .await?,
        issue_type_mappings: issue_type_mappings::Entity::find()
            .order_by_asc(issue_type_mappings::Column::Id)
            .all(db)
            .await?,
        status_mappings: status_mappings::Entity::find()
            .order_by_asc(status_mappings::Column::Id)
            .all(db)
            .await?,
    })
}

impl Config {
    pub fn resolver(&self) -> FlowResolver {
        FlowResolver::new(
            self.steps.iter().map(step_from).collect(),
            self.issue_type_mappings.iter().map(issue_type_mapping_from).collect(),
            self.status_mappings.iter().map(status_mapping_from).collect(),
        )
    }

    /// Changes whenever any row of the three tables is added, changed or deleted.
    pub fn fingerprint(&self) -> String {
        let mut h = Fnv::default();
        for s in &self.steps {
            h.write(&format!(
                "s{}|{}|{}|{}|{}|{}|{}",
                s.id,
                s.name,
                s.position,
                s.category,
                s.is_commitment_point,
                s.active,
                s.updated_at.timestamp_micros()
            ));
        }
        for t in &self.issue_type_mappings {
            h.write(&format!(
                "t{}|{}|{}|{}|{}|{}|{}",
                t.id,
                t.issuetype_from,
                t.issuetype_to,
                t.work_category,
                t.hierarchy_level,
                t.active,
                t.updated_at.timestamp_micros()
            ));
        }
        for m in &self.status_mappings {
            h.write(&format!(
                "m{}|{}|{}|{:?}|{}|{}",
                m.id,
                m.status_from,
                m.flow_step_id,
                m.issue_type_mapping_id,
                m.active,
                m.updated_at.timestamp_micros()
            ));
        }
        format!(
            "{}.{}.{}-{:016x}",
            self.steps.len(),
            self.issue_type_mappings.len(),
            self.status_mappings.len(),
            h.0
        )
    }
}

/// Loads every step and mapping into a resolver (the tables are small: tens of rows).
pub async fn resolver(db: &impl ConnectionTrait) -> Result<FlowResolver, DbErr> {
    Ok(config(db).await?.resolver())
}

/// A cheap version string of the flow configuration: counts of the three tables and a hash of
/// their rows. Any create, update or delete changes it, so analytics caches keyed on it go
/// stale exactly when a mapping changes.
pub async fn config_fingerprint(db: &impl ConnectionTrait) -> Result<String, DbErr> {
    Ok(config(db).await?.fingerprint())
}

/// FNV-1a, 64 bit: stable across builds (unlike `DefaultHasher`), so a stored fingerprint stays
/// comparable after an upgrade.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, s: &str) {
        for b in s.bytes().chain(std::iter::once(0xff)) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}
