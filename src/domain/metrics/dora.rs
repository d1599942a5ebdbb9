//! DORA rules (DESIGN §9): which deployment ships a merge, which deployment an incident
//! follows, and the four key metrics over a window.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Window, hours, median, per_week};

/// A successful production deployment: `deployed_at` is when its status first became success.
#[derive(Clone, Debug, PartialEq)]
pub struct Deploy {
    pub id: i64,
    pub repository_id: i64,
    pub created: DateTime<Utc>,
    pub deployed_at: DateTime<Utc>,
}

/// The first deployment created after the merge. `by_created` holds one repository's
/// deployments sorted by creation time.
pub fn deployment_after(by_created: &[Deploy], merged_at: DateTime<Utc>) -> Option<&Deploy> {
    let i = by_created.partition_point(|d| d.created <= merged_at);
    by_created.get(i)
}

/// The latest deployment deployed strictly before the incident was created. `by_deployed`
/// is sorted by deployed time.
pub fn deployment_before(by_deployed: &[Deploy], incident_created: DateTime<Utc>) -> Option<&Deploy> {
    let i = by_deployed.partition_point(|d| d.deployed_at < incident_created);
    i.checked_sub(1).map(|i| &by_deployed[i])
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Frequency {
    pub deployments: usize,
    pub per_day: f64,
    pub per_week: f64,
    pub deployment_days_per_week: f64,
}

/// Deployments deployed in the window, per day and per week, and distinct deployment days
/// (UTC) per week.
pub fn frequency(deploys: &[Deploy], window: &Window) -> Frequency {
    let inside: Vec<&Deploy> = deploys.iter().filter(|d| window.contains(d.deployed_at)).collect();
    let days: BTreeSet<_> = inside.iter().map(|d| d.deployed_at.date_naive()).collect();
    Frequency {
        deployments: inside.len(),
        per_day: inside.len() as f64 / window.days() as f64,
        per_week: per_week(inside.len(), window),
        deployment_days_per_week: per_week(days.len(), window),
    }
}

/// The deployments an incident follows: each incident's [`deployment_before`] among `deploys`.
pub fn incident_failures(deploys: &[Deploy], incidents: &[DateTime<Utc>]) -> HashSet<i64> {
    let mut by_deployed = deploys.to_vec();
    by_deployed.sort_by_key(|d| (d.deployed_at, d.id));
    incidents
        .iter()
        .filter_map(|at| deployment_before(&by_deployed, *at))
        .map(|d| d.id)
        .collect()
}

/// Change failure rate: deployments in the window with at least one incident linked to them,
/// over the deployments in the window. `None` when nothing was deployed.
pub fn failure_rate(deploys: &[Deploy], incidents: &[DateTime<Utc>], window: &Window) -> Option<(usize, usize)> {
    let failed = incident_failures(deploys, incidents);
    super::rework::share(deploys.iter().map(|d| (d.id, d.deployed_at)), &failed, window)
}

/// Median hours from created to the first DONE entry, over incidents created in the window
/// and resolved.
pub fn time_to_restore(incidents: &[(DateTime<Utc>, Option<DateTime<Utc>>)], window: &Window) -> (usize, Option<f64>) {
    let spans: Vec<f64> = incidents
        .iter()
        .filter(|(created, _)| window.contains(*created))
        .filter_map(|(created, done)| hours(Some(*created), *done))
        .collect();
    (spans.len(), median(&spans))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
    }
    fn dep(id: i64, created: DateTime<Utc>, deployed: DateTime<Utc>) -> Deploy {
        Deploy {
            id,
            repository_id: 1,
            created,
            deployed_at: deployed,
        }
    }
    fn march(from: u32, to: u32) -> Window {
        Window::new(
            NaiveDate::from_ymd_opt(2026, 3, from).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, to).unwrap(),
        )
    }

    #[test]
    fn a_merge_ships_with_the_first_deployment_created_after_it() {
        let ds = vec![
            dep(1, t(2, 10), t(2, 11)),
            dep(2, t(2, 12), t(2, 20)),
            dep(3, t(3, 9), t(3, 10)),
        ];
        // Created exactly at the merge does not count: it cannot contain it.
        assert_eq!(deployment_after(&ds, t(2, 10)).map(|d| d.id), Some(2));
        assert_eq!(deployment_after(&ds, t(2, 13)).map(|d| d.id), Some(3));
        assert_eq!(deployment_after(&ds, t(4, 0)), None);
    }

    #[test]
    fn an_incident_follows_the_latest_deployment_deployed_strictly_before_it() {
        // Deployment 2 was created later but deployed earlier than 1.
        let mut ds = vec![dep(1, t(2, 8), t(2, 12)), dep(2, t(2, 9), t(2, 10))];
        ds.sort_by_key(|d| d.deployed_at);
        assert_eq!(deployment_before(&ds, t(2, 11)).map(|d| d.id), Some(2));
        assert_eq!(deployment_before(&ds, t(2, 12)).map(|d| d.id), Some(2));
        assert_eq!(deployment_before(&ds, t(2, 13)).map(|d| d.id), Some(1));
        assert_eq!(deployment_before(&ds, t(2, 9)), None);
    }

    #[test]
    fn frequency_counts_deployments_and_deployment_days() {
        let ds = vec![
            dep(1, t(2, 1), t(2, 2)),
            dep(2, t(2, 3), t(2, 4)),
            dep(3, t(5, 1), t(5, 2)),
            dep(4, t(20, 1), t(20, 2)),
        ];
        let f = frequency(&ds, &march(1, 14));
        assert_eq!(f.deployments, 3);
        assert_eq!(f.per_week, 1.5);
        assert_eq!(f.deployment_days_per_week, 1.0);
        assert!((f.per_day - 3.0 / 14.0).abs() < 1e-12);
    }

    #[test]
    fn failure_rate_counts_deployments_with_an_incident() {
        let ds = vec![
            dep(1, t(2, 1), t(2, 2)),
            dep(2, t(3, 1), t(3, 2)),
            dep(3, t(4, 1), t(4, 2)),
            dep(4, t(5, 1), t(5, 2)),
        ];
        // Two incidents after deployment 2, one after 4, one before any deployment.
        let incidents = [t(3, 5), t(3, 6), t(5, 3), t(1, 0)];
        assert_eq!(failure_rate(&ds, &incidents, &march(1, 14)), Some((2, 4)));
        assert_eq!(failure_rate(&ds, &incidents, &march(20, 21)), None);
    }

    #[test]
    fn time_to_restore_is_the_median_over_resolved_incidents_created_in_the_window() {
        let inc = [
            (t(2, 0), Some(t(2, 1))),
            (t(2, 0), Some(t(2, 4))),
            (t(3, 0), None),
            (t(20, 0), Some(t(20, 9))),
        ];
        assert_eq!(time_to_restore(&inc, &march(1, 14)), (2, Some(2.5)));
    }
}
