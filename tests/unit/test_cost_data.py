from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from lambdas.logic.cost_data import corrections, cost_data_from_cells, provisional, split_answer
from lambdas.logic.needs import RECORD_TYPES, SERVICES, Cell, Dataset, Need, cell_key
from lambdas.logic.queries import all_of, cost_and_usage, dimension
from lambdas.models.exceptions import CostDataError

ALLOWED = {"111111111111"}
NEED = Need(
    "core", 1, Dataset("DIMENSION", "SERVICE"), "DAILY", (date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3))
)
FETCHED = datetime(2026, 11, 4, tzinfo=UTC)


def page(results, names=None, token=None):
    answer = {"ResultsByTime": results, "GroupDefinitions": []}
    if names:
        answer["DimensionValueAttributes"] = [{"Value": k, "Attributes": {"description": v}} for k, v in names.items()]
    if token:
        answer["NextPageToken"] = token
    return answer


def day(start, end, groups, estimated=False):
    return {"TimePeriod": {"Start": start, "End": end}, "Total": {}, "Groups": groups, "Estimated": estimated}


def group(service, account, amount, unit="USD", metric="UnblendedCost"):
    return {"Keys": [service, account], "Metrics": {metric: {"Amount": amount, "Unit": unit}}}


def test_cells_from_every_page_with_names_estimates_and_unit():
    pages = [
        page(
            [day("2026-11-01", "2026-11-02", [group("Amazon S3", "111111111111", "1.5")])],
            names={"111111111111": "prod"},
            token="t",
        ),
        page([day("2026-11-02", "2026-11-03", [], estimated=True)]),
    ]
    split = split_answer(pages, NEED, metric="UnblendedCost", accounts=ALLOWED, fetched_at=FETCHED)
    first = split.cells[cell_key(NEED, "111111111111", date(2026, 11, 1))]
    second = split.cells[cell_key(NEED, "111111111111", date(2026, 11, 2))]
    assert (first.groups, first.estimated) == ({"Amazon S3": Decimal("1.5")}, False)
    assert (second.groups, second.estimated) == ({}, True)
    assert split.periods == [date(2026, 11, 1), date(2026, 11, 2)]
    assert split.account_names == {"111111111111": "prod"}
    assert split.unit == "USD"


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ([{}], "ResultsByTime missing"),
        ([page([{"Total": {}}])], "no TimePeriod"),
        ([page([day("2026-11-01", "2026-12-01", [])])], "expected daily periods"),
        (
            [page([{"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-02"}, "Total": {"UnblendedCost": {}}}])],
            "no Groups list",
        ),
        ([page([day("2026-11-01", "2026-11-02", [{"Keys": ["x"], "Metrics": {}}])])], "two keys"),
        (
            [page([day("2026-11-01", "2026-11-02", [group("S3", "111111111111", "1", metric="AmortizedCost")])])],
            "metric UnblendedCost missing",
        ),
        ([page([day("2026-11-01", "2026-11-02", [group("S3", "111111111111", "abc")])])], "decimal Amount"),
        ([page([day("2026-11-01", "2026-11-02", [group("S3", "111111111111", "NaN")])])], "not finite"),
        (
            [page([day("2026-11-01", "2026-11-02", [group("S3", "999999999999", "1")])])],
            "outside the accounts the query named",
        ),
        (
            [
                page(
                    [
                        day(
                            "2026-11-01",
                            "2026-11-02",
                            [group("S3", "111111111111", "1"), group("EC2", "111111111111", "1", unit="EUR")],
                        )
                    ]
                )
            ],
            "mixed units",
        ),
    ],
)
def test_unexpected_shapes_fail_clearly(pages, message):
    with pytest.raises(CostDataError, match=message):
        split_answer(pages, NEED, metric="UnblendedCost", accounts=ALLOWED, fetched_at=FETCHED)


def test_one_account_filter_is_not_wrapped_in_a_one_operand_and():
    request = cost_and_usage(
        date(2026, 10, 1),
        date(2026, 11, 27),
        granularity="DAILY",
        metric="UnblendedCost",
        group_by=[("DIMENSION", "SERVICE"), ("DIMENSION", "LINKED_ACCOUNT")],
        accounts=["111111111111"],
    )
    assert request["Filter"] == {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["111111111111"]}}
    assert request["TimePeriod"] == {"Start": "2026-10-01", "End": "2026-11-27"}
    assert len(request["GroupBy"]) == 2


