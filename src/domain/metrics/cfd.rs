//! Cumulative flow (DESIGN §9): how many issues stood in each band (a step, or "Unmapped") at
//! each UTC day's end, and Little's law over the window. One sweep: each stay of each issue adds
//! +1 at the first day it covers and −1 after the last, then a running sum per band (no replay
//! per day per issue: 365 days × 100k issues would be 36.5 M replays). [`Midnights`] sweeps
//! every midnight of history once per snapshot, so a window reads its days from it; [`Sweep`]
//! (a window's days only) is the reference its tests compare it with. Pure.

use chrono::{DateTime, Utc};

use super::flow::{Category, Stay};

const DAY_MS: i64 = 86_400_000;

#[cfg(test)]
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
#[cfg(test)]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Per day, the count of each band.
    pub bands: Vec<Vec<u32>>,
    /// Per day, the issues in an IN_PROGRESS or WAITING place.
    pub wip: Vec<u32>,
}

#[cfg(test)]
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

/// The first UTC midnight at or after `t` (epoch ms), as an epoch day.
fn day_at_or_after(t: i64) -> i64 {
    t.div_euclid(DAY_MS) + i64::from(t.rem_euclid(DAY_MS) != 0)
}

/// The UTC day of `t`, as an epoch day (the midnight that begins it).
pub fn epoch_day(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis().div_euclid(DAY_MS)
}

/// The first UTC midnight strictly after `t` (epoch ms), as an epoch day.
fn day_after(t: i64) -> i64 {
    t.div_euclid(DAY_MS) + 1
}

/// Where a group of issues stood at every UTC midnight of their history, per place, as
/// [`Sweep`] counts them: every window counts at midnights (a day's end), so the cumulative
/// flow of any window reads a run of these counts, and the issues' timelines are swept once,
/// not once per view.
#[derive(Clone, Debug, Default)]
pub struct Midnights {
    /// The epoch day of the first count.
    first: i64,
    /// Days counted; the last count holds for every later day (no stay starts or ends after it).
    len: usize,
    /// Per place (the index the caller gives each stay), per day: +1 where a stay starts
    /// covering, −1 where it stops; running counts after [`Midnights::finish`].
    places: Vec<Vec<i32>>,
    /// The same for stays in an IN_PROGRESS or WAITING place (work in progress).
    wip: Vec<i32>,
}

impl Midnights {
    /// Counts over the epoch days `first..=last`, which cover every issue's
    /// [`Midnights::span`].
    pub fn new(first: i64, last: i64) -> Self {
        let len = (last - first + 1).max(1) as usize;
        Self {
            first,
            len,
            places: Vec::new(),
            wip: vec![0; len + 1],
        }
    }

    /// The days an issue created at `created` with `timeline` needs counted: (first, last).
    pub fn span(created: DateTime<Utc>, timeline: &[Stay]) -> Option<(i64, i64)> {
        let born = day_after(created.timestamp_millis());
        // Created after its last stay began (bad data): counted from its creation on.
        let last = timeline.iter().map(|s| day_at_or_after(s.at_ms)).max()?.max(born);
        Some((born, last))
    }

    /// [`Sweep::add`] for every midnight: the issue counts at a midnight after its creation in
    /// the place `place` gives the stay it stood in then.
    pub fn add(&mut self, created: DateTime<Utc>, timeline: &[Stay], mut place: impl FnMut(&Stay) -> usize) {
        let born = day_after(created.timestamp_millis());
        let end = self.first + self.len as i64;
        for (k, stay) in timeline.iter().enumerate() {
            let lo = day_at_or_after(stay.at_ms).max(born).max(self.first);
            let hi = timeline
                .get(k + 1)
                .map_or(end, |next| day_at_or_after(next.at_ms).min(end));
            if lo >= hi {
                continue;
            }
            let (lo, hi) = ((lo - self.first) as usize, (hi - self.first) as usize);
            let p = place(stay);
            if self.places.len() <= p {
                self.places.resize_with(p + 1, || vec![0; self.len + 1]);
            }
            self.places[p][lo] += 1;
            self.places[p][hi] -= 1;
            if matches!(stay.category, Category::InProgress | Category::Waiting) {
                self.wip[lo] += 1;
                self.wip[hi] -= 1;
            }
        }
    }

