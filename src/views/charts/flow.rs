//! Charts of the forecasting flow analytics: aging work in progress (dots per step against the
//! percentile bands of completed items), the cumulative flow (stacked areas over days) and a few
//! series over the same days or weeks with reference lines (Little's law, arrivals and
//! departures).

use maud::{Markup, html};

use super::{W, clip, empty, frame};

/// One item in progress: its column (step), its age, a label and a link.
pub struct Aged {
    pub column: usize,
    pub age: f64,
    pub label: String,
    pub href: Option<String>,
    pub at_risk: bool,
}

/// Dots per step column against the bands between percentile lines (`lines` ascending).
pub fn aging(
    title: &str,
    columns: &[String],
    items: &[Aged],
    lines: &[(String, f64)],
    fmt: impl Fn(f64) -> String,
) -> Markup {
    if columns.is_empty() {
        return empty(title);
    }
    let (h, top, bottom, left, right) = (320.0, 16.0, 84.0, 64.0, 110.0);
    let highest_line = lines.iter().map(|l| l.1).fold(0.0, f64::max);
    let oldest = items.iter().map(|d| d.age).fold(0.0, f64::max);
    // As the scatter: the axis stops at twice the highest line, older items sit on the top edge.
    let max = if highest_line > 0.0 {
        oldest.min(highest_line * 2.0).max(highest_line * 1.15)
    } else {
        oldest
    }
    .max(f64::MIN_POSITIVE);
    let plot = W - left - right;
    let col_w = plot / columns.len() as f64;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v.min(max) / max);
    // Bands from 0 up to each line, then above the last.
    let mut edges: Vec<f64> = vec![0.0];
    edges.extend(lines.iter().map(|l| l.1.min(max)));
    edges.push(max);
    let mut per_column = vec![0usize; columns.len()];
    // Side by side across the column, a few lanes wide, so equal ages stay visible.
    let at: Vec<(f64, f64)> = items
        .iter()
        .map(|d| {
            let c = d.column.min(columns.len() - 1);
            per_column[c] += 1;
            let lane = ((per_column[c] - 1) % 7) as f64 - 3.0;
            (
                left + col_w * (c as f64 + 0.5) + lane * (col_w / 9.0).min(10.0),
                y(d.age),
            )
        })
        .collect();
    // Dots without a link are drawn once per position (to a tenth of a unit: the lanes are a
    // few units apart), as the scatter's: thousands of items in progress at 500k issues, each a
    // linked circle with a title, made more than half of the flow page's bytes.
    let plain: [String; 2] = [false, true].map(|risk| {
        let points = (items.iter().zip(&at))
            .filter(|(d, _)| d.href.is_none() && d.at_risk == risk)
            .map(|(_, p)| *p);
        super::dots_path(points, 1)
    });
    let desc = format!(
        "{} items in progress; {}",
        items.len(),
        lines
            .iter()
            .map(|(l, v)| format!("{l}: {}", fmt(*v)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    frame(
        title,
        &desc,
        (W, h),
        html! {
            @for (k, pair) in edges.windows(2).enumerate() {
                @if pair[1] > pair[0] {
                    rect class=(format!("band b{}", k.min(4))) x=(left) width=(format!("{plot:.1}"))
                        y=(format!("{:.1}", y(pair[1]))) height=(format!("{:.1}", y(pair[0]) - y(pair[1]))) {}
                }
            }
            @for i in 1..columns.len() {
                line.gridline x1=(format!("{:.1}", left + col_w * i as f64)) x2=(format!("{:.1}", left + col_w * i as f64)) y1=(top) y2=(h - bottom) {}
            }
            line.baseline x1=(left) x2=(W - right) y1=(y(0.0)) y2=(y(0.0)) {}
            text.axis x=(left - 6.0) y=(y(max) + 4.0) text-anchor="end" { @if oldest > max { "≥ " } (fmt(max)) }
            text.axis x=(left - 6.0) y=(y(0.0) + 4.0) text-anchor="end" { "0" }
            @for (i, c) in columns.iter().enumerate() {
                // Slanted, so step names longer than a column stay readable.
                @let (cx, cy) = (left + col_w * (i as f64 + 0.5), h - bottom + 14.0);
                text.axis x=(format!("{cx:.1}")) y=(format!("{cy:.1}")) text-anchor="end"
                    transform=(format!("rotate(-30 {cx:.1} {cy:.1})")) { (clip(c, 22)) }
            }
            @for (_, v) in lines {
                line.pline x1=(left) x2=(W - right) y1=(format!("{:.1}", y(*v))) y2=(format!("{:.1}", y(*v))) {}
            }
            @for (k, (label, v)) in lines.iter().enumerate() {
                // Labels at least 13 units apart, from the bottom up.
                @let ly = lines[..=k].iter().fold(f64::MAX, |prev, (_, w)| (y(*w) + 4.0).min(prev - 13.0));
                text.axis x=(W - right + 6.0) y=(format!("{ly:.1}")) { (label) " " (fmt(*v)) }
            }
            // Plain dots (those at risk, and the others) are one path each; linked ones are
            // circles with their titles, drawn over them.
            @for (class, d) in [("points", &plain[0]), ("points risk", &plain[1])] {
                @if !d.is_empty() { path class=(class) d=(d) {} }
            }
            @for (d, (cx, cy)) in items.iter().zip(&at).filter(|(d, _)| d.href.is_some()) {
                @let class = if d.at_risk { "point risk" } else { "point" };
                a href=[&d.href] { circle class=(class) cx=(format!("{cx:.1}")) cy=(format!("{cy:.1}")) r="3.5" { title { (d.label) } } }
            }
        },
    )
}

/// Stacked areas over days: `bands` in flow order, each day's counts in that order; the last
/// band is drawn at the bottom (done work settles there, as in a cumulative flow diagram).
pub fn stacked_area(title: &str, bands: &[String], days: &[(String, Vec<u32>)]) -> Markup {
    if days.is_empty() || days.iter().all(|d| d.1.iter().all(|v| *v == 0)) {
        return empty(title);
    }
    let per_row = 4usize;
    let legend_h = 18.0 * bands.len().div_ceil(per_row) as f64 + 6.0;
    let (h, bottom, left, right) = (300.0 + legend_h, 28.0, 64.0, 16.0);
    let top = legend_h + 10.0;
    let max = days
        .iter()
        .map(|d| d.1.iter().map(|v| f64::from(*v)).sum::<f64>())
        .fold(0.0, f64::max)
        .max(1.0);
    let n = days.len().max(2) as f64 - 1.0;
    let x = |i: usize| left + (W - left - right) * if days.len() == 1 { 0.5 } else { i as f64 / n };
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    // Per day, the running total from the bottom band (the last) up.
    let mut lower = vec![0.0f64; days.len()];
    let mut polygons: Vec<(usize, String)> = Vec::new();
    for b in (0..bands.len()).rev() {
        let upper: Vec<f64> = days
            .iter()
            .zip(&lower)
            .map(|(d, lo)| lo + f64::from(d.1.get(b).copied().unwrap_or(0)))
            .collect();
        if upper.iter().zip(&lower).any(|(u, l)| u > l) {
            let mut pts: Vec<String> = upper
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
                .collect();
            pts.extend(
                lower
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))),
            );
            polygons.push((b, pts.join(" ")));
        }
        lower = upper;
    }
    let last = days.len() - 1;
    let desc = format!(
        "{} days from {} to {}; on the last day {}",
        days.len(),
        days[0].0,
        days[last].0,
        bands
            .iter()
            .zip(&days[last].1)
            .map(|(b, v)| format!("{b} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let col = (W - left) / per_row as f64;
    frame(
        title,
        &desc,
        (W, h),
        html! {
            @for (k, b) in bands.iter().enumerate() {
                @let (lx, ly) = (left + col * (k % per_row) as f64, 6.0 + 18.0 * (k / per_row) as f64);
                rect class=(format!("area a{}", k % 10)) x=(format!("{lx:.1}")) y=(ly) width="12" height="12" rx="2" {}
                text.axis x=(format!("{:.1}", lx + 16.0)) y=(ly + 10.0) { (clip(b, 16)) }
            }
            @for (b, pts) in &polygons {
                polygon class=(format!("area a{}", b % 10)) points=(pts) { title { (bands[*b]) } }
            }
            line.baseline x1=(left) x2=(W - right) y1=(y(0.0)) y2=(y(0.0)) {}
            text.axis x=(left - 6.0) y=(y(max) + 4.0) text-anchor="end" { (max) }
            text.axis x=(left - 6.0) y=(y(0.0) + 4.0) text-anchor="end" { "0" }
            text.axis x=(x(0)) y=(h - bottom + 18.0) text-anchor="start" { (days[0].0) }
            text.axis x=(x(last)) y=(h - bottom + 18.0) text-anchor="end" { (days[last].0) }
        },
    )
}

/// A few series over the same points (days, weeks), with dashed horizontal reference lines
/// labelled on the right.
pub fn series(
    title: &str,
    labels: &[String],
    series: &[(&str, Vec<f64>)],
    refs: &[(String, f64)],
    fmt: impl Fn(f64) -> String,
) -> Markup {
    if labels.is_empty() || series.iter().all(|s| s.1.iter().all(|v| *v == 0.0)) && refs.is_empty() {
        return empty(title);
    }
    let (h, top, bottom, left, right) = (240.0, 30.0, 36.0, 64.0, 150.0);
    let max = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .chain(refs.iter().map(|r| r.1))
        .fold(0.0, f64::max)
        .max(1.0);
    let n = labels.len().max(2) as f64 - 1.0;
    let x = |i: usize| left + (W - left - right) * if labels.len() == 1 { 0.5 } else { i as f64 / n };
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let desc = series
        .iter()
        .map(|(name, vs)| format!("{name}: {}", vs.iter().map(|v| fmt(*v)).collect::<Vec<_>>().join(", ")))
        .chain(refs.iter().map(|(l, v)| format!("{l}: {}", fmt(*v))))
        .collect::<Vec<_>>()
        .join("; ");
    let last = labels.len() - 1;
    frame(
        title,
        &desc,
        (W, h),
        html! {
            @for (k, (name, _)) in series.iter().enumerate() {
                line class=(format!("series l{k}")) x1=(left + k as f64 * 150.0) x2=(left + k as f64 * 150.0 + 18.0) y1="12" y2="12" {}
                text.axis x=(left + k as f64 * 150.0 + 24.0) y="16" { (name) }
            }
            line.gridline x1=(left) x2=(W - right) y1=(y(max)) y2=(y(max)) {}
            line.baseline x1=(left) x2=(W - right) y1=(y(0.0)) y2=(y(0.0)) {}
            text.axis x=(left - 6.0) y=(y(max) + 4.0) text-anchor="end" { (fmt(max)) }
            text.axis x=(left - 6.0) y=(y(0.0) + 4.0) text-anchor="end" { "0" }
            @for (k, (_, vs)) in series.iter().enumerate() {
                polyline class=(format!("series l{k}")) points=(vs.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect::<Vec<_>>().join(" ")) {}
            }
            @for (k, (label, v)) in refs.iter().enumerate() {
                line class=(format!("pline r{k}")) x1=(left) x2=(W - right) y1=(format!("{:.1}", y(*v))) y2=(format!("{:.1}", y(*v))) {}
                @let ly = refs[..=k].iter().fold(f64::MAX, |prev, (_, w)| (y(*w) + 4.0).min(prev - 13.0));
                text.axis x=(W - right + 6.0) y=(format!("{ly:.1}")) { (label) " " (fmt(*v)) }
            }
            text.axis x=(x(0)) y=(h - bottom + 18.0) text-anchor="start" { (labels[0]) }
            text.axis x=(x(last)) y=(h - bottom + 18.0) text-anchor="end" { (labels[last]) }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cumulative_flow_stacks_a_polygon_per_band_with_counts() {
        let bands = vec!["To do".to_string(), "Dev".into(), "Done".into()];
        let days = vec![("03-01".to_string(), vec![2, 1, 0]), ("03-02".into(), vec![1, 1, 1])];
        let html = stacked_area("Cumulative flow", &bands, &days).into_string();
        assert_eq!(html.matches("<polygon").count(), 3);
        assert!(html.contains("To do 1, Dev 1, Done 1"));
        let none = stacked_area("Cumulative flow", &bands, &[("03-01".into(), vec![0, 0, 0])]).into_string();
        assert!(none.contains("No data"));
    }

    #[test]
    fn aging_draws_a_dot_per_item_and_marks_those_at_risk() {
        let items = [(0, 5.0, false), (0, 50.0, true), (1, 1.0, false)].map(|(column, age, at_risk)| Aged {
            column,
            age,
            label: format!("{age}"),
            href: Some("https://jira/browse/X-1".into()),
            at_risk,
        });
        let html = aging(
            "Aging",
            &["Dev".into(), "Review".into()],
            &items,
            &[("p85".into(), 40.0)],
            |v| format!("{v}"),
        )
        .into_string();
        assert_eq!(html.matches("<circle").count(), 3);
        assert_eq!(html.matches("point risk").count(), 1);
        assert_eq!(html.matches("<a href").count(), 3);
        assert!(!html.contains("<path"), "no plain dots");
    }

    #[test]
    fn aging_draws_dots_without_a_link_once_per_position_in_one_path_per_kind() {
        // Two equal ages in the same lane of a column (the 1st and the 8th item there), one at
        // risk, one linked.
        let mut items: Vec<Aged> = (0..8)
            .map(|k| Aged {
                column: 0,
                age: if k == 0 || k == 7 { 5.0 } else { k as f64 },
                label: format!("X-{k}"),
                href: None,
                at_risk: false,
            })
            .collect();
        items[3].at_risk = true;
        items[4].href = Some("https://jira/browse/X-4".into());
        let html = aging("Aging", &["Dev".into()], &items, &[("p85".into(), 40.0)], |v| {
            format!("{v}")
        })
        .into_string();
        let doc = scraper::Html::parse_fragment(&html);
        let path = |sel: &str| {
            doc.select(&scraper::Selector::parse(sel).unwrap())
                .map(|p| p.value().attr("d").unwrap_or("").to_string())
                .collect::<Vec<_>>()
        };
        let plain = path("path.points:not(.risk)");
        let risk = path("path.points.risk");
        assert_eq!(plain.len(), 1);
        assert_eq!(
            plain[0].matches('M').count(),
            5,
            "6 plain dots, 2 at one position: {}",
            plain[0]
        );
        assert_eq!(risk.len(), 1);
        assert_eq!(risk[0].matches('M').count(), 1);
        assert_eq!(html.matches("<circle").count(), 1, "only the linked one is a circle");
        assert!(html.contains("<title>X-4</title>"));
    }
}
