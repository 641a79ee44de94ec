"""The Data Exports SQL and its rows into cells: pure, and checked against DuckDB on generated files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.exports import CUR_2_0_COLUMNS, FOCUS_1_0_COLUMNS, FOCUS_1_2_COLUMNS, write_parquet
from lambdas.dal.duckdb_engine import DuckDBEngine
from lambdas.logic import export_schema, exports_sql
from lambdas.logic.exports_extras import CommitmentUse
from lambdas.logic.exports_sql import CellQuery, cell_queries, cell_sql, cells_from_rows
from lambdas.logic.needs import RECORD_TYPES, SERVICES, Dataset, Need
from lambdas.models.exceptions import ExportDataError

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
ACCOUNTS = ["111111111111", "111111111112"]


def _days(first: date, count: int) -> tuple[date, ...]:
    return tuple(first + timedelta(days=offset) for offset in range(count))


def _cell_sql(schema, dataset, starts, granularity="DAILY", *, metric="UnblendedCost", **options) -> str:
    """cell_sql over the client's ACCOUNTS."""
    return cell_sql(schema, dataset, granularity, list(starts), metric=metric, accounts=ACCOUNTS, **options)


def test_only_the_billing_periods_the_needs_touch_are_read():
    needs = [
        Need("core", 1, SERVICES, "DAILY", (date(2026, 11, 25), date(2026, 11, 18))),
        Need("baseline", 4, RECORD_TYPES, "DAILY", _days(date(2026, 9, 28), 5)),
        Need("trend", 5, RECORD_TYPES, "MONTHLY", (date(2026, 6, 1),)),
    ]
    assert exports_sql.partitions_for(needs) == ["2026-06", "2026-09", "2026-10", "2026-11"]


def test_a_query_names_only_the_columns_it_reads_over_only_its_days_and_accounts():
    sql = _cell_sql(export_schema.FOCUS_1_2, SERVICES, [date(2026, 11, 18), date(2026, 11, 25)])
    assert "SELECT *" not in sql and "*" not in sql.replace("count(*)", "")
    assert "CAST(BilledCost AS DECIMAL(38,10))" in sql and "EffectiveCost" not in sql
    assert "CAST(ChargePeriodStart AS DATE) >= DATE '2026-11-18'" in sql
    assert "CAST(ChargePeriodStart AS DATE) < DATE '2026-11-26'" in sql
    assert "SubAccountId IN ('111111111111', '111111111112')" in sql
    assert "NOT IN ('Credit', 'Refund')" in sql  # services exclude credits, as Cost Explorer's filter


@pytest.mark.parametrize(
    ("metric", "focus", "cur"),
    [
        ("UnblendedCost", "BilledCost", "line_item_unblended_cost"),
        ("AmortizedCost", "EffectiveCost", "savings_plan_savings_plan_effective_cost"),
        ("NetAmortizedCost", "EffectiveCost", "reservation_effective_cost"),
    ],
)
def test_the_metric_maps_to_billed_or_effective_cost(metric, focus, cur):
    day = [date(2026, 11, 1)]
    assert focus in _cell_sql(export_schema.FOCUS_1_2, RECORD_TYPES, day, metric=metric)
    assert cur in _cell_sql(export_schema.CUR_2_0, RECORD_TYPES, day, metric=metric)


def test_athena_prunes_partitions_by_its_partition_column():
    sql = _cell_sql(
        export_schema.CUR_2_0,
        RECORD_TYPES,
        [date(2026, 9, 1), date(2026, 10, 1)],
        "MONTHLY",
        relation='"cur"."acme"',
        partition_column="billing_period",
    )
    assert 'FROM "cur"."acme"' in sql
    assert "billing_period IN ('2026-09', '2026-10', '2026-11')" in sql