def test_all_of():
    a, b = dimension("LINKED_ACCOUNT", ["1"]), dimension("SERVICE", ["x"])
    assert all_of() is None
    assert all_of(a) == a
    assert all_of(a, None, b) == {"And": [a, b]}


def test_an_answer_splits_into_one_cell_per_account_and_day_even_without_cost():
    pages = [
        page([day("2026-11-01", "2026-11-02", [group("S3", "111111111111", "2")])]),
        page([day("2026-11-02", "2026-11-03", [], estimated=True)]),
    ]
    split = split_answer(
        pages, NEED, metric="UnblendedCost", accounts=["111111111111", "222222222222"], fetched_at=FETCHED
    )
    assert len(split.cells) == 4
    assert split.cells[cell_key(NEED, "111111111111", date(2026, 11, 1))].groups == {"S3": Decimal(2)}
    empty = split.cells[cell_key(NEED, "222222222222", date(2026, 11, 2))]
    assert empty.groups == {} and empty.estimated and empty.fetched_at == FETCHED


def test_a_cut_short_answer_drops_its_last_day_which_may_be_partial():
    pages = [
        page([day("2026-11-01", "2026-11-02", []), day("2026-11-02", "2026-11-03", [group("S3", "111111111111", "1")])])
    ]
    split = split_answer(
        pages, NEED, metric="UnblendedCost", accounts=["111111111111"], fetched_at=FETCHED, complete=False
    )
    assert split.periods == [date(2026, 11, 1)]


def test_a_day_split_across_pages_is_summed_once():
    pages = [
        page([day("2026-11-01", "2026-11-02", [group("S3", "111111111111", "1")])], token="t"),
        page([day("2026-11-01", "2026-11-02", [group("EC2", "111111111111", "3")])]),
    ]
    split = split_answer(pages, NEED, metric="UnblendedCost", accounts=["111111111111"], fetched_at=FETCHED)
    assert split.cells[cell_key(NEED, "111111111111", date(2026, 11, 1))].groups == {"S3": 1, "EC2": 3}


def test_tag_keys_lose_their_prefix_and_untagged_is_empty():
    need = Need("breakdown", 3, Dataset("TAG", "team"), "DAILY", (date(2026, 11, 1),))
    groups = [group("team$web", "111111111111", "5"), group("team$", "111111111111", "1")]
    split = split_answer(
        [page([day("2026-11-01", "2026-11-02", groups)])],
        need,
        metric="UnblendedCost",
        accounts=["111111111111"],
        fetched_at=FETCHED,
    )
    assert split.cells[cell_key(need, "111111111111", date(2026, 11, 1))].groups == {"web": 5, "": 1}


def test_a_group_repeated_within_a_period_fails_rather_than_counting_twice():
    pages = [
        page([day("2026-11-01", "2026-11-02", [group("S3", "111111111111", "1")])], token="t"),
        page([day("2026-11-01", "2026-11-02", [group("S3", "111111111111", "1")])]),
    ]
    with pytest.raises(CostDataError, match="repeats the group 'S3'"):
        split_answer(pages, NEED, metric="UnblendedCost", accounts=ALLOWED, fetched_at=FETCHED)


def test_groups_that_do_not_add_up_to_a_given_total_fail_and_a_matching_total_passes():
    def with_total(amount):
        entry = day("2026-11-01", "2026-11-02", [group("S3", "111111111111", "1"), group("EC2", "111111111111", "2")])
        entry["Total"] = {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}
        return [page([entry])]

    with pytest.raises(CostDataError, match="groups add up to 3, the answer's total is 4"):
        split_answer(with_total("4"), NEED, metric="UnblendedCost", accounts=ALLOWED, fetched_at=FETCHED)
    split = split_answer(with_total("3.0"), NEED, metric="UnblendedCost", accounts=ALLOWED, fetched_at=FETCHED)
    assert split.groups == 2


def test_pages_that_came_with_a_next_page_tell_the_page_size():
    pages = [
        page(
            [day("2026-11-01", "2026-11-02", [group("S3", "111111111111", "1"), group("EC2", "111111111111", "1")])],
            token="a",
        ),
        page([day("2026-11-02", "2026-11-03", [group("S3", "111111111111", "1")])]),
    ]
    split = split_answer(pages, NEED, metric="UnblendedCost", accounts=ALLOWED, fetched_at=FETCHED)
    assert split.full_pages == [2]  # the last page has no token: it says nothing of the page size


