"""Checks shown: a table of checks, or their JSON, and the exit code of the worst."""

from __future__ import annotations

from cli.render.console import Table, styled
from cli.reviews.checks import Check


def checks_table(checks: list[Check], title: str) -> Table:
    table = Table("check", "status", "detail", title=title, title_justify="left")
    for check in checks:
        table.add_row(check.name, styled(check.status.name, check.status.style), check.detail)
    return table
