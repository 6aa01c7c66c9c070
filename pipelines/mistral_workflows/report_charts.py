"""Draw the report's charts with matplotlib and return them as base64 PNG text.

Figures are built with `matplotlib.figure.Figure` and the Agg canvas, never through
pyplot, so drawing a report neither needs a display nor changes the backend of a
notebook or program that imports this module.
"""

from __future__ import annotations

import base64
import io

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure

from mistral_workflows.report_data import STATUS_COLUMNS

STATUS_COLORS = {
    "count_completed": "#2e7d32",
    "count_failed": "#c62828",
    "count_timed_out": "#ef6c00",
    "count_terminated": "#6a1b9a",
    "count_canceled": "#757575",
    "count_continued_as_new": "#0277bd",
    "count_running": "#fbc02d",
}
MAX_TREND_WORKFLOWS = 10
MAX_DAY_TICKS = 12


def status_label(column: str) -> str:
    """Turn a `count_*` column name into a legend label ("timed out")."""
    return column.removeprefix("count_").replace("_", " ")


def runs_per_day_chart(runs_per_day: pd.DataFrame) -> str | None:
    """Draw stacked bars of runs per UTC day, one segment per status. Return None without data."""
    if runs_per_day.empty:
        return None

    figure = _new_figure(width=9.0, height=3.6)
    axes = figure.add_subplot()
    days = pd.to_datetime(runs_per_day["start_day"])
    bottom = pd.Series(0.0, index=runs_per_day.index)
    for column in STATUS_COLUMNS:
        counts = runs_per_day[column].astype(float)
        axes.bar(days, counts, bottom=bottom, width=0.8, color=STATUS_COLORS[column], label=status_label(column))
        bottom = bottom + counts

    axes.set_ylabel("runs")
    axes.set_title("Runs per day (UTC) by status")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _label_days(axes, days)
    return _png_base64(figure)


def success_rate_chart(workflow_stats: pd.DataFrame) -> str | None:
    """Draw horizontal bars of the success rate per workflow. Return None when no workflow has a rate."""
    rated = workflow_stats.dropna(subset=["success_rate"])
    if rated.empty:
        return None

    figure = _new_figure(width=9.0, height=0.6 + 0.35 * len(rated))
    axes = figure.add_subplot()
    names = [str(name) if name is not None else "(no name)" for name in rated["workflow_name"]]
    bars = axes.barh(names, rated["success_rate"].astype(float) * 100.0, color="#2e7d32")
    axes.bar_label(bars, fmt="%.1f %%", padding=3, fontsize="small")
    axes.set_xlim(0, 112)
    axes.set_xlabel("success rate (%)")
    axes.invert_yaxis()
    figure.tight_layout()
    return _png_base64(figure)


def duration_trend_chart(duration_trend: pd.DataFrame, workflow_names: list) -> str | None:
    """Draw one line per workflow of the daily p95 run duration. Return None without data.

    Only the first MAX_TREND_WORKFLOWS of `workflow_names` are drawn, so that the
    chart stays readable. The caller passes them busiest first.
    """
    trend_names = set(duration_trend["workflow_name"])
    drawn_names = [name for name in workflow_names if name in trend_names][:MAX_TREND_WORKFLOWS]
    if not drawn_names:
        return None

    figure = _new_figure(width=9.0, height=3.6)
    axes = figure.add_subplot()
    for name in drawn_names:
        points = duration_trend[duration_trend["workflow_name"] == name]
        axes.plot(pd.to_datetime(points["start_day"]), points["p95_duration_s"], marker="o", label=str(name))

    axes.set_ylabel("p95 duration (s)")
    axes.set_title("p95 run duration per day (UTC)")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _label_days(axes, pd.to_datetime(duration_trend["start_day"]))
    return _png_base64(figure)


def _label_days(axes: Axes, days: pd.Series) -> None:
    """Label the x axis with dates, at most MAX_DAY_TICKS of them, instead of matplotlib's hours."""
    span_days = (days.max() - days.min()).days + 1
    axes.xaxis.set_major_locator(DayLocator(interval=max(1, -(-span_days // MAX_DAY_TICKS))))
    axes.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
    axes.tick_params(axis="x", labelrotation=30)
    axes.margins(x=0.05)


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _png_base64(figure: Figure) -> str:
    """Encode the figure as PNG without the Software metadata, which contains a web address."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None}, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
