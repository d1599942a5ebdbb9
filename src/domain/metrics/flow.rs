//! Flow times of one issue (DESIGN §9) from its status history, once each status is resolved
//! to a flow step (or to a fallback category when unmapped).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use crate::domain::flow::StepCategory as Category;

/// Where a status lands: a step, or only a category when unmapped.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    /// Step id, name and position; `None` for an unmapped status.
    pub step: Option<(i64, String, i32)>,
    pub category: Category,
    pub is_commitment_point: bool,
}

impl Place {
    /// Key under which time in this place is reported.
    pub fn key(&self) -> String {
        match &self.step {
            Some((_, name, _)) => name.clone(),
            None => format!("(unmapped {})", self.category.as_str()),
        }
    }
}

/// An entry into a place: when, the step's name (`None`: an unmapped status) and its category.
/// An issue's entries in time order, from its creation, are its timeline: where it stood at any
/// instant (aging work in progress as of then, the cumulative flow diagram).
#[derive(Clone, Debug, PartialEq)]
pub struct Stay {
    /// When, in epoch milliseconds (compared and subtracted for every issue on every view).
    pub at_ms: i64,
    pub step: Option<Arc<str>>,
    pub category: Category,
}

impl Stay {
    fn of(at: DateTime<Utc>, p: &Place) -> Self {
        Self {
            at_ms: at.timestamp_millis(),
            step: p.step.as_ref().map(|s| Arc::from(s.1.as_str())),
            category: p.category,
        }
    }

    /// When it began.
    pub fn at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.at_ms).unwrap_or_default()
    }

    /// Where it stands, as [`Place::key`] names it.
    pub fn key(&self) -> String {
        match &self.step {
            Some(name) => name.to_string(),
            None => format!("(unmapped {})", self.category.as_str()),
        }
    }

    fn same_place(&self, other: &Stay) -> bool {
        self.step == other.step && self.category == other.category
    }
}

/// What is known about one issue's flow, from which every flow metric is computed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IssueFlow {
    /// Start of the cycle: first entry into an IN_PROGRESS step, or into the commitment point
    /// (or a step after it) when one is marked.
    pub started_at: Option<DateTime<Utc>>,
    /// First entry into a DONE step.
    pub done_at: Option<DateTime<Utc>>,
    /// Hours in each place over closed intervals; the open one is `current` since `current_since`.
    pub closed_hours: BTreeMap<String, f64>,
    pub in_progress_hours: f64,
    pub waiting_hours: f64,
    /// Moves to a step positioned earlier than the one left.
    pub rework: i32,
    pub current: Option<Place>,
    pub current_since: Option<DateTime<Utc>>,
    /// Each entry into a different place, from creation (a move between two statuses of the
    /// same place is no entry).
    pub timeline: Vec<Stay>,
}

/// Walks the history: the issue sits in `initial` from `created`, then each move (time order)
/// puts it in a new place. `commitment` is the position of the commitment step, if one is marked.
pub fn issue_flow(
    created: DateTime<Utc>,
    initial: Place,
    moves: &[(DateTime<Utc>, Place)],
    commitment: Option<i32>,
) -> IssueFlow {
    let mut f = IssueFlow::default();
    let starts = |p: &Place| match commitment {
        Some(c) => p.step.as_ref().is_some_and(|s| s.2 >= c) && p.category != Category::Discarded,
        None => p.category == Category::InProgress,
    };
    let enter = |f: &mut IssueFlow, at: DateTime<Utc>, p: &Place| {
        if f.started_at.is_none() && starts(p) {
            f.started_at = Some(at);
        }
        if f.done_at.is_none() && p.category == Category::Done {
            f.done_at = Some(at);
        }
    };
    enter(&mut f, created, &initial);
    f.timeline.push(Stay::of(created, &initial));
    let (mut here, mut since) = (initial, created);
    for (at, next) in moves {
        let at = (*at).max(since);
        let h = (at - since).num_milliseconds() as f64 / 3_600_000.0;
        *f.closed_hours.entry(here.key()).or_default() += h;
        match here.category {
            Category::InProgress => f.in_progress_hours += h,
            Category::Waiting => f.waiting_hours += h,
            _ => {}
        }
        if let (Some(a), Some(b)) = (&here.step, &next.step)
            && b.2 < a.2
        {
            f.rework += 1;
        }
        enter(&mut f, at, next);
        let stay = Stay::of(at, next);
        if f.timeline.last().is_none_or(|l| !l.same_place(&stay)) {
            f.timeline.push(stay);
        }
        here = next.clone();
        since = at;
    }
    f.current = Some(here);
    f.current_since = Some(since);
    f
}

