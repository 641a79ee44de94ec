"""Right-sizing arithmetic (cli/commands/optimize.py) and the code's DynamoDB access patterns
(cli/reviews/query_patterns.py), found in the source as it is."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cli.reviews.lambda_memory import FULL_VCPU_MB, Measured, candidate, estimated_ms, recommend
from cli.reviews.query_patterns import access_patterns

RUNS = [Measured(Decimal(1000), 150)] * 20


def test_a_run_takes_as_long_at_its_own_size_and_its_cpu_part_scales_below_one_vcpu():
    assert estimated_ms(Decimal(1000), Decimal("0.4"), 1024, 1024) == 1000
    assert estimated_ms(Decimal(1000), Decimal("0.4"), 1024, 512) == 600 + 400 * 2
    assert estimated_ms(Decimal(1000), Decimal(0), 1024, 128) == 1000  # all waiting: size makes no difference
    # Above one vCPU (1,769 MB) more memory buys no more speed for one thread.
    assert estimated_ms(Decimal(1000), Decimal(1), FULL_VCPU_MB, 3008) == 1000


@pytest.mark.parametrize(
    ("mb", "verdict"),
    [
        (128, "too small: peak above 80% of the size"),
        (256, "no headroom: peak above half the size"),
        (384, "fits"),
        (3008, "fits"),
    ],
)
def test_each_size_gets_a_verdict_from_its_peak_use(mb, verdict):
    assert candidate(RUNS, Decimal("0.4"), 1024, mb, 600_000, 10)["verdict"] == verdict


def test_a_size_whose_longest_invocation_nears_the_timeout_is_too_slow():
    slow = candidate([Measured(Decimal(50_000), 150)], Decimal(1), 1024, 384, 600_000, 10)
    assert slow["verdict"] == "too slow: longest invocation above 80% of the timeout"


def test_the_cheapest_fitting_size_is_recommended_and_an_equal_current_one_kept():
    sizes = [candidate(RUNS, Decimal("0.4"), 1024, mb, 600_000, 10) for mb in (128, 256, 384, 512, 1024)]
    assert recommend(sizes, 1024)["memory_mb"] == 384
    assert sizes[2]["cost_usd"] < sizes[4]["cost_usd"]
    all_cpu = [candidate(RUNS, Decimal(1), 1024, mb, 600_000, 10) for mb in (512, 1024)]
    assert recommend(all_cpu, 1024)["memory_mb"] == 1024  # the same cost: nothing to change


def test_nothing_fits_nothing_recommended():
    assert recommend([candidate(RUNS, Decimal(1), 1024, 128, 600_000, 10)], 1024) is None


def _found():
    return {(p.where.split(":")[0], p.function, p.operation): p for p in access_patterns()}


def test_the_dispatchers_query_and_the_reviews_filtered_scan_are_found():
    found = _found()
    due = found[("lambdas/dal/clients_table.py", "ClientsTable.due", "Query")]
    assert (due.table, due.index, due.key_condition) == ("clients_table", "by-schedule", "due_schedule = :s")
    scan = found[("lambdas/dal/executions_table.py", "ExecutionsTable.started_between", "Scan")]
    assert scan.table == "executions_table" and scan.filtered_scan and scan.filter_attributes() == ["started_at"]
    last = found[("lambdas/dal/executions_table.py", "ExecutionsTable.last_succeeded", "Query")]
    assert last.filter_attributes() == ["status"] and not last.filtered_scan  # `#s`, resolved
    writes = found[("lambdas/dal/clients_table.py", "ClientsTable.put_all", "BatchWriteItem")]
    assert writes.table == "clients_table"  # through the batch_write helper


def test_every_call_in_a_tables_adapter_is_attributed_to_its_table():
    unknown = [p for p in access_patterns() if p.where.startswith("lambdas/") and p.table is None]
    assert unknown == []
