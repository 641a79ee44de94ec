"""Strings that come from clients, SES or AWS are printed as they are: a client name holding Rich
markup must not style the operator's terminal or plant a hyperlink in it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.render.console import Table, console, styled
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import parse_client

runner = CliRunner()
HOSTILE = "[link=https://evil.example/login]Acme[/link] [bold red]CRITICAL[/]"


@pytest.fixture
def hostile_client(platform, demo_records):
    client = parse_client(dict(demo_records[0], name=HOSTILE))
    ClientsTable(platform.clients_table).put(client)
    return client


@pytest.mark.parametrize("command", [["client", "list"], ["client", "show", "--client-id", "acme-retail"]])
def test_a_client_name_holding_markup_is_printed_as_written(hostile_client, command):
    result = runner.invoke(app, [*command, "-e", "local"])

    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())  # the table may wrap the name over lines
    assert "[link=https://evil.example/login]Acme[/link]" in flat.replace(" ", "") or HOSTILE in flat
    assert "\x1b]8;" not in result.output  # no OSC 8 hyperlink escape


def test_table_cells_are_plain_text_and_styles_are_explicit():
    table = Table("name", "status", title="[red]title[/]")
    table.add_row(HOSTILE, styled("CRITICAL", "bold red"))
    with console.capture() as captured:
        console.print(table)
    text = captured.get()
    assert "[link=https://evil.example/login]Acme[/link]" in text.replace("\n", "").replace(" ", "") or HOSTILE in text
    assert "[red]title[/]" in text