def test_a_day_is_provisional_until_read_24_hours_after_it_ended():
    day_ = date(2026, 11, 26)
    at = lambda hour, d=27: Cell({}, estimated=True, fetched_at=datetime(2026, 11, d, hour, tzinfo=UTC))  # noqa: E731
    assert provisional(at(6), day_, "DAILY")  # 06:00 the next day
    assert provisional(at(23, 27), day_, "DAILY")
    assert not provisional(at(0, 28), day_, "DAILY")  # 24 h after the day ended
    assert not provisional(Cell({}, estimated=False, fetched_at=datetime(2026, 11, 27, 6, tzinfo=UTC)), day_, "DAILY")
    assert not provisional(at(6), date(2026, 11, 1), "MONTHLY")


def test_a_period_any_account_lacks_is_missing_never_zero():
    accounts = ["111111111111", "222222222222"]
    need = Need("chart", 2, RECORD_TYPES, "DAILY", (date(2026, 11, 1), date(2026, 11, 2)))
    cells = {
        cell_key(need, accounts[0], date(2026, 11, 1)): Cell({"Usage": Decimal(5)}, False, FETCHED),
        cell_key(need, accounts[1], date(2026, 11, 1)): Cell(
            {"Usage": Decimal(7), "Credit": Decimal(-2)}, False, FETCHED
        ),
        cell_key(need, accounts[0], date(2026, 11, 2)): Cell({"Usage": Decimal(9)}, False, FETCHED),
    }
    data = cost_data_from_cells([need], cells, accounts, {})
    assert data.missing == {"chart": 1}
    assert set(data.daily) == {date(2026, 11, 1)}  # the 2nd is not 9: the second account was not read
    assert (data.daily[date(2026, 11, 1)].gross, data.daily[date(2026, 11, 1)].credits) == (Decimal(12), Decimal(-2))


def test_core_services_are_rows_and_only_the_credits_need_gives_credit_lines():
    accounts = ["111111111111"]
    day_ = date(2026, 11, 25)
    core = Need("core", 1, SERVICES, "DAILY", (day_,))
    credits = Need("credits", 1, RECORD_TYPES, "DAILY", (day_,))
    chart = Need("chart", 2, RECORD_TYPES, "DAILY", (day_, day_ + timedelta(days=1)))
    cells = {
        cell_key(core, accounts[0], day_): Cell({"S3": Decimal(3), "EC2": Decimal(4)}, True, FETCHED),
        cell_key(credits, accounts[0], day_): Cell({"Usage": Decimal(7), "Credit": Decimal(-1)}, True, FETCHED),
        cell_key(chart, accounts[0], day_ + timedelta(days=1)): Cell({"Credit": Decimal(-5)}, True, FETCHED),
    }
    data = cost_data_from_cells([core, credits, chart], cells, accounts, {})
    assert sorted((r.service, r.amount) for r in data.rows) == [("EC2", Decimal(4)), ("S3", Decimal(3))]
    assert [(r.day, r.amount) for r in data.credit_rows] == [(day_, Decimal(-1))]
    assert data.service_by_day == {day_: {"EC2": Decimal(4), "S3": Decimal(3)}}
    assert data.missing == {}


def test_a_day_shown_while_filling_in_and_now_settled_is_a_correction():
    account = "111111111111"
    day_ = date(2026, 11, 24)
    key = ("DAILY", RECORD_TYPES.name, account, day_)
    before = {key: Cell({"Usage": Decimal("80"), "Credit": Decimal("-5")}, True, datetime(2026, 11, 25, 6, tzinfo=UTC))}
    after = {key: Cell({"Usage": Decimal("100"), "Credit": Decimal("-5")}, True, datetime(2026, 11, 26, 6, tzinfo=UTC))}
    [correction] = corrections(before, after, [account], before_day=date(2026, 11, 25))
    assert (correction.date, correction.reported, correction.settled, correction.change) == (
        day_,
        Decimal(80),
        Decimal(100),
        Decimal(20),
    )
    assert corrections(before, after, [account], before_day=day_) == []  # the report's own period: no correction
    settled_before = {key: Cell(before[key].groups, True, datetime(2026, 11, 26, 1, tzinfo=UTC))}
    assert corrections(settled_before, after, [account], before_day=date(2026, 11, 25)) == []
