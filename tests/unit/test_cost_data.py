from datetime import date
from decimal import Decimal

import pytest

from lambdas.logic.cost_data import parse_daily_by_service_and_account
from lambdas.logic.queries import all_of, daily_by_service_and_account, dimension
from lambdas.models.exceptions import CostDataError

ALLOWED = {"111111111111"}


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


def test_rows_from_every_page_with_names_and_estimates():
    pages = [
        page(
            [day("2026-11-01", "2026-11-02", [group("Amazon S3", "111111111111", "1.5")])],
            names={"111111111111": "prod"},
            token="t",
        ),
        page([day("2026-11-02", "2026-11-03", [], estimated=True)]),
    ]
    data = parse_daily_by_service_and_account(pages, "UnblendedCost", ALLOWED)
    assert [(r.day, r.service, r.amount) for r in data.rows] == [(date(2026, 11, 1), "Amazon S3", Decimal("1.5"))]
    assert data.days == {date(2026, 11, 1), date(2026, 11, 2)}
    assert data.estimated_days == {date(2026, 11, 2)}
    assert data.account_names == {"111111111111": "prod"}
    assert data.unit == "USD"


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
        ([page([day("2026-11-01", "2026-11-02", [group("S3", "999999999999", "1")])])], "outside the client"),
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
        parse_daily_by_service_and_account(pages, "UnblendedCost", ALLOWED)


def test_one_account_filter_is_not_wrapped_in_a_one_operand_and():
    request = daily_by_service_and_account(date(2026, 10, 1), date(2026, 11, 27), ["111111111111"], "UnblendedCost")
    assert request["Filter"] == {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["111111111111"]}}
    assert request["TimePeriod"] == {"Start": "2026-10-01", "End": "2026-11-27"}
    assert len(request["GroupBy"]) == 2


def test_all_of():
    a, b = dimension("LINKED_ACCOUNT", ["1"]), dimension("SERVICE", ["x"])
    assert all_of() is None
    assert all_of(a) == a
    assert all_of(a, None, b) == {"And": [a, b]}  # type: ignore[arg-type]
