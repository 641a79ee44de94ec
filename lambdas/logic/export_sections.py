"""The report's sections only a Data Export fills (lambdas/logic/exports_extras.py reads them): the
resources that cost most, those behind the biggest movers first, and commitment use (Savings Plans
and Reserved Instances: utilisation and coverage). Pure; empty from Cost Explorer, never zero."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from lambdas.models.report import CommitmentLine, ResourceLine, ServiceLine

if TYPE_CHECKING:  # types only: the Data Export's modules are not imported by a Cost Explorer run
    from lambdas.logic.exports_extras import CommitmentUse, TopResource

SHARE = Decimal("0.0001")
# How the report names where its figures come from, in a sentence ("read from Cost Explorer").
SOURCE_NAMES = {"cost_explorer": "Cost Explorer", "data_exports": "the Data Export"}


def source_label(cost_source: str, export_format: str | None = None) -> str:
    """The source as the footer says it: "AWS Cost Explorer", "AWS Data Export (FOCUS 1.2)"."""
    if cost_source != "data_exports":
        return "AWS Cost Explorer"
    from lambdas.logic.export_schema import FORMAT_NAMES  # a Data Export's run only

    name = FORMAT_NAMES.get(export_format or "")
    return f"AWS Data Export ({name})" if name else "AWS Data Export"


def resource_lines(
    resources: Iterable[TopResource],
    *,
    period_cost: Decimal,
    account_names: Mapping[str, str],
    movers_up: Sequence[ServiceLine],
    movers_down: Sequence[ServiceLine],
) -> list[ResourceLine]:
    """The top resources, with their share of the period's cost (before credits): those whose
    service is among the biggest movers first (they say what moved), then the others, each group
    largest first."""
    moved: dict[str, Literal["up", "down"]] = {line.name: "up" for line in movers_up}
    moved |= {line.name: "down" for line in movers_down}
    lines = [
        ResourceLine(
            resource_id=resource.resource_id,
            service=resource.service,
            account_id=resource.account_id,
            account_name=_known_name(account_names, resource.account_id),
            amount=resource.amount,
            share=(resource.amount / period_cost).quantize(SHARE) if period_cost > 0 else None,
            mover=moved.get(resource.service),
        )
        for resource in resources
    ]
    return sorted(lines, key=lambda line: (line.mover is None, -line.amount, line.resource_id))


def _known_name(names: Mapping[str, str], account_id: str) -> str | None:
    name = names.get(account_id)
    return name if name and name != account_id else None


def commitment_lines(commitments: Iterable[CommitmentUse]) -> list[CommitmentLine]:
    """One line per commitment type that had any commitment in the period: the use as it reads,
    its utilisation and coverage included (the line's fields are the use's attributes)."""
    return [
        CommitmentLine.model_validate(use, from_attributes=True)
        for use in sorted(commitments, key=lambda use: use.type)
        if use.used or use.unused
    ]
