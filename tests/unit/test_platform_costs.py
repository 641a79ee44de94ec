"""Reading the platform's bill: every page, a period split over pages, missing is not zero,
and each service's amount split over the clients to the line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cli.probes.platform_bill import Bill
from cli.reviews.platform_costs import Month, allocation, drivers

FILTER = {"And": [{"Tags": {"Key": "project", "Values": ["cost-reporting"]}}, {"Tags": {"Key": "x", "Values": ["y"]}}]}


class Pages:
    """Cost Explorer answering one query in pages; November straddles two of them."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def get_cost_and_usage(self, **request):
        self.requests.append(request)
        group = lambda name, amount: {"Keys": [name], "Metrics": {"UnblendedCost": {"Amount": amount}}}  # noqa: E731
        october = {"TimePeriod": {"Start": "2026-10-01"}, "Estimated": False, "Groups": [group("AWS Lambda", "1.5")]}
        pages = [
            {"ResultsByTime": [october, {"TimePeriod": {"Start": "2026-11-01"}, "Estimated": True,
                                         "Groups": [group("AWS Lambda", "2")]}], "NextPageToken": "t"},
            {"ResultsByTime": [{"TimePeriod": {"Start": "2026-11-01"}, "Estimated": True,
                                "Groups": [group("Amazon DynamoDB", "0.25")]}]},
        ]  # fmt: skip
        return pages[len(self.requests) - 1]


def test_every_page_is_read_with_the_filter_and_a_month_without_groups_is_missing():
    bill = Bill.__new__(Bill)
    bill.client, bill.requests = Pages(), 0

    months = bill.months(date(2026, 9, 1), date(2026, 12, 1), FILTER, by_service=True)

    assert [m.start for m in months] == [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    assert months[0].total is None  # no cost at all that month: missing, never zero
    assert months[1].total == Decimal("1.5") and not months[1].estimated
    assert months[2].by_service == {"AWS Lambda": Decimal(2), "Amazon DynamoDB": Decimal("0.25")}
    assert months[2].estimated
    assert bill.requests == 2 and all(r["Filter"] == FILTER for r in bill.client.requests)
    assert bill.client.requests[1]["NextPageToken"] == "t"


def test_each_service_is_split_by_measured_use_else_by_runs_to_the_line():
    month = Month(date(2026, 11, 1), by_service={"AWS Lambda": Decimal("1.0001"), "AmazonCloudWatch": Decimal("3")})
    statement = {
        "clients": [
            {"client_id": "a", "name": "A", "runs": 1, "lines": [{"service": "Lambda", "amount_usd": "0.0003"}]},
            {"client_id": "b", "name": "B", "runs": 3, "lines": [{"service": "Lambda", "amount_usd": "0.0001"}]},
        ]
    }

    rows, unallocated = allocation(month, statement)

    shares = {row["client_id"]: row["by_service"] for row in rows}
    assert shares["a"]["AWS Lambda"] + shares["b"]["AWS Lambda"] == Decimal("1.0001")
    assert shares["a"]["AWS Lambda"] == Decimal("0.7501")  # 3 to 1 by measured use
    assert (shares["a"]["AmazonCloudWatch"], shares["b"]["AmazonCloudWatch"]) == (Decimal("0.75"), Decimal("2.25"))
    assert unallocated == 0


def test_drivers_are_the_largest_changes_first():
    before = Month(date(2026, 10, 1), by_service={"A": Decimal(1), "B": Decimal(5), "C": Decimal(2)})
    after = Month(date(2026, 11, 1), by_service={"A": Decimal(4), "B": Decimal(1), "C": Decimal(2)})
    assert drivers(before, after) == [
        {"service": "B", "change_usd": Decimal("-4.0000")},
        {"service": "A", "change_usd": Decimal("3.0000")},
    ]