def test_a_tag_breakdown_reads_the_tag_map_and_cur_prefixes_user_tags():
    team = Dataset("TAG", "team")
    focus = _cell_sql(export_schema.FOCUS_1_2, team, [date(2026, 11, 1)])
    cur = _cell_sql(export_schema.CUR_2_0, team, [date(2026, 11, 1)])
    assert "COALESCE(Tags['team'], '')" in focus
    assert "COALESCE(resource_tags['user_team'], '')" in cur
    with pytest.raises(ExportDataError, match="COST_CATEGORY"):
        _cell_sql(export_schema.FOCUS_1_2, Dataset("COST_CATEGORY", "unit"), [date(2026, 11, 1)])


def test_one_query_per_dataset_and_granularity():
    needs = [
        Need("credits", 1, RECORD_TYPES, "DAILY", (date(2026, 11, 25),)),
        Need("chart", 2, RECORD_TYPES, "DAILY", _days(date(2026, 11, 1), 25)),
        Need("core", 1, SERVICES, "DAILY", (date(2026, 11, 25),)),
        Need("trend", 5, RECORD_TYPES, "MONTHLY", (date(2026, 6, 1),)),
    ]
    queries = cell_queries("focus_1_2", needs, metric="UnblendedCost", accounts=ACCOUNTS)
    assert sorted((q.granularity, q.dataset.name, len(q.starts)) for q in queries) == [
        ("DAILY", RECORD_TYPES.name, 25),
        ("DAILY", SERVICES.name, 1),
        ("MONTHLY", RECORD_TYPES.name, 1),
    ]


def test_literals_are_quoted():
    assert export_schema.literal("o'brien") == "'o''brien'"


# -- rows into cells -----------------------------------------------------------------------------------


def _query(starts):
    return CellQuery("DAILY", SERVICES, tuple(starts), "")


def test_a_period_the_export_does_not_hold_gets_no_cell_and_one_it_holds_without_cost_is_zero():
    one, two, three = _days(date(2026, 11, 1), 3)
    rows = [(one, "AWS Lambda", ACCOUNTS[0], Decimal("1.5"))]

    cells = cells_from_rows(
        _query([one, two, three]), rows, accounts=ACCOUNTS, covered={one: True, two: False}, fetched_at=NOW
    )

    assert cells[("DAILY", SERVICES.name, ACCOUNTS[0], one)].groups == {"AWS Lambda": Decimal("1.5")}
    assert cells[("DAILY", SERVICES.name, ACCOUNTS[1], one)].groups == {}  # read: no cost that day
    assert cells[("DAILY", SERVICES.name, ACCOUNTS[0], one)].estimated is False
    assert cells[("DAILY", SERVICES.name, ACCOUNTS[0], two)].estimated is True
    assert not any(key[3] == three for key in cells)  # not read: missing, never zero


def test_a_row_of_another_account_is_refused():
    day = date(2026, 11, 1)
    with pytest.raises(ExportDataError, match="999999999999"):
        cells_from_rows(
            _query([day]),
            [(day, "x", "999999999999", Decimal(1))],
            accounts=ACCOUNTS,
            covered={day: True},
            fetched_at=NOW,
        )


_amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("5000"), places=10, allow_nan=False)
_rows = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=4),
        st.sampled_from(["AWS Lambda", "Amazon DynamoDB", "Tax"]),
        st.sampled_from(ACCOUNTS),
        _amounts,
    ),
    max_size=30,
)


@given(_rows, st.sets(st.integers(min_value=0, max_value=4)))
def test_cells_add_every_row_of_a_covered_period_and_nothing_else(rows, covered_offsets):
    first = date(2026, 11, 1)
    starts = _days(first, 5)
    covered = {first + timedelta(days=o): True for o in covered_offsets}
    answer = [(first + timedelta(days=o), service, account, amount) for o, service, account, amount in rows]

    cells = cells_from_rows(_query(starts), answer, accounts=ACCOUNTS, covered=covered, fetched_at=NOW)

    expected = sum((a for d, _, _, a in answer if d in covered), Decimal(0))
    assert sum((sum(c.groups.values(), Decimal(0)) for c in cells.values()), Decimal(0)) == expected
    assert {key[3] for key in cells} == set(covered)
    assert len(cells) == len(covered) * len(ACCOUNTS)


