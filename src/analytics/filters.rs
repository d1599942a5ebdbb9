//! Filters shared by every analytics page and API: date range, repositories, projects (and a
//! few page-specific ones), read from and written back to the query string so a view is a link.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::domain::metrics::{Window, tiers};

/// Preset ranges offered by the filter form, in days.
pub const PRESETS: [u64; 4] = [30, 90, 180, 365];
/// Range used when the URL names none.
const DEFAULT_DAYS: u64 = 90;
/// Longest custom window accepted, so one request cannot ask for centuries of buckets.
const MAX_DAYS: i64 = 3 * 366;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Filters {
    /// `30`, `90`, `180`, `365` or `custom`.
    pub range: String,
    pub window: Window,
    pub repositories: Vec<String>,
    pub projects: Vec<String>,
    pub authors: Vec<String>,
    pub issue_types: Vec<String>,
    pub categories: Vec<String>,
    pub benchmark: Option<String>,
    /// `team=ID`: the team's repositories and projects replace the two lists (see
    /// [`Filters::scope_to`]).
    pub team: Option<i64>,
}

/// A list entry that matches no repository and no project: a team without repositories counts
/// none (an empty list would mean all).
pub const NOTHING: &str = "-";

impl Filters {
    /// Reads `range`, `from`, `to` (YYYY-MM-DD, inclusive, UTC days), `repositories`,
    /// `projects`, `authors`, `issue_types`, `categories`, `benchmark`; lists may repeat the key
    /// or separate values by commas. `from`/`to` apply with `range=custom` or without `range`
    /// (the form always sends the dates; a preset range wins over them).
    pub fn parse(query: &str, today: NaiveDate) -> Result<Self, String> {
        let mut f = Filters {
            range: DEFAULT_DAYS.to_string(),
            window: Window::last_days(today, DEFAULT_DAYS),
            repositories: vec![],
            projects: vec![],
            authors: vec![],
            issue_types: vec![],
            categories: vec![],
            benchmark: None,
            team: None,
        };
        let (mut from, mut to, mut range_given) = (None, None, false);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let list = |l: &mut Vec<String>| {
                l.extend(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from));
            };
            match k.as_ref() {
                "range" => {
                    f.range = v.to_string();
                    range_given = true;
                }
                "from" => from = Some(date(v, "from")?),
                "to" => to = Some(date(v, "to")?),
                "repositories" => list(&mut f.repositories),
                "projects" => list(&mut f.projects),
                "authors" => list(&mut f.authors),
                "issue_types" => list(&mut f.issue_types),
                "categories" => list(&mut f.categories),
                "benchmark" => {
                    if !tiers::versions().any(|b| b == v) {
                        let known = tiers::versions().collect::<Vec<_>>().join(" or ");
                        return Err(format!("benchmark must be {known}, not {v:?}"));
                    }
                    f.benchmark = Some(v.to_string())
                }
                "team" => {
                    f.team = Some(
                        v.parse()
                            .ok()
                            .filter(|id: &i64| *id > 0)
                            .ok_or_else(|| format!("team must be a team's id, not {v:?}"))?,
                    )
                }
                _ => {}
            }
        }
        // Both dates given: to before from is refused whatever the range says (a preset range
        // wins over the dates, but reversed dates are still a mistake worth naming).
        if let (Some(from), Some(to)) = (from, to) {
            reversed(from, to)?;
        }
        if f.range == "custom" || (!range_given && (from.is_some() || to.is_some())) {
            let to = to.unwrap_or(today);
            let from = from.unwrap_or_else(|| Window::last_days(to, DEFAULT_DAYS).from);
            reversed(from, to)?;
            f.window = Window::new(from, to);
            f.range = "custom".into();
        } else {
            let days: u64 = f
                .range
                .parse()
                .ok()
                .filter(|d| PRESETS.contains(d))
                .ok_or_else(|| format!("range must be one of 30, 90, 180, 365 or custom, not {:?}", f.range))?;
            f.window = Window::last_days(today, days);
        }
        if f.window.days() > MAX_DAYS {
            return Err(format!("the window may span at most {MAX_DAYS} days"));
        }
        f.repositories.dedup();
        f.projects.dedup();
        Ok(f)
    }

    /// The query string that reproduces these filters (for links and drill-downs).
    pub fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if self.range == "custom" {
            q.append_pair("from", &self.window.from.to_string());
            q.append_pair("to", &self.window.to.to_string());
        } else {
            q.append_pair("range", &self.range);
        }
        if let Some(t) = self.team {
            q.append_pair("team", &t.to_string());
        }
        let lists = if self.team.is_some() {
            vec![]
        } else {
            vec![("repositories", &self.repositories), ("projects", &self.projects)]
        };
        for (k, l) in lists.into_iter().chain([
            ("authors", &self.authors),
            ("issue_types", &self.issue_types),
            ("categories", &self.categories),
        ]) {
            for v in l {
                q.append_pair(k, v);
            }
        }
        if let Some(b) = &self.benchmark {
            q.append_pair("benchmark", b);
        }
        q.finish()
    }
}

impl Filters {
    /// Exactly the team's repositories and projects (DESIGN §9), whatever the lists said.
    pub fn scope_to(&mut self, repositories: Vec<String>, projects: Vec<String>) {
        let or_nothing = |l: Vec<String>| if l.is_empty() { vec![NOTHING.to_string()] } else { l };
        self.repositories = or_nothing(repositories);
        self.projects = or_nothing(projects);
    }
}

