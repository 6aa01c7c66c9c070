"""Render the report's data as one self-contained HTML page.

The page has inline CSS and charts embedded as `data:` URIs, so it opens offline and
references no other file or host. Every value read from the database passes through
`html.escape`, because workflow names, activity types and failure messages are user data.
"""

from __future__ import annotations

import html
import math
from datetime import date, datetime, timezone

import pandas as pd

from mistral_workflows.report_charts import status_label
from mistral_workflows.report_data import STATUS_COLUMNS, ReportData

MISSING = "—"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #212121; }
h1 { margin-bottom: 0.2rem; }
section { margin-top: 2.5rem; }
table { border-collapse: collapse; font-size: 0.9rem; width: 100%; }
th, td { border-bottom: 1px solid #e0e0e0; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.stuck td { background: #fff3e0; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5rem; list-style: none; padding: 0; }
.figures li { background: #f5f5f5; padding: 0.6rem 1rem; border-radius: 4px; }
.figures strong { display: block; font-size: 1.4rem; }
.note { color: #616161; font-size: 0.85rem; }
img { max-width: 100%; }
"""


def format_value(value: object, kind: str = "text") -> str:
    """Format one value for a table cell and escape it. Missing values become a dash.

    `kind` is "text", "count", "seconds", "duration" (seconds written in days, hours and
    minutes), "ms", "rate" (a 0..1 fraction shown in percent), "flag", "time" or "date".
    """
    if _is_missing(value):
        return MISSING
    if kind == "count":
        return f"{int(value):,}"
    if kind == "seconds":
        return f"{float(value):,.1f} s"
    if kind == "duration":
        return format_duration(float(value))
    if kind == "flag":
        return "yes" if value else "no"
    if kind == "ms":
        return f"{float(value):,.0f} ms"
    if kind == "rate":
        return f"{float(value) * 100:.1f} %"
    if kind == "time":
        return html.escape(format_time(value))
    if kind == "date":
        return html.escape(value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value))
    return html.escape(str(value))


def format_duration(seconds: float) -> str:
    """Write a duration with its two largest units ("3 h 5 min"), or in seconds under a minute."""
    if abs(seconds) < 60:
        return f"{seconds:.1f} s"

    sign = "-" if seconds < 0 else ""
    whole = int(abs(seconds))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    # Non-breaking spaces keep a duration on one line in narrow table cells.
    if days:
        return f"{sign}{days}\u00a0d {hours}\u00a0h"
    if hours:
        return f"{sign}{hours}\u00a0h {minutes}\u00a0min"
    return f"{sign}{minutes}\u00a0min {secs}\u00a0s"


def format_time(value: datetime | date) -> str:
    """Format an instant in UTC to the second, or a date as ISO 8601."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.isoformat()


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def render_table(frame: pd.DataFrame, columns: list[tuple[str, str, str]], row_class=None) -> str:
    """Render selected columns of a frame as a table. `columns` lists (column, header, kind)."""
    header = "".join(f"<th>{html.escape(title)}</th>" for _, title, _ in columns)
    body = []
    for record in frame.to_dict("records"):
        css_class = row_class(record) if row_class else None
        opening = f'<tr class="{css_class}">' if css_class else "<tr>"
        cells = []
        for column, _, kind in columns:
            cell_class = ' class="number"' if kind in ("count", "seconds", "duration", "ms", "rate") else ""
            cells.append(f"<td{cell_class}>{format_value(record[column], kind)}</td>")
        body.append(opening + "".join(cells) + "</tr>")

    if not body:
        return '<p class="note">No rows.</p>'
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_chart(png_base64: str | None, description: str) -> str:
    """Embed a chart as a data URI, or return a note that there is no data to draw."""
    if png_base64 is None:
        return '<p class="note">No data to draw.</p>'
    return f'<img alt="{html.escape(description)}" src="data:image/png;base64,{png_base64}">'


def render_page(data: ReportData, numbers: dict, charts: dict[str, str | None]) -> str:
    """Assemble the whole page from the sections below."""
    as_of = format_value(data.as_of, "time")
    sections = [
        _summary_section(numbers),
        _runs_per_day_section(data, charts["runs-per-day"]),
        _success_rate_section(data, charts["success-rate"]),
        _duration_trend_section(charts["duration-trend"]),
        _failing_activities_section(data),
        _open_runs_section(data),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Mistral Workflows runs: {html.escape(data.dataset)}</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n"
        "<header><h1>Mistral Workflows runs</h1>\n"
        f'<p class="note">Dataset <code>{html.escape(data.dataset)}</code>, data as of {as_of}. '
        "Days are UTC.</p></header>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def _summary_section(numbers: dict) -> str:
    figures = [
        ("runs", format_value(numbers["runs"], "count")),
        ("workflows", format_value(numbers["workflows"], "count")),
        ("failed, timed out or terminated", format_value(numbers["failed_runs"], "count")),
        ("open", format_value(numbers["open_runs"], "count")),
        ("stuck", format_value(numbers["stuck_runs"], "count")),
    ]
    items = "".join(f"<li><strong>{value}</strong>{html.escape(label)}</li>" for label, value in figures)
    return f'<section id="summary"><h2>Summary</h2><ul class="figures">{items}</ul></section>'


def _runs_per_day_section(data: ReportData, chart: str | None) -> str:
    columns = [("start_day", "day", "date"), ("runs", "runs", "count")]
    columns += [(column, status_label(column), "count") for column in STATUS_COLUMNS]
    return (
        '<section id="runs-per-day"><h2>Runs per day by status</h2>'
        + render_chart(chart, "Stacked bars of runs per day by status")
        + render_table(data.runs_per_day, columns)
        + "</section>"
    )


def _success_rate_section(data: ReportData, chart: str | None) -> str:
    columns = [
        ("workflow_name", "workflow", "text"),
        ("runs", "runs", "count"),
        ("count_completed", "completed", "count"),
        ("count_failed", "failed", "count"),
        ("count_timed_out", "timed out", "count"),
        ("count_terminated", "terminated", "count"),
        ("count_canceled", "canceled", "count"),
        ("count_running", "open", "count"),
        ("success_rate", "success rate", "rate"),
        ("p50_duration_s", "p50 duration", "seconds"),
        ("p95_duration_s", "p95 duration", "seconds"),
    ]
    return (
        '<section id="success-rate"><h2>Success rate per workflow</h2>'
        '<p class="note">Completed runs among final runs; continued-as-new runs are left out.</p>'
        + render_table(data.workflow_stats, columns)
        + render_chart(chart, "Bars of the success rate per workflow")
        + "</section>"
    )


def _duration_trend_section(chart: str | None) -> str:
    return (
        '<section id="duration-trend"><h2>p95 duration trend</h2>'
        + render_chart(chart, "Lines of the daily p95 run duration per workflow")
        + "</section>"
    )


def _failing_activities_section(data: ReportData) -> str:
    columns = [
        ("workflow_name", "workflow", "text"),
        ("activity_type", "activity", "text"),
        ("executions", "executions", "count"),
        ("failures", "failed or timed out", "count"),
        ("failure_rate", "failure rate", "rate"),
        ("retried_executions", "retried", "count"),
        ("p95_start_to_close_ms", "p95 run time", "ms"),
        ("top_failure_message", "most frequent message", "text"),
        ("top_failure_message_count", "times", "count"),
    ]
    return (
        '<section id="failing-activities"><h2>Top failing activities</h2>'
        + render_table(data.failing_activities, columns)
        + "</section>"
    )


def _open_runs_section(data: ReportData) -> str:
    columns = [
        ("run_id", "run", "text"),
        ("workflow_name", "workflow", "text"),
        ("status", "status", "text"),
        ("start_time", "started", "time"),
        ("age_s", "age", "duration"),
        ("last_event_type", "last event", "text"),
        ("since_last_event_s", "since last event", "duration"),
        ("is_stuck", "stuck", "flag"),
    ]
    listed_count = len(data.open_runs)
    note = (
        f"Runs without a new history event for more than {data.stuck_after_s:,.0f} s count as stuck "
        "and are listed first."
    )
    if listed_count < data.open_run_count:
        note += f" Showing {listed_count} of {data.open_run_count} open runs."
    return (
        '<section id="open-runs"><h2>Open and stuck runs</h2>'
        f'<p class="note">{html.escape(note)}</p>'
        + render_table(data.open_runs, columns, row_class=lambda record: "stuck" if record["is_stuck"] is True else None)
        + "</section>"
    )
