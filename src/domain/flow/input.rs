//! Flow configuration as admins submit it (forms and JSON), and its validation against the
//! current configuration: duplicate names (case-insensitive), mappings to inactive steps,
//! per-type mappings that conflict with the type-less one, steps that mappings still need.

use serde::Deserialize;

use super::{FlowResolver, StepCategory, WorkCategory, name_key};
use crate::domain::settings::FieldError;
use crate::domain::text::single_line_problem;

const MAX_NAME: usize = 100;
/// Jira's levels: -1 sub-task, 0 standard, 1 epic, higher for Premium hierarchies.
const HIERARCHY_LEVELS: std::ops::RangeInclusive<i32> = -1..=10;

type Errors = Vec<FieldError>;

fn push(errors: &mut Errors, field: &'static str, message: impl Into<String>) {
    errors.push(FieldError {
        field,
        message: message.into(),
    });
}

fn check_name(errors: &mut Errors, field: &'static str, value: &str, what: &str) -> String {
    let v = value.trim().to_string();
    if let Some(problem) = single_line_problem(&v) {
        push(errors, field, problem);
    } else if v.is_empty() {
        push(errors, field, format!("Enter {what}"));
    } else if v.chars().count() > MAX_NAME {
        push(errors, field, format!("Keep it under {MAX_NAME} characters"));
    }
    v
}

/// A flow step as typed: every field a string or flag, so a failed form re-renders as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StepDraft {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub category: String,
    /// Empty: at the end (new) or unchanged (edit).
    #[serde(default)]
    pub position: String,
    #[serde(default)]
    pub is_commitment_point: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidStep {
    pub name: String,
    pub category: StepCategory,
    pub position: Option<i32>,
    pub is_commitment_point: bool,
    pub active: bool,
}

impl StepDraft {
    /// `id` is the step being edited (None for a new one).
    pub fn validate(&self, cfg: &FlowResolver, id: Option<i64>) -> Result<ValidStep, Errors> {
        let mut e = Errors::new();
        let name = check_name(&mut e, "name", &self.name, "a name");
        if let Some(other) = cfg
            .steps()
            .iter()
            .find(|s| Some(s.id) != id && name_key(&s.name) == name_key(&name))
        {
            push(&mut e, "name", format!("A step named {:?} already exists", other.name));
        }
        let category = StepCategory::parse_loose(&self.category);
        if category.is_none() {
            push(&mut e, "category", "Choose a category");
        }
        let position = match self.position.trim() {
            "" => None,
            p => match p.parse::<i32>() {
                Ok(n) if (0..=1_000_000).contains(&n) => Some(n),
                _ => {
                    push(&mut e, "position", "Enter a whole number from 0 to 1000000");
                    None
                }
            },
        };
        if self.is_commitment_point {
            if !self.active {
                push(
                    &mut e,
                    "is_commitment_point",
                    "An inactive step cannot be the commitment point",
                );
            } else if category.is_some_and(StepCategory::is_closed) {
                push(
                    &mut e,
                    "is_commitment_point",
                    "The commitment point is where work starts: choose a To do, In progress or Waiting step",
                );
            }
        }
        if let Some(existing) = id.and_then(|id| cfg.step(id)) {
            let users = cfg
                .status_mappings()
                .iter()
                .filter(|m| m.flow_step_id == existing.id)
                .count();
            if existing.active && !self.active && users > 0 {
                push(
                    &mut e,
                    "active",
                    format!(
                        "{users} status mapping(s) use this step; deactivate it with “Deactivate…”, which moves them to another step"
                    ),
                );
            }
            if let Some(c) = category
                && c != existing.category
                && users > 0
                && is_last_of_category(cfg, existing.id, existing.category)
            {
                push(
                    &mut e,
                    "category",
                    format!(
                        "{} is the last active {} step and {users} status mapping(s) need one; add another {} step first",
                        existing.name,
                        existing.category.title(),
                        existing.category.title()
                    ),
                );
            }
        }
        match category {
            Some(category) if e.is_empty() => Ok(ValidStep {
                name,
                category,
                position,
                is_commitment_point: self.is_commitment_point,
                active: self.active,
            }),
            _ => Err(e),
        }
    }
}

/// No other active step shares this step's category.
pub fn is_last_of_category(cfg: &FlowResolver, id: i64, category: StepCategory) -> bool {
    !cfg.active_steps().any(|s| s.id != id && s.category == category)
}

/// An issue-type mapping as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct IssueTypeMappingDraft {
    #[serde(default)]
    pub issuetype_from: String,
    /// Empty: the Jira name.
    #[serde(default)]
    pub issuetype_to: String,
    #[serde(default)]
    pub work_category: String,
    #[serde(default)]
    pub hierarchy_level: String,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidIssueTypeMapping {
    pub issuetype_from: String,
    pub issuetype_to: String,
    pub work_category: WorkCategory,
    pub hierarchy_level: i32,
    pub active: bool,
}

