"""The email's sections only a Data Export fills: the resources that cost most (those of the biggest
movers first) and commitment use; and how the email names its cost source. From Cost Explorer the
sections are None and every word is as it was."""

from __future__ import annotations

from lambdas.logic.export_sections import SOURCE_NAMES, source_label
from lambdas.logic.render.format import ZERO, Formatter
from lambdas.logic.render.view_model import CommitmentRow, CommitmentsView, ResourceRow, ResourcesView
from lambdas.models.report import Report

COMMITMENT_LABELS = {"Savings Plan": "Savings Plans", "Reservation": "Reserved Instances"}


def source_name(report: Report) -> str:
    """The source in a sentence: "read from Cost Explorer", "read from the Data Export"."""
    return SOURCE_NAMES.get(report.cost_source, "Cost Explorer")


def source_line(report: Report) -> str:
    """How the footer names the source: "AWS Cost Explorer", "AWS Data Export (FOCUS 1.2)"."""
    return source_label(report.cost_source, report.export_format)


def resources_view(report: Report, fmt: Formatter) -> ResourcesView | None:
    lines = report.top_resources
    if not lines:
        return None
    changes = {line.name: line.change for line in (*report.movers_up, *report.movers_down)}
    peak = max((max(line.amount, ZERO) for line in lines), default=ZERO)
    rows = []
    for line in lines:
        account = f"{line.account_name} ({line.account_id})" if line.account_name else line.account_id
        change = changes.get(line.service) if line.mover else None
        rows.append(
            ResourceRow(
                name=line.resource_id,
                detail=f"{line.service} · {account}",
                amount=fmt.money(line.amount),
                share="" if line.share is None else fmt.ratio(line.share),
                bar=0 if peak <= 0 else max(int(max(line.amount, ZERO) / peak * 100), 0),
                mover="" if change is None else f"{line.service} {fmt.signed(change)}",
                tone={"up": "up", "down": "down"}.get(line.mover or "", "flat"),
            )
        )
    if report.by_service:
        period_cost = sum((line.amount for line in report.by_service), ZERO)
        total = fmt.money(period_cost)
        note = f"The resources that cost most in the period; share of the cost of all services, {total}."
    else:  # the period's services were not read: no total to name (never $0.00)
        note = "The resources that cost most in the period."
    if any(row.mover for row in rows):
        note += " Those of the services that moved most come first, with their service's change."
    return ResourcesView(rows=tuple(rows), note=note)


def commitments_view(report: Report, fmt: Formatter) -> CommitmentsView | None:
    lines = report.commitments
    if not lines:
        return None
    rows = tuple(
        CommitmentRow(
            name=COMMITMENT_LABELS.get(line.type, line.type),
            used=fmt.money(line.used),
            unused=fmt.money(line.unused),
            utilisation=fmt.ratio(line.utilisation),
            coverage=fmt.ratio(line.coverage),
        )
        for line in lines
    )
    note = "Utilisation: the share of the commitment's effective cost that usage used."
    if any(line.coverage is not None for line in lines):
        note += (
            " Coverage: the share of the usage in the services a commitment covered that it paid for, at on-demand"
            " prices; usage no commitment can cover (storage, data transfer) counts as not covered, so AWS's own"
            " coverage figure may be higher."
        )
    return CommitmentsView(rows=rows, note=note)


def requests_line(report: Report) -> str | None:
    """The footer's line on Cost Explorer requests when a Data Export made none; None otherwise."""
    if report.cost_source != "data_exports" or report.ce_requests:
        return None
    return f"Cost Explorer requests: none; the costs were read from the {source_line(report)}."
