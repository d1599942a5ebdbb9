//! Forecasting flow analytics (DESIGN §9): Monte Carlo forecasts from daily throughput, and the
//! percentile lines of the cycle-time scatter. Pure and seeded: the same history and seed give
//! the same answer on every machine (the generator is SplitMix64, written out here, so no
//! library upgrade can change an answer a team has written down).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// Trials when the request names none, and the most it may name.
pub const DEFAULT_TRIALS: u32 = 10_000;
pub const MAX_TRIALS: u32 = 100_000;
/// The confidence levels every forecast answers at.
pub const LEVELS: [u32; 3] = [50, 85, 95];
/// Longest horizon asked for: "how many in D days" up to D, "when will N be done" up to it.
pub const MAX_DAYS: u32 = 3_650;

/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast, and fully determined by the seed.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias for the n of a history window,
    /// under 2^16, is below 2^-48).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// Items done on each UTC day from `from` to `to` inclusive (days with none count 0).
pub fn daily_throughput(done: impl IntoIterator<Item = DateTime<Utc>>, from: NaiveDate, to: NaiveDate) -> Vec<u32> {
    let days = (to - from).num_days();
    if days < 0 {
        return Vec::new();
    }
    let mut counts = vec![0u32; days as usize + 1];
    for at in done {
        let d = (at.date_naive() - from).num_days();
        if (0..=days).contains(&d) {
            counts[d as usize] += 1;
        }
    }
    counts
}

/// The answers of one forecast at [`LEVELS`], and how the trials came out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Forecast {
    /// `[(level, answer)]`: items for "how many", days for "when".
    pub levels: Vec<(u32, Option<u32>)>,
    /// `[(outcome, trials with it)]`, ascending outcome; outcomes past the horizon are left out
    /// (a "when" trial that never reaches N within [`MAX_DAYS`]).
    pub histogram: Vec<(u32, u32)>,
    /// Trials that did not finish within [`MAX_DAYS`] ("when" only).
    pub unfinished: u32,
}

/// "How many items in the next `days` days": each trial sums `days` days drawn uniformly with
/// replacement from `history`. The answer at XX % is the largest v that at least XX % of
/// trials reach.
pub fn how_many(history: &[u32], days: u32, trials: u32, seed: u64) -> Forecast {
    let mut outcomes: Vec<u32> = Vec::with_capacity(trials as usize);
    let mut rng = SplitMix64::new(seed);
    for _ in 0..trials {
        let total: u32 = if history.is_empty() {
            0
        } else {
            (0..days).map(|_| history[rng.below(history.len())]).sum()
        };
        outcomes.push(total);
    }
    outcomes.sort_unstable();
    let levels = LEVELS
        .iter()
        .map(|&l| {
            // At least l % of trials reach v: v is the outcome at the (1 − l %) quantile from the
            // bottom, i.e. the value with ceil(l % × trials) outcomes at or above it.
            let need = (u64::from(l) * u64::from(trials)).div_ceil(100) as usize;
            let answer = (need > 0 && need <= outcomes.len()).then(|| outcomes[outcomes.len() - need]);
            (l, answer)
        })
        .collect();
    Forecast {
        levels,
        histogram: histogram(&outcomes),
        unfinished: 0,
    }
}

/// "When will `items` items be done": each trial draws days until their sum reaches `items`.
/// The answer at XX % is the smallest number of days within which at least XX % of trials
/// reach it (`None` when fewer than XX % do within [`MAX_DAYS`], e.g. a history with nothing
/// done).
pub fn when(history: &[u32], items: u32, trials: u32, seed: u64) -> Forecast {
    let mut finished: Vec<u32> = Vec::with_capacity(trials as usize);
    let mut unfinished = 0;
    let mut rng = SplitMix64::new(seed);
    let can_finish = history.iter().any(|&d| d > 0);
    for _ in 0..trials {
        let mut done = 0u32;
        let mut day = 0u32;
        while done < items && day < MAX_DAYS && can_finish {
            done += history[rng.below(history.len())];
            day += 1;
        }
        if done >= items {
            finished.push(day);
        } else {
            unfinished += 1;
        }
    }
    finished.sort_unstable();
    let levels = LEVELS
        .iter()
        .map(|&l| {
            let need = (u64::from(l) * u64::from(trials)).div_ceil(100) as usize;
            let answer = (need > 0 && need <= finished.len()).then(|| finished[need - 1]);
            (l, answer)
        })
        .collect();
    Forecast {
        levels,
        histogram: histogram(&finished),
        unfinished,
    }
}

fn histogram(sorted: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &v in sorted {
        match out.last_mut() {
            Some((last, n)) if *last == v => *n += 1,
            _ => out.push((v, 1)),
        }
    }
    out
}