# -- the files' format, version and types ----------------------------------------------------------------


def test_the_format_and_version_are_told_by_the_columns():
    assert export_schema.identify_format(dict(FOCUS_1_2_COLUMNS)) == "focus_1_2"
    assert export_schema.identify_format(dict(FOCUS_1_0_COLUMNS)) == "focus_1_0"
    assert export_schema.identify_format(dict(CUR_2_0_COLUMNS)) == "cur_2_0"
    assert export_schema.identify_format({"a": "VARCHAR"}) is None


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (dict(FOCUS_1_0_COLUMNS), "a FOCUS 1.0 file in a FOCUS 1.2 export"),
        (dict(CUR_2_0_COLUMNS), "a CUR 2.0 file in a FOCUS 1.2 export"),
        (
            {**dict(FOCUS_1_2_COLUMNS), "BilledCost": "VARCHAR"},
            "column BilledCost is VARCHAR, expected DOUBLE or DECIMAL or FLOAT",
        ),
        ({**dict(FOCUS_1_2_COLUMNS), "Tags": "VARCHAR"}, "column Tags is VARCHAR"),
        ({k: v for k, v in FOCUS_1_2_COLUMNS if k != "EffectiveCost"}, "column EffectiveCost missing"),
    ],
)
def test_a_file_of_another_version_or_a_wrong_type_is_refused_naming_it(columns, message):
    with pytest.raises(ExportDataError, match=message):
        export_schema.check_columns("focus_1_2", columns, "data/BILLING_PERIOD=2026-11/f.parquet")


def test_decimal_and_timestamp_with_zone_are_accepted():
    columns = {
        **dict(FOCUS_1_2_COLUMNS),
        "BilledCost": "DECIMAL(38,10)",
        "ChargePeriodStart": "TIMESTAMP WITH TIME ZONE",
    }
    export_schema.check_columns("focus_1_2", columns, "f")


def test_utilisation_is_used_over_the_whole_commitment():
    assert CommitmentUse("Savings Plan", Decimal(75), Decimal(25)).utilisation == Decimal("0.7500")
    assert CommitmentUse("Reservation", Decimal(0), Decimal(0)).utilisation is None


# -- the SQL against DuckDB on a generated file ----------------------------------------------------------


def _focus_row(day: date, account: str, category: str, billed: Decimal, effective: Decimal, team: str | None) -> dict:
    return {
        "ChargePeriodStart": f"{day.isoformat()} 00:00:00",
        "SubAccountId": account,
        "ServiceName": "AWS Lambda",
        "ChargeCategory": category,
        "ChargeClass": "Correction" if category == "Adjustment" else "",
        "BilledCost": format(billed, "f"),
        "EffectiveCost": format(effective, "f"),
        "Tags.keys": "team" if team else "",
        "Tags.values": team or "",
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3),
            st.sampled_from(ACCOUNTS),
            st.sampled_from(["Usage", "Credit", "Adjustment", "Tax"]),
            _amounts,
            _amounts,
            st.sampled_from([None, "web", "data"]),
        ),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["UnblendedCost", "AmortizedCost"]),
)
def test_duckdb_answers_the_exact_sums_of_the_rows(tmp_path_factory, rows, metric):
    first = date(2026, 11, 1)
    path = Path(tmp_path_factory.mktemp("focus")) / "f.parquet"
    data = [_focus_row(first + timedelta(days=o), a, c, b, e, t) for o, a, c, b, e, t in rows]
    write_parquet(data, FOCUS_1_2_COLUMNS, path)
    starts = _days(first, 4)
    kinds = {"Usage": "Usage", "Credit": "Credit", "Adjustment": "Refund", "Tax": "Tax"}

    with DuckDBEngine() as engine:
        for dataset, key in ((RECORD_TYPES, lambda r: kinds[r[2]]), (Dataset("TAG", "team"), lambda r: r[5] or "")):
            sql = _cell_sql(export_schema.FOCUS_1_2, dataset, starts, metric=metric)
            answer = engine.query(sql, [path])
            query = CellQuery("DAILY", dataset, starts, sql)
            cells = cells_from_rows(
                query, answer, accounts=ACCOUNTS, covered=dict.fromkeys(starts, True), fetched_at=NOW
            )
            expected: dict[tuple[str, date, str], Decimal] = {}
            for row in rows:
                slot = (row[1], first + timedelta(days=row[0]), key(row))
                amount = row[3] if metric == "UnblendedCost" else row[4]
                expected[slot] = expected.get(slot, Decimal(0)) + amount
            got = {(k[2], k[3], g): a for k, c in cells.items() for g, a in c.groups.items()}
            assert got == expected


