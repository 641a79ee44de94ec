"""`costs report` and `costs trends`: the platform's own bill read from the embedded Cost Explorer
(whose dataset holds the platform's account: emulator/platform_bill.py), every figure checked
against the records the emulator serves."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.reviews.platform_costs import CE_SERVICE
from emulator.dataset import generate_demo_dataset
from emulator.platform_bill import PLATFORM_ACCOUNT, add_platform_bill
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import parse_client
from tests.integration.conftest import AS_OF

runner = CliRunner()
CENT = Decimal("0.01")


@pytest.fixture
def billed(platform, embedded_aws, demo_records, frozen_clock):
    """The demo dataset with the platform's own bill, five clients, two of them with a run (made on
    27 November, of 20 October)."""
    before = embedded_aws.dataset
    dataset = generate_demo_dataset(AS_OF)
    add_platform_bill(dataset)
    embedded_aws.set_dataset(dataset)
    table = ClientsTable(platform.clients_table)
    for record in demo_records:
        table.put(parse_client(record))
    frozen_clock()
    for client_id in ("acme-retail", "initech-labs"):
        assert runner.invoke(app, ["report", "run", "--client-id", client_id, "--as-of", "2026-10-20"]).exit_code == 0
    embedded_aws.ce.reset_log()
    yield dataset
    embedded_aws.set_dataset(before)


def platform_bill(dataset, start: date, end: date) -> tuple[dict[str, Decimal], Decimal]:
    """The platform's tagged costs by service, and its untagged Cost Explorer fees, in [start, end)."""
    tagged: dict[str, Decimal] = defaultdict(Decimal)
    untagged = Decimal(0)
    for record in dataset.records_between(start, end, [PLATFORM_ACCOUNT]):
        if ("environment", "local") in record.tags:
            tagged[record.service] += record.unblended
        elif record.service == CE_SERVICE:
            untagged += record.unblended
    return tagged, untagged


def test_the_months_bill_by_service_and_by_client(billed, embedded_aws, tmp_path):
    output = tmp_path / "bill.json"

    result = runner.invoke(
        app, ["costs", "report", "--period", "monthly", "--month", "2026-11", "--output", str(output)]
    )

    assert result.exit_code in (0, 1), result.output
    document = json.loads(output.read_text())
    tagged, untagged = platform_bill(billed, date(2026, 11, 1), date(2026, 12, 1))
    assert {row["service"]: Decimal(row["amount_usd"]) for row in document["by_service"]} == {
        name: amount.quantize(Decimal("0.0001")) for name, amount in tagged.items()
    }
    assert Decimal(document["total_usd"]) == sum(tagged.values()).quantize(CENT)
    assert Decimal(document["untaggable"]["cost_explorer_account_usd"]) == untagged.quantize(CENT)
    assert CE_SERVICE not in tagged  # Cost Explorer's fees carry no tag
    # Every tagged line is split over the clients: nothing is lost or made up.
    allocated = sum(Decimal(c["tagged_usd"]) for c in document["by_client"]) + Decimal(document["unallocated_usd"])
    lines = sum((Decimal(r["amount_usd"]) for r in document["by_service"]), Decimal(0))
    assert abs(allocated - lines) <= CENT * len(document["by_client"])
    runs = {c["client_id"]: c["runs"] for c in document["by_client"]}
    assert runs == {"acme-retail": 1, "globex-health": 0, "initech-labs": 1, "umbrella-media": 0, "hooli": 0}
    assert {c["client_id"] for c in document["by_client"] if Decimal(c["tagged_usd"])} == {
        "acme-retail",
        "initech-labs",
    }
    # Two requests (the tagged months, the account's Cost Explorer line), both logged by the emulator.
    assert document["ce_requests"] == len(embedded_aws.ce.request_log()) == 2
    request = embedded_aws.ce.request_log()[0]["body"]
    assert {t["Tags"]["Key"]: t["Tags"]["Values"] for t in request["Filter"]["And"]} == {
        "environment": ["local"],
        "project": ["cost-reporting"],
    }


def test_a_month_without_tagged_cost_is_missing_not_zero(billed):
    result = runner.invoke(app, ["costs", "report", "--month", "2025-01", "--format", "json"])

    assert result.exit_code == 1
    assert json.loads(result.stdout)["total_usd"] is None
    assert "missing, not zero" in result.stderr.strip().splitlines()[-1]


def test_twelve_months_with_their_changes_and_drivers(billed, tmp_path):
    output = tmp_path / "trends.json"

    result = runner.invoke(app, ["costs", "trends", "--period", "12", "--as-of", "2026-12-01", "--output", str(output)])

    assert result.exit_code in (0, 1), result.output
    document = json.loads(output.read_text())
    months = [row["month"] for row in document["months"]]
    assert months == [f"{y}-{m:02d}" for y, m in [(2025, 12)] + [(2026, m) for m in range(1, 12)]]
    for row, following in zip(document["months"], document["months"][1:], strict=False):
        start = date.fromisoformat(f"{row['month']}-01")
        end = date.fromisoformat(f"{following['month']}-01")
        tagged, _ = platform_bill(billed, start, end)
        assert Decimal(row["total_usd"]) == sum(tagged.values()).quantize(CENT)
        change = Decimal(following["change_usd"])
        assert change == Decimal(following["total_usd"]) - Decimal(row["total_usd"]) or abs(change) <= CENT
    assert document["missing_months"] == [] and document["ce_requests"] == 2
    assert document["months"][-1]["estimated"] is True  # November, still estimated on the 27th
    assert [row["runs"] for row in document["months"]] == [0] * 11 + [2]  # the two runs, started in November


@pytest.mark.parametrize(("args", "message"), [(["--period", "14"], "--period"), (["--period", "x"], "--period")])
def test_trends_bad_input(platform, args, message):
    result = runner.invoke(app, ["costs", "trends", *args])
    assert result.exit_code == 2 and message in result.output
