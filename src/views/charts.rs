//! Server-side SVG charts: horizontal bars (distributions), lines (trends) and stacked bars
//! (stage breakdowns). Each is an `img` with a title and a description for screen readers;
//! the page puts a table of the same numbers next to it. Colours come from `app.css` classes.

use maud::{Markup, html};

pub mod flow;

/// Chart widths in SVG units; a chart scales to its container (text with it), so these are
/// about the width a chart gets on a desktop, to keep its text near its nominal size.
const W: f64 = 560.0;
const W_LINE: f64 = 480.0;
/// Room for labels left of horizontal bars.
const LABEL_W: f64 = 170.0;
const BAR_H: f64 = 22.0;
const GAP: f64 = 8.0;

fn slug(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("chart-{}", s.trim_matches('-'))
}

fn frame(title: &str, desc: &str, (width, height): (f64, f64), body: Markup) -> Markup {
    let id = slug(title);
    html! {
        figure.chart {
            svg role="img" viewBox=(format!("0 0 {width} {height}")) aria-labelledby=(format!("{id}-t {id}-d"))
                preserveAspectRatio="xMinYMin meet" {
                title id=(format!("{id}-t")) { (title) }
                desc id=(format!("{id}-d")) { (desc) }
                (body)
            }
            figcaption { (title) }
        }
    }
}

fn empty(title: &str) -> Markup {
    html! { figure.chart.empty-chart { p.muted { "No data for “" (title) "” in this window." } figcaption { (title) } } }
}

/// Horizontal bars, one per item, labelled with `fmt(value)`.
pub fn bars(title: &str, items: &[(String, f64)], fmt: impl Fn(f64) -> String) -> Markup {
    if items.is_empty() {
        return empty(title);
    }
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let height = items.len() as f64 * (BAR_H + GAP) + GAP;
    let span = W - LABEL_W - 90.0;
    let desc = items
        .iter()
        .map(|(l, v)| format!("{l}: {}", fmt(*v)))
        .collect::<Vec<_>>()
        .join("; ");
    frame(
        title,
        &desc,
        (W, height),
        html! {
            @for (i, (label, v)) in items.iter().enumerate() {
                @let y = GAP + i as f64 * (BAR_H + GAP);
                @let w = (v / max * span).max(if *v > 0.0 { 2.0 } else { 0.0 });
                text.axis x=(LABEL_W - 8.0) y=(y + BAR_H * 0.7) text-anchor="end" { (clip(label, 24)) }
                rect.bar x=(LABEL_W) y=(y) width=(format!("{w:.1}")) height=(BAR_H) rx="3" {}
                text.value x=(format!("{:.1}", LABEL_W + w + 6.0)) y=(y + BAR_H * 0.7) { (fmt(*v)) }
            }
        },
    )
}

/// A line over buckets; `None` values leave a gap.
pub fn line(title: &str, points: &[(String, Option<f64>)], fmt: impl Fn(f64) -> String) -> Markup {
    if points.iter().all(|p| p.1.is_none()) {
        return empty(title);
    }
    let (h, top, bottom, left, right) = (220.0, 16.0, 40.0, 64.0, 16.0);
    let max = points
        .iter()
        .filter_map(|p| p.1)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let n = points.len().max(2) as f64 - 1.0;
    let x = |i: usize| left + (W_LINE - left - right) * i as f64 / n;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let mut segments: Vec<Vec<(f64, f64)>> = vec![vec![]];
    for (i, p) in points.iter().enumerate() {
        match p.1 {
            Some(v) => segments.last_mut().map(|s| s.push((x(i), y(v)))).unwrap_or(()),
            None => segments.push(vec![]),
        }
    }
    let every = points.len().div_ceil(6).max(1);
    let desc = points
        .iter()
        .map(|(l, v)| format!("{l}: {}", v.map_or("n/a".into(), &fmt)))
        .collect::<Vec<_>>()
        .join("; ");
    frame(
        title,
        &desc,
        (W_LINE, h),
        html! {
            line.gridline x1=(left) x2=(W_LINE - right) y1=(y(max)) y2=(y(max)) {}
            line.gridline x1=(left) x2=(W_LINE - right) y1=(y(max / 2.0)) y2=(y(max / 2.0)) {}
            line.baseline x1=(left) x2=(W_LINE - right) y1=(y(0.0)) y2=(y(0.0)) {}
            text.axis x=(left - 6.0) y=(y(max) + 4.0) text-anchor="end" { (fmt(max)) }
            text.axis x=(left - 6.0) y=(y(max / 2.0) + 4.0) text-anchor="end" { (half_label(&fmt(max), &fmt(max / 2.0))) }
            text.axis x=(left - 6.0) y=(y(0.0) + 4.0) text-anchor="end" { "0" }
            @for s in segments.iter().filter(|s| !s.is_empty()) {
                polyline.trend points=(s.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect::<Vec<_>>().join(" ")) {}
                @for (a, b) in s { circle.dot cx=(format!("{a:.1}")) cy=(format!("{b:.1}")) r="3.5" {} }
            }
            @for (i, (label, _)) in points.iter().enumerate() {
                @if i % every == 0 {
                    text.axis x=(x(i)) y=(h - bottom + 18.0) text-anchor="middle" { (label) }
                }
            }
        },
    )
}

