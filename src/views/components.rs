//! Small reusable pieces.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use crate::domain::job::JobStatus;
use crate::domain::settings::FieldError;

/// A time shown in the scheduler's zone, with the UTC instant machine-readable.
pub fn time(at: Option<DateTime<Utc>>, tz: chrono_tz::Tz) -> Markup {
    match at {
        Some(at) => html! {
            time datetime=(at.to_rfc3339()) title=(at.format("%Y-%m-%d %H:%M:%S UTC")) {
                (at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z"))
            }
        },
        None => html! { span.muted { "—" } },
    }
}

pub fn progress(value: i32, label: &str) -> Markup {
    let value = value.clamp(0, 100);
    html! {
        div.progress role="progressbar" aria-label=(label) aria-valuemin="0" aria-valuemax="100" aria-valuenow=(value) {
            progress max="100" value=(value) { (value) "%" }
        }
    }
}

/// The message for one field, if validation failed there.
pub fn field_error(errors: &[FieldError], field: &str) -> Markup {
    html! {
        @for e in errors.iter().filter(|e| e.field == field) {
            p.field-error id=(format!("{field}-error")) { (e.message) }
        }
    }
}

pub fn has_error(errors: &[FieldError], field: &str) -> bool {
    errors.iter().any(|e| e.field == field)
}

/// A future time with "in N min" beside it; app.js keeps the relative part ticking.
pub fn countdown(at: Option<DateTime<Utc>>, tz: chrono_tz::Tz) -> Markup {
    match at {
        Some(at) => html! {
            (time(Some(at), tz)) " "
            span.countdown data-countdown=(at.to_rfc3339()) { (relative(at - Utc::now())) }
        },
        None => html! { span.muted { "—" } },
    }
}

/// `in 12 min`, `in 2 h 5 min`, `due now`.
pub fn relative(d: chrono::Duration) -> String {
    let mins = d.num_minutes();
    match mins {
        m if m <= 0 => "(due now)".into(),
        m if m < 60 => format!("(in {m} min)"),
        m => format!("(in {} h {} min)", m / 60, m % 60),
    }
}

/// A job's status as its badge (the live client reads `data-status`).
pub fn status_badge(status: JobStatus) -> Markup {
    let class = match status {
        JobStatus::NotStarted => "badge badge-idle",
        JobStatus::Pending => "badge badge-pending",
        JobStatus::Running => "badge badge-running",
        JobStatus::Finished => "badge badge-ok",
        JobStatus::Failed => "badge badge-error",
        JobStatus::Paused => "badge badge-paused",
    };
    html! { span class=(class) data-status=(status.as_str()) { (status.label()) } }
}

#[cfg(test)]
mod badge_tests {
    use super::*;

    #[test]
    fn a_badge_carries_its_status() {
        let html = status_badge(JobStatus::Failed).into_string();
        assert!(html.contains("data-status=\"FAILED\"") && html.contains("badge-error"));
    }
}