impl IssueTypeMappingDraft {
    pub fn validate(&self, cfg: &FlowResolver, id: Option<i64>) -> Result<ValidIssueTypeMapping, Errors> {
        let mut e = Errors::new();
        let from = check_name(&mut e, "issuetype_from", &self.issuetype_from, "the Jira issue type");
        if let Some(other) = cfg
            .issue_type_mappings()
            .iter()
            .find(|t| Some(t.id) != id && name_key(&t.issuetype_from) == name_key(&from))
        {
            push(
                &mut e,
                "issuetype_from",
                format!(
                    "{:?} is already mapped (to {})",
                    other.issuetype_from, other.issuetype_to
                ),
            );
        }
        let to = match self.issuetype_to.trim() {
            "" => from.clone(),
            t => check_name(&mut e, "issuetype_to", t, "the normalized type"),
        };
        let work_category = WorkCategory::parse_loose(&self.work_category);
        if work_category.is_none() {
            push(&mut e, "work_category", "Choose a work category");
        }
        let hierarchy_level = match self.hierarchy_level.trim() {
            "" => 0,
            h => match h.parse::<i32>() {
                Ok(n) if HIERARCHY_LEVELS.contains(&n) => n,
                _ => {
                    push(
                        &mut e,
                        "hierarchy_level",
                        format!(
                            "Enter a level from {} (sub-task) to {} (1 is an epic, 0 a standard issue)",
                            HIERARCHY_LEVELS.start(),
                            HIERARCHY_LEVELS.end()
                        ),
                    );
                    0
                }
            },
        };
        match work_category {
            Some(work_category) if e.is_empty() => Ok(ValidIssueTypeMapping {
                issuetype_from: from,
                issuetype_to: to,
                work_category,
                hierarchy_level,
                active: self.active,
            }),
            _ => Err(e),
        }
    }
}

/// A status mapping as typed; an empty type means every issue type.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StatusMappingDraft {
    #[serde(default)]
    pub status_from: String,
    #[serde(default)]
    pub flow_step_id: String,
    #[serde(default)]
    pub issue_type_mapping_id: String,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidStatusMapping {
    pub status_from: String,
    pub flow_step_id: i64,
    pub issue_type_mapping_id: Option<i64>,
    pub active: bool,
}

