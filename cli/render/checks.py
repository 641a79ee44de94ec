"""Checks shown: a table of checks, or their JSON, and the exit code of the worst."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from cli.context import EXIT_FINDINGS, EXIT_OK, OutputFormat, emit, finish
from cli.render.console import Table, styled
from cli.reviews.checks import Check, Status, shortfall, worst


def checks_table(checks: list[Check], title: str) -> Table:
    table = Table("check", "status", "detail", title=title, title_justify="left")
    for check in checks:
        table.add_row(check.name, styled(check.status.name, check.status.style), check.detail)
    return table


def report_checks(
    checks: list[Check], *, title: str, fmt: OutputFormat, output: Path | None, meta: dict[str, Any]
) -> NoReturn:
    """Print the checks (table or JSON), write --output, exit with the worst verdict's code."""
    overall = worst(checks)
    document = {**meta, "status": overall.name, "checks": [check.as_dict() for check in checks]}
    table = checks_table(checks, f"{title}: {overall.name}")
    emit(document, table, fmt, output)
    finish(shortfall(checks))


def exit_code(status: Status) -> int:
    return EXIT_OK if status is Status.OK else EXIT_FINDINGS
