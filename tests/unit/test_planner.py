"""The planner's plans, asserted exactly: request count and shape per schedule, cold and warm."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from lambdas.logic.periods import window_for
from lambdas.logic.planner import ASSUMED_PAGE_GROUPS, Cell, cell_key, needs_for, plan
from tests.unit.factories import make_client

AS_OF = date(2026, 11, 27)
TODAY = AS_OF
ACCOUNTS = ["111111111111", "222222222222"]
ACCOUNT_FILTER = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ACCOUNTS}}
NO_CREDITS = {"Not": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Credit", "Refund"]}}}
BY_SERVICE = [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]
BY_RECORD_TYPE = [{"Type": "DIMENSION", "Key": "RECORD_TYPE"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]


def cold_plan(schedule: str, kind: str = "scheduled", **client):
    c = make_client(schedule=schedule, **client)
    return plan(
        needs_for(c, window_for(schedule, AS_OF, kind=kind)), {}, accounts=ACCOUNTS, metric=c.metric, today=TODAY
    )


def requests(schedule: str, **client):
    return [r.request() for r in cold_plan(schedule, **client).requests]


def services_request(start: str, end: str):
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": BY_SERVICE,
        "Filter": {"And": [ACCOUNT_FILTER, NO_CREDITS]},
    }


def record_types_request(start: str, end: str, granularity: str = "DAILY"):
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": granularity,
        "Metrics": ["UnblendedCost"],
        "GroupBy": BY_RECORD_TYPE,
        "Filter": ACCOUNT_FILTER,
    }


def test_daily_report_cold_is_two_requests_over_month_to_date_and_the_anomaly_baseline():
    # Yesterday (26th) against the 19th; chart = 1..26 November; baseline 28 days before the 1st.
    assert requests("daily") == [
        services_request("2026-10-04", "2026-11-27"),
        record_types_request("2026-10-04", "2026-11-27"),
    ]


def test_weekly_report_cold_is_two_requests_over_both_weeks_and_the_baseline():
    # 20..26 against 13..19; chart = both weeks; baseline 28 days before the 13th.
    assert requests("weekly") == [
        services_request("2026-10-16", "2026-11-27"),
        record_types_request("2026-10-16", "2026-11-27"),
    ]


def test_monthly_report_cold_is_daily_detail_of_two_months_and_a_monthly_six_month_trend():
    assert requests("monthly") == [
        services_request("2026-09-01", "2026-11-01"),
        record_types_request("2026-05-01", "2026-11-01", "MONTHLY"),
    ]


def test_month_close_run_plans_like_a_monthly_report_whatever_the_schedule():
    assert [r.request() for r in cold_plan("daily", kind="final").requests] == requests("monthly")


def test_a_breakdown_adds_one_request_over_the_compared_periods_only():
    tagged = requests("daily", breakdown={"type": "tag", "key": "team"}, include_credits=False)
    assert len(tagged) == 3
    assert tagged[2] == {
        "TimePeriod": {"Start": "2026-11-19", "End": "2026-11-27"},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "TAG", "Key": "team"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
        "Filter": {"And": [ACCOUNT_FILTER, NO_CREDITS]},
    }
    category = requests("monthly", breakdown={"type": "cost_category", "key": "Team"})[2]
    assert category["GroupBy"][0] == {"Type": "COST_CATEGORY", "Key": "Team"}
    assert category["Filter"] == ACCOUNT_FILTER  # credits included: no record type filter


def fill(needs, *, estimated, fetched_at, accounts=ACCOUNTS):
    cells = {}
    for need in needs:
        for start in need.periods():
            for account in accounts:
                cells[cell_key(need, account, start)] = Cell({"X": Decimal(1)}, estimated(start), fetched_at)
    return cells


def test_a_same_day_rerun_makes_no_request():
    c = make_client(schedule="daily")
    needs = needs_for(c, window_for("daily", AS_OF))
    morning = datetime(2026, 11, 27, 6, tzinfo=UTC)
    cells = fill(needs, estimated=lambda day: True, fetched_at=morning)
    warm = plan(needs, cells, accounts=ACCOUNTS, metric=c.metric, today=TODAY)
    assert warm.requests == []
    assert warm.cache_hits == 2


def test_next_day_only_estimated_days_are_fetched_again_and_final_days_never():
    c = make_client(schedule="daily")
    needs = needs_for(c, window_for("daily", AS_OF))
    yesterday = datetime(2026, 11, 26, 6, tzinfo=UTC)
    # October is final; November still an estimate; the 26th was never fetched.
    cells = fill(needs, estimated=lambda day: day >= date(2026, 11, 1), fetched_at=yesterday)
    for need in needs:
        for account in ACCOUNTS:
            del cells[cell_key(need, account, date(2026, 11, 26))]
    next_day = plan(needs, cells, accounts=ACCOUNTS, metric=c.metric, today=TODAY)
    assert [(r.start, r.end_exclusive) for r in next_day.requests] == [(date(2026, 11, 1), date(2026, 11, 27))] * 2


def test_closed_final_months_are_never_fetched_again():
    c = make_client(schedule="monthly")
    needs = needs_for(c, window_for("monthly", AS_OF))
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    cells = fill(needs, estimated=lambda day: False, fetched_at=long_ago)
    assert plan(needs, cells, accounts=ACCOUNTS, metric=c.metric, today=TODAY).requests == []


def test_one_missing_account_is_enough_to_fetch_and_the_request_names_every_account():
    c = make_client(schedule="weekly")
    needs = needs_for(c, window_for("weekly", AS_OF))
    cells = fill(
        needs, estimated=lambda day: False, fetched_at=datetime(2026, 11, 1, tzinfo=UTC), accounts=ACCOUNTS[:1]
    )
    planned = plan(needs, cells, accounts=ACCOUNTS, metric=c.metric, today=TODAY)
    assert len(planned.requests) == 2
    assert all(r.accounts == tuple(ACCOUNTS) for r in planned.requests)


def test_shared_accounts_join_the_request_only_while_it_fits_one_page():
    c = make_client(schedule="daily")
    needs = needs_for(c, window_for("daily", AS_OF))
    peers = [f"9{n:011d}" for n in range(1, 200)]
    planned = plan(needs, {}, accounts=ACCOUNTS, metric=c.metric, today=TODAY, shared_accounts=peers)
    services, record_types = planned.requests
    days = (services.end_exclusive - services.start).days
    assert services.accounts[:2] == tuple(ACCOUNTS)
    assert len(services.accounts) == ASSUMED_PAGE_GROUPS // (days * 20)  # 20 services per account and day
    assert len(record_types.accounts) > len(services.accounts)  # record types are fewer groups per account
    assert set(services.accounts) <= set(ACCOUNTS) | set(peers)


def test_every_plan_respects_cost_explorer_limits():
    for schedule in ("daily", "weekly", "monthly"):
        for request in requests(schedule, breakdown={"type": "tag", "key": "env"}):
            assert len(request["GroupBy"]) <= 2
            start, end = (date.fromisoformat(request["TimePeriod"][k]) for k in ("Start", "End"))
            assert start < end <= AS_OF
            assert AS_OF - start <= timedelta(days=400)  # within Cost Explorer's 13 months


def test_clients_behind_one_payer_fetch_each_account_once_and_no_more_requests_than_pages():
    """Forty one-account clients of one payer, run one after the other on one cache: a request
    shares only accounts not yet fresh, so each account's cells are fetched once per dataset and
    the run costs the fewest requests that fit a page."""
    accounts = [f"{n:012d}" for n in range(1, 41)]
    c = make_client(schedule="daily")
    needs = needs_for(c, window_for("daily", AS_OF))
    fetched_at = datetime(2026, 11, 27, 6, tzinfo=UTC)
    cells: dict = {}
    fetched: dict[str, list[str]] = {need.dataset.name: [] for need in needs}
    per_request: dict[str, int] = {}
    total = 0
    for account in accounts:
        planned = plan(needs, cells, accounts=[account], metric=c.metric, today=TODAY, shared_accounts=accounts)
        total += len(planned.requests)
        for request in planned.requests:
            per_request.setdefault(request.need.dataset.name, len(request.accounts))
            fetched[request.need.dataset.name].extend(request.accounts)
            for scoped in request.accounts:
                for start in request.need.periods():
                    if request.start <= start < request.end_exclusive:
                        cells[cell_key(request.need, scoped, start)] = Cell(estimated=True, fetched_at=fetched_at)

    for dataset, scoped in fetched.items():
        assert sorted(scoped) == accounts, dataset  # every account once: none fetched again
    assert total == sum(-(-len(accounts) // size) for size in per_request.values())
    assert total < len(accounts)
