"""The report page: one self-contained HTML file (plotly.js inline, no network), with a little CSS.

Every piece of text that comes from data or files (mart names, channel names, quality messages, run ids)
goes through ``html.escape``; chart data is JSON that plotly escapes itself.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from customer360.report.run_quality import RunQuality
from customer360.report.sections import SectionResult

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --accent: #1d4f91; --bad: #b42318; --warn: #9a6700;
        --good: #2f7d4f; --paper: #ffffff; --page: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { background: var(--accent); color: #fff; padding: 24px 40px; }
header h1 { margin: 0 0 6px; font-size: 26px; font-weight: 600; }
header dl { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 0; font-size: 14px; }
header dt { opacity: .75; } header dd { margin: 0 0 0 6px; font-weight: 600; }
header .meta { display: flex; }
nav { display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 10px 40px; background: var(--paper);
      border-bottom: 1px solid var(--line); font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; white-space: nowrap; }
main { max-width: 1200px; margin: 0 auto; padding: 20px 40px 60px; }
.caveat { background: #fff8e1; border: 1px solid #f2d48a; padding: 10px 14px; border-radius: 6px; }
.figures { display: flex; flex-wrap: wrap; gap: 14px; margin: 8px 0 4px; }
.figure { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 12px 18px;
          min-width: 170px; }
.figure b { display: block; font-size: 22px; } .figure span { color: var(--muted); font-size: 13px; }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; margin: 18px 0;
          padding: 18px 22px; }
section h2 { margin: 0 0 4px; font-size: 19px; }
section p.intro { margin: 0 0 10px; color: var(--muted); font-size: 14px; }
.chart { min-height: 440px; }
.no-data { padding: 26px; text-align: center; color: var(--muted); background: var(--page);
           border: 1px dashed #cbd2d9; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 14px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
th { color: var(--muted); font-weight: 600; }
.status-passed, .status-loaded, .ok { color: var(--good); font-weight: 600; }
.status-red, .status-failed, .status-partly-failed, .bad { color: var(--bad); font-weight: 600; }
.status-not-run, .status-running-or-killed, .status-unreadable { color: var(--warn); font-weight: 600; }
ul.messages { margin: 4px 0 12px; padding-left: 20px; font-size: 14px; }
ul.messages li.failed, ul.messages li.error { color: var(--bad); }
ul.messages li.warning { color: var(--warn); }
footer { color: var(--muted); font-size: 13px; text-align: center; padding: 20px; }
"""


@dataclass(frozen=True)
class PageInfo:
    logical_date: str
    run_id: str
    generated_at: str
    snapshot_name: str | None
    snapshot_path: str | None
    caveat: str | None
    headline: dict[str, int | float | None]
    currency: str | None = None  # of the money figures, from the marts
    changes: dict[str, Any] | str | None = None  # queries.kpi_changes, or a "no data: ..." sentence


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _n(value: int | float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.0f}"
    return f"{value:,}"


def _slug(text: str) -> str:
    return "-".join(text.lower().split())


MONEY_FIGURES = ("predicted_clv_12m", "revenue_at_risk")


def _headline(info: PageInfo) -> str:
    labels = {
        "customers": "customers",
        "orders": "orders",
        "tickets": "support tickets",
        "predicted_clv_12m": "predicted CLV, next 12 months",
        "revenue_at_risk": "revenue at risk (last 12 months' revenue × churn score)",
    }
    cards = [
        f'<div class="figure"><b>{_e(_amount(value, info.currency) if key in MONEY_FIGURES else _n(value))}'
        f"</b><span>{_e(labels.get(key, key))}</span></div>"
        for key, value in info.headline.items()
        if value is not None
    ]
    return f'<div class="figures">{"".join(cards)}</div>' if cards else ""


def _amount(value: float | None, currency: str | None) -> str:
    """Money with its currency code first (``EUR 1,234``); a bare number when the currency is unknown."""
    if value is None:
        return "–"
    return f"{currency} {value:,.0f}" if currency else f"{value:,.0f}"


def _figure(value: float | None, kind: str, currency: str | None) -> str:
    if value is None:
        return "–"
    if kind == "money":
        return f"{currency} {value:,.2f}" if currency else f"{value:,.2f}"
    if kind == "score":
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _change(change: float | None, before: float | None, kind: str, currency: str | None) -> str:
    """The signed change, with its percentage for counts and money; "no change" at zero."""
    if change is None:
        return "–"
    if change == 0:
        return "no change"
    sign = "+" if change > 0 else "−"
    text = _figure(abs(change), kind, currency)
    if kind != "score" and before:
        text += f" ({change / abs(before):+.1%})".replace("-", "−")
    return sign + text


def _changes_section(info: PageInfo) -> str:
    head = (
        '<section id="changes" class="table-section" data-section="changes"><h2>Since the previous run</h2>'
    )
    changes = info.changes
    if not isinstance(changes, dict):
        note = changes or "no data: the snapshot was not read"
        return head + f'<div class="no-data">{_e(note)}</div></section>'
    previous = changes["previous_date"]
    intro = (
        f"This run's date, {_e(changes['date'])}, beside the previous date, {_e(previous)}: the figures of "
        "kpi_daily, both computed from today's facts (so late data of the previous date counts there too)."
        if previous
        else f"Only {_e(changes['date'])} is in kpi_daily: nothing to compare with yet."
    )
    rows = []
    money = changes["currency"]
    for label, kind, value, before, change in changes["rows"]:
        direction = "" if not change else (" up" if change > 0 else " down")
        rows.append(
            f'<tr><td class="text">{_e(label)}</td><td>{_e(_figure(value, kind, money))}</td>'
            f"<td>{_e(_figure(before, kind, money))}</td>"
            f'<td class="change{direction}">{_e(_change(change, before, kind, money))}</td></tr>'
        )
    table = (
        f'<table class="changes"><thead><tr><th>figure</th><th>{_e(changes["date"])}</th>'
        f"<th>{_e(previous or 'previous date')}</th><th>change</th></tr></thead>"
        "<tbody>" + "".join(rows) + "</tbody></table>"
    )
    return head + f'<p class="intro">{intro}</p>{table}</section>'


