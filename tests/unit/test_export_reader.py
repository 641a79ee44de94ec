"""The Data Export branch of a run's step 3, with fakes: which reader answers, and what the month
close concludes when the export is too large to tell in process."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from lambdas.logic.cost_data import CostData
from lambdas.logic.periods import window_for
from lambdas.models.client import parse_client
from lambdas.models.exceptions import ExportTooLargeError
from lambdas.orchestration import export_costs, export_costs_athena
from lambdas.orchestration.export_costs import ExportRead, PeriodState
from lambdas.orchestration.export_reader import NO_CE_FORECAST, ExportReader, athena_table, closed_on_athena

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
RECORD = {
    "client_id": "hooli",
    "name": "Hooli",
    "account_ids": ["666666666661"],
    "credentials": {"type": "role", "role_arn": "arn:aws:iam::666666666660:role/R", "external_id": "hooli-9d27"},
    "recipients": ["finops@hooli.example"],
    "schedule": "monthly",
    "cost_source": "data_exports",
    "data_export": {"bucket": "hooli-exports", "prefix": "exports", "export_name": "Hooli-Focus_2026"},
}


def _too_large(*_: Any, **__: Any) -> Any:
    raise ExportTooLargeError("the report's billing periods hold 2,000,000,000 bytes: run it on Athena")


def _states(final: bool, last_day: date = date(2026, 10, 31)) -> dict[str, PeriodState]:
    return {"2026-10": PeriodState("2026-10", read=True, final=final, last_day=last_day, line_items=5)}


def test_the_glue_table_of_an_export_is_the_clients_own_in_glues_spelling_and_quoted():
    assert athena_table("hooli", "Hooli-Focus_2026") == '"hooli_hooli_focus_2026"'
    # Two clients whose payers named their exports alike read two tables.
    assert athena_table("acme-retail", "focus") != athena_table("globex-health", "focus")


@pytest.mark.parametrize(
    ("states", "closed"),
    [
        (_states(final=True), True),
        (_states(final=False), False),
        (_states(final=True, last_day=date(2026, 11, 2)), False),  # November's days in October's period
        ({}, False),  # no rows for the month: not final
    ],
)
def test_the_month_close_on_athena_reads_the_periods_coverage(states, closed):
    found = ExportRead(data=CostData(), periods=states)

    assert closed_on_athena(found, date(2026, 10, 1)) is closed


def test_too_large_without_athena_fails_naming_the_missing_workgroup(monkeypatch):
    monkeypatch.setattr(export_costs, "export_is_final", _too_large)
    monkeypatch.setattr(export_costs, "read_export_costs", _too_large)
    client = parse_client(RECORD)
    reader = ExportReader(s3=object(), now=NOW)

    for attempt in (
        lambda: reader.month_closed(client, date(2026, 10, 1)),
        lambda: reader.read(client, window_for("monthly", date(2026, 11, 6))),
    ):
        with pytest.raises(ExportTooLargeError, match=r"run it on Athena; this environment has no Athena workgroup"):
            attempt()


def test_too_large_with_athena_is_read_there_and_the_month_close_asks_the_read(monkeypatch):
    asked: list[str] = []

    def on_athena(client, window, *, athena, table, now):
        asked.append(table)
        return ExportRead(data=CostData(), periods=_states(final=True))

    monkeypatch.setattr(export_costs, "export_is_final", _too_large)
    monkeypatch.setattr(export_costs, "read_export_costs", _too_large)
    monkeypatch.setattr(export_costs_athena, "read_export_costs_on_athena", on_athena)
    client = parse_client({**RECORD, "forecast_source": "cost_explorer"})
    reader = ExportReader(s3=object(), now=NOW, athena=lambda: object())  # type: ignore[arg-type, return-value]

    assert reader.month_closed(client, date(2026, 10, 1)) is None  # cannot tell in process
    read, found = reader.read(client, window_for("monthly", date(2026, 11, 6)))

    assert asked == ['"hooli_hooli_focus_2026"']  # the client's own table
    assert closed_on_athena(found, date(2026, 10, 1)) is True
    assert (read.cost_source, read.export_format, read.forecast_remaining) == ("data_exports", "focus_1_2", None)
    assert read.notes == [NO_CE_FORECAST]  # Cost Explorer's forecast is not asked for an export client
    assert read.top_resources == [] and read.commitments == []  # Athena's read gives no extras


def test_athena_is_wired_only_where_the_environment_names_a_workgroup():
    from lambdas.models.settings import Settings
    from lambdas.orchestration.dependencies import dependencies_from

    names = {
        "CLIENTS_TABLE": "c",
        "EXECUTIONS_TABLE": "e",
        "IDEMPOTENCY_TABLE": "i",
        "ASSETS_BUCKET": "b",
        "SENDER_EMAIL": "reports@example.com",
    }
    assert dependencies_from(Settings.model_validate(names)).export_athena is None
    wired = dependencies_from(Settings.model_validate({**names, "ATHENA_WORKGROUP": "wg", "ATHENA_DATABASE": "db"}))

    assert wired.export_athena is not None
    athena = wired.export_athena()
    assert (athena.workgroup, athena.database) == ("wg", "db")  # type: ignore[attr-defined]


def _state(period: str, last_day: date | None, *, line_items: int = 100, final: bool = False) -> PeriodState:
    return PeriodState(period, read=True, last_day=last_day, final=final, line_items=line_items)


OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)


@pytest.mark.parametrize(
    ("october", "today", "expected"),
    [
        (_state("2026-10", date(2026, 10, 31)), date(2026, 11, 27), {OCTOBER: False}),  # whole month, estimated
        (_state("2026-10", date(2026, 10, 31), final=True), date(2026, 11, 27), {OCTOBER: True}),
        (_state("2026-10", date(2026, 10, 25)), date(2026, 11, 27), {}),  # ended, the export stopped short
        (_state("2026-10", date(2026, 10, 25)), date(2026, 10, 27), {OCTOBER: False}),  # still under way
        (_state("2026-10", date(2026, 10, 31), line_items=0), date(2026, 11, 27), {}),  # an empty partition
        (_state("2026-10", None), date(2026, 11, 27), {}),
    ],
)
def test_a_month_is_covered_only_when_the_export_holds_it_whole_or_it_is_under_way(october, today, expected):
    assert export_costs.covered({"2026-10": october}, {OCTOBER}, "MONTHLY", today) == expected


def test_days_are_covered_up_to_the_newest_the_export_holds_and_an_empty_partition_covers_none():
    days = {date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)}
    held = {"2026-11": _state("2026-11", date(2026, 11, 25))}
    empty = {"2026-11": _state("2026-11", date(2026, 11, 25), line_items=0)}

    assert export_costs.covered(held, days, "DAILY", NOW.date()) == {
        date(2026, 11, 24): False,
        date(2026, 11, 25): False,
    }
    assert export_costs.covered(empty, days, "DAILY", NOW.date()) == {}
    assert export_costs.covered({}, {NOVEMBER}, "MONTHLY", NOW.date()) == {}


def test_duckdb_spills_past_three_quarters_of_the_functions_memory(monkeypatch):
    from lambdas.orchestration.export_reader import duckdb_memory_limit

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "6144")
    assert duckdb_memory_limit() == "4608MB"
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    assert duckdb_memory_limit() is None  # outside Lambda: DuckDB's own default