/// The earliest date a window may start: nothing the service syncs is older.
const FIRST_YEAR: i32 = 1970;

/// The window's two ends in order, or why not.
fn reversed(from: NaiveDate, to: NaiveDate) -> Result<(), String> {
    if to < from {
        return Err(format!(
            "to ({to}) is before from ({from}); the window runs from one day to a later one"
        ));
    }
    Ok(())
}

/// A date parameter `field`: `YYYY-MM-DD` (four digits, no sign), in [`FIRST_YEAR`] or later.
/// Every date the analytics read goes through here (the filters' `from`/`to`, the forecast's
/// `history_from`/`history_to`).
pub(crate) fn date(v: &str, field: &str) -> Result<NaiveDate, String> {
    let d = (v.len() == 10 && v.as_bytes()[..4].iter().all(u8::is_ascii_digit))
        .then(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| format!("{field} must be a date as YYYY-MM-DD, not {v:?}"))?;
    if d.year() < FIRST_YEAR {
        return Err(format!("{field} must be in {FIRST_YEAR} or later, not {v}"));
    }
    Ok(d)
}

/// Ids of the chosen items among `(id, name)` choices; a name or an id selects. An empty
/// choice means all (`[]`); a choice matching nothing gives `[-1]`, which matches no row.
pub fn ids(chosen: &[String], choices: &[(i64, String)]) -> Vec<i64> {
    if chosen.is_empty() {
        return vec![];
    }
    let found: Vec<i64> = choices
        .iter()
        .filter(|(id, name)| {
            chosen
                .iter()
                .any(|c| c.eq_ignore_ascii_case(name) || c.parse::<i64>().is_ok_and(|n| n == *id))
        })
        .map(|(id, _)| *id)
        .collect();
    if found.is_empty() { vec![-1] } else { found }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
    }

    #[test]
    fn presets_custom_ranges_and_lists_round_trip_through_the_query() {
        let f = Filters::parse("range=30&repositories=acme/api,acme/web&repositories=acme/ops", today()).unwrap();
        assert_eq!(f.window.from, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        assert_eq!(f.repositories, ["acme/api", "acme/web", "acme/ops"]);
        assert_eq!(Filters::parse(&f.query(), today()).unwrap(), f);
        let c = Filters::parse("from=2026-01-01&to=2026-01-31&projects=OPS", today()).unwrap();
        assert_eq!((c.range.as_str(), c.window.days()), ("custom", 31));
        assert_eq!(Filters::parse(&c.query(), today()).unwrap(), c);
        assert!(Filters::parse("range=7", today()).is_err());
        let preset = Filters::parse("range=180&from=2026-01-01&to=2026-01-31", today()).unwrap();
        assert_eq!((preset.range.as_str(), preset.window.days()), ("180", 180));
        assert!(Filters::parse("from=yesterday", today()).is_err());
        let mut t = Filters::parse("team=7&repositories=acme/x&authors=ada", today()).unwrap();
        t.scope_to(vec!["acme/api".into()], vec![]);
        assert_eq!(
            (t.repositories.clone(), t.projects.clone()),
            (vec!["acme/api".to_string()], vec![NOTHING.to_string()])
        );
        assert_eq!(t.query(), "range=90&team=7&authors=ada");
        assert!(Filters::parse("team=abc", today()).is_err());
        for bad in [
            "from=2026-02-01&to=2026-01-01",
            "range=30&from=2026-02-01&to=2026-01-01",
            "range=custom&from=2026-02-01&to=2026-01-01",
            "to=2026-01-01&range=365&from=2026-02-01",
            "from=0000-01-01&to=2026-01-01",
            "from=-0001-01-01&to=2026-01-01",
            "from=1969-12-31",
            "from=%2B2026-01-01",
            "from=26-01-01",
            "from=2027-01-01",
        ] {
            assert!(Filters::parse(bad, today()).is_err(), "{bad}");
        }
        assert_eq!(Filters::parse("", today()).unwrap().window.days(), 90);
        // Reversed dates say so with any range; a preset range with dates in order still wins.
        for q in [
            "from=2026-02-01&to=2026-01-01",
            "range=30&from=2026-02-01&to=2026-01-01",
            "range=custom&from=2026-02-01&to=2026-01-01",
        ] {
            let why = Filters::parse(q, today()).unwrap_err();
            assert_eq!(
                why, "to (2026-01-01) is before from (2026-02-01); the window runs from one day to a later one",
                "{q}"
            );
        }
        assert_eq!(
            Filters::parse("range=30&from=2026-01-01&to=2026-02-01", today())
                .unwrap()
                .window
                .days(),
            30
        );
        assert_eq!(
            date("0000-01-01", "from").unwrap_err(),
            "from must be in 1970 or later, not 0000-01-01"
        );
    }

    #[test]
    fn names_or_ids_select_and_unknown_names_select_nothing() {
        let choices = vec![(1, "acme/api".to_string()), (2, "acme/web".to_string())];
        assert_eq!(ids(&[], &choices), Vec::<i64>::new());
        assert_eq!(ids(&["ACME/web".into(), "1".into()], &choices), vec![1, 2]);
        assert_eq!(ids(&["nope".into()], &choices), vec![-1]);
    }
}
