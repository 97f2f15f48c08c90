"""The simulation report as one self-contained HTML page: inline CSS and SVG bar charts, no
script, nothing fetched, so it opens anywhere (and in a headless browser in the tests)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2430}
h1{font-size:1.6rem} h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0} td,th{padding:.2rem .8rem;text-align:left}
th{background:#eef1f5} tr:nth-child(even) td{background:#f8f9fb} td.n{text-align:right}
.ok{color:#11702f;font-weight:600} .bad{color:#b3261e;font-weight:600}
svg text{font-size:11px;fill:#444} .bar{fill:#3f6fb5}
"""


def render(report: Mapping[str, Any]) -> str:
    """The page for a simulation report (simulate.report)."""
    audit = report["audit"]
    verdict = (
        '<p class="ok" id="audit">Compliance audit: no violations</p>'
        if audit["violations"] == 0
        else f'<p class="bad" id="audit">Compliance audit: {audit["violations"]} violations</p>'
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>outreachd simulation report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>outreachd simulation</h1>",
        f"<p>{report['days']} days from {_e(report['start'])}, seed {report['seed']}: "
        f"{report['borrowers']:,} borrowers, {report['accounts']:,} accounts, "
        f"{report['messages']:,} messages.</p>",
        verdict,
        _table("Checks", [(c, "") for c in audit["checks"]]),
        _table("Violations", [(d, "") for d in audit["details"]]) if audit["details"] else "",
        "<h2>Contacts per hour of the borrower's local day</h2>",
        _bars("hour", [(f"{int(h):02d}", v) for h, v in report["messages_by_local_hour"].items()]),
        "<h2>Messages per day</h2>",
        _bars("day", [(d[5:], sum(c.values())) for d, c in report["messages_by_day"].items()]),
        "<h2>Contacts per borrower</h2>",
        _bars("borrower", list(report["contacts_per_borrower"].items())),
        _table("Messages by channel", list(report["messages_by_channel"].items())),
        _table("Messages by template", list(report["messages_by_template"].items())),
        _table("Deferrals by rule", list(report["deferrals_by_rule"].items())),
        _table("Blocks by reason", list(report["blocks_by_reason"].items())),
        _table("What borrowers did", list(report["borrower_events"].items())),
        _table("Promises and payments", _money_rows(report)),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _money_rows(report: Mapping[str, Any]) -> list[tuple[object, object]]:
    promises = report["promises"]
    return [("promises made", promises["made"]), ("promises kept", promises["kept"]),
            ("payments", report["payments"])]  # fmt: skip


def _e(value: object) -> str:
    return html.escape(str(value))


def _table(title: str, rows: Sequence[tuple[object, object]]) -> str:
    body = "".join(
        f'<tr><td>{_e(k)}</td><td class="n">{_e(v)}</td></tr>' if v != "" else
        f"<tr><td>{_e(k)}</td></tr>"
        for k, v in rows
    )  # fmt: skip
    return f"<h2>{_e(title)}</h2><table>{body or '<tr><td>none</td></tr>'}</table>"


def _bars(name: str, data: Sequence[tuple[str, int]], height: int = 160) -> str:
    """A bar chart as inline SVG: one labelled bar per (label, value)."""
    if not data:
        return "<p>none</p>"
    width, top = max(24, min(40, 900 // len(data))), max(v for _, v in data) or 1
    chart = height - 30
    bars = []
    for i, (label, value) in enumerate(data):
        h = round(chart * value / top)
        x = i * width
        bars.append(
            f'<rect class="bar" x="{x + 2}" y="{chart - h + 12}" width="{width - 4}" '
            f'height="{h}"><title>{_e(label)}: {value}</title></rect>'
            f'<text x="{x + width / 2}" y="{height - 4}" text-anchor="middle">{_e(label)}</text>'
            f'<text x="{x + width / 2}" y="{chart - h + 9}" text-anchor="middle">{value}</text>'
        )
    return (
        f'<svg id="chart-{_e(name)}" role="img" width="{width * len(data)}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>'
    )
