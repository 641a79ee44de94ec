"""Fixtures of the browser test: one headless Chromium per session, and the demo's emails.

`make test` installs Debian's chromium and sets REQUIRE_CHROMIUM=1, so there a missing browser
fails the run; anywhere else (a bare `pytest`) the browser test is skipped with the reason.
"""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chromium import Chromium, find_chromium

ROOT = Path(__file__).resolve().parents[2]
DEMO_AS_OF = "2026-11-27"  # pinned: the screenshots in docs/ do not change from day to day


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        reason = "Debian's chromium is not installed (`make chromium` installs it; `make test` does it itself)"
        if os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail(reason)
        pytest.skip(reason)
    with Chromium(binary) as browser:
        yield browser


@dataclass(frozen=True)
class Email:
    name: str
    html: Path  # the HTML part of the message, as a recipient's mail client gets it
    report: dict[str, Any]  # report.json


def html_part(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=default)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return str(part.get_content())
    raise AssertionError("the message has no text/html part")


@pytest.fixture(scope="session")
def demo_emails(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Email]:
    """Run `python cli/main.py demo` (the embedded AWS, every schedule) and collect what SES got."""
    output = tmp_path_factory.mktemp("demo")
    done = subprocess.run(  # noqa: S603 - this interpreter, the project's own CLI
        [sys.executable, str(ROOT / "cli" / "main.py"), "demo", "--as-of", DEMO_AS_OF, "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"demo failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    emails = {}
    for folder in sorted(path for path in output.iterdir() if (path / "message.eml").exists()):
        page = folder / "email.html"
        page.write_text(html_part((folder / "message.eml").read_bytes()), encoding="utf-8")
        emails[folder.name] = Email(folder.name, page, json.loads((folder / "report.json").read_text()))
    return emails
