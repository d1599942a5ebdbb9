//! Analytics pages: shared pieces (tabs, filter form, metric cards, N/A explanations, number
//! formats); one module per page.

mod dora;
mod flow;
mod prs;

/// The pages, each wrapped so the analytics styles stay on them.
pub fn dora(r: &crate::analytics::dora::DoraReport, c: &Choices) -> Markup {
    html! { div.analytics { (dora::dora(r, c)) } }
}
pub fn prs(r: &crate::analytics::prs::PrReport, c: &Choices) -> Markup {
    html! { div.analytics { (prs::prs(r, c)) } }
}
pub fn flow(r: &crate::analytics::flow::FlowReport, c: &Choices, fc: &Forecasting) -> Markup {
    html! { div.analytics { (flow::flow(r, c, fc)) } }
}

pub use flow::Forecasting;

use maud::{Markup, html};

use crate::analytics::filters::{Filters, PRESETS};
use crate::analytics::{Choices, Missing};
use crate::domain::metrics::tiers::Tier;

/// Drill-down lists up to this long start unfolded; longer ones start folded.
const OPEN_ROWS: usize = 25;

/// Which extra filters a page offers besides dates, repositories and projects.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Dora,
    Prs,
    Flow,
}

impl Page {
    fn path(self) -> &'static str {
        match self {
            Page::Dora => "/analytics/dora",
            Page::Prs => "/analytics/prs",
            Page::Flow => "/analytics/flow",
        }
    }
    fn api(self) -> &'static str {
        match self {
            Page::Dora => "/api/v1/metrics/dora",
            Page::Prs => "/api/v1/metrics/prs",
            Page::Flow => "/api/v1/metrics/flow",
        }
    }
}

/// Hours as minutes, hours or days, whichever reads best.
pub fn duration(h: f64) -> String {
    if h < 1.0 {
        format!("{:.0} min", h * 60.0)
    } else if h < 48.0 {
        format!("{h:.1} h")
    } else {
        format!("{:.1} d", h / 24.0)
    }
}

pub fn percent(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

pub fn number(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

pub fn opt(x: Option<f64>, f: fn(f64) -> String) -> String {
    x.map_or_else(|| "—".into(), f)
}

/// Page heading, tabs that keep the filters, the filter form and a link to the same numbers as JSON.
pub fn head(page: Page, title: &str, lead: &str, f: &Filters, choices: &Choices, extra: Markup) -> Markup {
    let q = f.query();
    html! {
        div.page-head {
            div {
                h1 { (title) }
                p.muted { (lead) }
            }
            nav.tabs aria-label="Analytics" {
                @for (p, label) in [(Page::Dora, "DORA"), (Page::Prs, "Pull requests"), (Page::Flow, "Flow")] {
                    @if p == page {
                        a.tab.active href=(format!("{}?{q}", p.path())) aria-current="page" { (label) }
                    } @else {
                        a.tab href=(format!("{}?{q}", p.path())) { (label) }
                    }
                }
            }
        }
        form.filters.card method="get" action=(page.path()) {
            div.filter {
                label for="f-range" { "Period" }
                select #f-range name="range" {
                    @for d in PRESETS {
                        option value=(d) selected[f.range == d.to_string()] { "Last " (d) " days" }
                    }
                    option value="custom" selected[f.range == "custom"] { "Custom dates" }
                }
            }
            div.filter {
                label for="f-from" { "From" }
                input #f-from type="date" name="from" value=(f.window.from);
            }
            div.filter {
                label for="f-to" { "To" }
                input #f-to type="date" name="to" value=(f.window.to);
            }
            @if !choices.teams.is_empty() {
                div.filter {
                    label for="f-team" { "Team" }
                    select #f-team name="team" {
                        option value="" selected[f.team.is_none()] { "Everyone" }
                        @for (id, name) in &choices.teams {
                            option value=(id) selected[f.team == Some(*id)] { (name) }
                        }
                    }
                }
            }
            @if page != Page::Flow && f.team.is_none() {
                (multi("Repositories", "repositories", &choices.repositories, &f.repositories))
            }
            @if page != Page::Prs && f.team.is_none() {
                (multi("Projects", "projects", &choices.projects, &f.projects))
            }
            (extra)
            div.filter.filter-actions {
                button.button.primary type="submit" { "Apply" }
                a.button.secondary href=(page.path()) { "Reset" }
            }
        }
        p.window-note.muted {
            "Showing " strong { (f.window.from) } " to " strong { (f.window.to) } " (UTC days, inclusive), compared with the "
            (f.window.days()) " days before. "
            a href=(format!("{}?{q}", page.api())) { "These numbers as JSON" }
        }
    }
}

