from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from lambdas.logic.cost_data import split_answer
from lambdas.logic.planner import Dataset, Need, cell_key
from lambdas.logic.queries import all_of, cost_and_usage, dimension
from lambdas.models.exceptions import CostDataError

ALLOWED = {"111111111111"}
NEED = Need("services", Dataset("DIMENSION", "SERVICE"), "DAILY", date(2026, 11, 1), date(2026, 11, 4))
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
    need = Need("breakdown", Dataset("TAG", "team"), "DAILY", date(2026, 11, 1), date(2026, 11, 2))
    groups = [group("team$web", "111111111111", "5"), group("team$", "111111111111", "1")]
    split = split_answer(
        [page([day("2026-11-01", "2026-11-02", groups)])],
        need,
        metric="UnblendedCost",
        accounts=["111111111111"],
        fetched_at=FETCHED,
    )
    assert split.cells[cell_key(need, "111111111111", date(2026, 11, 1))].groups == {"web": 5, "": 1}
