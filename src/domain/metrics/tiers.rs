//! Versioned DORA benchmark tables: the raw value is always shown; the tier sits beside it.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Elite,
    High,
    Medium,
    Low,
}

impl Tier {
    pub fn label(self) -> &'static str {
        match self {
            Tier::Elite => "Elite",
            Tier::High => "High",
            Tier::Medium => "Medium",
            Tier::Low => "Low",
        }
    }
}

/// One edition of the benchmark. Each list holds the elite, high and medium cut-offs; a value
/// past the medium one is low.
#[derive(Debug)]
pub struct Benchmark {
    pub version: &'static str,
    pub source: &'static str,
    /// Deployments per week at least this many.
    pub deploys_per_week: [f64; 3],
    /// Change lead time (hours) below this.
    pub lead_time_hours: [f64; 3],
    /// Change failure rate (0–1) at most this.
    pub failure_rate: [f64; 3],
    /// Time to restore (hours) below this.
    pub restore_hours: [f64; 3],
}

const DAY: f64 = 24.0;
const WEEK: f64 = 7.0 * DAY;
const MONTH: f64 = 30.0 * DAY;

/// Benchmarks by version; the first is the default.
pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        version: "2023",
        source: "DORA, Accelerate State of DevOps Report 2023 (performance clusters); where the report's ranges overlap or leave gaps, closed ranges as in Apache DevLake's DORA benchmarks",
        // Elite: on demand (daily or more); high: at least weekly; medium: at least monthly.
        deploys_per_week: [7.0, 1.0, 7.0 / 30.0],
        // Elite: under a day; high: under a week; medium: under a month.
        lead_time_hours: [DAY, WEEK, MONTH],
        // Elite ≤ 5 %, high ≤ 10 %, medium ≤ 15 %.
        failure_rate: [0.05, 0.10, 0.15],
        // Elite: under an hour; high: under a day; medium: under a week.
        restore_hours: [1.0, DAY, WEEK],
    },
    Benchmark {
        version: "2024",
        source: "DORA, Accelerate State of DevOps Report 2024 (software delivery performance levels: elite 19 %, high 22 %, medium 35 %, low 25 % of respondents). In that report the medium level's change failure rate (10 %) is lower than the high level's (20 %), and high and medium both recover in under a day: a value takes the best level whose figure it meets, so a change failure rate up to 20 % reads high and a recovery time under a day reads high",
        // Elite: on demand (several a day); high: daily to weekly; medium: weekly to monthly.
        deploys_per_week: [7.0, 1.0, 7.0 / 30.0],
        // Elite: under a day; high: a day to a week; medium: a week to a month.
        lead_time_hours: [DAY, WEEK, MONTH],
        // Elite 5 %, high 20 %, medium 10 % (unreachable after high's 20 %), low 40 %.
        failure_rate: [0.05, 0.20, 0.10],
        // Failed deployment recovery time. Elite: under an hour; high and medium: under a day;
        // low: a week to a month.
        restore_hours: [1.0, DAY, DAY],
    },
];

/// The editions by version, for choosing one (`benchmark=`).
pub fn versions() -> impl Iterator<Item = &'static str> {
    BENCHMARKS.iter().map(|b| b.version)
}

pub fn benchmark(version: Option<&str>) -> &'static Benchmark {
    version
        .and_then(|v| BENCHMARKS.iter().find(|b| b.version == v))
        .unwrap_or(&BENCHMARKS[0])
}

fn rank(pass: impl Fn(f64) -> bool, cuts: [f64; 3]) -> Tier {
    match cuts.iter().position(|c| pass(*c)) {
        Some(0) => Tier::Elite,
        Some(1) => Tier::High,
        Some(2) => Tier::Medium,
        _ => Tier::Low,
    }
}

impl Benchmark {
    pub fn deployment_frequency(&self, per_week: f64) -> Tier {
        rank(|c| per_week >= c, self.deploys_per_week)
    }
    pub fn lead_time(&self, hours: f64) -> Tier {
        rank(|c| hours < c, self.lead_time_hours)
    }
    pub fn change_failure_rate(&self, rate: f64) -> Tier {
        rank(|c| rate <= c, self.failure_rate)
    }
    pub fn time_to_restore(&self, hours: f64) -> Tier {
        rank(|c| hours < c, self.restore_hours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_offs_of_2023_place_values_in_tiers() {
        let b = benchmark(None);
        assert_eq!(b.version, "2023");
        assert_eq!(b.deployment_frequency(7.0), Tier::Elite);
        assert_eq!(b.deployment_frequency(1.0), Tier::High);
        assert_eq!(b.deployment_frequency(0.5), Tier::Medium);
        assert_eq!(b.deployment_frequency(0.1), Tier::Low);
        assert_eq!(b.lead_time(23.9), Tier::Elite);
        assert_eq!(b.lead_time(24.0), Tier::High);
        assert_eq!(b.lead_time(800.0), Tier::Low);
        assert_eq!(b.change_failure_rate(0.05), Tier::Elite);
        assert_eq!(b.change_failure_rate(0.12), Tier::Medium);
        assert_eq!(b.change_failure_rate(0.5), Tier::Low);
        assert_eq!(b.time_to_restore(0.5), Tier::Elite);
        assert_eq!(b.time_to_restore(30.0), Tier::Medium);
    }

    #[test]
    fn levels_of_2024_follow_the_report_where_it_is_not_ordered() {
        let b = benchmark(Some("2024"));
        assert_eq!(b.version, "2024");
        assert_eq!(b.deployment_frequency(7.0), Tier::Elite);
        assert_eq!(b.deployment_frequency(0.5), Tier::Medium);
        assert_eq!(b.lead_time(100.0), Tier::High);
        assert_eq!(b.change_failure_rate(0.05), Tier::Elite);
        // 2023 calls 12 % medium; 2024's high level fails 20 % of changes.
        assert_eq!(benchmark(None).change_failure_rate(0.12), Tier::Medium);
        assert_eq!(b.change_failure_rate(0.12), Tier::High);
        assert_eq!(b.change_failure_rate(0.20), Tier::High);
        assert_eq!(b.change_failure_rate(0.25), Tier::Low);
        assert_eq!(b.time_to_restore(0.5), Tier::Elite);
        assert_eq!(b.time_to_restore(20.0), Tier::High);
        // A day to a week: medium in 2023, no 2024 level but low.
        assert_eq!(benchmark(None).time_to_restore(30.0), Tier::Medium);
        assert_eq!(b.time_to_restore(30.0), Tier::Low);
    }
}
