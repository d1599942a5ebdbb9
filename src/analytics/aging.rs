//! Aging work in progress as of an instant (DESIGN §9, §11): the issues the flow filters select
//! that were in an IN_PROGRESS or WAITING place then, their age against the percentiles of the
//! cycle times of the issues completed in the window.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use serde_json::{Value, json};

use super::Cache;
use super::filters::{Filters, ids};
use super::flow::FlowFacts;
use super::forecast::selected;
use crate::db;
use crate::domain::flow::StepCategory;
use crate::domain::metrics::aging::{AT_RISK_PERCENTILE, aged_at, at_risk};
use crate::domain::metrics::forecast::scatter_percentiles;
use crate::domain::metrics::hours;

/// One issue in progress at the instant.
#[derive(Clone, Debug)]
pub struct AgingItem {
    pub key: String,
    pub summary: String,
    pub url: String,
    /// The step it was in (or `(unmapped CATEGORY)`).
    pub step: String,
    pub category: StepCategory,
    pub age_hours: f64,
    pub at_risk: bool,
}

/// Aging work in progress as of `as_of`.
#[derive(Clone, Debug)]
pub struct Aging {
    pub as_of: DateTime<Utc>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The IN_PROGRESS and WAITING steps in flow order (the chart's columns), then the unmapped
    /// places items were in.
    pub steps: Vec<String>,
    /// By step in flow order, oldest first within a step.
    pub items: Vec<AgingItem>,
    /// p50, p70, p85 and p95 of the cycle times of the issues completed in the window (hours).
    pub lines: [(u32, Option<f64>); 4],
}

impl Aging {
    pub fn at_risk(&self) -> usize {
        self.items.iter().filter(|i| i.at_risk).count()
    }

    pub fn p85(&self) -> Option<f64> {
        self.lines
            .iter()
            .find(|(p, _)| *p == AT_RISK_PERCENTILE)
            .and_then(|l| l.1)
    }
}

/// Reads `as_of`: an RFC 3339 instant, a date-time without offset (UTC, as a browser's
/// `datetime-local` input sends it) or a date (the end of that UTC day, as the cumulative flow
/// counts it). `None` when absent or empty: now.
pub fn parse_as_of(query: &str) -> Result<Option<DateTime<Utc>>, String> {
    let Some((_, v)) = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "as_of") else {
        return Ok(None);
    };
    // An offset's `+` sent unencoded arrives as a space.
    let v = v.trim().replace(' ', "+");
    let v = v.as_str();
    if v.is_empty() {
        return Ok(None);
    }
    let parsed = DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.succ_opt())
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        });
    match parsed {
        Some(t) if t.timestamp() >= 0 => Ok(Some(t)),
        Some(_) => Err(format!("as_of must be in 1970 or later, not {v:?}")),
        None => Err(format!(
            "as_of must be an instant as RFC 3339 (e.g. 2026-03-05T12:00:00Z) or a date YYYY-MM-DD, not {v:?}"
        )),
    }
}

/// The selected issues in progress at `as_of` (issue, step, category, age) and the window's
/// percentile lines; no labels read.
async fn compute(
    db: &DatabaseConnection,
    cache: &Cache,
    filters: &Filters,
    as_of: DateTime<Utc>,
) -> Result<
    (
        Vec<(i64, String, StepCategory, f64)>,
        [(u32, Option<f64>); 4],
        Vec<String>,
    ),
    DbErr,
