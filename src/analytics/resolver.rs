//! Status → flow step resolution (DESIGN §9) as the analytics precompute applies it: the
//! mapping for (status, the issue's type mapping), else the type-less mapping, else unmapped
//! with the Jira status category as fallback. Case-insensitive. A mapping that matches but is
//! inactive, or points to an inactive step, excludes the issue.

use std::collections::HashMap;

use crate::domain::metrics::flow::{Category, Place};

#[derive(Clone, Debug)]
pub struct Step {
    pub id: i64,
    pub name: String,
    pub position: i32,
    pub category: Category,
    pub is_commitment_point: bool,
    pub active: bool,
}

#[derive(Clone, Debug)]
pub struct TypeMapping {
    pub id: i64,
    pub issuetype_from: String,
    pub work_category: String,
    pub active: bool,
}

#[derive(Clone, Debug)]
pub struct StatusMapping {
    pub status_from: String,
    pub issue_type_mapping_id: Option<i64>,
    pub flow_step_id: i64,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    Step(Place),
    Unmapped(Place),
    Excluded,
}

impl Resolution {
    pub fn place(&self) -> Option<&Place> {
        match self {
            Resolution::Step(p) | Resolution::Unmapped(p) => Some(p),
            Resolution::Excluded => None,
        }
    }
}

#[derive(Default)]
pub struct FlowResolver {
    steps: HashMap<i64, Step>,
    types: HashMap<String, TypeMapping>,
    statuses: HashMap<(String, Option<i64>), StatusMapping>,
}

impl FlowResolver {
    pub fn new(steps: Vec<Step>, types: Vec<TypeMapping>, statuses: Vec<StatusMapping>) -> Self {
        Self {
            steps: steps.into_iter().map(|s| (s.id, s)).collect(),
            types: types
                .into_iter()
                .map(|t| (t.issuetype_from.to_lowercase(), t))
                .collect(),
            statuses: statuses
                .into_iter()
                .map(|m| ((m.status_from.to_lowercase(), m.issue_type_mapping_id), m))
                .collect(),
        }
    }

    pub fn type_mapping(&self, jira_type_name: &str) -> Option<&TypeMapping> {
        self.types.get(&jira_type_name.to_lowercase())
    }

    /// Position of the active commitment step, if one is marked.
    pub fn commitment_position(&self) -> Option<i32> {
        self.steps
            .values()
            .filter(|s| s.active && s.is_commitment_point)
            .map(|s| s.position)
            .min()
    }

    pub fn resolve(&self, status_name: &str, jira_type_name: &str, status_category_key: &str) -> Resolution {
        let status = status_name.to_lowercase();
        let type_id = self.type_mapping(jira_type_name).map(|t| t.id);
        let mapping = type_id
            .and_then(|id| self.statuses.get(&(status.clone(), Some(id))))
            .or_else(|| self.statuses.get(&(status, None)));
        match mapping {
            None => Resolution::Unmapped(Place {
                step: None,
                category: Category::from_jira(status_category_key),
                is_commitment_point: false,
            }),
            Some(m) => match self.steps.get(&m.flow_step_id) {
                Some(s) if m.active && s.active => Resolution::Step(Place {
                    step: Some((s.id, s.name.clone(), s.position)),
                    category: s.category,
                    is_commitment_point: s.is_commitment_point,
                }),
                _ => Resolution::Excluded,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver() -> FlowResolver {
        let step = |id, name: &str, category, active| Step {
            id,
            name: name.into(),
            position: id as i32,
            category,
            is_commitment_point: false,
            active,
        };
        FlowResolver::new(
            vec![
                step(1, "Dev", Category::InProgress, true),
                step(2, "Triage", Category::Waiting, true),
                step(3, "Old", Category::Waiting, false),
            ],
            vec![TypeMapping {
                id: 7,
                issuetype_from: "Bug".into(),
                work_category: "BUG".into(),
                active: true,
            }],
            vec![
                StatusMapping {
                    status_from: "In Progress".into(),
                    issue_type_mapping_id: None,
                    flow_step_id: 1,
                    active: true,
                },
                StatusMapping {
                    status_from: "in progress".into(),
                    issue_type_mapping_id: Some(7),
                    flow_step_id: 2,
                    active: true,
                },
                StatusMapping {
                    status_from: "Parked".into(),
                    issue_type_mapping_id: None,
                    flow_step_id: 3,
                    active: true,
                },
            ],
        )
    }

    #[test]
    fn the_type_specific_mapping_wins_then_the_typeless_one_then_the_category() {
        let r = resolver();
        let step_of = |res: Resolution| res.place().and_then(|p| p.step.clone()).map(|s| s.1);
        assert_eq!(
            step_of(r.resolve("IN PROGRESS", "bug", "indeterminate")),
            Some("Triage".into())
        );
        assert_eq!(
            step_of(r.resolve("In Progress", "Story", "indeterminate")),
            Some("Dev".into())
        );
        let unmapped = r.resolve("Blocked", "Story", "indeterminate");
        assert!(matches!(&unmapped, Resolution::Unmapped(p) if p.category == Category::InProgress));
        assert_eq!(r.resolve("Parked", "Story", "new"), Resolution::Excluded);
    }
}
