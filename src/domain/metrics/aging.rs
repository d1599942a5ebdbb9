//! Aging work in progress (DESIGN §9): where an issue stood at an instant T, replayed from its
//! timeline, and how old its work was then. Pure.

use chrono::{DateTime, Utc};

use super::flow::{Category, Stay};
use super::hours;

/// The percentile past which an item in progress is "at risk": older than 85 % of the items
/// completed in the window took from start to done.
pub const AT_RISK_PERCENTILE: u32 = 85;

/// The place the issue was in at `t`: its last entry at or before `t` (`None` before it was
/// created).
pub fn stay_at(timeline: &[Stay], t: DateTime<Utc>) -> Option<&Stay> {
    let t = t.timestamp_millis();
    let n = timeline.partition_point(|s| s.at_ms <= t);
    n.checked_sub(1).map(|i| &timeline[i])
}

/// When the issue's work started, as known at `t`: the cycle-time start (`started_at`, the
/// first entry into an IN_PROGRESS step or the commitment point) if it was before `t`, else its
/// first entry into a WAITING step before `t`, else its first entry into an IN_PROGRESS step
/// (in a flow with a commitment point, an IN_PROGRESS step before it does not start the cycle).
pub fn work_start(started_at: Option<DateTime<Utc>>, timeline: &[Stay], t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(s) = started_at.filter(|s| *s <= t) {
        return Some(s);
    }
    let t = t.timestamp_millis();
    let before = &timeline[..timeline.partition_point(|s| s.at_ms <= t)];
    let first = |c: Category| before.iter().find(|s| s.category == c).map(Stay::at);
    first(Category::Waiting).or_else(|| first(Category::InProgress))
}

/// An issue in progress at `t`: where it was and for how many hours its work had run.
#[derive(Clone, Debug, PartialEq)]
pub struct Aged<'a> {
    pub stay: &'a Stay,
    pub age_hours: f64,
}

/// The issue's place and age at `t` if it was in an IN_PROGRESS or WAITING place then.
pub fn aged_at(started_at: Option<DateTime<Utc>>, timeline: &[Stay], t: DateTime<Utc>) -> Option<Aged<'_>> {
    let stay = stay_at(timeline, t).filter(|s| matches!(s.category, Category::InProgress | Category::Waiting))?;
    let start = work_start(started_at, timeline, t)?;
    Some(Aged {
        stay,
        age_hours: hours(Some(start), Some(t))?,
    })
}

/// Whether an item this old is at risk against the p85 of completed items (never, when nothing
/// was completed to compare with).
pub fn at_risk(age_hours: f64, p85: Option<f64>) -> bool {
    p85.is_some_and(|p| age_hours > p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::sync::Arc;

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
    }
    fn stay(at: DateTime<Utc>, step: &str, category: Category) -> Stay {
        Stay {
            at_ms: at.timestamp_millis(),
            step: Some(Arc::from(step)),
            category,
        }
    }

    /// Created on the 1st in To do, Dev on the 2nd, Review on the 4th, Done on the 6th.
    fn timeline() -> Vec<Stay> {
        vec![
            stay(t(1, 0), "To do", Category::ToDo),
            stay(t(2, 0), "Dev", Category::InProgress),
            stay(t(4, 0), "Review", Category::Waiting),
            stay(t(6, 0), "Done", Category::Done),
        ]
    }

    #[test]
    fn an_issue_done_now_was_in_progress_then_and_its_age_counts_from_its_start() {
        let tl = timeline();
        let started = Some(t(2, 0));
        assert_eq!(stay_at(&tl, t(1, 0)).unwrap().key(), "To do");
        assert!(stay_at(&tl, t(1, 0) - chrono::Duration::hours(1)).is_none());
        assert!(aged_at(started, &tl, t(1, 12)).is_none(), "not started yet");
        let a = aged_at(started, &tl, t(3, 12)).unwrap();
        assert_eq!((a.stay.key(), a.age_hours), ("Dev".to_string(), 36.0));
        let a = aged_at(started, &tl, t(5, 0)).unwrap();
        assert_eq!((a.stay.key(), a.age_hours), ("Review".to_string(), 72.0));
        assert!(aged_at(started, &tl, t(6, 0)).is_none(), "done at that instant");
    }

    #[test]
    fn without_a_start_before_t_the_age_counts_from_the_first_waiting_entry() {
        // Waiting (Ready) before any work started; the cycle starts on the 5th.
        let tl = vec![
            stay(t(1, 0), "To do", Category::ToDo),
            stay(t(2, 0), "Ready", Category::Waiting),
            stay(t(5, 0), "Dev", Category::InProgress),
        ];
        let a = aged_at(Some(t(5, 0)), &tl, t(3, 0)).unwrap();
        assert_eq!((a.stay.key(), a.age_hours), ("Ready".to_string(), 24.0));
        assert_eq!(aged_at(Some(t(5, 0)), &tl, t(6, 0)).unwrap().age_hours, 24.0);
    }

    #[test]
    fn older_than_p85_is_at_risk() {
        assert!(at_risk(44.5, Some(44.4)));
        assert!(!at_risk(44.4, Some(44.4)));
        assert!(!at_risk(1e6, None));
    }
}
