"""The performance report (`ops performance-report`) in headless Chromium: no script, nothing
sticking out sideways on a desktop or a phone, light and dark, the headline figure on the first
screen and readable; text from the records (hostile or not) stays text."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from cli.render.performance_html import render_performance
from cli.reviews.kpis import performance
from cli.reviews.periods import Window
from lambdas.models.execution import ExecutionRecord
from tests.browser.chromium import Chromium, contrast_ratio

AT = datetime(2026, 11, 27, 9, tzinfo=UTC)
MODES = ((1024, False), (1024, True), (375, False))


def document(client_ids: list[str]) -> dict:
    """`ops performance`'s JSON for a week of runs, as the command writes it."""
    records = []
    for day in range(20, 27):
        for number, client_id in enumerate(client_ids):
            started = datetime(2026, 11, day, 6, number, tzinfo=UTC)
            records.append(
                ExecutionRecord(
                    client_id=client_id,
                    run_id=f"2026-11-{day}.daily",
                    as_of=date(2026, 11, day),
                    status="failed" if day == 24 and number == 0 else "succeeded",
                    started_at=started,
                    finished_at=started + timedelta(seconds=2),
                    duration_ms=150 + 97 * number + 13 * day,
                    max_memory_mb=180 + number,
                    ce_requests=2,
                    cache_hits=number % 2,
                )
            )
    figures = performance(records, Window("weekly", date(2026, 11, 20), date(2026, 11, 27)), AT)
    data = {
        "format": "cost-reporting-performance",
        "version": 1,
        "report": "performance",
        "environment": "prod",
        "generated_at": AT,
        **figures,
        "worker": {"name": "cost-reporting-lambda", "memory_mb": 1024, "timeout_s": 600, "source": "Lambda"},
        "lambda": {
            "invocations": {"available": True, "value": 12, "source": "CloudWatch AWS/Lambda Invocations"},
            "duration_max_ms": {"available": False, "reason": "no data points", "source": "CloudWatch"},
        },
        "checks": [{"check": "average execution time", "unit": "ms", "value": 500, "limit": 300000, "status": "OK"}],
    }
    return json.loads(json.dumps(data, default=str))  # as read back from the file


@pytest.mark.parametrize(
    "client_ids",
    [
        ["acme-retail", "globex-health", "initech-labs"],
        [f"client-{n:04d}-with-a-rather-long-identifier" for n in range(12)],
    ],
)
def test_the_performance_page_fits_and_shows_the_mean_run_first(chromium: Chromium, tmp_path, client_ids):
    data = document(client_ids)
    page = tmp_path / "performance.html"
    page.write_text(render_performance(data), encoding="utf-8")
    for width, dark in MODES:
        rendering = chromium.render(page, width=width, dark=dark)
        where = f"{width} px{' dark' if dark else ''}"
        assert rendering.scripts == 0
        assert rendering.scroll_width <= width, f"{where}: {rendering.scroll_width} px wide: {rendering.outside}"
        assert rendering.outside == [], f"{where}: {rendering.outside}"
        headline = rendering.headline
        assert headline is not None and headline["text"] == f"{int(data['duration']['mean_ms']) / 1000:.2f} s"
        assert headline["topmost"] and headline["bottom"] <= 400, where
        assert contrast_ratio(headline["color"], headline["background"]) >= 7, where


def test_text_from_the_records_is_never_markup(chromium: Chromium, tmp_path):
    data = document(["acme-retail"])
    data["slowest"][0]["status"] = "<script>document.title='owned'</script><img src=x onerror=alert(1)>"
    data["environment"] = "<b>prod</b>"
    page = tmp_path / "hostile.html"
    html = render_performance(data)
    page.write_text(html, encoding="utf-8")

    rendering = chromium.render(page, width=1024)

    assert rendering.scripts == 0
    assert "&lt;script&gt;" in html and "<img src=x" not in html and "<b>prod</b>" not in html
