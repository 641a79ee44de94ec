"""How the CLI prints for people: tables that never cut a word, bars that leave nothing behind."""

from __future__ import annotations

import io
import os

import pytest
from rich.table import Table

import cli.context
from cli.render.console import WholeWordsConsole

RUN_ID = "2026-11-27.manual-200042-ab12"
ARN = "arn:aws:iam::111111111110:role/CostReportingReadOnly"


def _printed(width: int, table: Table) -> str:
    out = io.StringIO()
    WholeWordsConsole(file=out, width=width, color_system=None).print(table)
    return out.getvalue()


@pytest.mark.parametrize("width", [40, 80, 120])
def test_identifiers_stay_whole_and_text_wraps_between_words(width):
    table = Table("client", "run", "role", "detail")
    detail = "the role was refused by the client's account: ask them to check its trust policy"
    table.add_row("client-0001-with-a-long-name", RUN_ID, ARN, detail)

    text = _printed(width, table)

    assert RUN_ID in text and ARN in text and "client-0001-with-a-long-name" in text
    assert "…" not in text
    words = " ".join(line.split("│")[4].strip() for line in text.splitlines() if line.count("│") == 5)
    assert " ".join(words.split()) == detail  # every word of the detail, in order


def test_a_table_that_fits_is_printed_as_rich_would():
    table = Table("check", "status")
    table.add_row("table", "OK")
    assert max(len(line) for line in _printed(120, table).splitlines()) < 40


def test_bars_are_shown_on_a_terminal_and_not_when_stdout_is_a_pipe(monkeypatch, tmp_path):
    monkeypatch.setattr(WholeWordsConsole, "is_terminal", property(lambda self: True))
    read, write = os.pipe()
    try:
        with os.fdopen(write, "w") as piped:
            monkeypatch.setattr("sys.stdout", piped)
            assert cli.context._bars_shown() is False  # `| less`, `| tee`: the bar would stay behind
        with (tmp_path / "out.txt").open("w") as file:
            monkeypatch.setattr("sys.stdout", file)
            assert cli.context._bars_shown() is True  # `> file`: the terminal only has the bar
    finally:
        os.close(read)
    monkeypatch.setattr(WholeWordsConsole, "is_terminal", property(lambda self: False))
    assert cli.context._bars_shown() is False
