//! `advance`: what happens in a window of simulated time.

use super::AdvanceSummary;
use crate::sim::model::Dataset;

pub(super) fn advance(data: &mut Dataset, _seed: u64, minutes: u32) -> AdvanceSummary {
    data.now += chrono::Duration::minutes(i64::from(minutes));
    AdvanceSummary::default()
}
