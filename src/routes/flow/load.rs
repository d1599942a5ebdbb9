//! Everything `/flow` shows, read in one go and counted through the resolver.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr};

use crate::db;
use crate::db::flow::discovery::Discovery;
use crate::domain::flow::{FlowResolver, Resolution, StatusMapping, Step, name_key};
use crate::views::flow::{Choice, IssueTypeMappingRow, StatusMappingRow, StepRow};

pub struct Loaded {
    pub steps: Vec<StepRow>,
    pub status_mappings: Vec<StatusMappingRow>,
    pub issue_type_mappings: Vec<IssueTypeMappingRow>,
    pub unmapped: Discovery,
    pub step_choices: Vec<Choice>,
    pub issue_type_choices: Vec<Choice>,
}

/// `In Progress (In progress)`: the one-click mapping preselects by the category suffix.
pub fn step_choice(s: &Step) -> Choice {
    Choice {
        id: s.id,
        label: format!("{} ({})", s.name, s.category.title()),
    }
}

pub fn status_label(cfg: &FlowResolver, m: &StatusMapping) -> String {
    match m
        .issue_type_mapping_id
        .and_then(|t| cfg.issue_type_mappings().iter().find(|x| x.id == t))
    {
        Some(t) => format!("{} (for {})", m.status_from, t.issuetype_from),
        None => m.status_from.clone(),
    }
}

pub async fn load(conn: &impl ConnectionTrait) -> Result<Loaded, DbErr> {
    let cfg = db::flow::resolver(conn).await?;
    let groups = db::flow::discovery::issue_groups(conn).await?;
    let unmapped = db::flow::discovery::unmapped_in(conn, &cfg, &groups).await?;
    let mut by_step: HashMap<i64, u64> = HashMap::new();
    let mut by_mapping: HashMap<i64, u64> = HashMap::new();
    let mut by_type: HashMap<String, u64> = HashMap::new();
    for g in &groups {
        if let Resolution::Step { step, mapping } = cfg.resolve(&g.status, &g.issue_type, Some(&g.category_key)) {
            *by_step.entry(step.id).or_default() += g.issues;
            *by_mapping.entry(mapping.id).or_default() += g.issues;
        } else if let Some(m) = cfg.status_mapping(&g.status, &g.issue_type) {
            *by_mapping.entry(m.id).or_default() += g.issues;
        }
        *by_type.entry(name_key(&g.issue_type)).or_default() += g.issues;
    }
    let mappings_of = |step: i64| cfg.status_mappings().iter().filter(|m| m.flow_step_id == step).count() as u64;
    let steps = cfg
        .steps()
        .iter()
        .map(|s| StepRow {
            id: s.id,
            name: s.name.clone(),
            position: s.position,
            category: s.category,
            is_commitment_point: s.is_commitment_point,
            active: s.active,
            mappings: mappings_of(s.id),
            issues: by_step.get(&s.id).copied().unwrap_or(0),
        })
        .collect();
    let mut statuses: Vec<StatusMappingRow> = cfg
        .status_mappings()
        .iter()
        .map(|m| {
            let step = cfg.step(m.flow_step_id);
            StatusMappingRow {
                id: m.id,
                status_from: m.status_from.clone(),
                step: step.map_or_else(|| "?".into(), |s| s.name.clone()),
                step_category: step.map(|s| s.category),
                issue_type: m
                    .issue_type_mapping_id
                    .and_then(|t| cfg.issue_type_mappings().iter().find(|x| x.id == t))
                    .map(|t| t.issuetype_from.clone()),
                active: m.active,
                issues: by_mapping.get(&m.id).copied().unwrap_or(0),
            }
        })
        .collect();
    // In flow order, then by name: the table reads like the board.
    let position = |name: &str| cfg.steps().iter().position(|s| s.name == name).unwrap_or(usize::MAX);
    statuses.sort_by(|a, b| {
        position(&a.step)
            .cmp(&position(&b.step))
            .then_with(|| name_key(&a.status_from).cmp(&name_key(&b.status_from)))
            .then_with(|| a.issue_type.cmp(&b.issue_type))
    });
    let types = cfg
        .issue_type_mappings()
        .iter()
        .map(|t| IssueTypeMappingRow {
            id: t.id,
            issuetype_from: t.issuetype_from.clone(),
            issuetype_to: t.issuetype_to.clone(),
            work_category: t.work_category,
            hierarchy_level: t.hierarchy_level,
            active: t.active,
            mappings: cfg
                .status_mappings()
                .iter()
                .filter(|m| m.issue_type_mapping_id == Some(t.id))
                .count() as u64,
            issues: by_type.get(&name_key(&t.issuetype_from)).copied().unwrap_or(0),
        })
        .collect();
    let step_choices = cfg.active_steps().map(step_choice).collect();
    let issue_type_choices = cfg
        .issue_type_mappings()
        .iter()
        .filter(|t| t.active)
        .map(|t| Choice {
            id: t.id,
            label: t.issuetype_from.clone(),
        })
        .collect();
    Ok(Loaded {
        steps,
        status_mappings: statuses,
        issue_type_mappings: types,
        unmapped,
        step_choices,
        issue_type_choices,
    })
}
