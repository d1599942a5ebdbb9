//! Cumulative flow (DESIGN §9): how many issues stood in each band (a step, or "Unmapped") at
//! each UTC day's end, and Little's law over the window. One sweep: each stay of each issue adds
//! +1 at the first day it covers and −1 after the last, then a running sum per band (no replay
//! per day per issue: 365 days × 100k issues would be 36.5 M replays). Pure.

use chrono::{DateTime, Utc};

use super::flow::{Category, Stay};

const DAY_MS: i64 = 86_400_000;

/// Counts at `days` instants one day apart from `first` (for a window, the end of its first
/// day: D+1 00:00Z).
pub struct Sweep {
    /// The first instant, in epoch milliseconds.
    first: i64,
    days: usize,
    bands: usize,
    /// Per day, per band: +1 where a stay starts covering, −1 where it stops.
    diff: Vec<i32>,
    /// Per day: the same for stays in an IN_PROGRESS or WAITING place (work in progress).
    wip: Vec<i32>,
}

/// The counts of a finished sweep.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Per day, the count of each band.
    pub bands: Vec<Vec<u32>>,
    /// Per day, the issues in an IN_PROGRESS or WAITING place.
    pub wip: Vec<u32>,
}

impl Sweep {
    pub fn new(first: DateTime<Utc>, days: usize, bands: usize) -> Self {
        Self {
            first: first.timestamp_millis(),
            days,
            bands,
            diff: vec![0; (days + 1) * bands],
            wip: vec![0; days + 1],
        }
    }

    /// The first instant index at or after `t` (epoch ms).
    fn at_or_after(&self, t: i64) -> usize {
        let d = t - self.first;
        if d <= 0 {
            0
        } else {
            (((d + DAY_MS - 1) / DAY_MS) as usize).min(self.days)
        }
    }

    /// The first instant index strictly after `t` (epoch ms).
    fn after(&self, t: i64) -> usize {
        let d = t - self.first;
        if d < 0 {
            0
        } else {
            ((d / DAY_MS) as usize + 1).min(self.days)
        }
    }

    /// Adds one issue created at `created` (counted at the instants strictly after it), in the
    /// band `band` gives each of its stays (`None`: not drawn).
    pub fn add(&mut self, created: DateTime<Utc>, timeline: &[Stay], band: impl Fn(&Stay) -> Option<usize>) {
        let born = self.after(created.timestamp_millis());
        // Stays that ended before the first instant cover none: start at the one in place then.
        let first = timeline.partition_point(|s| s.at_ms <= self.first).saturating_sub(1);
        for (k, stay) in timeline.iter().enumerate().skip(first) {
            let lo = self.at_or_after(stay.at_ms).max(born);
            let hi = timeline
                .get(k + 1)
                .map_or(self.days, |next| self.at_or_after(next.at_ms));
            if lo >= hi {
                continue;
            }
            if let Some(b) = band(stay).filter(|b| *b < self.bands) {
                self.diff[lo * self.bands + b] += 1;
                self.diff[hi * self.bands + b] -= 1;
            }
            if matches!(stay.category, Category::InProgress | Category::Waiting) {
                self.wip[lo] += 1;
                self.wip[hi] -= 1;
            }
        }
    }

    /// [`Sweep::add`], where `last` is the timeline's last stay: when the sweep starts after
    /// it, the issue stood there throughout, and the timeline is not read.
    pub fn add_issue(
        &mut self,
        created: DateTime<Utc>,
        timeline: &[Stay],
        last: Option<&Stay>,
        band: impl Fn(&Stay) -> Option<usize>,
    ) {
        match last {
            Some(last) if last.at_ms <= self.first => self.add(created, std::slice::from_ref(last), band),
            _ => self.add(created, timeline, band),
        }
    }

    pub fn finish(self) -> Counts {
        let mut running = vec![0i32; self.bands];
        let mut bands = Vec::with_capacity(self.days);
        let mut wip = Vec::with_capacity(self.days);
        let mut w = 0i32;
        for d in 0..self.days {
            for (b, r) in running.iter_mut().enumerate() {
                *r += self.diff[d * self.bands + b];
            }
            w += self.wip[d];
            bands.push(running.iter().map(|&n| n.max(0) as u32).collect());
            wip.push(w.max(0) as u32);
        }
        Counts { bands, wip }
    }
}

