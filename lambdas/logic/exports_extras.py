"""What a Data Export gives that Cost Explorer cannot: the resources behind the cost (`ResourceId`)
and commitment use (FOCUS `CommitmentDiscountStatus` Used / Unused, and coverage at `ListCost`). Pure:
builds the SQL and reads its rows (lambdas/logic/exports_sql.py has the report's own queries)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lambdas.logic.export_schema import AMOUNT_TYPE, FOCUS_1_2, RELATION, SCHEMAS
from lambdas.logic.exports_sql import as_amount, days_and_accounts, not_credits


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
    """The resources (ResourceId) that cost most over the days, with their service and account: before
    credits and refunds, as the report's services (a credit is its own line, never a resource's)."""
    schema = SCHEMAS[export_format]
    where = [
        f"{schema.resource} IS NOT NULL",
        f"{schema.resource} <> ''",
        not_credits(schema),
        *days_and_accounts(schema, first, end_exclusive, accounts),
    ]
    return (
        f"SELECT {schema.resource} AS resource_id, {schema.service} AS service, {schema.account} AS account_id, "  # noqa: S608 - column names are the schema's own; values are quoted by literal()
        f"SUM({schema.amount(metric)}) AS amount FROM {relation} "
        f"WHERE {' AND '.join(where)} GROUP BY 1, 2, 3 ORDER BY amount DESC, 1 LIMIT {int(limit)}"
    )


ON_DEMAND = "OnDemand"  # commitment_sql's status of the usage no commitment paid for


def commitment_sql(first: date, end_exclusive: date, *, accounts: Sequence[str], relation: str = RELATION) -> str:
    """FOCUS: per commitment type and status (Used / Unused), the effective cost (utilisation =
    used / (used + unused)) and the on-demand equivalent (ListCost); and, as status `OnDemand`, the
    usage no commitment paid for in the services the type covered over the days (coverage =
    covered / (covered + on demand), all at ListCost). Rows: (type, status, effective, list)."""
    schema = FOCUS_1_2
    return (
        f"WITH charges AS (SELECT CommitmentDiscountType AS type, CommitmentDiscountStatus AS status, "  # noqa: S608 - column names are the schema's own; values are quoted by literal()
        f"{schema.service} AS service, ChargeCategory AS category, "
        f"CAST(EffectiveCost AS {AMOUNT_TYPE}) AS effective, CAST(ListCost AS {AMOUNT_TYPE}) AS list FROM {relation} "
        f"WHERE {' AND '.join(days_and_accounts(schema, first, end_exclusive, accounts))}), "
        f"covered AS (SELECT DISTINCT type, service FROM charges WHERE status = 'Used') "
        f"SELECT type, status, SUM(effective) AS amount, SUM(list) AS list FROM charges "
        f"WHERE status IS NOT NULL GROUP BY 1, 2 "
        f"UNION ALL SELECT covered.type, '{ON_DEMAND}', SUM(charges.effective), SUM(charges.list) "
        f"FROM charges JOIN covered ON charges.service = covered.service "
        f"WHERE charges.status IS NULL AND charges.category = 'Usage' GROUP BY 1 ORDER BY 1, 2"
    )


@dataclass(frozen=True)
class CommitmentUse:
    """One commitment type (FOCUS CommitmentDiscountType: "Savings Plan", "Reservation") over the
    period. `used` / `unused`: effective cost of the commitment used / left unused. `covered` /
    `on_demand`: on-demand equivalent (ListCost) of the usage it paid for / of the usage no
    commitment paid for in the services it covered; None when the rows did not say."""

    type: str
    used: Decimal
    unused: Decimal
    covered: Decimal | None = None
    on_demand: Decimal | None = None

    @property
    def utilisation(self) -> Decimal | None:
        total = self.used + self.unused
        return None if total == 0 else (self.used / total).quantize(Decimal("0.0001"))

    @property
    def coverage(self) -> Decimal | None:
        if self.covered is None or self.on_demand is None:
            return None
        total = self.covered + self.on_demand
        return None if total <= 0 or self.covered < 0 else (self.covered / total).quantize(Decimal("0.0001"))


def commitments_from_rows(rows: Iterable[Sequence[Any]]) -> list[CommitmentUse]:
    """commitment_sql's rows: (type, status, effective, list), or (type, status, effective) without coverage."""
    effective: dict[str, dict[str, Decimal]] = {}
    listed: dict[str, dict[str, Decimal | None]] = {}
    with_list = False
    for kind, status, amount, *rest in rows:
        where = f"commitment {kind}"
        effective.setdefault(str(kind), {})[str(status)] = as_amount(amount, where)
        if rest:
            with_list = True
            listed.setdefault(str(kind), {})[str(status)] = None if rest[0] is None else as_amount(rest[0], where)
    uses = []
    for kind, by in sorted(effective.items()):
        if "Used" not in by and "Unused" not in by:
            continue  # on-demand usage alone is no commitment
        covered = on_demand = None
        if with_list:
            lists = listed.get(kind, {})
            covered = lists.get("Used", Decimal(0)) if "Used" in by else Decimal(0)
            on_demand = lists.get(ON_DEMAND, Decimal(0))
        uses.append(CommitmentUse(kind, by.get("Used", Decimal(0)), by.get("Unused", Decimal(0)), covered, on_demand))
    return uses


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
