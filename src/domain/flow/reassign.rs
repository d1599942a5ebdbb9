//! Guided delete-and-reassign (DESIGN §9): which targets may take over an item's dependents,
//! and whether a set of removals with their targets is sound (no self, no inactive or missing
//! target, no loop, nothing left without a home).

use std::collections::{HashMap, HashSet};

use super::FlowResolver;

/// One item of the kind being removed (a step or an issue-type mapping).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub name: String,
    pub active: bool,
    /// How many rows reference it and must move (status mappings).
    pub dependents: u64,
}

/// Remove `id`, moving its dependents to `reassign_to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removal {
    pub id: i64,
    pub reassign_to: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReassignError {
    #[error("no item with id {0}")]
    NotFound(i64),
    #[error("{0} is listed twice")]
    Duplicate(String),
    #[error("{name} has {dependents} dependent mapping(s); choose where they go")]
    TargetRequired { name: String, dependents: u64 },
    #[error("{0} cannot take over its own mappings")]
    TargetIsItself(String),
    #[error("the target of {name} (id {target}) does not exist")]
    TargetMissing { name: String, target: i64 },
    #[error("{name} cannot move its mappings to {target}: it is inactive")]
    TargetInactive { name: String, target: String },
    #[error("{name} cannot move its mappings to {target}: it is being removed too and has no target")]
    TargetRemoved { name: String, target: String },
    #[error("these reassignments form a loop: {}", .0.join(" → "))]
    Loop(Vec<String>),
}

/// Active items that may receive dependents: never one being removed, never an inactive one.
pub fn candidates<'a>(items: &'a [Item], removing: &[i64]) -> impl Iterator<Item = &'a Item> {
    items.iter().filter(move |i| i.active && !removing.contains(&i.id))
}

/// Checks a set of removals and returns, for each, the item that finally receives its
/// dependents (a target that is itself being removed passes them on along its own target; a
/// chain that comes back on itself is a loop). `None` means it had nothing to move and no target.
pub fn plan(items: &[Item], removals: &[Removal]) -> Result<Vec<(i64, Option<i64>)>, ReassignError> {
    let by_id: HashMap<i64, &Item> = items.iter().map(|i| (i.id, i)).collect();
    let mut removed: HashMap<i64, Option<i64>> = HashMap::new();
    for r in removals {
        let item = by_id.get(&r.id).ok_or(ReassignError::NotFound(r.id))?;
        if removed.insert(r.id, r.reassign_to).is_some() {
            return Err(ReassignError::Duplicate(item.name.clone()));
        }
    }
    let name = |id: i64| by_id.get(&id).map_or_else(|| format!("id {id}"), |i| i.name.clone());
    let mut out = Vec::with_capacity(removals.len());
    for r in removals {
        let item = by_id[&r.id];
        let Some(first) = r.reassign_to else {
            if item.dependents > 0 {
                return Err(ReassignError::TargetRequired {
                    name: item.name.clone(),
                    dependents: item.dependents,
                });
            }
            out.push((r.id, None));
            continue;
        };
        if first == r.id {
            return Err(ReassignError::TargetIsItself(item.name.clone()));
        }
        let mut path = vec![r.id];
        let mut seen: HashSet<i64> = HashSet::from([r.id]);
        let mut target = first;
        while let Some(next) = removed.get(&target) {
            path.push(target);
            if !seen.insert(target) {
                return Err(ReassignError::Loop(path.into_iter().map(name).collect()));
            }
            match next {
                Some(n) if seen.contains(n) => {
                    path.push(*n);
                    return Err(ReassignError::Loop(path.into_iter().map(name).collect()));
                }
                Some(n) => target = *n,
                None => {
                    return Err(ReassignError::TargetRemoved {
                        name: item.name.clone(),
                        target: name(target),
                    });
                }
            }
        }
        let t = by_id.get(&target).ok_or(ReassignError::TargetMissing {
            name: item.name.clone(),
            target,
        })?;
        if !t.active {
            return Err(ReassignError::TargetInactive {
                name: item.name.clone(),
                target: t.name.clone(),
            });
        }
        out.push((r.id, Some(target)));
    }
    Ok(out)
}