/// One dot per item (x: when, as a fraction 0–1 of the window; y: a value), each linked and
/// titled when it has a link, with labelled horizontal lines (percentiles).
pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub label: String,
    pub href: Option<String>,
}

pub fn scatter(
    title: &str,
    (first, last): (&str, &str),
    dots: &[Dot],
    lines: &[(String, f64)],
    fmt: impl Fn(f64) -> String,
) -> Markup {
    if dots.is_empty() {
        return empty(title);
    }
    let (h, top, bottom, left, right) = (260.0, 16.0, 40.0, 64.0, 150.0);
    // A few very long items would flatten the rest: the axis stops at twice the highest line
    // and longer items sit on the top edge (their titles say how long).
    let highest_line = lines.iter().map(|l| l.1).fold(0.0, f64::max);
    let tallest = dots.iter().map(|d| d.y).fold(0.0, f64::max);
    let max = if highest_line > 0.0 {
        tallest.min(highest_line * 2.0)
    } else {
        tallest
    }
    .max(highest_line)
    .max(f64::MIN_POSITIVE);
    let x = |f: f64| left + (W - left - right) * f.clamp(0.0, 1.0);
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v.min(max) / max);
    // Line labels at least 13 units apart, from the bottom up.
    let mut label_y: Vec<f64> = Vec::new();
    for (_, v) in lines {
        let want = y(*v) + 4.0;
        let at = label_y.last().map_or(want, |prev: &f64| want.min(prev - 13.0));
        label_y.push(at);
    }
    // Plain dots are drawn once per position, to two units (a dot is 7 units wide, so a shift
    // of at most one does not show; one path's overlapping strokes paint once, so a repeat adds
    // nothing): a year at 500k issues has 210,000 dots, 38,000 positions to a tenth of a unit
    // across and a unit up (445 KB of the page), 13,000 to two units (150 KB).
    let plain = dots.iter().filter(|d| d.href.is_none()).count();
    let plain_path = dots_path(dots.iter().filter(|d| d.href.is_none()).map(|d| (x(d.x), y(d.y))), 2);
    let desc = format!(
        "{} items; {}",
        dots.len(),
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
            line.gridline x1=(left) x2=(W - right) y1=(y(max)) y2=(y(max)) {}
            line.baseline x1=(left) x2=(W - right) y1=(y(0.0)) y2=(y(0.0)) {}
            text.axis x=(left - 6.0) y=(y(max) + 4.0) text-anchor="end" { @if tallest > max { "≥ " } (fmt(max)) }
            text.axis x=(left - 6.0) y=(y(0.0) + 4.0) text-anchor="end" { "0" }
            text.axis x=(x(0.0)) y=(h - bottom + 18.0) text-anchor="start" { (first) }
            text.axis x=(x(1.0)) y=(h - bottom + 18.0) text-anchor="end" { (last) }
            // Dots without a link are one path of round zero-length strokes (tens of thousands of
            // elements with a title each made most of the page's bytes); linked ones stay
            // circles with their titles, drawn over them.
            @if plain > 0 {
                path.points data-points=(plain) d=(plain_path) {}
            }
            @for d in dots.iter().filter(|d| d.href.is_some()) {
                a href=[&d.href] {
                    circle.point cx=(format!("{:.1}", x(d.x))) cy=(format!("{:.1}", y(d.y))) r="3.5" { title { (d.label) } }
                }
            }
            @for ((label, v), ly) in lines.iter().zip(&label_y) {
                line.pline x1=(left) x2=(W - right) y1=(format!("{:.1}", y(*v))) y2=(format!("{:.1}", y(*v))) {}
                text.axis x=(W - right + 6.0) y=(format!("{ly:.1}")) { (label) " " (fmt(*v)) }
            }
        },
    )
}