impl IssueFlow {
    /// Hours in the current place up to `now` (the open interval ends now).
    pub fn open_hours(&self, now: DateTime<Utc>) -> f64 {
        self.current_since
            .map(|s| ((now - s).num_milliseconds().max(0)) as f64 / 3_600_000.0)
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap()
    }
    fn step(id: i64, name: &str, pos: i32, cat: Category) -> Place {
        Place {
            step: Some((id, name.into(), pos)),
            category: cat,
            is_commitment_point: false,
        }
    }

    #[test]
    fn times_per_step_rework_and_first_entries() {
        let todo = step(1, "To do", 1, Category::ToDo);
        let dev = step(2, "Dev", 2, Category::InProgress);
        let review = step(3, "Review", 3, Category::Waiting);
        let done = step(4, "Done", 4, Category::Done);
        // 0 created in To do; 2 Dev; 5 Review; 6 back to Dev (rework); 8 Review; 9 Done.
        let moves = [
            (t(2), dev.clone()),
            (t(5), review.clone()),
            (t(6), dev.clone()),
            (t(8), review),
            (t(9), done),
        ];
        let f = issue_flow(t(0), todo, &moves, None);
        assert_eq!(f.started_at, Some(t(2)));
        assert_eq!(f.done_at, Some(t(9)));
        assert_eq!(f.closed_hours["To do"], 2.0);
        assert_eq!(f.closed_hours["Dev"], 5.0);
        assert_eq!(f.closed_hours["Review"], 2.0);
        assert_eq!((f.in_progress_hours, f.waiting_hours), (5.0, 2.0));
        assert_eq!(f.rework, 1);
        assert_eq!(f.current_since, Some(t(9)));
        assert_eq!(f.open_hours(t(12)), 3.0);
        let entries: Vec<(DateTime<Utc>, String)> = f.timeline.iter().map(|s| (s.at(), s.key())).collect();
        let names = ["To do", "Dev", "Review", "Dev", "Review", "Done"];
        let at = [0, 2, 5, 6, 8, 9];
        assert_eq!(
            entries,
            at.iter()
                .zip(names)
                .map(|(h, n)| (t(*h), n.to_string()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_timeline_skips_moves_within_one_place() {
        let dev = step(2, "Dev", 2, Category::InProgress);
        let f = issue_flow(t(0), dev.clone(), &[(t(1), dev.clone()), (t(3), dev)], None);
        assert_eq!(f.timeline.len(), 1);
        assert_eq!(f.timeline[0].at(), t(0));
    }

    #[test]
    fn the_commitment_point_starts_the_cycle_when_marked() {
        let todo = step(1, "To do", 1, Category::ToDo);
        let ready = step(2, "Ready", 2, Category::Waiting);
        let dev = step(3, "Dev", 3, Category::InProgress);
        let f = issue_flow(t(0), todo, &[(t(1), ready), (t(4), dev)], Some(2));
        assert_eq!(f.started_at, Some(t(1)));
    }

    #[test]
    fn unmapped_statuses_fall_back_to_their_category() {
        let open = Place {
            step: None,
            category: Category::InProgress,
            is_commitment_point: false,
        };
        let closed = Place {
            step: None,
            category: Category::Done,
            is_commitment_point: false,
        };
        let f = issue_flow(t(0), open, &[(t(3), closed)], None);
        assert_eq!(f.started_at, Some(t(0)));
        assert_eq!(f.done_at, Some(t(3)));
        assert_eq!(f.closed_hours["(unmapped IN_PROGRESS)"], 3.0);
        assert_eq!(f.rework, 0);
    }
}