/// The scatter's percentile lines: p50, p70, p85 and p95 of the cycle times (hours).
pub fn scatter_percentiles(cycle_hours: &[f64]) -> [(u32, Option<f64>); 4] {
    let mut v: Vec<f64> = cycle_hours
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .collect();
    let [p50, p70, p85, p95] = super::percentiles_of(&mut v, [50.0, 70.0, 85.0, 95.0]);
    [(50, p50), (70, p70), (85, p85), (95, p95)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(f: &Forecast, level: u32) -> Option<u32> {
        f.levels.iter().find(|(l, _)| *l == level).and_then(|(_, a)| *a)
    }

    #[test]
    fn a_constant_history_forecasts_exactly() {
        let history = [3; 90];
        let f = how_many(&history, 10, DEFAULT_TRIALS, 7);
        for l in LEVELS {
            assert_eq!(answer(&f, l), Some(30));
        }
        assert_eq!(f.histogram, vec![(30, DEFAULT_TRIALS)]);
        // 10 items at 3 a day: 4 days, whatever the seed.
        let w = when(&history, 10, DEFAULT_TRIALS, 99);
        for l in LEVELS {
            assert_eq!(answer(&w, l), Some(4));
        }
    }

    /// Days of 0 or 2 items, half and half: over 2 days the total is 0, 2 or 4 with
    /// probabilities 1/4, 1/2, 1/4, so at least 50 % of trials reach 2, at least 85 % and 95 %
    /// reach only 0 (P(≥ 2) = 3/4).
    #[test]
    fn a_two_valued_history_matches_the_closed_form() {
        let history = [0, 2];
        let f = how_many(&history, 2, 100_000, 1);
        assert_eq!(answer(&f, 50), Some(2));
        assert_eq!(answer(&f, 85), Some(0));
        assert_eq!(answer(&f, 95), Some(0));
        let share = |v: u32| {
            f.histogram
                .iter()
                .find(|(o, _)| *o == v)
                .map_or(0.0, |(_, n)| f64::from(*n) / 1e5)
        };
        assert!((share(0) - 0.25).abs() < 0.01, "{}", share(0));
        assert!((share(2) - 0.50).abs() < 0.01, "{}", share(2));
        assert!((share(4) - 0.25).abs() < 0.01, "{}", share(4));
        // When are 2 items done? Within k days with probability 1 − (1/2)^k: 1 day 50 % (a
        // boundary: sampling decides between 1 and 2), 2 days 75 %, 3 days 87.5 %, 4 days
        // 93.75 %, 5 days 96.9 %.
        let w = when(&history, 2, 100_000, 2);
        assert!(matches!(answer(&w, 50), Some(1 | 2)));
        assert_eq!(answer(&w, 85), Some(3));
        assert_eq!(answer(&w, 95), Some(5));
    }

    #[test]
    fn the_same_seed_gives_the_same_answer_and_another_seed_may_not() {
        let history: Vec<u32> = (0..90).map(|d| (d * 7 % 5) as u32).collect();
        let a = how_many(&history, 14, DEFAULT_TRIALS, 42);
        assert_eq!(a, how_many(&history, 14, DEFAULT_TRIALS, 42));
        assert_ne!(a.histogram, how_many(&history, 14, DEFAULT_TRIALS, 43).histogram);
        assert_eq!(when(&history, 50, 1000, 5), when(&history, 50, 1000, 5));
    }

    #[test]
    fn nothing_done_never_finishes_and_says_so() {
        let w = when(&[0; 30], 5, 100, 1);
        assert_eq!(w.unfinished, 100);
        assert!(w.levels.iter().all(|(_, a)| a.is_none()));
        assert_eq!(answer(&how_many(&[], 10, 100, 1), 50), Some(0));
    }

    #[test]
    fn throughput_counts_each_utc_day_and_zero_days() {
        let day = |d: &str| format!("{d}T12:00:00Z").parse::<DateTime<Utc>>().unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 3, 4).unwrap();
        let done = [
            day("2026-03-01"),
            day("2026-03-01"),
            day("2026-03-03"),
            day("2026-03-05"),
            day("2026-02-28"),
        ];
        assert_eq!(daily_throughput(done, from, to), vec![2, 0, 1, 0]);
    }

    #[test]
    fn scatter_lines_interpolate_between_ranks() {
        let p = scatter_percentiles(&[10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_eq!(p[0], (50, Some(30.0)));
        assert_eq!(p[1], (70, Some(38.0)));
        assert_eq!(p[2], (85, Some(44.0)));
        assert_eq!(p[3], (95, Some(48.0)));
    }
}