/// One path of round zero-length strokes (the class gives their width), a stroke per distinct
/// position once the points are put on a grid of `tenths` tenths of a unit: overlapping
/// strokes of one path paint once, so a repeat would add bytes and nothing on screen.
pub(crate) fn dots_path(points: impl Iterator<Item = (f64, f64)>, tenths: i64) -> String {
    use std::fmt::Write as _;
    let grid = tenths as f64 / 10.0;
    let mut at: Vec<(i64, i64)> = points
        .map(|(x, y)| ((x / grid).round() as i64 * tenths, (y / grid).round() as i64 * tenths))
        .collect();
    at.sort_unstable();
    at.dedup();
    let coordinate = |t: i64| match t % 10 {
        0 => (t / 10).to_string(),
        r => format!("{}.{}", t / 10, r.abs()),
    };
    let mut path = String::with_capacity(at.len() * 12);
    for (x, y) in at {
        let _ = write!(path, "M{} {}h0", coordinate(x), coordinate(y));
    }
    path
}

/// The middle axis label in the top label's unit: "3.7 d" over "44.8 h" reads as a wrong scale,
/// so a differing unit becomes half of the top value in its unit ("1.9 d").
fn half_label(top: &str, half: &str) -> String {
    let unit = |l: &str| l.rsplit_once(' ').map(|(n, u)| (n.to_string(), u.to_string()));
    match (unit(top), unit(half)) {
        (Some((n, u)), Some((_, hu))) if u != hu => match n.parse::<f64>() {
            Ok(v) => format!("{:.1} {u}", v / 2.0),
            Err(_) => half.to_string(),
        },
        _ => half.to_string(),
    }
}

/// Stacked horizontal bars: one row per label, one segment per series (with a legend).
pub fn stacked(title: &str, series: &[&str], rows: &[(String, Vec<f64>)], fmt: impl Fn(f64) -> String) -> Markup {
    if rows.iter().all(|r| r.1.iter().all(|v| *v <= 0.0)) {
        return empty(title);
    }
    let max = rows
        .iter()
        .map(|r| r.1.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let legend_h = 28.0;
    let height = legend_h + rows.len() as f64 * (BAR_H + GAP) + GAP;
    let span = W - LABEL_W - 90.0;
    let desc = rows
        .iter()
        .map(|(l, vs)| {
            let parts: Vec<String> = series.iter().zip(vs).map(|(s, v)| format!("{s} {}", fmt(*v))).collect();
            format!("{l}: {}", parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    // Each segment's x and width.
    let layout: Vec<Vec<(f64, f64)>> = rows
        .iter()
        .map(|(_, vs)| {
            let mut at = LABEL_W;
            vs.iter()
                .map(|v| {
                    let w = v.max(0.0) / max * span;
                    at += w;
                    (at - w, w)
                })
                .collect()
        })
        .collect();
    frame(
        title,
        &desc,
        (W, height),
        html! {
            @for (k, s) in series.iter().enumerate() {
                rect class=(format!("seg s{k}")) x=(LABEL_W + k as f64 * 90.0) y="6" width="12" height="12" rx="2" {}
                text.axis x=(LABEL_W + k as f64 * 90.0 + 16.0) y="16" { (s) }
            }
            @for (i, ((label, vs), segs)) in rows.iter().zip(&layout).enumerate() {
                @let y = legend_h + GAP + i as f64 * (BAR_H + GAP);
                @let end = segs.last().map_or(LABEL_W, |s| s.0 + s.1);
                text.axis x=(LABEL_W - 8.0) y=(y + BAR_H * 0.7) text-anchor="end" { (clip(label, 24)) }
                @for (k, (at, w)) in segs.iter().enumerate() {
                    rect class=(format!("seg s{k}")) x=(format!("{at:.1}")) y=(y) width=(format!("{w:.1}")) height=(BAR_H) {}
                }
                text.value x=(format!("{:.1}", end + 6.0)) y=(y + BAR_H * 0.7) { (fmt(vs.iter().sum())) }
            }
        },
    )
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_middle_axis_label_keeps_the_top_labels_unit() {
        assert_eq!(half_label("3.7 d", "44.8 h"), "1.9 d");
        assert_eq!(half_label("12 h", "6 h"), "6 h");
        assert_eq!(half_label("12", "6"), "6");
        assert_eq!(half_label("60.0 %", "30.0 %"), "30.0 %");
    }

    #[test]
    fn charts_are_labelled_images() {
        let html = bars("Time in step", &[("Dev".into(), 3.0), ("Review".into(), 1.5)], |v| {
            format!("{v} h")
        })
        .into_string();
        assert!(html.contains(r#"role="img""#));
        assert!(html.contains("<title id=\"chart-time-in-step-t\">Time in step</title>"));
        assert!(html.contains("Dev: 3 h; Review: 1.5 h"));
        let l = line(
            "Trend",
            &[("w1".into(), Some(1.0)), ("w2".into(), None), ("w3".into(), Some(2.0))],
            |v| format!("{v}"),
        )
        .into_string();
        assert_eq!(l.matches("<polyline").count(), 2);
        assert!(
            bars("Nothing", &[], |v| format!("{v}"))
                .into_string()
                .contains("No data")
        );
    }
}
