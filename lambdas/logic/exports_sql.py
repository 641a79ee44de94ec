"""The SQL a report's cells are read with from a Data Export (FOCUS 1.2 or CUR 2.0), and its rows
back into the cells Cost Explorer's answers fill (lambdas/logic/needs.py). Pure: builds text and
reads tuples; DuckDB (lambdas/dal/duckdb_engine.py) or Athena (lambdas/dal/athena.py) runs it.

The report's needs (`needs_for`) are grouped by dataset and granularity: one query each, over the
billing periods they touch only, naming only the columns it reads. Every query answers
(period start, group key, account, amount) for the client's accounts, as Cost Explorer's
[dataset key, LINKED_ACCOUNT] answers do, so the same `cost_data_from_cells` builds the report's
data from either source. A period the export does not hold (a partition missing, still being
written, or days after the newest the export has delivered) gets no cell: missing, never zero.

Metric -> column (docs/data-exports.md):

| client metric                   | FOCUS 1.2       | CUR 2.0                                                  |
| ------------------------------- | --------------- | -------------------------------------------------------- |
| UnblendedCost                   | BilledCost      | line_item_unblended_cost                                 |
| AmortizedCost, NetAmortizedCost | EffectiveCost   | the covered rows' Savings Plan / RI effective cost,      |
|                                 |                 | 0 for a Savings Plan negation, else the unblended cost   |

Record types (Cost Explorer's RECORD_TYPE, of which Credit and Refund are the credits):
FOCUS ChargeCategory Credit -> Credit; ChargeCategory Adjustment or ChargeClass Correction ->
Refund; Tax -> Tax; Purchase -> Purchase; anything else -> Usage. CUR 2.0: line_item_line_item_type
Credit, Refund, Tax and Fee as they are; anything else -> Usage.

Amounts are cast to DECIMAL(38,10) row by row before they are added (AWS writes DOUBLE; Cost
Explorer prints 10 decimals), so sums are exact and agree with Cost Explorer's to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Required, TypedDict, Unpack

from lambdas.logic.export_schema import RELATION, SCHEMAS, ExportSchema, billing_period, literal, sql_date
from lambdas.logic.needs import Cell, CellKey, Dataset, Need, period_end
from lambdas.logic.queries import CREDIT_RECORD_TYPES
from lambdas.models.exceptions import ExportDataError


def partitions_for(needs: Iterable[Need]) -> list[str]:
    """The billing periods (YYYY-MM) the needs' periods fall in: the only partitions read."""
    return sorted({billing_period(start) for need in needs for start in need.periods()})


# -- the conditions the queries share ------------------------------------------------------------------


def in_list(column: str, values: Iterable[str], *, negated: bool = False) -> str:
    """`column IN ('a', 'b')` (NOT IN when `negated`), the values quoted and sorted."""
    return f"{column} {'NOT IN' if negated else 'IN'} ({', '.join(literal(value) for value in sorted(values))})"


def days_and_accounts(schema: ExportSchema, first: date, end_exclusive: date, accounts: Iterable[str]) -> list[str]:
    """The charges of the client's accounts on the days from `first` to `end_exclusive`."""
    return [
        f"{schema.day()} >= {sql_date(first)}",
        f"{schema.day()} < {sql_date(end_exclusive)}",
        in_list(schema.account, accounts),
    ]


def not_credits(schema: ExportSchema) -> str:
    """Before credits and refunds, as Cost Explorer's filter of the services (queries.without_credits)."""
    return in_list(f"({schema.record_type})", CREDIT_RECORD_TYPES, negated=True)


# -- the report's queries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CellQuery:
    """One query: a dataset at a granularity over the union of its needs' periods."""

    granularity: str
    dataset: Dataset
    starts: tuple[date, ...]
    sql: str


