//! Orchestrator settings and their allowed ranges (DESIGN §6).

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

pub const INTERVAL_MINUTES: RangeInclusive<i32> = 1..=1440;
pub const RETRY_INTERVAL_MINUTES: RangeInclusive<i32> = 5..=30;
pub const MAX_RETRY_ATTEMPTS: RangeInclusive<i32> = 1..=10;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrchestratorSettings {
    pub interval_minutes: i32,
    pub enabled: bool,
    pub retry_enabled: bool,
    pub retry_interval_minutes: i32,
    pub max_retry_attempts: i32,
}

/// A field that failed validation and why, for showing next to the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    #[schema(value_type = String)]
    pub field: &'static str,
    pub message: String,
}

impl OrchestratorSettings {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |field: &'static str, value: i32, range: RangeInclusive<i32>, what: &str| {
            if !range.contains(&value) {
                errors.push(FieldError {
                    field,
                    message: format!("{what} must be between {} and {}", range.start(), range.end()),
                });
            }
        };
        check(
            "interval_minutes",
            self.interval_minutes,
            INTERVAL_MINUTES,
            "The interval (minutes)",
        );
        check(
            "retry_interval_minutes",
            self.retry_interval_minutes,
            RETRY_INTERVAL_MINUTES,
            "The retry interval (minutes)",
        );
        check(
            "max_retry_attempts",
            self.max_retry_attempts,
            MAX_RETRY_ATTEMPTS,
            "Retry attempts",
        );
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> OrchestratorSettings {
        OrchestratorSettings {
            interval_minutes: 60,
            enabled: true,
            retry_enabled: true,
            retry_interval_minutes: 15,
            max_retry_attempts: 3,
        }
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(defaults().validate(), Ok(()));
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        let s = OrchestratorSettings {
            interval_minutes: 0,
            retry_interval_minutes: 31,
            max_retry_attempts: 11,
            ..defaults()
        };
        let fields: Vec<_> = s
            .validate()
            .expect_err("invalid")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["interval_minutes", "retry_interval_minutes", "max_retry_attempts"]
        );
    }
}