    /// Turns the differences into counts.
    pub fn finish(&mut self) {
        for v in self.places.iter_mut().chain([&mut self.wip]) {
            let mut running = 0;
            for x in v.iter_mut() {
                running += *x;
                *x = running;
            }
        }
    }

    fn at(&self, v: &[i32], day: i64) -> u32 {
        if day < self.first {
            return 0;
        }
        v[((day - self.first) as usize).min(self.len - 1)].max(0) as u32
    }

    /// Issues in place `p` at the midnight that begins epoch day `day`.
    pub fn count(&self, p: usize, day: i64) -> u32 {
        self.places.get(p).map_or(0, |v| self.at(v, day))
    }

    /// Issues in an IN_PROGRESS or WAITING place at that midnight.
    pub fn wip(&self, day: i64) -> u32 {
        self.at(&self.wip, day)
    }

    /// Places counted (the largest index given plus one).
    pub fn places(&self) -> usize {
        self.places.len()
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

    proptest::proptest! {
        /// Any window read from the counts at every midnight equals a sweep over that window:
        /// stays starting exactly at midnight, before and after the window, created after the
        /// first stay (bad data), reopened issues.
        #[test]
        fn counts_at_every_midnight_read_as_a_sweep_over_any_window(
            issues in proptest::collection::vec(
                (0i64..20 * 24, proptest::collection::vec((0i64..6 * 24, 0usize..4, proptest::bool::ANY), 0..6), -48i64..48),
                0..12,
            ),
            from in 0i64..24,
            days in 1usize..12,
        ) {
            let base = t(1, 0).timestamp_millis();
            let hour = 3_600_000;
            let categories = [Category::ToDo, Category::InProgress, Category::Waiting, Category::Done];
            let issues: Vec<(DateTime<Utc>, Vec<Stay>)> = issues
                .into_iter()
                .map(|(start, gaps, created_shift)| {
                    let mut at = base + start * hour;
                    let timeline: Vec<Stay> = gaps
                        .into_iter()
                        .map(|(gap, c, midnight)| {
                            // In time order, as timelines are: back to midnight, not before the
                            // stay before.
                            let before = at;
                            at += gap * hour;
                            if midnight {
                                at = (at - at.rem_euclid(DAY_MS)).max(before);
                            }
                            Stay {
                                at_ms: at,
                                step: (c < 3).then(|| Arc::from(STEPS[c])),
                                category: categories[c],
                            }
                        })
                        .collect();
                    let created = timeline.first().map_or(base, |s| s.at_ms) + created_shift * hour;
                    (DateTime::from_timestamp_millis(created).unwrap(), timeline)
                })
                .collect();
            let place = |s: &Stay| band(s).unwrap_or(3);
            let spans: Vec<(i64, i64)> = issues.iter().filter_map(|(c, tl)| Midnights::span(*c, tl)).collect();
            let first = spans.iter().map(|s| s.0).min().unwrap_or(0);
            let last = spans.iter().map(|s| s.1).max().unwrap_or(0);
            let mut all = Midnights::new(first, last);
            let start = t(1, 0) + chrono::Days::new(from as u64);
            let mut sweep = Sweep::new(start, days, 4);
            for (created, timeline) in &issues {
                all.add(*created, timeline, place);
                sweep.add(*created, timeline, |s| Some(place(s)));
            }
            all.finish();
            let counts = sweep.finish();
            let day0 = start.timestamp_millis().div_euclid(DAY_MS);
            for d in 0..days {
                let day = day0 + d as i64;
                let bands: Vec<u32> = (0..4).map(|p| all.count(p, day)).collect();
                proptest::prop_assert_eq!(&bands, &counts.bands[d], "day {}", d);
                proptest::prop_assert_eq!(all.wip(day), counts.wip[d], "wip, day {}", d);
            }
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