> {
    let (_, snapshot) = cache.current(db).await?;
    let projects = ids(&filters.projects, &db::analytics::project_choices(db).await?);
    let chosen: Vec<&FlowFacts> = selected(&snapshot.flow, filters, &projects);
    let w = filters.window;
    let cycle: Vec<f64> = chosen
        .iter()
        .filter_map(|i| {
            let at = i.done_at.filter(|d| w.contains(*d))?;
            hours(i.started_at, Some(at))
        })
        .collect();
    let lines = scatter_percentiles(&cycle);
    let mut steps: Vec<String> = db::analytics::step_order(db)
        .await?
        .into_iter()
        .filter(|(_, c)| matches!(c, StepCategory::InProgress | StepCategory::Waiting))
        .map(|(n, _)| n)
        .collect();
    let mut aged: Vec<(i64, String, StepCategory, f64)> = chosen
        .iter()
        .filter_map(|i| {
            let a = aged_at(i.started_at, &i.timeline, as_of)?;
            Some((i.issue_id, a.stay.key(), a.stay.category, a.age_hours))
        })
        .collect();
    for (_, step, _, _) in &aged {
        if !steps.contains(step) {
            steps.push(step.clone());
        }
    }
    let column = |s: &str| steps.iter().position(|x| x == s).unwrap_or(usize::MAX);
    aged.sort_by(|a, b| {
        column(&a.1)
            .cmp(&column(&b.1))
            .then(b.3.total_cmp(&a.3))
            .then(a.0.cmp(&b.0))
    });
    Ok((aged, lines, steps))
}

/// Aging work in progress as of `as_of`, each item linked to Jira.
pub async fn aging(
    db: &DatabaseConnection,
    cache: &Cache,
    filters: &Filters,
    as_of: DateTime<Utc>,
) -> Result<Aging, DbErr> {
    let (aged, lines, steps) = compute(db, cache, filters, as_of).await?;
    let p85 = lines.iter().find(|(p, _)| *p == AT_RISK_PERCENTILE).and_then(|l| l.1);
    let labels = db::analytics::issue_labels(db, &aged.iter().map(|a| a.0).collect::<Vec<_>>()).await?;
    let items = aged
        .into_iter()
        .map(|(id, step, category, age_hours)| {
            let label = labels.get(&id).cloned().unwrap_or_default();
            AgingItem {
                key: label.key,
                summary: label.summary,
                url: label.url,
                step,
                category,
                age_hours,
                at_risk: at_risk(age_hours, p85),
            }
        })
        .collect();
    Ok(Aging {
        as_of,
        from: filters.window.from,
        to: filters.window.to,
        steps,
        items,
        lines,
    })
}

/// How many items are at risk as of `as_of` (the dashboard's count: no labels read).
pub async fn at_risk_count(
    db: &DatabaseConnection,
    cache: &Cache,
    filters: &Filters,
    as_of: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let (aged, lines, _) = compute(db, cache, filters, as_of).await?;
    let p85 = lines.iter().find(|(p, _)| *p == AT_RISK_PERCENTILE).and_then(|l| l.1);
    Ok(aged.iter().filter(|a| at_risk(a.3, p85)).count())
}

/// `GET /api/v1/metrics/flow/aging` (DESIGN §11).
pub fn aging_json(a: &Aging) -> Value {
    json!({
        "as_of": a.as_of,
        "from": a.from,
        "to": a.to,
        "steps": a.steps,
        "at_risk": a.at_risk(),
        "items": a.items.iter().map(|i| json!({
            "key": i.key,
            "url": i.url,
            "step": i.step,
            "category": i.category.as_str(),
            "age_hours": i.age_hours,
            "at_risk": i.at_risk,
        })).collect::<Vec<_>>(),
        "percentiles_hours": a.lines.iter().map(|(p, v)| (format!("p{p}"), json!(v))).collect::<serde_json::Map<_, _>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_reads_instants_local_date_times_and_dates() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(parse_as_of(""), Ok(None));
        assert_eq!(parse_as_of("as_of="), Ok(None));
        assert_eq!(
            parse_as_of("as_of=2026-03-05T12:00:00%2B02:00"),
            Ok(Some(t("2026-03-05T10:00:00Z")))
        );
        assert_eq!(
            parse_as_of("as_of=2026-03-05T12:00:00+02:00"),
            Ok(Some(t("2026-03-05T10:00:00Z")))
        );
        assert_eq!(
            parse_as_of("as_of=2026-03-05T12:30"),
            Ok(Some(t("2026-03-05T12:30:00Z")))
        );
        assert_eq!(parse_as_of("as_of=2026-03-05"), Ok(Some(t("2026-03-06T00:00:00Z"))));
        for bad in ["as_of=yesterday", "as_of=2026-13-01", "as_of=1969-12-31T00:00:00Z"] {
            assert!(parse_as_of(bad).unwrap_err().starts_with("as_of must"), "{bad}");
        }
    }
}