/// Arrival and departure rates that differ by more than this share of the larger one mean WIP
/// is growing or draining: the system is not stable.
pub const RATE_GAP: f64 = 0.2;
/// Average WIP and throughput × average cycle time that differ by more than this share of the
/// larger one: Little's law does not hold over the window, so the averages do not describe it.
pub const LAW_GAP: f64 = 0.25;

/// Little's law over a window: average WIP ≈ throughput × average cycle time, when the system
/// is stable (as many items start as finish, and items do not age unseen).
#[derive(Clone, Debug, PartialEq)]
pub struct LittlesLaw {
    pub average_wip: f64,
    pub throughput_per_day: f64,
    pub average_cycle_days: Option<f64>,
    /// Throughput × average cycle time.
    pub expected_wip: Option<f64>,
    pub arrivals_per_week: f64,
    pub departures_per_week: f64,
    /// `None` when there is nothing to judge (nothing started or finished).
    pub stable: Option<bool>,
}

/// Little's law from the daily WIP, the items that started (`arrivals`) and finished
/// (`departures`) in a window of `days` days, and the cycle times (hours) of those finished.
pub fn littles_law(
    daily_wip: &[u32],
    arrivals: usize,
    departures: usize,
    cycle_hours: &[f64],
    days: usize,
) -> LittlesLaw {
    let days = days.max(1) as f64;
    let average_wip = daily_wip.iter().map(|&n| f64::from(n)).sum::<f64>() / daily_wip.len().max(1) as f64;
    let throughput_per_day = departures as f64 / days;
    let average_cycle_days = super::mean(cycle_hours).map(|h| h / 24.0);
    let expected_wip = average_cycle_days.map(|c| throughput_per_day * c);
    let gap = |a: f64, b: f64| {
        let big = a.max(b);
        if big <= 0.0 { 0.0 } else { (a - b).abs() / big }
    };
    let (arrivals_per_week, departures_per_week) = (arrivals as f64 / days * 7.0, departures as f64 / days * 7.0);
    let stable = (arrivals + departures > 0).then(|| {
        gap(arrivals_per_week, departures_per_week) <= RATE_GAP
            && expected_wip.is_none_or(|e| gap(average_wip, e) <= LAW_GAP)
    });
    LittlesLaw {
        average_wip,
        throughput_per_day,
        average_cycle_days,
        expected_wip,
        arrivals_per_week,
        departures_per_week,
        stable,
    }
}

impl LittlesLaw {
    /// What the numbers say, in a sentence.
    pub fn sentence(&self) -> String {
        let law = match self.expected_wip {
            Some(e) => format!(
                "average WIP {:.1} against throughput × average cycle time {:.2}/day × {:.1} days = {e:.1}",
                self.average_wip,
                self.throughput_per_day,
                self.average_cycle_days.unwrap_or_default()
            ),
            None => format!(
                "average WIP {:.1}, nothing finished to compare it with",
                self.average_wip
            ),
        };
        let rates = format!(
            "{:.1} items started and {:.1} finished per week",
            self.arrivals_per_week, self.departures_per_week
        );
        match self.stable {
            None => "Nothing started or finished in the window: no flow to judge.".into(),
            Some(true) => format!("The system looks stable: {rates}; {law}."),
            Some(false) => {
                let trend = if self.arrivals_per_week > self.departures_per_week {
                    "work in progress is piling up"
                } else {
                    "work in progress is draining"
                };
                let why = if (self.arrivals_per_week - self.departures_per_week).abs()
                    > RATE_GAP * self.arrivals_per_week.max(self.departures_per_week)
                {
                    format!("{rates}, so {trend}")
                } else {
                    format!("{rates}, but Little's law does not hold")
                };
                format!(
                    "The system is not stable: {why}; {law}. Averages and forecasts from this window describe it poorly."
                )
            }
        }
    }
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
    const STEPS: [&str; 3] = ["To do", "Dev", "Done"];
    fn band(s: &Stay) -> Option<usize> {
        STEPS.iter().position(|n| Some(*n) == s.step.as_deref())
    }

