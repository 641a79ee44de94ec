"""Each email, rendered by a real browser (headless Chromium) at 600 px, in light and dark mode, and
on a 375 px phone: nothing sticks out sideways, and the headline total is on the first screen,
readable, not covered. Writes the README's screenshots to docs/screenshots/.

How it measures: tests/browser/chromium.py drives Chromium over the DevTools protocol on a pipe
and evaluates a measuring script from the driver; the email itself carries no script.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from emulator.dataset import demo_clients
from lambdas.logic.render.format import Formatter
from lambdas.logic.render.html import render_html
from tests.browser.chromium import Chromium, Rendering, contrast_ratio
from tests.browser.conftest import Email
from tests.unit import report_fixtures as fx

# `make screenshots` sets SCREENSHOTS_DIR=docs/screenshots; `make test` checks the same renderings
# without rewriting committed files.
SCREENSHOTS_DIR = os.environ.get("SCREENSHOTS_DIR")
README_SHOTS = ("daily", "weekly", "monthly", "final", "data-export")
FOLD_PX = 400  # the headline total must be visible without scrolling, even in a preview pane
MODES = ((600, False), (600, True), (375, False))  # (width, dark)


def expected_total(report: dict[str, Any]) -> str:
    return Formatter(report["currency"], report.get("locale", "en_US")).money(Decimal(report["total"]))


def check(rendering: Rendering, total: str) -> None:
    where = f"{rendering.width} px{' dark' if rendering.dark else ''}"
    assert rendering.scripts == 0
    assert rendering.scroll_width <= rendering.width, f"{where}: {rendering.scroll_width} px wide: {rendering.outside}"
    assert rendering.outside == [], f"{where}: elements outside the viewport: {rendering.outside}"
    headline = rendering.headline
    assert headline is not None, f"{where}: no #headline-total"
    assert headline["text"] == total
    assert headline["display"] != "none" and headline["visibility"] == "visible" and headline["opacity"] == 1, where
    assert headline["fontSize"] >= 24, f"{where}: headline total is {headline['fontSize']} px"
    assert headline["left"] >= 0 and headline["right"] <= rendering.width, f"{where}: {headline}"
    assert headline["top"] >= 0 and headline["bottom"] <= FOLD_PX, f"{where}: headline total below the fold"
    assert headline["topmost"], f"{where}: something covers the headline total"
    ratio = contrast_ratio(headline["color"], headline["background"])
    assert ratio >= 7, f"{where}: headline contrast {ratio:.1f}:1 ({headline['color']} on {headline['background']})"


@pytest.mark.parametrize("client_id", [record["client_id"] for record in demo_clients()])
def test_demo_email_fits_and_shows_the_headline_total(chromium: Chromium, demo_emails: dict[str, Email], client_id):
    mail = demo_emails[client_id]
    for width, dark in MODES:
        check(chromium.render(mail.html, width=width, dark=dark), expected_total(mail.report))


@pytest.mark.parametrize("schedule", list(fx.SCHEDULES))
@pytest.mark.parametrize("variant", ["full", "hostile", "bare"])
def test_every_section_and_hostile_names_keep_the_layout(chromium: Chromium, tmp_path, schedule, variant):
    report, _ = fx.SCHEDULES[schedule]()
    report = {"full": report, "hostile": fx.hostile(report), "bare": fx.bare(report)}[variant]
    page = tmp_path / f"{schedule}-{variant}.html"
    page.write_text(render_html(report), encoding="utf-8")
    for width, dark in MODES:
        check(
            chromium.render(page, width=width, dark=dark), Formatter(report.currency, report.locale).money(report.total)
        )


def test_screenshots_for_the_readme(chromium: Chromium, demo_emails: dict[str, Email], tmp_path):
    screenshots = Path(SCREENSHOTS_DIR) if SCREENSHOTS_DIR else tmp_path / "screenshots"
    """docs/screenshots/{daily,weekly,monthly,final,data-export}.png from the demo's emails; a kind of report the
    demo does not produce (the month-close final one, until the demo runs it) comes from the
    fixture report of that kind. Plus the daily one in dark mode."""
    pages: dict[str, Path] = {}
    for mail in demo_emails.values():
        if mail.report.get("kind") == "final":
            key = "final"
        elif mail.report.get("cost_source") == "data_exports":
            key = "data-export"  # hooli: the Data Export's own sections (top resources, commitments)
        else:
            key = mail.report.get("schedule", "daily")
        pages.setdefault(key, mail.html)
    assert "data-export" in pages  # the demo's fifth client reads a FOCUS export
    for key in README_SHOTS:
        if key not in pages:
            page = tmp_path / f"{key}.html"
            page.write_text(render_html(fx.SCHEDULES[key]()[0]), encoding="utf-8")
            pages[key] = page
    screenshots.mkdir(parents=True, exist_ok=True)
    shots = {key: chromium.render(pages[key], screenshot=True) for key in README_SHOTS}
    shots["daily-dark"] = chromium.render(pages["daily"], dark=True, screenshot=True)
    for key, rendering in shots.items():
        target = screenshots / f"{key}.png"
        target.write_bytes(rendering.png)
        assert rendering.png[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(rendering.png[16:20], "big")  # IHDR
        height = int.from_bytes(rendering.png[20:24], "big")
        assert (width, height) == (600, rendering.height), target


def test_the_demo_has_a_client_on_stored_keys_whose_email_shows_the_keys_age(demo_emails: dict[str, Email]):
    """globex-health gives access keys, not a role (cli/commands/demo.py): its coverage footer shows the
    key's age; the role clients' emails have no key age."""
    ages = {name: (mail.report.get("coverage") or {}).get("key_age_days") for name, mail in demo_emails.items()}
    assert ages.pop("globex-health") == 34
    assert set(ages.values()) == {None}
    assert "Stored access key age: 34 days." in demo_emails["globex-health"].html.read_text(encoding="utf-8")