/// Refuses removing (deleting or deactivating) steps when a category that status mappings use
/// would be left without an active step: metrics are defined on categories (lead time needs a
/// DONE step), so the mappings would have nowhere sensible to go.
pub fn check_categories(cfg: &FlowResolver, removing: &[i64]) -> Result<(), String> {
    for id in removing {
        let Some(step) = cfg.step(*id) else { continue };
        let users = cfg.status_mappings().iter().filter(|m| m.flow_step_id == *id).count();
        if users == 0 {
            continue;
        }
        let remains = cfg
            .active_steps()
            .any(|s| s.category == step.category && !removing.contains(&s.id));
        if !remains {
            return Err(format!(
                "{} is the last active {} step and {users} status mapping(s) need one; add or activate another {} step first",
                step.name,
                step.category.title(),
                step.category.title()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, name: &str, active: bool, dependents: u64) -> Item {
        Item {
            id,
            name: name.into(),
            active,
            dependents,
        }
    }

    fn items() -> Vec<Item> {
        vec![
            item(1, "To Do", true, 2),
            item(2, "Doing", true, 3),
            item(3, "Done", true, 1),
            item(4, "Old", false, 0),
            item(5, "Empty", true, 0),
        ]
    }

    fn rm(id: i64, to: Option<i64>) -> Removal {
        Removal { id, reassign_to: to }
    }

    #[test]
    fn the_last_active_step_of_a_category_that_mappings_use_cannot_go() {
        use crate::domain::flow::{StatusMapping, Step, StepCategory};
        let step = |id, name: &str, category| Step {
            id,
            name: name.into(),
            position: 0,
            category,
            is_commitment_point: false,
            active: true,
        };
        let cfg = FlowResolver::new(
            vec![
                step(1, "Done", StepCategory::Done),
                step(2, "Shipped", StepCategory::Done),
                step(3, "Doing", StepCategory::InProgress),
            ],
            vec![],
            vec![StatusMapping {
                id: 1,
                status_from: "Closed".into(),
                flow_step_id: 1,
                issue_type_mapping_id: None,
                active: true,
            }],
        );
        assert_eq!(check_categories(&cfg, &[1]), Ok(()), "Shipped is still DONE");
        let err = check_categories(&cfg, &[1, 2]).unwrap_err();
        assert!(err.contains("last active Done step"), "{err}");
        assert_eq!(check_categories(&cfg, &[3]), Ok(()), "no mapping uses Doing");
    }

    #[test]
    fn candidates_exclude_inactive_items_and_those_being_removed() {
        let ids: Vec<i64> = candidates(&items(), &[2]).map(|i| i.id).collect();
        assert_eq!(ids, [1, 3, 5]);
    }

    #[test]
    fn a_simple_reassignment_lands_on_its_target() {
        assert_eq!(plan(&items(), &[rm(2, Some(1))]), Ok(vec![(2, Some(1))]));
    }

    #[test]
    fn an_item_without_dependents_needs_no_target() {
        assert_eq!(plan(&items(), &[rm(5, None)]), Ok(vec![(5, None)]));
        assert_eq!(
            plan(&items(), &[rm(2, None)]),
            Err(ReassignError::TargetRequired {
                name: "Doing".into(),
                dependents: 3
            })
        );
    }

    #[test]
    fn the_target_is_never_the_item_itself_nor_inactive_nor_missing() {
        assert_eq!(
            plan(&items(), &[rm(2, Some(2))]),
            Err(ReassignError::TargetIsItself("Doing".into()))
        );
        assert!(matches!(
            plan(&items(), &[rm(2, Some(4))]),
            Err(ReassignError::TargetInactive { .. })
        ));
        assert!(matches!(
            plan(&items(), &[rm(2, Some(99))]),
            Err(ReassignError::TargetMissing { target: 99, .. })
        ));
        assert_eq!(plan(&items(), &[rm(99, None)]), Err(ReassignError::NotFound(99)));
    }

    #[test]
    fn a_chain_through_removed_items_ends_at_a_surviving_one() {
        assert_eq!(
            plan(&items(), &[rm(1, Some(2)), rm(2, Some(3))]),
            Ok(vec![(1, Some(3)), (2, Some(3))])
        );
    }

    #[test]
    fn loops_are_refused_and_named() {
        let err = plan(&items(), &[rm(1, Some(2)), rm(2, Some(1))]).unwrap_err();
        assert_eq!(
            err,
            ReassignError::Loop(vec!["To Do".into(), "Doing".into(), "To Do".into()])
        );
        let err = plan(&items(), &[rm(1, Some(2)), rm(2, Some(3)), rm(3, Some(1))]).unwrap_err();
        assert!(matches!(err, ReassignError::Loop(ref p) if p.len() == 4), "{err}");
    }

    #[test]
    fn a_target_being_removed_without_a_target_of_its_own_is_refused() {
        assert!(matches!(
            plan(&items(), &[rm(1, Some(5)), rm(5, None)]),
            Err(ReassignError::TargetRemoved { .. })
        ));
        assert_eq!(
            plan(&items(), &[rm(1, Some(3)), rm(1, Some(3))]),
            Err(ReassignError::Duplicate("To Do".into()))
        );
    }
}