# (line item type, unblended, SP effective, RI effective, SP commitment to date, SP used, RI unused
#  upfront, RI unused recurring, RI ARN, amortised as Cost Explorer counts it)
_CUR_COMMITMENT_ROWS = [
    ("Usage", "20", None, None, None, None, None, None, "", "20"),
    ("SavingsPlanCoveredUsage", "10", "7", None, None, None, None, None, "", "7"),
    ("SavingsPlanNegation", "-10", None, None, None, None, None, None, "", "0"),
    ("SavingsPlanRecurringFee", "100", None, None, "100", "70", None, None, "", "30"),  # 30 went unused
    ("SavingsPlanUpfrontFee", "500", None, None, None, None, None, None, "", "0"),  # spread over the usage
    ("DiscountedUsage", "0", None, "4", None, None, None, None, "arn:ri", "4"),
    ("RIFee", "50", None, None, None, None, "5", "3", "arn:ri", "8"),  # the RI's unused part only
    ("Fee", "200", None, None, None, None, None, None, "arn:ri", "0"),  # an RI's upfront fee
    ("Fee", "15", None, None, None, None, None, None, "", "15"),  # any other fee counts as charged
]


@pytest.mark.parametrize("row", _CUR_COMMITMENT_ROWS, ids=[f"{r[0]}-{i}" for i, r in enumerate(_CUR_COMMITMENT_ROWS)])
def test_cur_amortised_cost_counts_commitment_fees_as_cost_explorer_does(tmp_path, row):
    """Each CUR 2.0 line item type alone: its amortised (effective) amount, as Cost Explorer's
    AmortizedCost counts it; a Savings Plan's or RI's fee never counted twice with its covered usage."""
    kind, unblended, sp_effective, ri_effective, to_date, used, unused_upfront, unused_recurring, arn, want = row
    path = tmp_path / "cur.parquet"
    nums = (unblended, sp_effective, ri_effective, to_date, used, unused_upfront, unused_recurring)
    values = ", ".join("NULL" if v is None else f"CAST({v} AS DOUBLE)" for v in nums)
    columns = (
        "line_item_unblended_cost, savings_plan_savings_plan_effective_cost, reservation_effective_cost, "
        "savings_plan_total_commitment_to_date, savings_plan_used_commitment, "
        "reservation_unused_amortized_upfront_fee_for_billing_period, reservation_unused_recurring_fee"
    )
    copy = (  # the columns the query reads, with AWS's names and types
        f"COPY (SELECT '{ACCOUNTS[0]}' AS line_item_usage_account_id, "  # noqa: S608 - the test's own constants
        f"TIMESTAMP '2026-11-01' AS line_item_usage_start_date, '{kind}' AS line_item_line_item_type, "
        f"'{arn}' AS reservation_reservation_a_r_n, * FROM (SELECT {values}) AS t({columns})) "
        f"TO '{path}' (FORMAT PARQUET)"
    )
    with DuckDBEngine() as engine:
        engine._connection().execute(copy)
        sql = _cell_sql(export_schema.CUR_2_0, RECORD_TYPES, [date(2026, 11, 1)], metric="AmortizedCost")
        [(_, _, _, amount)] = engine.query(sql, [path])

    assert Decimal(str(amount)) == Decimal(want)
