"""The CLI's verdicts and thresholds (pure), and its one-line answer to bad usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.context import exit_code, jsonable, to_json
from cli.main import main
from cli.reviews.checks import (
    STALE_AFTER,
    Check,
    Status,
    age_in_days,
    is_stale,
    key_age_status,
    rate_status,
    shortfall,
    worst,
)
from cli.reviews.key_ages import mask_key

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "status"),
    [(0, Status.OK), (59, Status.OK), (60, Status.WARNING), (61, Status.WARNING), (79, Status.WARNING),
     (80, Status.CRITICAL), (81, Status.CRITICAL)],
)  # fmt: skip
def test_key_age_limits(days, status):
    assert key_age_status(days, 60, 80) is status


def test_age_counts_whole_days():
    created = NOW - timedelta(days=59, hours=23, minutes=59)
    assert age_in_days(created, NOW) == 59
    assert age_in_days(created - timedelta(minutes=1), NOW) == 60


@given(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=200))
def test_key_age_status_never_improves_with_age(days, warn):
    critical = warn + 20
    assert key_age_status(days + 1, warn, critical) >= key_age_status(days, warn, critical)


@pytest.mark.parametrize("schedule", ["daily", "weekly", "monthly"])
def test_staleness_is_the_schedule_allowance(schedule):
    allowed = STALE_AFTER[schedule]
    assert not is_stale(schedule, NOW - allowed, None, NOW)
    assert is_stale(schedule, NOW - allowed - timedelta(seconds=1), None, NOW)


def test_a_client_that_never_reported_is_stale_once_registered_long_enough():
    assert not is_stale("daily", None, NOW - timedelta(hours=25), NOW)
    assert is_stale("daily", None, NOW - timedelta(hours=27), NOW)
    assert is_stale("weekly", None, None, NOW)
    assert STALE_AFTER["daily"] == timedelta(hours=26)
    assert STALE_AFTER["weekly"] == timedelta(days=8)
    assert STALE_AFTER["monthly"] == timedelta(days=32)


def test_rates_and_worst_verdict():
    assert rate_status(Decimal("0.049"), Decimal("0.05"), Decimal("0.10")) is Status.OK
    assert rate_status(Decimal("0.05"), Decimal("0.05"), Decimal("0.10")) is Status.WARNING
    assert rate_status(Decimal("0.10"), Decimal("0.05"), Decimal("0.10")) is Status.CRITICAL
    checks = [Check("a", Status.OK, ""), Check("b", Status.WARNING, "")]
    assert worst(checks) is Status.WARNING and exit_code(worst(checks)) == 1
    assert worst([]) is Status.OK and exit_code(Status.OK) == 0
    assert exit_code(worst([*checks, Check("c", Status.CRITICAL, "")])) == 1


def test_json_keeps_decimals_exact_and_is_deterministic():
    assert jsonable(Decimal("45000.00")) == "45000.00"
    assert jsonable(Decimal("12")) == 12
    assert to_json({"b": Decimal("0.1"), "a": NOW}) == '{\n  "a": "2026-11-27T09:00:00+00:00",\n  "b": "0.1"\n}\n'


def test_key_ids_are_masked():
    assert mask_key("AKIAWO6XUA4MQX3Q3EMT") == "AKIA…3EMT"
    assert mask_key("short") == "…"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["client", "list", "--bogus"], "No such option: --bogus"),
        (["client", "list", "--format", "xml"], "'xml' is not one of"),
        (["client", "show"], "Missing option '--client-id'"),
        (["nonsense"], "No such command 'nonsense'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1


def test_a_bad_environment_is_one_line_and_exit_2(capsys):
    assert main(["client", "list", "--environment", "production"]) == 2
    assert "environment: must be one of prod, staging, dev, local, not 'production'" in capsys.readouterr().err


def test_the_shortfall_line_names_the_checks_not_ok_worst_first():
    checks = [
        Check("SES quota", Status.OK, ""),
        Check("report freshness", Status.WARNING, ""),
        Check("dead letters", Status.CRITICAL, ""),
    ]
    assert shortfall(checks) == "2 check(s) not OK: dead letters (CRITICAL), report freshness (WARNING)"
    assert shortfall(checks[:1]) == ""
