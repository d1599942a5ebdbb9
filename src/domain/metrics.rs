//! Metric formulas (DESIGN §9): statistics, windows and benchmark tiers; the per-family rules
//! live in `dora`, `pr` and `flow`. Pure functions, tested against hand-computed answers.

pub mod aging;
pub mod cfd;
pub mod dora;
pub mod flow;
pub mod forecast;
pub mod pr;
pub mod rework;
pub mod tiers;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

/// A span in hours, or `None` when it is missing or would be negative (such spans are dropped).
pub fn hours(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<f64> {
    let (from, to) = (from?, to?);
    let ms = (to - from).num_milliseconds();
    (ms >= 0).then(|| ms as f64 / 3_600_000.0)
}

/// The `p`-th percentile (0–100) of sorted values by linear interpolation between the closest
/// ranks (rank = p/100 × (n − 1), as Excel `PERCENTILE.INC` and NumPy's default). p50 is the
/// usual median: the mean of the two middle values for an even count.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p.clamp(0.0, 100.0) / 100.0 * last as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    percentile(&v, 50.0)
}

/// Count, median, p75 and p90 of the non-negative values (negative spans are dropped).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub median: Option<f64>,
    pub p75: Option<f64>,
    pub p90: Option<f64>,
}

impl Summary {
    /// The same numbers as sorting the values and reading [`percentile`], in linear time
    /// ([`percentiles_of`]: the flow page summarises tens of thousands of spans per step,
    /// window and group).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite() && *x >= 0.0).collect();
        let [median, p75, p90] = percentiles_of(&mut v, [50.0, 75.0, 90.0]);
        Self {
            count: v.len(),
            median,
            p75,
            p90,
        }
    }
}

/// The `ps`-th percentiles of `values` as [`percentile`] reads them from the sorted values, found
/// by selecting only the ranks they read (linear time; a sort of a year's 200,000 cycle times at
/// 500k issues was a visible part of the flow page). Reorders `values`.
pub fn percentiles_of<const N: usize>(values: &mut [f64], ps: [f64; N]) -> [Option<f64>; N] {
    let Some(last) = values.len().checked_sub(1) else {
        return [None; N];
    };
    let rank = |p: f64| p.clamp(0.0, 100.0) / 100.0 * last as f64;
    let mut ks: Vec<usize> = ps
        .iter()
        .flat_map(|p| [rank(*p).floor() as usize, rank(*p).ceil() as usize])
        .collect();
    ks.sort_unstable();
    ks.dedup();
    // Largest rank first, each next one among the values below the previous: those are the
    // smallest ones, in some order.
    let mut at = vec![0.0; ks.len()];
    let mut end = values.len();
    for (i, k) in ks.iter().enumerate().rev() {
        values[..end].select_nth_unstable_by(*k, f64::total_cmp);
        at[i] = values[*k];
        end = *k;
    }
    let value = |k: usize| at[ks.iter().position(|x| *x == k).unwrap_or(0)];
    ps.map(|p| {
        let r = rank(p);
        let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
        Some(value(lo) + (value(hi) - value(lo)) * (r - lo as f64))
    })
}

/// Mean of the values, `None` when there are none.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// A window of whole UTC days, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    /// The window, with the ends swapped if given in reverse.
    pub fn new(a: NaiveDate, b: NaiveDate) -> Self {
        Self {
            from: a.min(b),
            to: a.max(b),
        }
    }

    /// The last `days` days up to and including `today`.
    pub fn last_days(today: NaiveDate, days: u64) -> Self {
        Self::new(today - Days::new(days.max(1) - 1), today)
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.from.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// The first instant after the window (its end is exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        (self.to + Days::new(1)).and_time(chrono::NaiveTime::MIN).and_utc()
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.start() && at < self.end()
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    pub fn weeks(&self) -> f64 {
        self.days() as f64 / 7.0
    }

    /// The window of the same length just before this one, for comparison.
    pub fn previous(&self) -> Self {
        let days = self.days() as u64;
        Self::new(self.from - Days::new(days), self.from - Days::new(1))
    }

    /// Consecutive buckets (weeks, or months for long windows) covering the window, for trends.
    pub fn buckets(&self) -> Vec<Window> {
        let step = if self.days() > 120 { 30 } else { 7 };
        let mut out = Vec::new();
        let mut start = self.from;
        while start <= self.to {
            let end = (start + Days::new(step - 1)).min(self.to);
            out.push(Window::new(start, end));
            start = end + Days::new(1);
        }
        out
    }
}

/// `count` per week over the window.
pub fn per_week(count: usize, window: &Window) -> f64 {
    count as f64 / window.weeks()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap())
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_two_middle_values() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 10.0]), Some(3.5));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn percentiles_interpolate_between_closest_ranks() {
        // 1..=10: p75 rank 6.75 → 7 + 0.75 × 1; p90 rank 8.1 → 9 + 0.1 × 1.
        let s = Summary::of((1..=10).map(f64::from));
        assert_eq!(s.count, 10);
        assert_eq!(s.median, Some(5.5));
        assert_eq!(s.p75, Some(7.75));
        assert!((s.p90.unwrap() - 9.1).abs() < 1e-9);
        let one = Summary::of([2.0]);
        assert_eq!((one.median, one.p75, one.p90), (Some(2.0), Some(2.0), Some(2.0)));
    }

    #[test]
    fn summaries_by_selection_equal_sorting_then_reading_the_ranks() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in 0..300 {
            // Few distinct values for some lengths, so equal values sit at the ranks too.
            let spread = if n % 3 == 0 { 4 } else { 1_000_000 };
            let values: Vec<f64> = (0..n).map(|_| (next() % spread) as f64 / 7.0).collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let want = |p| percentile(&sorted, p);
            // The scatter's lines and p0 / p100 too, through the same selection.
            let mut v = values.clone();
            let ps = [0.0, 50.0, 70.0, 85.0, 95.0, 100.0];
            assert_eq!(percentiles_of(&mut v, ps), ps.map(want), "n = {n}");
            let s = Summary::of(values);
            assert_eq!(
                (s.count, s.median, s.p75, s.p90),
                (n, want(50.0), want(75.0), want(90.0)),
                "n = {n}"
            );
        }
    }

    #[test]
    fn negative_spans_are_dropped() {
        assert_eq!(hours(at(5), at(3)), None);
        assert_eq!(hours(at(3), at(5)), Some(2.0));
        assert_eq!(hours(None, at(5)), None);
        assert_eq!(Summary::of([-1.0, 2.0, 4.0]).median, Some(3.0));
    }

    #[test]
    fn windows_are_whole_inclusive_days() {
        let d = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let w = Window::new(d(1, 1), d(1, 14));
        assert_eq!(w.days(), 14);
        assert_eq!(w.weeks(), 2.0);
        assert!(w.contains(Utc.with_ymd_and_hms(2026, 1, 14, 23, 59, 59).unwrap()));
        assert!(!w.contains(Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap()));
        assert_eq!(
            w.previous(),
            Window::new(d(12, 18).with_year(2025).unwrap(), d(12, 31).with_year(2025).unwrap())
        );
        assert_eq!(Window::last_days(d(1, 30), 30).from, d(1, 1));
        assert_eq!(w.buckets().len(), 2);
        assert_eq!(per_week(6, &w), 3.0);
    }

    use chrono::Datelike;
}
