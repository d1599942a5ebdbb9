//! Flow configuration (DESIGN §9): steps, issue-type and status mappings, and how a Jira status
//! of an issue resolves to a flow step. Resolution happens at query time, so a mapping change
//! never needs a re-sync. Every name comparison is case-insensitive.

use std::collections::HashMap;

use serde::Serialize;

pub mod input;
pub mod reassign;

pub use entity::enums::{StepCategory, WorkCategory};

/// The key names are compared by: trimmed and lower-cased (`In progress` = ` IN PROGRESS`).
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A row of `flow_steps`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub id: i64,
    pub name: String,
    pub position: i32,
    pub category: StepCategory,
    pub is_commitment_point: bool,
    pub active: bool,
}

/// A row of `issue_type_mappings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IssueTypeMapping {
    pub id: i64,
    pub issuetype_from: String,
    pub issuetype_to: String,
    pub work_category: WorkCategory,
    pub hierarchy_level: i32,
    pub active: bool,
}

/// A row of `status_mappings`; `issue_type_mapping_id` None applies to every type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusMapping {
    pub id: i64,
    pub status_from: String,
    pub flow_step_id: i64,
    pub issue_type_mapping_id: Option<i64>,
    pub active: bool,
}

/// Why a resolved status does not count (DESIGN §9: every level must be active).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Excluded {
    TypeMappingInactive,
    StatusMappingInactive,
    StepInactive,
}

/// Where an issue in some status stands in the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution<'a> {
    /// Mapped to an active step through an active mapping.
    Step { step: &'a Step, mapping: &'a StatusMapping },
    /// No mapping for the status: the category comes from Jira's status category (None when
    /// the key is unknown).
    Unmapped { fallback: Option<StepCategory> },
    /// A mapping exists but it, its step or the issue's type mapping is inactive.
    Excluded(Excluded),
}

impl<'a> Resolution<'a> {
    pub fn step(&self) -> Option<&'a Step> {
        match self {
            Resolution::Step { step, .. } => Some(step),
            _ => None,
        }
    }

    /// The step's category, or the fallback category of an unmapped status.
    pub fn category(&self) -> Option<StepCategory> {
        match self {
            Resolution::Step { step, .. } => Some(step.category),
            Resolution::Unmapped { fallback } => *fallback,
            Resolution::Excluded(_) => None,
        }
    }

    pub fn is_excluded(&self) -> bool {
        matches!(self, Resolution::Excluded(_))
    }

    pub fn is_unmapped(&self) -> bool {
        matches!(self, Resolution::Unmapped { .. })
    }
}

/// The whole flow configuration, indexed for resolving many issues quickly.
#[derive(Clone, Debug, Default)]
pub struct FlowResolver {
    steps: Vec<Step>,
    step_index: HashMap<i64, usize>,
    issue_type_mappings: Vec<IssueTypeMapping>,
    issue_type_by_name: HashMap<String, usize>,
    status_mappings: Vec<StatusMapping>,
    /// (status key, type mapping id or None) → index into `status_mappings`.
    status_index: HashMap<(String, Option<i64>), usize>,
}

impl FlowResolver {
    /// Builds the resolver. Steps are kept ordered by position (then id). When two rows share a
    /// key (possible only in data written around validation), the lowest id wins.
    pub fn new(
        mut steps: Vec<Step>,
        mut issue_type_mappings: Vec<IssueTypeMapping>,
        mut status_mappings: Vec<StatusMapping>,
    ) -> Self {
        steps.sort_by_key(|s| (s.position, s.id));
        issue_type_mappings.sort_by_key(|t| t.id);
        status_mappings.sort_by_key(|m| m.id);
        let step_index = steps.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        let mut issue_type_by_name = HashMap::new();
        for (i, t) in issue_type_mappings.iter().enumerate() {
            issue_type_by_name.entry(name_key(&t.issuetype_from)).or_insert(i);
        }
        let mut status_index = HashMap::new();
        for (i, m) in status_mappings.iter().enumerate() {
            status_index
                .entry((name_key(&m.status_from), m.issue_type_mapping_id))
                .or_insert(i);
        }
        Self {
            steps,
            step_index,
            issue_type_mappings,
            issue_type_by_name,
            status_mappings,
            status_index,
        }
    }

