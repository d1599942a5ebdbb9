//! Splitting a project's sync into disjoint JQL slices that are paged side by side.
//!
//! A slice is a range of `created` (`created >= "from" AND created < "to"`, either bound open),
//! so every issue falls in exactly one slice whatever happens to it during the sync (an issue's
//! creation time never changes). The bounds are the JQL strings themselves, kept in the
//! checkpoint: a resumed slice runs the very same query. A project is split only on a full
//! sync (no watermark yet), by as many equal spans of time between its oldest issue and now as
//! its count (`approximate-count` on Cloud, `total` on Data Center) calls for.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Slices per stream the limiter allows: more slices than streams keep every slot busy while
/// the last, unevenly sized slices finish.
pub const SLICES_PER_STREAM: u64 = 2;
/// Never a slice smaller than this many issues (each slice's last page is a partial one: more,
/// smaller slices cost requests).
pub const DEFAULT_MIN_SLICE: u64 = 2_000;
static MIN_SLICE: AtomicU64 = AtomicU64::new(DEFAULT_MIN_SLICE);

/// Turns the smallest slice down (tests and benchmarks: slicing on a small dataset).
pub fn set_min_slice(issues: u64) {
    MIN_SLICE.store(issues.max(1), Ordering::Relaxed);
}

pub fn min_slice() -> u64 {
    MIN_SLICE.load(Ordering::Relaxed)
}

/// Where one slice stands.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SliceCursor {
    /// `created >= "…"` (inclusive), in the Jira user's time zone; None: from the first issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_from: Option<String>,
    /// `created < "…"` (exclusive); None: to the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<u64>,
    /// Largest `updated` stored by this slice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_updated: Option<DateTime<Utc>>,
    #[serde(default)]
    pub stored: u64,
    #[serde(default)]
    pub done: bool,
}

/// How many slices a project of `count` issues gets when the whole sync has `total` issues
/// and `streams` requests may be in flight.
pub fn slice_count(count: u64, total: u64, streams: u32) -> u64 {
    let target = (total / (SLICES_PER_STREAM * u64::from(streams.max(1)))).max(min_slice());
    count.div_ceil(target).max(1)
}

/// `n` slices covering everything: `n − 1` bounds at equal spans between `oldest` and `now`,
/// as minute strings in `zone`, sorted and distinct (so the ranges are disjoint even where a
/// time-zone change repeats a local hour).
pub fn slices(n: u64, oldest: DateTime<Utc>, now: DateTime<Utc>, zone: chrono_tz::Tz) -> Vec<SliceCursor> {
    let span = (now - oldest).num_seconds().max(0);
    let mut bounds: Vec<String> = (1..n)
        .map(|i| oldest + chrono::Duration::seconds(span * i as i64 / n as i64))
        .map(|t| t.with_timezone(&zone).format("%Y/%m/%d %H:%M").to_string())
        .collect();
    bounds.sort();
    bounds.dedup();
    let mut out = Vec::with_capacity(bounds.len() + 1);
    let mut from: Option<String> = None;
    for b in bounds {
        out.push(SliceCursor {
            created_from: from.take(),
            created_to: Some(b.clone()),
            ..Default::default()
        });
        from = Some(b);
    }
    out.push(SliceCursor {
        created_from: from,
        ..Default::default()
    });
    out
}

/// The JQL clauses of a slice's bounds (empty for an unbounded slice).
pub fn bounds_jql(s: &SliceCursor) -> String {
    let clean = |v: &str| v.replace(['"', '\\'], "");
    let mut out = String::new();
    if let Some(f) = &s.created_from {
        out.push_str(&format!(" AND created >= \"{}\"", clean(f)));
    }
    if let Some(t) = &s.created_to {
        out.push_str(&format!(" AND created < \"{}\"", clean(t)));
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn slices_cover_everything_once_with_sorted_bounds() {
        let oldest = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let s = slices(4, oldest, now, chrono_tz::Europe::Berlin);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].created_from, None);
        assert_eq!(s[3].created_to, None);
        for pair in s.windows(2) {
            assert_eq!(pair[0].created_to, pair[1].created_from, "adjacent, no gap, no overlap");
            assert!(pair[0].created_from < pair[1].created_from || pair[0].created_from.is_none());
        }
        // 2024-01-01 + 731 days / 4 = 2024-07-01 18:00 UTC = 20:00 in Berlin (summer time).
        assert_eq!(s[1].created_from.as_deref(), Some("2024/07/01 20:00"));
        assert_eq!(bounds_jql(&s[0]), " AND created < \"2024/07/01 20:00\"");
        let both = SliceCursor {
            created_from: Some("a\"b".into()),
            created_to: Some("c".into()),
            ..Default::default()
        };
        assert_eq!(bounds_jql(&both), " AND created >= \"ab\" AND created < \"c\"");
        // A span too short for distinct minutes collapses into fewer slices, never overlapping ones.
        let s = slices(8, now, now, chrono_tz::UTC);
        assert_eq!(s.len(), 2);
        assert_eq!(slices(1, oldest, now, chrono_tz::UTC), vec![SliceCursor::default()]);
    }

    #[test]
    fn slices_are_sized_for_the_streams_but_never_tiny() {
        set_min_slice(DEFAULT_MIN_SLICE);
        assert_eq!(slice_count(10_000, 100_000, 8), 2);
        assert_eq!(slice_count(1_000, 100_000, 8), 1);
        assert_eq!(slice_count(100_000, 100_000, 1), 2);
        assert_eq!(slice_count(100_000, 100_000, 32), 50);
        assert_eq!(slice_count(0, 0, 8), 1);
    }
}
