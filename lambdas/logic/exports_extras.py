"""What a Data Export gives that Cost Explorer cannot: the resources behind the cost (`ResourceId`)
and commitment use (FOCUS `CommitmentDiscountStatus` Used / Unused). Pure: builds the SQL and reads
its rows (lambdas/logic/exports_sql.py has the report's own queries)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lambdas.logic.export_schema import AMOUNT_TYPE, FOCUS_1_2, RELATION, SCHEMAS, literal, sql_date
from lambdas.logic.exports_sql import as_amount


def top_resources_sql(
    export_format: str,
    first: date,
    end_exclusive: date,
    *,
    metric: str,
    accounts: Sequence[str],
    limit: int = 10,
    relation: str = RELATION,
) -> str:
    """The resources (ResourceId) that cost most over the days, with their service and account."""
    schema = SCHEMAS[export_format]
    listed = ", ".join(literal(a) for a in sorted(accounts))
    return (
        f"SELECT {schema.resource} AS resource_id, {schema.service} AS service, {schema.account} AS account_id, "  # noqa: S608 - column names are the schema's own; values are quoted by literal()
        f"SUM({schema.amount(metric)}) AS amount FROM {relation} "
        f"WHERE {schema.resource} IS NOT NULL AND {schema.resource} <> '' "
        f"AND {schema.day()} >= {sql_date(first)} AND {schema.day()} < {sql_date(end_exclusive)} "
        f"AND {schema.account} IN ({listed}) GROUP BY 1, 2, 3 ORDER BY amount DESC, 1 LIMIT {int(limit)}"
    )


def commitment_sql(first: date, end_exclusive: date, *, accounts: Sequence[str], relation: str = RELATION) -> str:
    """FOCUS: effective cost by commitment status (Used / Unused) and type, for coverage and
    utilisation: utilisation = used / (used + unused)."""
    schema = FOCUS_1_2
    listed = ", ".join(literal(a) for a in sorted(accounts))
    return (
        f"SELECT CommitmentDiscountType AS type, CommitmentDiscountStatus AS status, "  # noqa: S608 - column names are the schema's own; values are quoted by literal()
        f"SUM(CAST(EffectiveCost AS {AMOUNT_TYPE})) AS amount FROM {relation} "
        f"WHERE CommitmentDiscountStatus IS NOT NULL AND {schema.day()} >= {sql_date(first)} "
        f"AND {schema.day()} < {sql_date(end_exclusive)} AND {schema.account} IN ({listed}) "
        f"GROUP BY 1, 2 ORDER BY 1, 2"
    )


@dataclass(frozen=True)
class CommitmentUse:
    type: str
    used: Decimal
    unused: Decimal

    @property
    def utilisation(self) -> Decimal | None:
        total = self.used + self.unused
        return None if total == 0 else (self.used / total).quantize(Decimal("0.0001"))


def commitments_from_rows(rows: Iterable[Sequence[Any]]) -> list[CommitmentUse]:
    found: dict[str, dict[str, Decimal]] = {}
    for kind, status, amount in rows:
        found.setdefault(str(kind), {})[str(status)] = as_amount(amount, f"commitment {kind}")
    return [
        CommitmentUse(kind, by.get("Used", Decimal(0)), by.get("Unused", Decimal(0)))
        for kind, by in sorted(found.items())
    ]


@dataclass(frozen=True)
class TopResource:
    """One resource (FOCUS ResourceId, CUR line_item_resource_id) and what it cost in the period."""

    resource_id: str
    service: str
    account_id: str
    amount: Decimal


def top_resources_from_rows(rows: Iterable[Sequence[Any]]) -> list[TopResource]:
    return [
        TopResource(str(resource), str(service), str(account), as_amount(amount, f"resource {resource}"))
        for resource, service, account, amount in rows
    ]