    /// Every step (active or not), ordered by position.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Active steps ordered by position.
    pub fn active_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.active)
    }

    pub fn step(&self, id: i64) -> Option<&Step> {
        self.step_index.get(&id).map(|&i| &self.steps[i])
    }

    pub fn issue_type_mappings(&self) -> &[IssueTypeMapping] {
        &self.issue_type_mappings
    }

    pub fn status_mappings(&self) -> &[StatusMapping] {
        &self.status_mappings
    }

    /// The issue-type mapping for a Jira type name, active or not (case-insensitive).
    pub fn issue_type_mapping_any(&self, jira_type_name: &str) -> Option<&IssueTypeMapping> {
        self.issue_type_by_name
            .get(&name_key(jira_type_name))
            .map(|&i| &self.issue_type_mappings[i])
    }

    /// The active issue-type mapping for a Jira type name (case-insensitive).
    pub fn issue_type_mapping(&self, jira_type_name: &str) -> Option<&IssueTypeMapping> {
        self.issue_type_mapping_any(jira_type_name).filter(|t| t.active)
    }

    /// Whether a status has any mapping (for any type, active or not).
    pub fn is_status_mapped(&self, status_name: &str) -> bool {
        let key = name_key(status_name);
        self.status_mappings.iter().any(|m| name_key(&m.status_from) == key)
    }

    /// The mapping that governs a status for an issue type: the one for (status, the type's
    /// mapping), else the type-less one.
    pub fn status_mapping(&self, status_name: &str, jira_type_name: &str) -> Option<&StatusMapping> {
        let key = name_key(status_name);
        let per_type = self
            .issue_type_mapping_any(jira_type_name)
            .and_then(|t| self.status_index.get(&(key.clone(), Some(t.id))));
        per_type
            .or_else(|| self.status_index.get(&(key, None)))
            .map(|&i| &self.status_mappings[i])
    }

    /// Resolves an issue's status to a flow step (DESIGN §9).
    ///
    /// `status_category_key` is Jira's category of the status (`new`, `indeterminate`, `done`),
    /// used only when the status is unmapped. An issue whose type has a mapping that is inactive
    /// is excluded; an issue whose type has no mapping at all still resolves through the
    /// type-less mappings (its type is reported as unmapped instead).
    pub fn resolve(
        &self,
        status_name: &str,
        jira_type_name: &str,
        status_category_key: Option<&str>,
    ) -> Resolution<'_> {
        if self.issue_type_mapping_any(jira_type_name).is_some_and(|t| !t.active) {
            return Resolution::Excluded(Excluded::TypeMappingInactive);
        }
        let Some(mapping) = self.status_mapping(status_name, jira_type_name) else {
            return Resolution::Unmapped {
                fallback: status_category_key.and_then(StepCategory::from_jira_category),
            };
        };
        if !mapping.active {
            return Resolution::Excluded(Excluded::StatusMappingInactive);
        }
        match self.step(mapping.flow_step_id) {
            Some(step) if step.active => Resolution::Step { step, mapping },
            _ => Resolution::Excluded(Excluded::StepInactive),
        }
    }

    /// The marked commitment point, if an active step is marked.
    pub fn commitment_point(&self) -> Option<&Step> {
        self.active_steps().find(|s| s.is_commitment_point)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: i64, name: &str, position: i32, category: StepCategory) -> Step {
        Step {
            id,
            name: name.into(),
            position,
            category,
            is_commitment_point: false,
            active: true,
        }
    }

    fn ty(id: i64, from: &str, category: WorkCategory) -> IssueTypeMapping {
        IssueTypeMapping {
            id,
            issuetype_from: from.into(),
            issuetype_to: from.into(),
            work_category: category,
            hierarchy_level: 0,
            active: true,
        }
    }

    fn map(id: i64, from: &str, step: i64, ty: Option<i64>) -> StatusMapping {
        StatusMapping {
            id,
            status_from: from.into(),
            flow_step_id: step,
            issue_type_mapping_id: ty,
            active: true,
        }
    }

    fn resolver() -> FlowResolver {
        FlowResolver::new(
            vec![
                step(3, "Done", 30, StepCategory::Done),
                step(1, "To Do", 10, StepCategory::ToDo),
                step(2, "In Progress", 20, StepCategory::InProgress),
                step(4, "QA", 25, StepCategory::InProgress),
            ],
            vec![ty(10, "Story", WorkCategory::Feature), ty(11, "Bug", WorkCategory::Bug)],
            vec![
                map(100, "To Do", 1, None),
                map(101, "In Progress", 2, None),
                map(102, "Resolved", 3, None),
                map(103, "resolved", 4, Some(11)),
            ],
        )
    }

    fn step_name<'a>(r: &Resolution<'a>) -> Option<&'a str> {
        r.step().map(|s| s.name.as_str())
    }

    #[test]
    fn categories_round_trip_their_database_strings() {
        for c in StepCategory::ALL {
            assert_eq!(StepCategory::parse(c.as_str()), Some(c));
        }
        for c in WorkCategory::ALL {
            assert_eq!(WorkCategory::parse(c.as_str()), Some(c));
        }
        assert_eq!(StepCategory::parse_loose("in_progress"), Some(StepCategory::InProgress));
        assert_eq!(StepCategory::parse_loose("DOING"), None);
        assert_eq!(WorkCategory::parse_loose("incident"), Some(WorkCategory::Incident));
    }

    #[test]
    fn steps_are_ordered_by_position() {
        let names: Vec<_> = resolver().steps().iter().map(|s| s.name.clone()).collect();
        assert_eq!(names, ["To Do", "In Progress", "QA", "Done"]);
    }

    #[test]
    fn statuses_and_types_match_case_insensitively() {
        let r = resolver();
        assert_eq!(step_name(&r.resolve("IN PROGRESS", "story", None)), Some("In Progress"));
        assert_eq!(
            step_name(&r.resolve(" in progress ", "STORY", None)),
            Some("In Progress")
        );
        assert_eq!(r.issue_type_mapping("BUG").map(|t| t.id), Some(11));
    }

    #[test]
    fn a_per_type_mapping_wins_over_the_type_less_one() {
        let r = resolver();
        assert_eq!(step_name(&r.resolve("Resolved", "Bug", None)), Some("QA"));
        assert_eq!(step_name(&r.resolve("RESOLVED", "bug", None)), Some("QA"));
        assert_eq!(step_name(&r.resolve("Resolved", "Story", None)), Some("Done"));
    }

    #[test]
    fn an_unmapped_type_uses_the_type_less_mappings() {
        let r = resolver();
        assert!(r.issue_type_mapping("Spike").is_none());
        assert_eq!(step_name(&r.resolve("Resolved", "Spike", None)), Some("Done"));
    }

    #[test]
    fn an_unmapped_status_falls_back_to_the_jira_category() {
        let r = resolver();
        for (key, expected) in [
            ("new", Some(StepCategory::ToDo)),
            ("indeterminate", Some(StepCategory::InProgress)),
            ("done", Some(StepCategory::Done)),
            ("DONE", Some(StepCategory::Done)),
            ("undefined", None),
        ] {
            let res = r.resolve("Nowhere", "Story", Some(key));
            assert_eq!(res, Resolution::Unmapped { fallback: expected }, "{key}");
            assert_eq!(res.category(), expected);
        }
        assert_eq!(
            r.resolve("Nowhere", "Story", None),
            Resolution::Unmapped { fallback: None }
        );
        assert!(r.is_status_mapped("to do"));
        assert!(!r.is_status_mapped("Nowhere"));
    }

    #[test]
    fn an_inactive_issue_type_mapping_excludes_its_issues() {
        let mut types = vec![ty(10, "Story", WorkCategory::Feature)];
        types[0].active = false;
        let r = FlowResolver::new(
            vec![step(1, "To Do", 1, StepCategory::ToDo)],
            types,
            vec![map(1, "To Do", 1, None)],
        );
        assert_eq!(
            r.resolve("To Do", "story", None),
            Resolution::Excluded(Excluded::TypeMappingInactive)
        );
        assert!(
            r.issue_type_mapping("Story").is_none(),
            "issue_type_mapping returns active rows only"
        );
        assert!(r.issue_type_mapping_any("Story").is_some());
    }

    #[test]
    fn an_inactive_status_mapping_excludes_its_issues_even_with_a_type_less_one() {
        let mut per_type = map(2, "To Do", 1, Some(10));
        per_type.active = false;
        let mut typeless = map(3, "Blocked", 1, None);
        typeless.active = false;
        let r = FlowResolver::new(
            vec![step(1, "To Do", 1, StepCategory::ToDo)],
            vec![ty(10, "Story", WorkCategory::Feature)],
            vec![map(1, "To Do", 1, None), per_type, typeless],
        );
        assert_eq!(
            r.resolve("To Do", "Story", None),
            Resolution::Excluded(Excluded::StatusMappingInactive)
        );
        assert_eq!(step_name(&r.resolve("To Do", "Bug", None)), Some("To Do"));
        assert_eq!(
            r.resolve("blocked", "Bug", Some("indeterminate")),
            Resolution::Excluded(Excluded::StatusMappingInactive)
        );
    }

    #[test]
    fn an_inactive_step_excludes_its_issues() {
        let mut s = step(1, "To Do", 1, StepCategory::ToDo);
        s.active = false;
        let r = FlowResolver::new(vec![s], vec![], vec![map(1, "To Do", 1, None)]);
        assert_eq!(
            r.resolve("To Do", "Story", Some("new")),
            Resolution::Excluded(Excluded::StepInactive)
        );
        assert_eq!(r.active_steps().count(), 0);
    }

    #[test]
    fn the_commitment_point_is_an_active_marked_step() {
        let mut marked = step(2, "Selected", 2, StepCategory::ToDo);
        marked.is_commitment_point = true;
        let r = FlowResolver::new(vec![step(1, "To Do", 1, StepCategory::ToDo), marked], vec![], vec![]);
        assert_eq!(r.commitment_point().map(|s| s.id), Some(2));
        assert!(FlowResolver::default().commitment_point().is_none());
    }
}