def readable(dataset: Dataset) -> bool:
    """Whether an export answers this dataset: services, record types and tags; not cost
    categories (FOCUS 1.2 with AWS columns has none; CUR 2.0's map is not read yet)."""
    return dataset.group_key in ("SERVICE", "RECORD_TYPE") or dataset.group_type == "TAG"


def _group_key(schema: ExportSchema, dataset: Dataset, dialect: str) -> str:
    if dataset.group_key == "SERVICE":
        return schema.service.replace("product['product_name']", _product_name(dialect))
    if dataset.group_key == "RECORD_TYPE":
        return schema.record_type
    if dataset.group_type == "TAG":
        return schema.tag(dataset.group_key, dialect)
    raise ExportDataError(f"a breakdown by {dataset.group_type} {dataset.group_key} is not read from Data Exports")


def cell_sql(
    schema: ExportSchema,
    dataset: Dataset,
    granularity: str,
    starts: Sequence[date],
    *,
    metric: str,
    accounts: Sequence[str],
    relation: str = RELATION,
    partition_column: str | None = None,
    dialect: str = "duckdb",
) -> str:
    """(period start, group key, account, amount) of the client's accounts over `starts`.
    `partition_column`: Athena's partition column (billing_period), to prune partitions;
    `dialect`: duckdb or athena (they differ only in reading a map by key)."""
    first, last = min(starts), max(starts)
    end = period_end(granularity, last)
    period = schema.day() if granularity == "DAILY" else f"CAST(date_trunc('month', {schema.start}) AS DATE)"
    where = days_and_accounts(schema, first, end, accounts)
    if dataset.exclude_credits:
        where.append(not_credits(schema))
    if partition_column:
        where.append(in_list(partition_column, {billing_period(start) for start in starts} | {billing_period(end)}))
    return (
        f"SELECT {period} AS period_start, {_group_key(schema, dataset, dialect)} AS group_key, "  # noqa: S608 - column names are the schema's own; values are quoted by literal()
        f"{schema.account} AS account_id, SUM({schema.amount(metric)}) AS amount "
        f"FROM {relation} WHERE {' AND '.join(where)} GROUP BY 1, 2, 3 ORDER BY 1, 3, 2"
    )


class CellOptions(TypedDict, total=False):
    """cell_sql's keywords (its defaults stand there), which cell_queries passes on to it."""

    metric: Required[str]
    accounts: Required[Sequence[str]]
    relation: str
    partition_column: str | None
    dialect: str


def cell_queries(export_format: str, needs: Iterable[Need], **options: Unpack[CellOptions]) -> list[CellQuery]:
    """One query per dataset and granularity the needs name, over all their periods; `options`:
    cell_sql's (metric, accounts, relation, partition_column, dialect)."""
    schema = SCHEMAS[export_format]
    grouped: dict[tuple[str, Dataset], set[date]] = {}
    for need in needs:
        grouped.setdefault((need.granularity, need.dataset), set()).update(need.periods())
    return [
        CellQuery(
            granularity,
            dataset,
            tuple(sorted(starts)),
            cell_sql(schema, dataset, granularity, sorted(starts), **options),
        )
        for (granularity, dataset), starts in grouped.items()
        if starts
    ]


def _product_name(dialect: str) -> str:
    return "element_at(product, 'product_name')" if dialect == "athena" else "product['product_name']"


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def as_amount(value: Any, where: str) -> Decimal:
    if value is None:
        return Decimal(0)
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if not amount.is_finite():
        raise ExportDataError(f"{where}: amount is not finite")
    return amount


