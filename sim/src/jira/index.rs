//! Search results, sorted once per query and dataset state, so that paging is a binary search
//! instead of a scan of every issue per page (the scan chases each issue's heap strings and
//! dominated the cost of a page with 100k issues).
//!
//! A result list is keyed by the compiled query (names already resolved to ids, dates to
//! instants) and valid for one dataset *fingerprint*: a fast hash of the inline parts of
//! every field a query can read (string pointers and lengths, dates, options). Replacing a
//! field, adding or removing issues, or installing another dataset changes it; editing a
//! string's bytes in place would not (nothing in the simulator does that).

use std::sync::{Arc, Mutex};

use super::jql::Query;
use crate::model::JiraIssue;

/// Distinct queries remembered per dataset state.
const MAX_ENTRIES: usize = 16;

#[derive(Default)]
pub struct SearchCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    fingerprint: u64,
    /// Most recently used first.
    entries: Vec<(String, Arc<Vec<u32>>)>,
}

impl SearchCache {
    /// Indices into `issues` of the matches of `query`, in result order.
    pub fn sorted_matches(&self, issues: &[JiraIssue], query: &Query) -> Arc<Vec<u32>> {
        let fp = fingerprint(issues);
        let key = format!("{query:?}");
        {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if inner.fingerprint != fp {
                inner.fingerprint = fp;
                inner.entries.clear();
            }
            if let Some(pos) = inner.entries.iter().position(|(k, _)| *k == key) {
                let entry = inner.entries.remove(pos);
                let hit = entry.1.clone();
                inner.entries.insert(0, entry);
                return hit;
            }
        }
        let fresh = Arc::new(sorted_matches(issues, query));
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.fingerprint == fp {
            inner.entries.insert(0, (key, fresh.clone()));
            inner.entries.truncate(MAX_ENTRIES);
        }
        fresh
    }
}

/// Filter and sort without a cache.
pub fn sorted_matches(issues: &[JiraIssue], query: &Query) -> Vec<u32> {
    let mut hits: Vec<u32> = issues
        .iter()
        .enumerate()
        .filter(|(_, i)| query.matches(i))
        .map(|(n, _)| n as u32)
        .collect();
    hits.sort_unstable_by(|&a, &b| query.cmp(&issues[a as usize], &issues[b as usize]));
    hits
}

/// A fast hash of what queries read, without following any pointer.
pub fn fingerprint(issues: &[JiraIssue]) -> u64 {
    #[inline]
    fn mix(h: u64, w: u64) -> u64 {
        (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95)
    }
    fn s(x: &str) -> u64 {
        (x.as_ptr() as u64) ^ ((x.len() as u64) << 48)
    }
    fn t(x: &chrono::DateTime<chrono::Utc>) -> u64 {
        x.timestamp_nanos_opt().unwrap_or(i64::MIN) as u64
    }
    let mut h = mix(issues.as_ptr() as u64, issues.len() as u64);
    for i in issues {
        for w in [
            s(&i.id),
            s(&i.key),
            s(&i.project_id),
            s(&i.status_id),
            s(&i.issue_type_id),
            i.parent_id.as_deref().map_or(1, s),
            i.assignee.map_or(u64::MAX, |a| a as u64),
            i.reporter.map_or(u64::MAX - 1, |a| a as u64),
            t(&i.created),
            t(&i.updated),
            i.resolved.as_ref().map_or(1, t),
        ] {
            h = mix(h, w);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::jira::jql::{Env, compile};
    use crate::model::{JiraData, JiraProject};

    fn data() -> JiraData {
        let t = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        JiraData {
            projects: vec![JiraProject {
                id: "1".into(),
                key: "A".into(),
                name: "A".into(),
            }],
            issues: (0..50)
                .map(|n| JiraIssue {
                    id: format!("{}", 100 + n),
                    key: format!("A-{n}"),
                    project_id: if n % 2 == 0 { "1" } else { "2" }.into(),
                    issue_type_id: "1".into(),
                    status_id: "1".into(),
                    summary: String::new(),
                    priority: None,
                    assignee: None,
                    reporter: None,
                    created: t + chrono::Duration::minutes(n),
                    updated: t + chrono::Duration::minutes((n * 7) % 13),
                    resolved: None,
                    story_points: None,
                    parent_id: None,
                    changelog: Vec::new(),
                })
                .collect(),
            ..JiraData::default()
        }
    }

    #[test]
    fn cached_results_equal_fresh_ones_and_follow_changes() {
        let mut d = data();
        let env = Env {
            data: &d,
            tz: chrono_tz::Tz::UTC,
            now: chrono::Utc::now(),
            current_user: None,
        };
        let q = compile("project = A ORDER BY updated DESC", &env).unwrap();
        let cache = SearchCache::default();
        let first = cache.sorted_matches(&d.issues, &q);
        assert_eq!(*first, sorted_matches(&d.issues, &q));
        assert_eq!(first.len(), 25);
        assert!(Arc::ptr_eq(&first, &cache.sorted_matches(&d.issues, &q)));

        let fp = fingerprint(&d.issues);
        d.issues[1].project_id = "1".into();
        assert_ne!(fingerprint(&d.issues), fp);
        let second = cache.sorted_matches(&d.issues, &q);
        assert_eq!(second.len(), 26);
        assert_eq!(*second, sorted_matches(&d.issues, &q));

        let fp = fingerprint(&d.issues);
        d.issues[2].updated += chrono::Duration::days(1);
        assert_ne!(fingerprint(&d.issues), fp);
        assert_eq!(cache.sorted_matches(&d.issues, &q)[0], 2);
    }
}
