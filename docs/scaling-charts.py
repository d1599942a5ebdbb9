#!/usr/bin/env python3
"""Draws docs/scaling-time.svg and docs/scaling-memory.svg from the numbers below (log scales).

The numbers are copied from `target/release/examples/bench --incremental [--quick | --scale5]
--db sqlite` (docs/scaling.md says when and on which build). Run `python3 docs/scaling-charts.py`
after replacing them; the charts are plain SVG, so the README and GitHub show them as images.
"""

import math
from pathlib import Path

TIERS = ["20k issues / 4k PRs", "100k issues / 20k PRs", "500k issues / 100k PRs"]
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2"]

# Seconds, SQLite, session 15 (2026-12-07 13:12-13:36 UTC, one build; docs/scaling.md).
TIME = {
    "Jira full sync": [4.76, 25.22, 141.45],
    "GitHub full sync": [0.98, 4.88, 27.68],
    "flow config change": [1.53, 7.12, 46.30],
    "Jira one-day sync": [0.12, 0.67, 3.69],
    "GitHub one-day sync": [0.11, 0.29, 1.00],
    "Jira nothing new": [0.03, 0.09, 0.34],
    "flow page 365 d p50": [0.013, 0.026, 0.104],
    "DORA page 365 d p50": [0.006, 0.017, 0.056],
}

# MB, SQLite, session 15; the dashed line is the first measurement (2026-12-06, before #21's
# memory work), for comparison.
MEMORY = {
    "RSS right after the passes": [133, 249, 804],
    "RSS 30 s later": [98, 199, 601],
    "peak RSS": [133, 268, 916],
    "database file": [104, 521, 2617],
}
FIRST_PEAK = ("peak RSS, first measurement", [197, 484, 1926])


def chart(title, unit, series, dashed=(), lo_exp=None, hi_exp=None):
    left, right, top, bottom = 70, 490, 40, 370
    values = [v for _, vs in list(series.items()) + list(dashed) for v in vs if v]
    lo = lo_exp if lo_exp is not None else math.floor(math.log10(min(values)))
    hi = hi_exp if hi_exp is not None else math.ceil(math.log10(max(values)))
    y = lambda v: bottom - (bottom - top) * (math.log10(v) - lo) / (hi - lo)
    x = lambda i: left + (right - left) * i / (len(TIERS) - 1)
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="720" height="420" viewBox="0 0 720 420" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="720" height="420" fill="white"/>',
        f'<text x="{(left + right) / 2:.1f}" y="22" text-anchor="middle" font-size="14">{title}</text>',
    ]
    for e in range(lo, hi + 1):
        label = f"{10.0 ** e:g}" if e < 0 else f"{10 ** e}"
        out.append(f'<line x1="{left}" y1="{y(10.0 ** e):.1f}" x2="{right}" y2="{y(10.0 ** e):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(10.0 ** e) + 4:.1f}" text-anchor="end">{label} {unit}</text>')
    for i, t in enumerate(TIERS):
        out.append(f'<line x1="{x(i):.1f}" y1="{top}" x2="{x(i):.1f}" y2="{bottom}" stroke="#ddd"/>')
        out.append(f'<text x="{x(i):.1f}" y="{bottom + 18}" text-anchor="middle">{t}</text>')
    out.append(f'<text x="{(left + right) / 2:.1f}" y="410" text-anchor="middle">dataset size (log scale)</text>')
    rows = [(name, vs, COLOURS[k % len(COLOURS)], False) for k, (name, vs) in enumerate(series.items())]
    rows += [(name, vs, "#888", True) for name, vs in dashed]
    for k, (name, vs, colour, dash) in enumerate(rows):
        points = [(x(i), y(v)) for i, v in enumerate(vs) if v]
        style = ' stroke-dasharray="6 4"' if dash else ""
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2"{style} points="'
            + " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            + '"/>'
        )
        for px, py in points:
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
        ly = 50 + 18 * k
        out.append(f'<line x1="502" y1="{ly}" x2="522" y2="{ly}" stroke="{colour}" stroke-width="2"{style}/>')
        out.append(f'<text x="528" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


here = Path(__file__).parent
(here / "scaling-time.svg").write_text(chart("SQLite: seconds as the data grows", "s", TIME, lo_exp=-3, hi_exp=3))
(here / "scaling-memory.svg").write_text(
    chart("SQLite: memory and disk as the data grows", "MB", MEMORY, dashed=[FIRST_PEAK], lo_exp=1, hi_exp=4)
)