/// A link to the whole drill-down list of `page` as CSV, with the same filters.
fn csv_link(page: Page, f: &Filters) -> Markup {
    html! {
        a.csv-link href=(format!("{}?{}&format=csv", page.api(), f.query())) download { "Download all as CSV" }
    }
}

/// Says so when the numbers are not from the latest data: a sync is running (they come from the
/// last build of the precomputed rows, rebuilt when it finishes), or the rows are being rebuilt.
pub fn freshness(f: &crate::db::analytics::Freshness) -> Markup {
    let as_of = html! {
        @if let Some(at) = f.built_at {
            "at " time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M UTC")) }
        } @else { "before it started" }
    };
    html! {
        @if f.syncing {
            p.notice #freshness role="status" {
                "A sync is running: these numbers are from the data as it was " (as_of)
                ", and they refresh when the sync finishes."
            }
        } @else if f.rebuilding {
            p.notice #freshness role="status" {
                "The numbers are being recomputed from the latest data: these are from the data as it was "
                (as_of) ". Reload in a moment for the new ones."
            }
        }
    }
}

/// A checkbox list in a disclosure; nothing ticked means all.
pub fn multi(label: &str, name: &str, options: &[String], chosen: &[String]) -> Markup {
    let picked = |o: &String| chosen.iter().any(|c| c.eq_ignore_ascii_case(o));
    let n = options.iter().filter(|o| picked(o)).count();
    html! {
        div.filter {
            span.filter-label { (label) }
            details.multi {
                summary { @if n == 0 { "All" } @else { (n) " selected" } }
                div.multi-panel {
                    @if options.is_empty() { p.muted { "None synced yet" } }
                    @for o in options {
                        label.check { input type="checkbox" name=(name) value=(o) checked[picked(o)]; " " (o) }
                    }
                }
            }
        }
    }
}

pub fn tier_badge(t: Option<Tier>) -> Markup {
    html! {
        @if let Some(t) = t {
            span class=(format!("badge tier-{}", t.label().to_lowercase())) title="DORA benchmark tier" { (t.label()) }
        }
    }
}

/// "Why is this N/A?": what is missing, and the page that fixes it.
pub fn why(m: &Missing) -> Markup {
    html! {
        div.why role="note" {
            strong { "Why is this N/A? " }
            (m.reason)
            @if let Some((href, label)) = m.fix { " " a href=(href) { "Fix it: " (label) } }
        }
    }
}

/// One headline number with its comparison and definition.
pub struct Card<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub value: Option<String>,
    pub detail: Option<String>,
    pub tier: Option<Tier>,
    pub previous: Option<String>,
    pub missing: Option<&'a Missing>,
    pub definition: &'a str,
}

pub fn card(c: Card) -> Markup {
    html! {
        article.card.metric id=(c.id) data-metric=(c.id) {
            div.metric-head { h2 { (c.title) } (tier_badge(c.tier)) }
            @match &c.value {
                Some(v) => { p.metric-value data-value=(v) { (v) } }
                None => { p.metric-value.na { "N/A" } }
            }
            @if let Some(d) = &c.detail { p.metric-detail { (d) } }
            @if c.value.is_none() { @if let Some(m) = c.missing { (why(m)) } }
            @if let Some(p) = &c.previous { p.compare { "Previous period: " (p) } }
            details.definition { summary { "Definition" } p { (c.definition) } }
        }
    }
}

/// A section with a chart and, folded beside it, the same numbers as a table.
pub fn chart_with_table(chart: Markup, table: Markup) -> Markup {
    html! {
        div.chart-block {
            (chart)
            details.table-view { summary { "Table view" } div.table-wrap { (table) } }
        }
    }
}
