//! Deployment rework rate and the failure signals besides incidents (DESIGN §9): which pull
//! requests make a deployment rework, which revert fails a deployment, and the share of the
//! deployments in a window that a set of them makes up.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Window;
use crate::domain::integration::glob_match;

/// How a revert's title starts (GitHub's "Revert" button writes `Revert "<title>"`).
pub const REVERT_PREFIX: &str = "Revert \"";

/// The title a revert reverts: `Revert "Add cache"` → `Add cache`; `None` for other titles.
pub fn reverted_title(title: &str) -> Option<&str> {
    let rest = title.strip_prefix(REVERT_PREFIX)?;
    Some(rest.strip_suffix('"').unwrap_or(rest))
}

/// Why a shipped pull request makes its deployment rework.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReworkReason {
    /// It links to this INCIDENT-category issue.
    Incident { issue_id: i64 },
    /// Its title says it reverts another pull request.
    Revert,
    /// Its head branch matches the hotfix glob.
    Hotfix { branch: String },
}

/// The reasons a pull request is rework (several at once possible): `incidents` are the
/// INCIDENT-category issues it links to.
pub fn rework_reasons(title: &str, head_ref: &str, incidents: &[i64], hotfix_glob: &str) -> Vec<ReworkReason> {
    let mut out: Vec<ReworkReason> = incidents
        .iter()
        .map(|&issue_id| ReworkReason::Incident { issue_id })
        .collect();
    if reverted_title(title).is_some() {
        out.push(ReworkReason::Revert);
    }
    if glob_match(hotfix_glob, head_ref) {
        out.push(ReworkReason::Hotfix {
            branch: head_ref.to_string(),
        });
    }
    out
}

/// A merged pull request, for matching reverts with what they revert.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    pub id: i64,
    pub repository_id: i64,
    pub title: String,
    pub merged_at: DateTime<Utc>,
}

/// For each revert, the pull request it reverts among `candidates`: the one of the same
/// repository whose title is the quoted one, merged last before the revert (a title reused
/// later cannot be what an earlier revert undid). Pairs (reverted, revert).
pub fn reverted_by(candidates: &[Merged], reverts: &[Merged]) -> Vec<(i64, i64)> {
    reverts
        .iter()
        .filter_map(|r| {
            let title = reverted_title(&r.title)?;
            candidates
                .iter()
                .filter(|c| c.id != r.id && c.repository_id == r.repository_id)
                .filter(|c| c.title == title && c.merged_at < r.merged_at)
                .max_by_key(|c| (c.merged_at, c.id))
                .map(|c| (c.id, r.id))
        })
        .collect()
}

/// Of the deployments deployed in the window (id, deployed time), how many are in `marked`,
/// and how many there are; `None` when none was deployed.
pub fn share(
    deploys: impl IntoIterator<Item = (i64, DateTime<Utc>)>,
    marked: &HashSet<i64>,
    window: &Window,
) -> Option<(usize, usize)> {
    let inside: Vec<i64> = deploys
        .into_iter()
        .filter(|(_, at)| window.contains(*at))
        .map(|(id, _)| id)
        .collect();
    let n = inside.iter().filter(|id| marked.contains(id)).count();
    (!inside.is_empty()).then_some((n, inside.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
    }

    fn merged(id: i64, repo: i64, title: &str, at: DateTime<Utc>) -> Merged {
        Merged {
            id,
            repository_id: repo,
            title: title.into(),
            merged_at: at,
        }
    }

    #[test]
    fn a_pull_request_is_rework_for_each_reason_it_has() {
        assert_eq!(rework_reasons("Add cache", "feature/cache", &[], "hotfix*"), []);
        assert_eq!(
            rework_reasons("Revert \"Add cache\"", "HotFix/cache", &[7], "hotfix*"),
            [
                ReworkReason::Incident { issue_id: 7 },
                ReworkReason::Revert,
                ReworkReason::Hotfix {
                    branch: "HotFix/cache".into()
                }
            ]
        );
        // Only the GitHub form counts: a title that merely mentions reverting does not.
        assert_eq!(rework_reasons("revert the cache", "x", &[], "hotfix*"), []);
        assert_eq!(rework_reasons("x", "fix/login", &[], "*fix/*").len(), 1);
    }

    #[test]
    fn a_revert_undoes_the_latest_same_titled_merge_before_it_in_its_repository() {
        let candidates = [
            merged(1, 1, "Add cache", t(1, 0)),
            merged(2, 1, "Add cache", t(2, 0)),
            merged(3, 2, "Add cache", t(2, 1)),
            merged(4, 1, "Add cache", t(5, 0)),
        ];
        let reverts = [
            merged(10, 1, "Revert \"Add cache\"", t(3, 0)),
            merged(11, 1, "Revert \"Nothing like it\"", t(3, 0)),
        ];
        assert_eq!(reverted_by(&candidates, &reverts), [(2, 10)]);
        assert_eq!(
            reverted_title("Revert \"a \"quoted\" title\""),
            Some("a \"quoted\" title")
        );
    }

    #[test]
    fn share_counts_the_marked_deployments_in_the_window() {
        let w = Window::new(
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(),
        );
        let ds = [(1, t(2, 0)), (2, t(3, 0)), (3, t(9, 0))];
        let marked: HashSet<i64> = [1, 3].into();
        assert_eq!(share(ds, &marked, &w), Some((1, 2)));
        assert_eq!(share([(3, t(9, 0))], &marked, &w), None);
    }
}