def cells_from_rows(
    query: CellQuery,
    rows: Iterable[Sequence[Any]],
    *,
    accounts: Sequence[str],
    covered: Mapping[date, bool],
    fetched_at: datetime,
) -> dict[CellKey, Cell]:
    """The query's rows as cells, for every account, of the periods the export covers only.
    `covered`: period start -> whether the export's billing period is final (estimated otherwise);
    a start absent from it was not read and gets no cell."""
    allowed = set(accounts)
    sums: dict[tuple[str, date], dict[str, Decimal]] = {}
    for row in rows:
        start, key, account, amount = row[0], row[1], row[2], row[3]
        day = as_date(start)
        if str(account) not in allowed:
            raise ExportDataError(f"the export answered for account {account}, outside the client's accounts")
        slot = sums.setdefault((str(account), day), {})
        label = "" if key is None else str(key)
        slot[label] = slot.get(label, Decimal(0)) + as_amount(amount, f"{day} {label}")
    cells: dict[CellKey, Cell] = {}
    for start in query.starts:
        if start not in covered:
            continue
        for account in accounts:
            cells[(query.granularity, query.dataset.name, account, start)] = Cell(
                groups=dict(sorted(sums.get((account, start), {}).items())),
                estimated=not covered[start],
                fetched_at=fetched_at,
            )
    return cells


# -- what the export says about itself ----------------------------------------------------------------


def coverage_sql(export_format: str, relation: str = RELATION) -> str:
    """Of one billing period's files: the newest charge day, the rows, the rows without an invoice
    id (a period is final when every row has one), and the currencies."""
    schema = SCHEMAS[export_format]
    return (
        f"SELECT max({schema.day()}) AS last_day, count(*) AS line_items, "  # noqa: S608 - column names are the schema's own; values are quoted by literal()
        f"count(*) FILTER (WHERE {schema.invoice} IS NULL OR {schema.invoice} = '') AS uninvoiced, "
        f"list(DISTINCT {schema.currency}) AS currencies FROM {relation}"
    )


def foreign_accounts_sql(
    export_format: str, accounts: Sequence[str], relation: str = RELATION, *, within: str = ""
) -> str:
    """Accounts in the export that are not the client's (the export is refused if there is any);
    `within`: a further condition (Athena: the partitions read)."""
    schema = SCHEMAS[export_format]
    foreign = f"{schema.account} IS NULL OR {in_list(schema.account, accounts, negated=True)}"
    where = f"{within} AND ({foreign})" if within else foreign
    return f"SELECT DISTINCT {schema.account} FROM {relation} WHERE {where} ORDER BY 1 LIMIT 5"  # noqa: S608 - column names are the schema's own; values are quoted by literal()


def account_names_sql(export_format: str, relation: str = RELATION, *, within: str = "") -> str:
    """The accounts' names; `within`: a further condition (Athena: the partitions read)."""
    schema = SCHEMAS[export_format]
    also = f" AND {within}" if within else ""
    return (
        f"SELECT DISTINCT {schema.account}, {schema.account_name} FROM {relation} "  # noqa: S608 - column names are the schema's own; values are quoted by literal()
        f"WHERE {schema.account_name} IS NOT NULL{also} ORDER BY 1"
    )


# -- the same questions on Athena (one table over every billing period) --------------------------------


def athena_coverage_sql(export_format: str, table: str, periods: Sequence[str], partition_column: str) -> str:
    """Per billing period: the newest charge day, the rows, the rows without an invoice id, the
    number of currencies and one of them (Athena answers arrays as text: none here)."""
    schema = SCHEMAS[export_format]
    return (
        f"SELECT {partition_column} AS billing_period, max({schema.day()}) AS last_day, "  # noqa: S608 - column names are the schema's own; values are quoted by literal()
        f"count(*) AS line_items, count_if({schema.invoice} IS NULL OR {schema.invoice} = '') AS uninvoiced, "
        f"count(DISTINCT {schema.currency}) AS currencies, min({schema.currency}) AS currency "
        f"FROM {table} WHERE {in_list(partition_column, periods)} GROUP BY 1 ORDER BY 1"
    )


def athena_foreign_accounts_sql(
    export_format: str, table: str, periods: Sequence[str], accounts: Sequence[str], partition_column: str
) -> str:
    return foreign_accounts_sql(export_format, accounts, table, within=in_list(partition_column, periods))