impl StatusMappingDraft {
    pub fn validate(&self, cfg: &FlowResolver, id: Option<i64>) -> Result<ValidStatusMapping, Errors> {
        let mut e = Errors::new();
        let status = check_name(&mut e, "status_from", &self.status_from, "the Jira status");
        let step = self.flow_step_id.trim().parse::<i64>().ok().and_then(|i| cfg.step(i));
        match step {
            None => push(&mut e, "flow_step_id", "Choose a flow step"),
            Some(s) if !s.active => push(
                &mut e,
                "flow_step_id",
                format!("{} is inactive; choose an active step", s.name),
            ),
            Some(_) => {}
        }
        let type_id = match self.issue_type_mapping_id.trim() {
            "" => Ok(None),
            t => match t
                .parse::<i64>()
                .ok()
                .and_then(|i| cfg.issue_type_mappings().iter().find(|m| m.id == i))
            {
                None => Err("Choose an issue type, or all types"),
                Some(m) if !m.active => Err("That issue-type mapping is inactive"),
                Some(m) => Ok(Some(m.id)),
            },
        };
        let type_id = type_id.unwrap_or_else(|msg| {
            push(&mut e, "issue_type_mapping_id", msg);
            None
        });
        let type_name = |tid: Option<i64>| match tid.and_then(|i| cfg.issue_type_mappings().iter().find(|m| m.id == i))
        {
            Some(m) => format!("for {}", m.issuetype_from),
            None => "for all types".to_string(),
        };
        let others = cfg
            .status_mappings()
            .iter()
            .filter(|m| Some(m.id) != id && name_key(&m.status_from) == name_key(&status));
        for other in others.clone() {
            if other.issue_type_mapping_id == type_id && !e.iter().any(|x| x.field == "issue_type_mapping_id") {
                let step = cfg.step(other.flow_step_id).map_or("?", |s| s.name.as_str());
                push(
                    &mut e,
                    "status_from",
                    format!(
                        "{:?} is already mapped {} (to {step}); edit that mapping instead",
                        other.status_from,
                        type_name(type_id)
                    ),
                );
            }
        }
        if let (Some(_), Some(step)) = (type_id, step)
            && let Some(typeless) = others.clone().find(|m| m.issue_type_mapping_id.is_none())
            && typeless.flow_step_id == step.id
        {
            push(
                &mut e,
                "flow_step_id",
                format!(
                    "Conflicts with the mapping for all types, which already sends {:?} to {}; a per-type mapping must choose a different step (or delete it and keep the one for all types)",
                    typeless.status_from, step.name
                ),
            );
        }
        match step {
            Some(step) if e.is_empty() => Ok(ValidStatusMapping {
                status_from: status,
                flow_step_id: step.id,
                issue_type_mapping_id: type_id,
                active: self.active,
            }),
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::flow::{IssueTypeMapping, StatusMapping, Step};

    fn cfg() -> FlowResolver {
        let step = |id, name: &str, category, active| Step {
            id,
            name: name.into(),
            position: id as i32 * 10,
            category,
            is_commitment_point: false,
            active,
        };
        FlowResolver::new(
            vec![
                step(1, "To Do", StepCategory::ToDo, true),
                step(2, "In Progress", StepCategory::InProgress, true),
                step(3, "Done", StepCategory::Done, true),
                step(4, "Old", StepCategory::Waiting, false),
            ],
            vec![IssueTypeMapping {
                id: 10,
                issuetype_from: "Bug".into(),
                issuetype_to: "Bug".into(),
                work_category: WorkCategory::Bug,
                hierarchy_level: 0,
                active: true,
            }],
            vec![StatusMapping {
                id: 100,
                status_from: "Closed".into(),
                flow_step_id: 3,
                issue_type_mapping_id: None,
                active: true,
            }],
        )
    }

    fn fields(e: Errors) -> Vec<&'static str> {
        e.into_iter().map(|e| e.field).collect()
    }

    fn step(name: &str, category: &str) -> StepDraft {
        StepDraft {
            name: name.into(),
            category: category.into(),
            active: true,
            ..Default::default()
        }
    }

    fn status(from: &str, step: &str, ty: &str) -> StatusMappingDraft {
        StatusMappingDraft {
            status_from: from.into(),
            flow_step_id: step.into(),
            issue_type_mapping_id: ty.into(),
            active: true,
        }
    }

    #[test]
    fn step_names_are_unique_case_insensitively() {
        assert_eq!(
            fields(step("in progress", "IN_PROGRESS").validate(&cfg(), None).unwrap_err()),
            ["name"]
        );
        assert!(
            step("IN PROGRESS", "IN_PROGRESS").validate(&cfg(), Some(2)).is_ok(),
            "renaming itself"
        );
        assert_eq!(
            fields(step(" ", "nope").validate(&cfg(), None).unwrap_err()),
            ["name", "category"]
        );
    }

    #[test]
    fn the_last_done_step_keeps_its_category_while_mappings_need_it() {
        assert_eq!(
            fields(step("Done", "WAITING").validate(&cfg(), Some(3)).unwrap_err()),
            ["category"]
        );
        let mut off = step("Done", "DONE");
        off.active = false;
        assert_eq!(fields(off.validate(&cfg(), Some(3)).unwrap_err()), ["active"]);
        assert!(
            step("To Do", "WAITING").validate(&cfg(), Some(1)).is_ok(),
            "no mapping needs To Do"
        );
    }

    #[test]
    fn the_commitment_point_is_an_active_open_step() {
        let mut s = step("Ship", "DONE");
        s.is_commitment_point = true;
        assert_eq!(fields(s.validate(&cfg(), None).unwrap_err()), ["is_commitment_point"]);
        s.category = "IN_PROGRESS".into();
        assert!(s.validate(&cfg(), None).is_ok());
    }

    #[test]
    fn status_mappings_refuse_duplicates_inactive_steps_and_redundant_per_type_rows() {
        assert_eq!(
            fields(status("CLOSED", "2", "").validate(&cfg(), None).unwrap_err()),
            ["status_from"]
        );
        assert_eq!(
            fields(status("Parked", "4", "").validate(&cfg(), None).unwrap_err()),
            ["flow_step_id"]
        );
        assert_eq!(
            fields(status("closed", "3", "10").validate(&cfg(), None).unwrap_err()),
            ["flow_step_id"]
        );
        assert!(
            status("closed", "2", "10").validate(&cfg(), None).is_ok(),
            "bugs may differ"
        );
        assert_eq!(
            fields(status("x", "2", "99").validate(&cfg(), None).unwrap_err()),
            ["issue_type_mapping_id"]
        );
        assert!(
            status("Closed", "2", "").validate(&cfg(), Some(100)).is_ok(),
            "editing itself"
        );
    }

    #[test]
    fn type_mappings_are_unique_and_levels_bounded() {
        let t = |from: &str, cat: &str, level: &str| IssueTypeMappingDraft {
            issuetype_from: from.into(),
            issuetype_to: String::new(),
            work_category: cat.into(),
            hierarchy_level: level.into(),
            active: true,
        };
        assert_eq!(
            fields(t("BUG", "BUG", "0").validate(&cfg(), None).unwrap_err()),
            ["issuetype_from"]
        );
        assert_eq!(
            fields(t("Spike", "nope", "x").validate(&cfg(), None).unwrap_err()),
            ["work_category", "hierarchy_level"]
        );
        let ok = t("Incident", "incident", "").validate(&cfg(), None).unwrap();
        assert_eq!(
            (ok.issuetype_to.as_str(), ok.work_category),
            ("Incident", WorkCategory::Incident)
        );
    }
}