    #[test]
    fn each_day_end_counts_where_issues_stood_through_a_reopen() {
        // Days 1–5 of March; instants 2nd 00:00 … 6th 00:00.
        let mut sweep = Sweep::new(t(2, 0), 5, 3);
        // Created 1st 10:00 in To do; Dev 2nd 00:00 (exactly an instant: counted there); Done
        // 3rd 12:00; reopened to Dev 4th 08:00; Done again 5th 23:00.
        let a = vec![
            stay(t(1, 10), "To do", Category::ToDo),
            stay(t(2, 0), "Dev", Category::InProgress),
            stay(t(3, 12), "Done", Category::Done),
            stay(t(4, 8), "Dev", Category::InProgress),
            stay(t(5, 23), "Done", Category::Done),
        ];
        sweep.add(t(1, 10), &a, band);
        // Created exactly at the 3rd 00:00: not before that instant, counted from the 4th.
        let b = vec![stay(t(3, 0), "To do", Category::ToDo)];
        sweep.add(t(3, 0), &b, band);
        // Created after the last instant: never counted.
        sweep.add(t(6, 1), &[stay(t(6, 1), "To do", Category::ToDo)], band);
        let c = sweep.finish();
        assert_eq!(
            c.bands,
            vec![
                vec![0, 1, 0], // 2nd 00:00: Dev
                vec![0, 1, 0], // 3rd 00:00: Dev; b created at this instant, not before it
                vec![1, 0, 1], // 4th 00:00: Done, b in To do
                vec![1, 1, 0], // 5th 00:00: reopened
                vec![1, 0, 1], // 6th 00:00: Done again
            ]
        );
        assert_eq!(c.wip, vec![1, 1, 0, 1, 0]);
    }

    #[test]
    fn stays_before_the_window_carry_in_and_unbanded_stays_are_not_drawn() {
        let mut sweep = Sweep::new(t(10, 0), 2, 3);
        let a = vec![
            stay(t(1, 0), "To do", Category::ToDo),
            stay(t(2, 0), "Elsewhere", Category::Waiting),
        ];
        sweep.add(t(1, 0), &a, band);
        let c = sweep.finish();
        assert_eq!(c.bands, vec![vec![0, 0, 0], vec![0, 0, 0]]);
        assert_eq!(c.wip, vec![1, 1], "still work in progress");
    }

    #[test]
    fn an_issue_added_by_its_last_stay_counts_as_by_its_timeline() {
        let timeline = vec![
            stay(t(1, 10), "To do", Category::ToDo),
            stay(t(2, 5), "Dev", Category::InProgress),
            stay(t(4, 12), "Done", Category::Done),
        ];
        // Sweeps starting before, inside and after the timeline's last stay; created before
        // the first instant or inside the sweep.
        for (first, created) in [
            (t(2, 0), t(1, 10)),
            (t(4, 12), t(1, 10)),
            (t(5, 0), t(1, 10)),
            (t(6, 0), t(5, 3)),
        ] {
            let timeline = if created > t(4, 12) {
                vec![stay(created, "Done", Category::Done)]
            } else {
                timeline.clone()
            };
            let (mut by_timeline, mut by_last) = (Sweep::new(first, 6, 3), Sweep::new(first, 6, 3));
            by_timeline.add(created, &timeline, band);
            by_last.add_issue(created, &timeline, timeline.last(), band);
            assert_eq!(
                by_timeline.finish(),
                by_last.finish(),
                "from {first}, created {created}"
            );
        }
    }

    #[test]
    fn littles_law_holds_for_a_steady_flow_and_not_for_a_growing_one() {
        // 14 days, 2 in progress every day, 7 finished with 4-day cycles: 0.5/day × 4 = 2.
        let steady = littles_law(&[2; 14], 7, 7, &[96.0; 7], 14);
        assert_eq!(steady.expected_wip, Some(2.0));
        assert_eq!(steady.average_wip, 2.0);
        assert_eq!(steady.stable, Some(true));
        assert!(steady.sentence().starts_with("The system looks stable"));
        // Twice as many started as finished: WIP piles up.
        let growing = littles_law(&[2, 4, 6, 8], 8, 4, &[24.0; 4], 4);
        assert_eq!(growing.stable, Some(false));
        assert!(growing.sentence().contains("piling up"), "{}", growing.sentence());
        // Rates match, but WIP is far above throughput × cycle time (items aging unseen).
        let aging = littles_law(&[10; 7], 7, 7, &[24.0; 7], 7);
        assert_eq!(aging.stable, Some(false));
        assert!(aging.sentence().contains("Little's law does not hold"));
        assert_eq!(littles_law(&[0; 7], 0, 0, &[], 7).stable, None);
    }
}