def _section(result: SectionResult) -> str:
    if result.figure is not None:
        chart = result.figure.to_html(
            full_html=False, include_plotlyjs=False, div_id=f"chart-{result.key}", config=PLOTLY_CONFIG
        )
        body = f'<div class="chart">{chart}</div>'
        kind = "chart-section"
    else:
        body = f'<div class="no-data">{_e(result.note)}</div>'
        kind = "chart-section no-data-section"
    return (
        f'<section id="{_e(result.key)}" class="{kind}" data-section="{_e(result.key)}">'
        f'<h2>{_e(result.title)}</h2><p class="intro">{_e(result.intro)}</p>{body}</section>'
    )


def _quality_section(quality: RunQuality) -> str:
    rows = []
    for c in quality.channels:
        balanced = {True: '<span class="ok">yes</span>', False: '<span class="bad">no</span>', None: "–"}[
            c.balanced
        ]
        rows.append(
            f'<tr><td class="text">{_e(c.channel)}</td>'
            f'<td class="text status-{_e(_slug(c.status))}">{_e(c.status)}</td>'
            f"<td>{_n(c.rows_read)}</td><td>{_n(c.rows_loaded)}</td><td>{_n(c.rows_quarantined)}</td>"
            f"<td>{balanced}</td></tr>"
        )
    ingest = (
        '<h3>Rows per channel</h3><table class="quality-ingest"><thead><tr><th>channel</th>'
        '<th class="text">status</th><th>rows in</th><th>loaded</th><th>quarantined</th>'
        "<th>in = loaded + quarantined</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )
    stage_rows, message_lists = [], []
    for s in quality.stages:
        stage_rows.append(
            f'<tr><td class="text">{_e(s.stage)}</td>'
            f'<td class="text status-{_e(_slug(s.status))}">{_e(s.status)}</td>'
            f"<td>{_n(s.passed)}</td><td>{_n(s.failed)}</td><td>{_n(s.warnings)}</td><td>{_n(s.errors)}</td></tr>"
        )
        if s.messages:
            items = "".join(
                f'<li class="{_e(kind)}">{_e(kind)}: {_e(text)}</li>' for kind, text in s.messages
            )
            more = (
                f"<li>… and {s.hidden_messages} more in {_e(s.stage)}.json</li>" if s.hidden_messages else ""
            )
            message_lists.append(f'<h4>{_e(s.stage)}</h4><ul class="messages">{items}{more}</ul>')
    checks = (
        '<h3>Expectations per stage</h3><table class="quality-checks"><thead><tr><th>stage</th>'
        '<th class="text">verdict</th><th>passed</th><th>failed</th><th>warnings</th><th>errors</th>'
        "</tr></thead>"
        "<tbody>" + "".join(stage_rows) + "</tbody></table>" + "".join(message_lists)
    )
    sources = (
        f'<p class="intro">From {_e(quality.progress_path)} and {_e(quality.quality_dir)}. '
        "Great Expectations Data Docs of the run are under gx/data_docs in the run folder.</p>"
    )
    return (
        '<section id="data-quality" class="table-section" data-section="data-quality">'
        "<h2>Data quality of this run</h2>" + sources + ingest + checks + "</section>"
    )


def render_page(info: PageInfo, sections: list[SectionResult], quality: RunQuality, plotly_js: str) -> str:
    """The whole page as one string."""
    title = f"customer360 report for {info.logical_date}"
    nav = "".join(f'<a href="#{_e(s.key)}">{_e(s.title)}</a>' for s in sections)
    nav = '<a href="#changes">Since the previous run</a>' + nav + '<a href="#data-quality">Data quality</a>'
    snapshot = (
        f'<div class="meta"><dt>snapshot</dt><dd title="{_e(info.snapshot_path)}">'
        f"{_e(info.snapshot_name)}</dd></div>"
        if info.snapshot_name
        else '<div class="meta"><dt>snapshot</dt><dd>none published</dd></div>'
    )
    caveat = f'<p class="caveat">{_e(info.caveat)}</p>' if info.caveat else ""
    body = "".join(_section(s) for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="customer360">
<title>{_e(title)}</title>
<style>{CSS}</style>
<script type="text/javascript">{plotly_js}</script>
</head>
<body>
<header>
<h1>{_e(title)}</h1>
<dl>
<div class="meta"><dt>run date</dt><dd>{_e(info.logical_date)}</dd></div>
<div class="meta"><dt>run id</dt><dd>{_e(info.run_id)}</dd></div>
<div class="meta"><dt>generated at</dt><dd>{_e(info.generated_at)}</dd></div>
{snapshot}
</dl>
</header>
<nav>{nav}</nav>
<main>
{caveat}
{_headline(info)}
{_changes_section(info)}
{body}
{_quality_section(quality)}
</main>
<footer>customer360 · marts read from the published snapshot, read-only · no raw PII on this page</footer>
</body>
</html>
"""


def plotly_bundle() -> str:
    """plotly.js, to inline once in the page's head."""
    from plotly.offline import get_plotlyjs

    js: Any = get_plotlyjs()
    # A script element ends at the first "</script"; plotly.js has none, but never let one through.
    return str(js).replace("</script", "<\\/script")
