"""The operations reports' arithmetic (cli/reviews: kpis.py, capacity.py, cost_advice.py, ...) and the
cost statement (cli/reviews/costing.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.probes.sources import StoredObject
from cli.reviews import costing
from cli.reviews.access import readers
from cli.reviews.capacity import MEMORY_THRESHOLD, Series, next_memory_size, runs_by_month, runs_following_clients
from cli.reviews.client_health import attention_order, client_health, failures_in_a_row
from cli.reviews.cost_advice import cache_advice, lifecycle_advice, memory_advice, schedule_advice
from cli.reviews.kpis import ops_summary
from cli.reviews.periods import Window, linear_fit, month_window, parse_month, percentile, period_window, rounded
from lambdas.logic.calendar import run_days
from lambdas.models.execution import ExecutionRecord
from lambdas.models.ses_events import Suppression

AT = datetime(2026, 11, 27, 9, tzinfo=UTC)


def run(client_id: str, day: int, status: str = "succeeded", **fields) -> ExecutionRecord:
    started = datetime(2026, 11, day, 6, tzinfo=UTC)
    values = {
        "client_id": client_id,
        "run_id": f"2026-11-{day:02d}.daily",
        "as_of": date(2026, 11, day),
        "status": status,
        "started_at": started,
        "finished_at": started + timedelta(seconds=1) if status != "running" else None,
        "duration_ms": 1000 if status != "running" else None,
        **fields,
    }
    return ExecutionRecord.model_validate(values)


# -- periods and statistics -------------------------------------------------------------------


def test_periods_end_before_the_as_of_day():
    assert period_window("daily", date(2026, 11, 27)) == Window("daily", date(2026, 11, 26), date(2026, 11, 27))
    weekly = period_window("weekly", date(2026, 11, 27))
    assert (weekly.start, weekly.end, weekly.days) == (date(2026, 11, 20), date(2026, 11, 27), 7)
    monthly = period_window("monthly", date(2026, 12, 7))
    assert (monthly.start, monthly.end, monthly.label) == (date(2026, 11, 1), date(2026, 12, 1), "November 2026")
    assert period_window("monthly", date(2026, 1, 5)).start == date(2025, 12, 1)
    assert period_window("monthly", date(2026, 11, 27), date(2026, 2, 1)).days == 28


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "november", "2026-11-01"])
def test_a_month_is_yyyy_mm(text):
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month(text)


@given(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=200), st.integers(1, 100))
def test_a_percentile_is_one_of_the_values_with_q_percent_at_or_below_it(values, q):
    result = percentile(values, q)
    assert result in values
    assert sum(1 for v in values if v <= result) * 100 >= q * len(values)
    assert percentile(values, 100) == max(values)
    assert percentile(values, q) <= percentile(values, min(q + 1, 100))


def test_a_least_squares_line_through_points_on_a_line_is_that_line():
    slope, intercept = linear_fit([(0, Decimal(3)), (1, Decimal(5)), (2, Decimal(7))])
    assert (slope, intercept) == (Decimal(2), Decimal(3))
    assert linear_fit([(4, Decimal(9))]) == (Decimal(0), Decimal(9))


def test_a_projection_starts_at_the_first_month_with_data():
    months = [date(2026, m, 1) for m in range(6, 12)]
    series = Series("clients", months, [Decimal(v) for v in (0, 0, 0, 10, 20, 30)]).project(2)
    assert series.projected == [(date(2026, 12, 1), Decimal(40)), (date(2027, 1, 1), Decimal(50))]


def test_a_partial_month_is_scaled_to_the_whole_month():
    records = [run("a", day) for day in range(18, 27)]  # 9 runs, 18th to 26th November
    values = runs_by_month(records, [date(2026, 10, 1), date(2026, 11, 1)], until=date(2026, 11, 27))
    assert values == [Decimal(0), Decimal(9) * 30 / 9]


def _seeded_runs(first: date, last: date) -> list[ExecutionRecord]:
    """Four clients' runs as seed-history makes them: two daily, a weekly on Mondays, a monthly
    and a month-close run on the 1st and the 5th."""
    runs, day = [], first
    while day <= last:
        at = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
        due = ["acme", "globex"] + (["initech"] if day.weekday() == 0 else [])
        due += ["umbrella"] if day.day in (1, 5) else []
        runs += [
            ExecutionRecord(client_id=c, run_id=f"{day}.x", as_of=day, status="succeeded", started_at=at) for c in due
        ]
        day += timedelta(days=1)
    return runs


def test_runs_follow_the_clients_and_a_two_day_month_is_no_trend():
    """45 seeded days seen on 2 December: October from the 19th, November, 1-2 December. The
    2 days of December (a monthly run on the 1st among them) once projected 122 to 227 runs a
    month for four clients that were not growing."""
    months = [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    runs = _seeded_runs(date(2026, 10, 19), date(2026, 12, 2))
    clients = Series("clients", months, [Decimal(4)] * 3).project(6)

    projected, basis = runs_following_clients(runs, months, date(2026, 12, 3), clients)

    per_client_day = Decimal(len(runs)) / (4 * 45)  # 45 days recorded
    assert basis["runs_per_client_day"] == rounded(per_client_day)
    assert [month for month, _ in projected] == [date(2027, m, 1) for m in range(1, 7)]
    assert projected[0][1] == 4 * per_client_day * 31 and projected[1][1] == 4 * per_client_day * 28
    recorded_november = sum(1 for r in runs if r.started_at.month == 11)
    assert abs(projected[-1][1] - recorded_november) < 5  # about what a whole month recorded


def test_runs_grow_with_the_clients():
    months = [date(2026, 10, 1), date(2026, 11, 1)]
    runs = _seeded_runs(date(2026, 10, 1), date(2026, 11, 30))
    clients = Series("clients", months, [Decimal(4), Decimal(8)]).project(1)  # 12 projected
    projected, _ = runs_following_clients(runs, months, date(2026, 12, 1), clients)
    assert projected[0][0] == date(2026, 12, 1) and projected[0][1] == Decimal(12) * len(runs) / (4 * 31 + 8 * 30) * 31


def test_no_runs_no_projection():
    months = [date(2026, 11, 1)]
    clients = Series("clients", months, [Decimal(4)]).project(2)
    assert runs_following_clients([], months, date(2026, 11, 27), clients) == (
        [],
        {"available": False, "reason": "no runs recorded"},
    )


@pytest.mark.parametrize(("peak", "size"), [(100, 128), (103, 256), (150, 256), (820, 1152), (1, 128)])
def test_memory_is_raised_to_the_next_128_mb_step_above_80_percent(peak, size):
    assert next_memory_size(peak) == size
    assert Decimal(peak) / size <= MEMORY_THRESHOLD


# -- the ops report ---------------------------------------------------------------------------


def test_the_ops_summary_counts_outcomes_delivery_and_errors():
    window = Window("weekly", date(2026, 11, 20), date(2026, 11, 27))
    records = [
        run("a", 20, delivery="sent", recipients=2, ce_requests=2, ce_cost_usd=Decimal("0.02")),
        run("a", 21, delivery="sent", recipients=2, ce_requests=0, cache_hits=2),
        run("b", 21, "failed", error_kind="unauthorized"),
        run("b", 22, "skipped"),
        run("c", 26, "running"),  # started 27 hours before AT and never finished: counted failed
        run("c", 19, delivery="sent", recipients=5),  # before the window
    ]
    bounce = Suppression(client_id="a", email="x@a.example", reason="bounce", recorded_at=AT, run_id="2026-11-20.daily")
    summary = ops_summary(records, [bounce], window, AT)
    assert summary["executions"]["total"] == 5
    assert (summary["executions"]["succeeded"], summary["executions"]["failed"]) == (2, 2)
    assert summary["executions"]["unfinished_counted_failed"] == 1
    assert summary["errors_by_kind"] == {"unauthorized": 1, "unfinished": 1}
    kpis = {kpi["name"]: kpi for kpi in summary["kpis"]}
    assert kpis["success rate"]["value"] == Decimal("0.5000") and kpis["success rate"]["met"] is False
    assert kpis["email delivery rate"]["value"] == Decimal("0.7500")  # 3 of 4 recipients
    assert kpis["average execution time"]["met"] is True
    assert summary["cost_explorer"] == {
        "requests": 2,
        "cost_usd": Decimal("0.02"),
        "cache_hits": 2,
        "cache_hit_rate": Decimal("0.5000"),
    }
    assert summary["targets_met"] is False
    assert [d["runs"] for d in summary["daily"]] == [1, 2, 1, 0, 0, 0, 1]


def test_no_runs_is_no_data_not_a_missed_target():
    window = Window("daily", date(2026, 11, 26), date(2026, 11, 27))
    summary = ops_summary([], [], window, AT)
    assert [kpi["met"] for kpi in summary["kpis"]] == [None, None, None]
    assert summary["targets_met"] is True


# -- client health ----------------------------------------------------------------------------


def test_failures_in_a_row_skip_skipped_runs_and_stop_at_a_success():
    runs = [
        run("a", 26, "failed"),
        run("a", 25, "skipped"),
        run("a", 24, "failed"),
        run("a", 23),
        run("a", 22, "failed"),
    ]
    assert failures_in_a_row(runs, AT) == 2


def test_expected_run_days_follow_the_schedules():
    start, end = date(2026, 11, 1), date(2026, 12, 1)
    assert len(run_days("daily", start, end)) == 30
    assert run_days("weekly", start, end) == [date(2026, 11, d) for d in (2, 9, 16, 23, 30)]
    assert run_days("monthly", start, end) == [date(2026, 11, 1)]


def health(client_id: str, runs, **overrides):
    values = {
        "client_id": client_id,
        "name": client_id,
        "schedule": "daily",
        "status": "active",
        "registered": datetime(2026, 11, 20, tzinfo=UTC),
        "runs_newest_first": runs,
        "suppressed": [],
        "recipients": 2,
        "credential": {"type": "role", "status": None},
        "stale": False,
        "window": Window("days", date(2026, 11, 20), date(2026, 11, 27)),
        "at": AT,
    }
    return client_health(**{**values, **overrides})


def test_clients_needing_attention_come_first():
    every_day = [run("ok", day) for day in range(26, 19, -1)]
    failing = [run("bad", day, "failed") for day in range(26, 22, -1)] + [run("bad", day) for day in (22, 21, 20)]
    gap = [run("gap", day) for day in range(26, 19, -1) if day != 23]
    entries = [health("ok", every_day), health("bad", failing), health("gap", gap)]
    ordered = sorted(entries, key=attention_order)
    assert [(e["client_id"], e["health"]) for e in ordered] == [("bad", "CRITICAL"), ("gap", "WARNING"), ("ok", "OK")]
    assert ordered[0]["failures_in_a_row"] == 4
    assert ordered[1]["coverage_gaps"] == [date(2026, 11, 23)]


def test_days_before_registration_are_not_gaps_and_paused_clients_have_none():
    late = health("new", [run("new", 26)], registered=datetime(2026, 11, 26, 3, tzinfo=UTC))
    assert late["coverage_gaps"] == [] and late["health"] == "OK"
    paused = health("p", [], status="paused")
    assert paused["coverage_gaps"] == [] and paused["health"] == "OK"


def test_every_recipient_suppressed_is_critical():
    bounced = [Suppression(client_id="a", email=f"{n}@a.example", reason="bounce", recorded_at=AT) for n in ("x", "y")]
    entry = health("a", [run("a", day) for day in range(26, 19, -1)], suppressed=bounced)
    assert entry["health"] == "CRITICAL" and entry["reasons"] == ["2 of 2 recipient(s) suppressed"]


def test_an_incomplete_last_run_is_a_warning_naming_what_was_missing_and_the_command_that_sends_it():
    missing = ["credits and refunds: 2 period(s) not read"]
    runs = [run("big", 26, "incomplete", missing=missing, error_kind="incomplete")]
    runs += [run("big", day) for day in range(25, 19, -1)]
    entry = health("big", runs)
    assert entry["health"] == "WARNING"
    assert entry["reasons"][0] == (
        "last report not sent, incomplete (credits and refunds: 2 period(s) not read): "
        "`report run --client-id big --as-of 2026-11-26` sends it"
    )
    assert entry["coverage_gaps"] == [date(2026, 11, 26)]


def test_an_incomplete_run_counts_as_finished_without_success():
    runs = [run("a", 26, "incomplete", error_kind="incomplete"), run("a", 25)]
    summary = ops_summary(runs, [], Window("days", date(2026, 11, 20), date(2026, 11, 27)), AT)
    assert summary["errors_by_kind"] == {"incomplete": 1}
    assert (summary["executions"]["succeeded"], summary["executions"]["incomplete"]) == (1, 1)
    success = next(kpi for kpi in summary["kpis"] if kpi["name"] == "success rate")
    assert success["value"] == Decimal("0.5")


# -- cost statement ---------------------------------------------------------------------------


@given(
    st.integers(min_value=0, max_value=10**9),
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(min_value=0, max_value=10_000), min_size=1),
)
def test_allocation_adds_up_exactly_and_is_proportional(units, weights):
    total = Decimal(units) * costing.LINE
    shares = costing.allocate(total, weights)
    assert set(shares) == set(weights)
    whole = sum(weights.values())
    if whole == 0:
        assert all(share == 0 for share in shares.values())
        return
    assert sum(shares.values()) == total
    for key, weight in weights.items():
        exact = total * weight / whole
        assert abs(shares[key] - exact) < costing.LINE
        assert shares[key] % costing.LINE == 0


def test_a_month_fraction_is_byte_hours_over_the_month():
    start = datetime(2026, 11, 1, tzinfo=UTC)
    assert costing.month_fraction(start, datetime(2026, 12, 1, tzinfo=UTC)) == 1
    assert costing.month_fraction(start, datetime(2026, 11, 16, tzinfo=UTC)) == Decimal("0.5")
    # 31 October + 1 November: a day of each month, each divided by its own month's length
    across = costing.month_fraction(datetime(2026, 10, 31, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    assert across == Decimal(1) / 31 + Decimal(1) / 30


def test_item_sizes_follow_dynamodb_rules():
    assert costing.item_size({"name": {"S": "abc"}}) == 7
    assert costing.item_size({"n": {"N": "123.45"}}) == 1 + 4  # 5 significant digits: 3 bytes, plus 1
    assert costing.item_size({"ok": {"BOOL": True}, "l": {"L": [{"S": "ab"}]}}) == 2 + 1 + 1 + 3 + 1 + 2


def test_a_statement_prices_each_client_and_adds_up_to_the_cent():
    window = month_window(date(2026, 11, 1))
    at = datetime(2026, 12, 2, tzinfo=UTC)
    runs = [
        run(
            "a",
            d,
            kind="scheduled",
            duration_ms=2048,
            ce_requests=2,
            ce_cost_usd=Decimal("0.02"),
            delivery="sent",
            recipients=3,
        )
        for d in range(1, 11)
    ]
    manual = run("b", 5, kind="manual", ce_requests=1, ce_cost_usd=Decimal("0.01"))
    stored = StoredObject(
        "reports/a/2026-11-01.daily/report.html", 1024**3 // 10, "STANDARD", datetime(2026, 11, 16, tzinfo=UTC)
    )
    usages = [
        costing.ClientUsage("a", "A", runs, [stored], item_bytes=1024**3),
        costing.ClientUsage("b", "B", [manual]),
    ]
    shared = costing.SharedUsage(lambda_gb_seconds=Decimal("600"), lambda_requests=11)
    document = costing.statement(usages, shared, window, at, worker_memory_mb=1024)
    a, b = document["clients"]
    lines = {line["description"]: line for line in a["lines"]}
    assert lines["worker compute, 10 run(s) at 1024 MB"]["quantity"] == Decimal("20.480")  # 10 x 2.048 s x 1 GB
    assert lines["API requests"]["amount_usd"] == Decimal("0.2000")
    assert lines["report emails (one per recipient)"]["quantity"] == 30
    assert lines["report emails (one per recipient)"]["amount_usd"] == Decimal("0.0030")
    assert lines["archived reports, STANDARD"]["quantity"] == Decimal("0.050000")  # 0.1 GB for half the month
    assert lines["client record, run records, suppressions"]["amount_usd"] == Decimal("0.2500")
    # the manual run ran in the CLI: no Lambda compute for b
    assert {line["description"]: line["quantity"] for line in b["lines"]}["worker requests"] == 0
    shares = [item["amount_usd"] for item in a["shared"]] + [item["amount_usd"] for item in b["shared"]]
    assert sum(shares) == Decimal("0.0100")  # 600 GB-s x 0.0000166667 + 11 requests, split 10:1
    assert a["total_usd"] == costing.cents(a["direct_usd"] + a["shared_usd"])
    assert document["total_usd"] == a["total_usd"] + b["total_usd"]
    assert costing.verify_statement(document) == []
    document["clients"][0]["total_usd"] += Decimal("0.01")
    assert costing.verify_statement(document)[0].startswith("clients[a].total_usd")


# -- cost optimisation rules --------------------------------------------------------------------


def daily(client_id: str, day: int, total: str, **fields) -> ExecutionRecord:
    one_day = {"period_start": date(2026, 11, day - 1), "period_end": date(2026, 11, day - 1)}
    return run(client_id, day, total=Decimal(total), ce_requests=2, ce_cost_usd=Decimal("0.02"), **one_day, **fields)


def test_the_worker_is_right_sized_to_half_use_at_the_peak_and_priced_from_its_lambda_cost():
    runs = [run("a", 1, max_memory_mb=150), run("a", 2, max_memory_mb=200), run("a", 3)]

    advice = memory_advice(runs, 1024, Decimal("0.80"))

    assert advice is not None and advice["id"] == "lambda-memory"
    assert "1024 MB → 512 MB" in advice["title"]  # 200 MB / 0.5 = 400 MB -> the next 128 MB step
    assert advice["estimated_saving_usd"] == Decimal("0.40")
    assert memory_advice(runs, 512, Decimal("0.80")) is None  # already that size
    assert memory_advice([run("a", 1)], 1024, Decimal("0.80")) is None  # nothing measured


def test_a_daily_client_with_a_steady_week_is_advised_weekly_and_saves_six_sevenths_of_its_requests():
    steady = [daily("steady", d, "100.00" if d % 2 else "104.00") for d in range(2, 9)]  # 4 / 102.29: 3.9%
    moving = [daily("moving", d, str(100 + 3 * d)) for d in range(2, 9)]  # 106 to 124: spread 16%
    short = [daily("short", d, "100.00") for d in range(2, 8)]  # six days: not yet a week

    found = schedule_advice(steady + moving + short)

    assert [item["id"] for item in found] == ["schedule-steady"]
    assert found[0]["estimated_saving_usd"] == Decimal("0.14") * 6 / 7  # 7 runs x 0.02 of Cost Explorer
    assert "±2.0% of 102.29 over 7 daily reports" in found[0]["detail"]
    assert "--client-id steady --schedule weekly" in found[0]["action"]


def test_weekly_failed_and_manual_runs_do_not_count_as_daily_history():
    week = [daily("a", d, "100.00") for d in range(2, 8)]
    others = [
        daily("a", 8, "100.00", run_id="2026-11-08.weekly"),
        daily("a", 8, "100.00", status="failed"),
        daily("a", 8, "100.00", kind="manual", run_id="2026-11-08.manual-060000-ab12"),
    ]

    assert schedule_advice(week + others) == []
    assert [item["id"] for item in schedule_advice([*week, daily("a", 8, "100.00")])] == ["schedule-a"]


def test_a_same_day_repeat_that_asked_cost_explorer_again_is_priced_at_its_recorded_cost():
    first = run("a", 20, ce_requests=2, ce_cost_usd=Decimal("0.02"))
    again = run("a", 20, started_at=datetime(2026, 11, 20, 9, tzinfo=UTC), ce_requests=3, ce_cost_usd=Decimal("0.03"))
    cached = run("a", 20, started_at=datetime(2026, 11, 20, 10, tzinfo=UTC), cache_hits=2)

    advice = cache_advice([first, again, cached, run("b", 20, ce_requests=2, ce_cost_usd=Decimal("0.02"))])

    assert advice is not None and advice["id"] == "cache-repeats"
    assert advice["estimated_saving_usd"] == Decimal("0.03")
    assert "1 run(s) repeated a client's report on the same UTC day and still made 3 request(s)" in advice["detail"]
    assert "cache hit rate 22.22%" in advice["detail"]  # 2 hits of 2 + 7 requests


def test_a_rerun_on_a_later_day_or_after_a_run_that_asked_nothing_is_not_a_cache_miss():
    first = run("a", 20, ce_requests=2, ce_cost_usd=Decimal("0.02"))
    next_day = run("a", 20, started_at=datetime(2026, 11, 21, 6, tzinfo=UTC), ce_requests=2)  # estimates restated
    refused = run("b", 20, status="failed", error_kind="unauthorized")
    retried = run("b", 20, started_at=datetime(2026, 11, 20, 8, tzinfo=UTC), ce_requests=2)

    assert cache_advice([first, next_day, refused, retried]) is None


REPORT_RULE = {"ID": "old", "Status": "Enabled", "Filter": {"Prefix": "reports/"},
               "Transitions": [{"Days": 90, "StorageClass": "STANDARD_IA"}]}  # fmt: skip


def stored_report(key: str, size: int, days_old: int, storage_class: str = "STANDARD") -> StoredObject:
    return StoredObject(key, size, storage_class, AT - timedelta(days=days_old))


def test_without_a_lifecycle_rule_the_old_large_reports_are_priced_at_standard_minus_ia():
    objects = [
        stored_report("reports/a/2026-01-01.daily/report.xlsx", 1024**3, 300),  # eligible: 1 GB
        stored_report("reports/a/2026-11-01.daily/report.xlsx", 1024**3, 26),  # too recent
        stored_report("reports/a/2026-01-02.daily/report.html", 100 * 1024, 300),  # under 128 KB
        stored_report("reports/a/2025-01-02.daily/report.xlsx", 1024**3, 600, "STANDARD_IA"),  # moved already
    ]

    advice = lifecycle_advice([], objects, AT, Decimal("0.5"), Decimal("0.023"), Decimal("0.0125"))

    assert advice is not None and advice["id"] == "s3-lifecycle"
    assert advice["estimated_saving_usd"] == Decimal("0.00525")  # 1 GB x half a month x (0.023 - 0.0125)
    assert "1 report object(s)" in advice["detail"] and "(1024.0 MiB)" in advice["detail"]


@pytest.mark.parametrize(
    ("rule", "fires"),
    [
        (REPORT_RULE, False),
        ({**REPORT_RULE, "Filter": {}}, False),  # the whole bucket
        ({**REPORT_RULE, "Filter": {"And": {"Prefix": "reports/", "ObjectSizeGreaterThan": 0}}}, False),
        ({"ID": "legacy", "Status": "Enabled", "Prefix": "", "Transitions": REPORT_RULE["Transitions"]}, False),
        ({**REPORT_RULE, "Status": "Disabled"}, True),
        ({**REPORT_RULE, "Filter": {"Prefix": "audit/"}}, True),  # another prefix
        ({**REPORT_RULE, "Filter": {"Prefix": "reports/acme/"}}, True),  # one client only
        ({**REPORT_RULE, "Filter": {"Tag": {"Key": "archive", "Value": "yes"}}}, True),  # tagged objects only
        ({"ID": "expire", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 30}}, True),  # no transition
    ],
)
def test_only_an_enabled_transition_covering_every_report_silences_the_lifecycle_advice(rule, fires):
    advice = lifecycle_advice([rule], [], AT, Decimal(1), Decimal("0.023"), Decimal("0.0125"))

    assert (advice is not None) is fires
    if fires:
        assert advice["estimated_saving_usd"] == 0  # nothing old enough: shown, not worth acting


def test_readers_count_runs_and_access_lines_per_client_and_requester_sorted():
    runs = [run("b", 1), run("b", 2), run("a", 2, kind="manual", run_id="2026-11-02.manual-090000-ab12")]
    access = [
        {"client_id": "b", "requester": "worker"},
        {"client_id": "a", "requester": "cli"},
        {"client_id": "a", "requester": "cli"},  # credentials validate read it too: no run record
    ]

    assert readers(runs, access) == [
        {"client_id": "a", "requester": "cli", "runs": 1, "log_lines": 2},
        {"client_id": "b", "requester": "worker", "runs": 2, "log_lines": 1},
    ]
