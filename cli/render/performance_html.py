"""`ops performance-report`: the JSON of `ops performance` as a web page for operators.

Charts are inline SVG whose geometry is computed here (pure arithmetic); the template only
places the shapes. Jinja2 autoescapes everything, so client ids, run ids and messages from the
JSON are text, never markup. No script, no external asset: the page opens from a file anywhere.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"
CHART_WIDTH, CHART_HEIGHT = 640, 220
PLOT_LEFT, PLOT_BOTTOM, PLOT_TOP = 48, 28, 12


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def seconds(value: Any) -> str:
    if value is None:
        return "–"
    ms = Decimal(str(value))
    return f"{ms / 1000:.2f} s" if ms < 60_000 else f"{ms / 60_000:.1f} min"


def measure(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    return seconds(value) if unit == "ms" else f"{value} {unit}"


def percent(value: Any) -> str:
    return "–" if value is None else f"{Decimal(str(value)) * 100:.1f}%"


def _step(peak: float) -> float:
    raw = max(peak, 1) / 4
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    return next((f * magnitude for f in (1, 2, 2.5, 5, 10) if raw <= f * magnitude), 10 * magnitude)


def column_chart(labels: list[str], values: list[float], *, unit: str = "") -> dict[str, Any]:
    """Bars in a 640 x 220 view box with a y axis of round ticks."""
    peak = max(values, default=0.0)
    step = _step(peak)
    top = step * max(1, -(-peak // step)) if peak else step
    plot_w = CHART_WIDTH - PLOT_LEFT - 8
    plot_h = CHART_HEIGHT - PLOT_BOTTOM - PLOT_TOP
    slot = plot_w / max(len(values), 1)
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = plot_h * value / top if top else 0
        bars.append(
            {
                "x": round(PLOT_LEFT + index * slot + slot * 0.15, 1),
                "y": round(PLOT_TOP + plot_h - height, 1),
                "width": round(slot * 0.7, 1),
                "height": round(height, 1),
                "label": label,
                "label_x": round(PLOT_LEFT + index * slot + slot / 2, 1),
                "value": f"{value:g}{unit}",
                "show_label": len(values) <= 16 or index % 2 == 0,
            }
        )
    ticks = [
        {"y": round(PLOT_TOP + plot_h - plot_h * (i * step) / top, 1), "label": f"{i * step:g}{unit}"}
        for i in range(int(top // step) + 1)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "bars": bars,
        "ticks": ticks,
        "left": PLOT_LEFT,
        "right": CHART_WIDTH - 8,
        "baseline": PLOT_TOP + plot_h,
    }


def short_duration(ms: int | None) -> str:
    """Axis labels: 250 ms, 0.5 s, 1 s, 30 s, 1 min, 5 min."""
    if ms is None:
        return ""
    if ms < 500:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:g} s"
    return f"{ms / 60_000:g} min"


LABEL_CHARACTERS = 22  # what fits the label column at 11 px; the whole id is in the bar's tooltip


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def client_bars(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Horizontal bars per client: the mean run (solid) inside the longest (light); the figures in
    a column of their own to the right, so that no text runs out of the chart."""
    peak = max((float(r["max_ms"] or 0) for r in rows), default=0.0) or 1.0
    label_w, row_h = 150, 26
    plot_w = CHART_WIDTH - label_w - 200
    bars = []
    for index, row in enumerate(rows):
        y = 8 + index * row_h
        bars.append(
            {
                "y": y,
                "label": _fit(str(row["client_id"]), LABEL_CHARACTERS),
                "client_id": row["client_id"],
                "max_width": round(plot_w * float(row["max_ms"] or 0) / peak, 1),
                "mean_width": round(plot_w * float(row["mean_ms"] or 0) / peak, 1),
                "text": f"{seconds(row['mean_ms'])} mean, {seconds(row['max_ms'])} max, {row['runs']} runs",
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": 16 + len(rows) * row_h,
        "label_width": label_w,
        "text_x": label_w + plot_w + 10,
        "bars": bars,
    }


def render_performance(document: dict[str, Any]) -> str:
    duration = document["duration"]
    histogram = document["histogram"]
    labels = [
        f"≥{short_duration(b['from_ms'])}" if b["to_ms"] is None else f"<{short_duration(b['to_ms'])}"
        for b in histogram
    ]
    per_hour = {h["hour"]: float(h["runs"]) for h in document["by_hour"]}
    context = {
        "document": document,
        "period": document["period"],
        "tiles": [
            {
                "id": "headline-total",
                "label": "Mean run",
                "value": seconds(duration["mean_ms"]),
                "note": "target under 5 min per client",
            },
            {
                "id": "",
                "label": "p95 run",
                "value": seconds(duration["p95_ms"]),
                "note": f"p99 {seconds(duration['p99_ms'])}",
            },
            {
                "id": "",
                "label": "Longest run",
                "value": seconds(duration["max_ms"]),
                "note": f"{duration['runs_measured']} runs timed",
            },
            {
                "id": "",
                "label": "Peak memory",
                "value": f"{document['memory']['peak_mb'] or '–'} MB",
                "note": f"of {document['worker']['memory_mb']} MB" if document.get("worker") else "limit unknown",
            },
            {
                "id": "",
                "label": "Cost Explorer",
                "value": f"{document['cost_explorer']['requests_per_run'] or 0} / run",
                "note": f"cache hit rate {percent(document['cost_explorer']['cache_hit_rate'])}",
            },
        ],
        "histogram": column_chart(labels, [float(b["runs"]) for b in histogram]),
        "hours": column_chart([f"{hour:02d}" for hour in range(24)], [per_hour.get(hour, 0.0) for hour in range(24)]),
        "clients": client_bars(document["by_client"]),
        "seconds": seconds,
        "percent": percent,
        "measure": measure,
    }
    return _environment().get_template("performance.html.j2").render(**context)
