//! Aging work in progress as of an instant (DESIGN §9, §11): the issues the flow filters select
//! that were in an IN_PROGRESS or WAITING place then, their age against the percentiles of the
//! cycle times of the issues completed in the window.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use serde_json::{Value, json};

use super::FlowInputs;
use super::filters::Filters;
use super::flow::{FlowFacts, Pick};
use crate::db;
use crate::domain::flow::StepCategory;
use crate::domain::metrics::aging::{AT_RISK_PERCENTILE, aged_at, at_risk};
use crate::domain::metrics::forecast::scatter_percentiles;
use crate::domain::metrics::hours;

/// One issue in progress at the instant.
#[derive(Clone, Debug)]
pub struct AgingItem {
    pub issue_id: i64,
    pub key: String,
    /// Read only for the items a list shows (empty otherwise).
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

    /// What the page's lists show, as indexes into `items`: the first `limit` items (by step,
    /// oldest first), and the `limit` oldest at risk, oldest first.
    pub fn listed(&self, limit: usize) -> (Vec<usize>, Vec<usize>) {
        let all: Vec<usize> = (0..self.items.len().min(limit)).collect();
        let mut risky: Vec<usize> = (0..self.items.len()).filter(|&k| self.items[k].at_risk).collect();
        risky.sort_by(|&x, &y| self.items[y].age_hours.total_cmp(&self.items[x].age_hours));
        risky.truncate(limit);
        (all, risky)
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

/// The selected issues in progress (issue, step, category, age), the window's percentile lines
/// and the steps (the chart's columns).
type Computed<'a> = (
    Vec<(&'a FlowFacts, String, StepCategory, f64)>,
    [(u32, Option<f64>); 4],
    Vec<String>,
);

/// The selected issues in progress at `as_of` and the window's percentile lines.
fn compute<'a>(inputs: &'a FlowInputs, filters: &Filters, as_of: DateTime<Utc>) -> Computed<'a> {
    let pick = Pick::new(filters, &inputs.projects);
    let w = filters.window;
    let cycle: Vec<f64> = (pick.of(inputs.snapshot.done_between(w.start(), w.end())).iter())
        .filter_map(|i| hours(i.started_at, i.done_at))
        .collect();
    let lines = scatter_percentiles(&cycle);
    let mut steps: Vec<String> = inputs
        .steps
        .iter()
        .filter(|(_, c)| matches!(c, StepCategory::InProgress | StepCategory::Waiting))
        .map(|(n, _)| n.clone())
        .collect();
    let mut aged: Vec<(&FlowFacts, String, StepCategory, f64)> = (inputs.snapshot.flow.iter())
        .filter_map(|i| {
            // From its last move on, an issue stands where it stands now: most are done, and
            // are left out without reading their timelines.
            if i.current_since.is_some_and(|s| s <= as_of)
                && !matches!(
                    i.current_category,
                    Some(StepCategory::InProgress | StepCategory::Waiting)
                )
            {
                return None;
            }
            if !pick.counted(i) {
                return None;
            }
            let a = aged_at(i.started_at, &i.timeline, as_of)?;
            Some((i, a.stay.key(), a.stay.category, a.age_hours))
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
            .then(a.0.issue_id.cmp(&b.0.issue_id))
    });
    (aged, lines, steps)
}

/// Aging work in progress as of `as_of`, each item linked to Jira; with `summaries`, the items
/// a list shows ([`Aging::listed`] with that limit) carry their summaries (read for those only).
pub async fn aging(
    db: &DatabaseConnection,
    inputs: &FlowInputs,
    filters: &Filters,
    as_of: DateTime<Utc>,
    summaries: Option<usize>,
) -> Result<Aging, DbErr> {
    let mut a = items(inputs, filters, as_of);
    if let Some(limit) = summaries {
        add_summaries(db, &mut a, limit).await?;
    }
    Ok(a)
}

/// [`aging`] without summaries: computed from the snapshot alone (the flow page computes it on
/// a thread of its own, beside the report).
pub fn items(inputs: &FlowInputs, filters: &Filters, as_of: DateTime<Utc>) -> Aging {
    let (aged, lines, steps) = compute(inputs, filters, as_of);
    let p85 = lines.iter().find(|(p, _)| *p == AT_RISK_PERCENTILE).and_then(|l| l.1);
    let items = aged
        .into_iter()
        .map(|(i, step, category, age_hours)| AgingItem {
            issue_id: i.issue_id,
            key: i.key.to_string(),
            summary: String::new(),
            url: inputs.url(i),
            step,
            category,
            age_hours,
            at_risk: at_risk(age_hours, p85),
        })
        .collect();
    Aging {
        as_of,
        from: filters.window.from,
        to: filters.window.to,
        steps,
        items,
        lines,
    }
}

/// Reads the summaries of the items a list of at most `limit` rows shows ([`Aging::listed`]).
pub async fn add_summaries(db: &DatabaseConnection, a: &mut Aging, limit: usize) -> Result<(), DbErr> {
    let (all, risky) = a.listed(limit);
    let ids: Vec<i64> = all.iter().chain(&risky).map(|&k| a.items[k].issue_id).collect();
    let mut read = db::analytics::issue_summaries(db, &ids).await?;
    for k in all.into_iter().chain(risky) {
        if let Some(s) = read.remove(&a.items[k].issue_id) {
            a.items[k].summary = s;
        }
    }
    Ok(())
}

/// How many items are at risk as of `as_of` (the dashboard's count).
pub fn at_risk_count(inputs: &FlowInputs, filters: &Filters, as_of: DateTime<Utc>) -> usize {
    let (aged, lines, _) = compute(inputs, filters, as_of);
    let p85 = lines.iter().find(|(p, _)| *p == AT_RISK_PERCENTILE).and_then(|l| l.1);
    aged.iter().filter(|a| at_risk(a.3, p85)).count()
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
