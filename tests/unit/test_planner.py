"""The planner's plans, asserted exactly: request count, shape and order per schedule, cold and
warm, for a small client and for a payer whose answers page; and the budget."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.logic.needs import ASSUMED_PAGE_GROUPS, CORE, Cell, Density, attribution_need, cell_key, needs_for
from lambdas.logic.periods import window_for
from lambdas.logic.planner import expected_pages, plan
from tests.unit.factories import make_client

AS_OF = date(2026, 11, 27)
TODAY = AS_OF
CAP = 200
ACCOUNTS = ["111111111111", "222222222222"]
ACCOUNT_FILTER = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ACCOUNTS}}
NO_CREDITS = {"Not": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Credit", "Refund"]}}}
BY_SERVICE = [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]
BY_RECORD_TYPE = [{"Type": "DIMENSION", "Key": "RECORD_TYPE"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]


def cold_plan(schedule: str, kind: str = "scheduled", accounts=ACCOUNTS, density=None, **client):
    c = make_client(schedule=schedule, account_ids=list(accounts), **client)
    return plan(
        needs_for(c, window_for(schedule, AS_OF, kind=kind)),
        {},
        accounts=list(accounts),
        metric=c.metric,
        today=TODAY,
        density=density,
        cap=CAP,
        budget=c.max_ce_requests,
    )


def requests(schedule: str, **client):
    return [r.request() for r in cold_plan(schedule, **client).requests]


def expected_request(group_by, filter_, start: str, end: str, granularity: str):
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": granularity,
        "Metrics": ["UnblendedCost"],
        "GroupBy": group_by,
        "Filter": filter_,
    }


def services_request(start: str, end: str, granularity: str = "DAILY"):
    return expected_request(BY_SERVICE, {"And": [ACCOUNT_FILTER, NO_CREDITS]}, start, end, granularity)


def record_types_request(start: str, end: str, granularity: str = "DAILY"):
    return expected_request(BY_RECORD_TYPE, ACCOUNT_FILTER, start, end, granularity)


def test_daily_report_cold_is_services_of_the_compared_days_and_record_types_of_every_day():
    # The 26th against the 19th, by service; chart = 1..26 November and the 28-day baseline by record type.
    assert requests("daily") == [
        services_request("2026-11-19", "2026-11-27"),
        record_types_request("2026-10-04", "2026-11-27"),
    ]


def test_weekly_report_cold_is_two_requests_over_both_weeks_and_the_baseline():
    assert requests("weekly") == [
        services_request("2026-11-13", "2026-11-27"),
        record_types_request("2026-10-16", "2026-11-27"),
    ]


def test_monthly_report_cold_is_services_by_month_the_trend_by_month_and_the_chart_by_day():
    assert requests("monthly") == [
        services_request("2026-09-01", "2026-11-01", "MONTHLY"),
        record_types_request("2026-05-01", "2026-11-01", "MONTHLY"),
        record_types_request("2026-09-03", "2026-11-01"),
    ]


def test_month_close_run_plans_like_a_monthly_report_whatever_the_schedule():
    assert [r.request() for r in cold_plan("daily", kind="final").requests] == requests("monthly")


def test_a_breakdown_adds_one_request_over_the_compared_days_only():
    tagged = requests("daily", breakdown={"type": "tag", "key": "team"}, include_credits=False)
    assert len(tagged) == 3
    assert tagged[2] == {
        "TimePeriod": {"Start": "2026-11-19", "End": "2026-11-27"},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "TAG", "Key": "team"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
        "Filter": {"And": [ACCOUNT_FILTER, NO_CREDITS]},
    }
    category = requests("monthly", breakdown={"type": "cost_category", "key": "Team"})[-1]
    assert category["GroupBy"][0] == {"Type": "COST_CATEGORY", "Key": "Team"}
    assert category["Filter"] == ACCOUNT_FILTER  # credits included: no record type filter


def fill(needs, *, estimated, fetched_at, accounts=ACCOUNTS):
    cells = {}
    for need in needs:
        for start in need.periods():
            for account in accounts:
                cells[cell_key(need, account, start)] = Cell({"X": Decimal(1)}, estimated(start), fetched_at)
    return cells


def warm_plan(needs, cells, accounts=ACCOUNTS, **kwargs):
    return plan(needs, cells, accounts=accounts, metric="UnblendedCost", today=TODAY, cap=CAP, **kwargs)


def test_a_same_day_rerun_makes_no_request():
    needs = needs_for(make_client(schedule="daily"), window_for("daily", AS_OF))
    cells = fill(needs, estimated=lambda day: True, fetched_at=datetime(2026, 11, 27, 6, tzinfo=UTC))
    warm = warm_plan(needs, cells)
    assert warm.requests == []
    assert warm.cache_hits == len(needs) == 4  # core, credits, chart, baseline


def test_next_day_only_estimated_days_are_fetched_again_and_final_days_never():
    needs = needs_for(make_client(schedule="daily"), window_for("daily", AS_OF))
    # October is final; November still an estimate, fetched yesterday; the 26th never fetched.
    cells = fill(
        needs, estimated=lambda day: day >= date(2026, 11, 1), fetched_at=datetime(2026, 11, 26, 6, tzinfo=UTC)
    )
    for need in needs:
        for account in ACCOUNTS:
            cells.pop(cell_key(need, account, date(2026, 11, 26)), None)
    next_day = warm_plan(needs, cells)
    assert [(r.dataset.group_key, r.start, r.end_exclusive) for r in next_day.requests] == [
        ("SERVICE", date(2026, 11, 19), date(2026, 11, 27)),
        ("RECORD_TYPE", date(2026, 11, 1), date(2026, 11, 27)),
    ]


def test_closed_final_months_are_never_fetched_again():
    needs = needs_for(make_client(schedule="monthly"), window_for("monthly", AS_OF))
    cells = fill(needs, estimated=lambda day: False, fetched_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert warm_plan(needs, cells).requests == []


def test_one_missing_account_is_enough_to_fetch_and_the_request_names_every_account():
    needs = needs_for(make_client(schedule="weekly"), window_for("weekly", AS_OF))
    cells = fill(
        needs, estimated=lambda day: False, fetched_at=datetime(2026, 11, 1, tzinfo=UTC), accounts=ACCOUNTS[:1]
    )
    planned = warm_plan(needs, cells)
    assert len(planned.requests) == 2
    assert all(r.accounts == tuple(ACCOUNTS) for r in planned.requests)


# -- a payer whose answers page ------------------------------------------------------------------------

PAYER = [f"9{n:011d}" for n in range(1, 301)]
PAGED = Density(page_groups=1000, groups_per_cell={"DAILY|DIMENSION:SERVICE:no-credits": 40.0})


def test_a_large_payer_asks_for_the_core_days_first_each_on_its_own_newest_first():
    planned = cold_plan("daily", accounts=PAYER, density=PAGED)
    order = [(r.tier, r.dataset.group_key, r.start, r.end_exclusive) for r in planned.requests]
    day = date(2026, 11, 26)
    week_before = day - timedelta(days=7)
    assert order[:4] == [
        (CORE, "SERVICE", day, day + timedelta(days=1)),
        (CORE, "RECORD_TYPE", day, day + timedelta(days=1)),
        (CORE, "SERVICE", week_before, week_before + timedelta(days=1)),
        (CORE, "RECORD_TYPE", week_before, week_before + timedelta(days=1)),
    ]
    tiers = [r.tier for r in planned.requests]
    assert tiers == sorted(tiers)  # the baseline (tier 4) comes after the chart (tier 2), never before
    # 300 accounts x 40 services = 12,000 groups a day at 1,000 a page: 12 pages for each core day.
    assert planned.requests[0].estimated_pages == 12
    assert planned.needed_pages == sum(r.estimated_pages for r in planned.requests)


def test_a_budget_too_small_leaves_out_the_least_important_sections_first_and_says_which():
    full = cold_plan("daily", accounts=PAYER, density=PAGED)
    core = sum(r.estimated_pages for r in full.requests if r.tier == CORE)
    chart = sum(r.estimated_pages for r in full.requests if r.tier == 2)
    tight = cold_plan("daily", accounts=PAYER, density=PAGED, max_ce_requests=core + chart)
    assert tight.left_out == ["baseline"]
    assert tight.core_fits and tight.budget == core + chart
    assert {r.tier for r in tight.requests} == {CORE, 2}
    starved = cold_plan("daily", accounts=PAYER, density=PAGED, max_ce_requests=core - 1)
    assert not starved.core_fits
    assert set(starved.left_out) == {"chart", "baseline"}


def test_the_budget_follows_the_plan_once_the_answers_are_known_and_never_passes_the_cap():
    learned = cold_plan("daily", accounts=PAYER, density=PAGED)
    assert learned.budget == min(CAP, round(learned.needed_pages * 1.5 + 0.4999))
    unknown = cold_plan("daily")  # nothing learned yet: the cap, so a first run is not cut short
    assert unknown.budget == CAP
    explicit = cold_plan("daily", max_ce_requests=7)
    assert explicit.budget == 7
    assert cold_plan("daily", max_ce_requests=900).budget == CAP


def test_expected_requests_follow_the_client_size():
    small = make_client(schedule="daily")
    payer = make_client(schedule="daily", account_ids=PAYER)
    window = window_for("daily", AS_OF)
    assert expected_pages(small, window) == 2
    assert expected_pages(payer, window, PAGED) > 40
    assert expected_pages(payer, window, Density(page_groups=40)) > expected_pages(payer, window, PAGED)


def test_shared_accounts_join_a_request_only_while_it_costs_no_page_more():
    c = make_client(schedule="daily")
    needs = needs_for(c, window_for("daily", AS_OF))
    peers = [f"9{n:011d}" for n in range(1, 200)]
    planned = warm_plan(needs, {}, shared_accounts=peers)
    services, record_types = planned.requests
    days = (services.end_exclusive - services.start).days
    assert services.accounts[:2] == tuple(ACCOUNTS)
    assert len(services.accounts) == ASSUMED_PAGE_GROUPS // (days * 20)  # 20 services per account and day
    assert len(record_types.accounts) > len(services.accounts)  # record types are fewer groups per account
    assert services.estimated_pages == record_types.estimated_pages == 1
    assert set(services.accounts) <= set(ACCOUNTS) | set(peers)


def test_attribution_asks_for_the_anomaly_day_and_the_same_weekday_a_week_earlier():
    need = attribution_need([date(2026, 11, 25), date(2026, 11, 24)])
    assert need.starts == (date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 24), date(2026, 11, 25))
    assert need.dataset.group_key == "SERVICE" and need.granularity == "DAILY"


@settings(max_examples=60, deadline=None)
@given(
    schedule=st.sampled_from(["daily", "weekly", "monthly"]),
    accounts=st.integers(min_value=1, max_value=400),
    page_groups=st.sampled_from([None, 40, 500, 5000]),
    budget=st.one_of(st.none(), st.integers(min_value=1, max_value=300)),
)
def test_every_plan_respects_cost_explorer_limits_and_its_budget(schedule, accounts, page_groups, budget):
    ids = [f"{n:012d}" for n in range(1, accounts + 1)]
    density = Density(page_groups=page_groups)
    planned = cold_plan(
        schedule, accounts=ids, density=density, max_ce_requests=budget, breakdown={"type": "tag", "key": "env"}
    )
    for request in planned.requests:
        body = request.request()
        assert len(body["GroupBy"]) <= 2
        start, end = (date.fromisoformat(body["TimePeriod"][k]) for k in ("Start", "End"))
        assert start < end <= AS_OF
        assert AS_OF - start <= timedelta(days=400)  # within Cost Explorer's 13 months
    if planned.core_fits:
        assert planned.estimated_pages <= planned.budget
    assert planned.budget <= CAP
    tiers = [r.tier for r in planned.requests]
    assert tiers == sorted(tiers)


def test_clients_behind_one_payer_fetch_each_account_once_and_no_more_requests_than_pages():
    """Forty one-account clients of one payer, run one after the other on one cache: a request
    shares only accounts not yet fresh, so each account's cells are fetched once per dataset."""
    accounts = [f"{n:012d}" for n in range(1, 41)]
    c = make_client(schedule="daily")
    needs = needs_for(c, window_for("daily", AS_OF))
    fetched_at = datetime(2026, 11, 27, 6, tzinfo=UTC)
    cells: dict = {}
    fetched: dict[str, list[str]] = {}
    total = 0
    for account in accounts:
        planned = warm_plan(needs, cells, accounts=[account], shared_accounts=accounts)
        total += len(planned.requests)
        for request in planned.requests:
            fetched.setdefault(request.dataset.name, []).extend(request.accounts)
            for scoped in request.accounts:
                for start in request.periods():
                    key = (request.granularity, request.dataset.name, scoped, start)
                    cells[key] = Cell(estimated=True, fetched_at=fetched_at)

    for dataset, scoped in fetched.items():
        assert sorted(scoped) == accounts, dataset  # every account once: none fetched again
    assert total < len(accounts)


def test_a_budget_the_client_set_on_unknown_pages_gives_the_core_days_requests_of_their_own():
    tight = cold_plan("daily", max_ce_requests=5)  # no answer has shown the page size yet
    order = [(r.tier, r.dataset.group_key, r.start) for r in tight.requests]
    assert order[:4] == [
        (CORE, "SERVICE", date(2026, 11, 26)),
        (CORE, "RECORD_TYPE", date(2026, 11, 26)),
        (CORE, "SERVICE", date(2026, 11, 19)),
        (CORE, "RECORD_TYPE", date(2026, 11, 19)),
    ]
    learned = cold_plan("daily", max_ce_requests=5, density=Density(page_groups=5000))
    assert len(learned.requests) == 2  # pages known to be large: one request per dataset again
