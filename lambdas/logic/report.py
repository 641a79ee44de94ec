"""The report, computed from cost data. Pure: no I/O, no clock.

Conventions (docs/report-schema.md): `by_service`, `by_account` and `daily` are costs before
credits and refunds; credits and refunds are their own lines (`credits`), and count in `total`,
`previous_total`, `month_to_date`, the forecast and the trend only when the client includes them
(`credits_included`). So `total == sum(by_service) + (sum(credits) if credits_included)`.

Missing is never zero: a section whose periods were not all read is left out and named in
`notes`; when the core figures (the period's and the comparison's totals by service and account,
and the credits when they count) are incomplete, `complete` is False and `missing` says what is
missing: such a report is not sent as a normal one (lambdas/orchestration/run.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from lambdas.logic.cost_data import CostData, CostRow
from lambdas.logic.daily import chart_anomalies, chart_points, days_of, net_point
from lambdas.logic.export_sections import SOURCE_NAMES, commitment_lines, resource_lines
from lambdas.logic.forecast import CENT, month_end_forecast
from lambdas.logic.needs import SECTION_NAMES
from lambdas.logic.periods import ReportWindow
from lambdas.logic.queries import CREDIT_RECORD_TYPES, requests_cost_usd
from lambdas.models.client import Client
from lambdas.models.exceptions import CostDataError
from lambdas.models.report import (
    AccountLine,
    Anomaly,
    Breakdown,
    BreakdownLine,
    Correction,
    Coverage,
    CreditLine,
    MonthPoint,
    Period,
    Report,
    ReportKind,
    Restatement,
    ServiceLine,
)

if TYPE_CHECKING:  # types only: the Data Export's modules are not imported by a Cost Explorer run
    from lambdas.logic.exports_extras import CommitmentUse, TopResource

ZERO = Decimal("0")
PERCENT = Decimal("0.1")
MOVERS = 3  # biggest absolute movers shown each way
CORE_SECTIONS = ("core", "credits")


def percent_change(current: Decimal, previous: Decimal) -> Decimal | None:
    if previous == 0:
        return None
    return ((current - previous) / abs(previous) * 100).quantize(PERCENT, rounding=ROUND_HALF_UP)


def _split(rows: Iterable[CostRow], current: Period, previous: Period, key: str) -> dict[str, list[Decimal]]:
    """Amounts per `key` attribute of the rows: [current period, previous period]."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in rows:
        if current.contains(row.day):
            sums[getattr(row, key)][0] += row.amount
        elif previous.contains(row.day):
            sums[getattr(row, key)][1] += row.amount
    return sums


def _by_service_and_account(
    rows: Iterable[CostRow], current: Period, previous: Period
) -> tuple[dict[str, list[Decimal]], dict[str, list[Decimal]]]:
    """`_split` by service and by account in one pass (a payer's tens of thousands of rows)."""
    services: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    accounts: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    first, last, before, until = current.start, current.end, previous.start, previous.end
    for row in rows:
        day = row.day
        if first <= day <= last:
            slot = 0
        elif before <= day <= until:
            slot = 1
        else:
            continue
        services[row.service][slot] += row.amount
        accounts[row.account_id][slot] += row.amount
    return services, accounts


def movers(services: list[ServiceLine]) -> tuple[list[ServiceLine], list[ServiceLine]]:
    """The MOVERS biggest increases and the MOVERS biggest decreases, by absolute change."""
    ups = sorted((s for s in services if s.change > 0), key=lambda s: (-s.change, s.name))[:MOVERS]
    downs = sorted((s for s in services if s.change < 0), key=lambda s: (s.change, s.name))[:MOVERS]
    return ups, downs


@dataclass(frozen=True)
class RunFacts:
    """What the run knows besides the cost data: who, when, what it cost."""

    run_id: str
    as_of: date
    generated_at: datetime
    ce_requests: int
    kind: ReportKind = "scheduled"
    cache_hits: int = 0
    notes: tuple[str, ...] = ()
    archive_url: str | None = None
    ce_forecast_remaining: Decimal | None = None
    key_age_days: int | None = None
    corrections: tuple[Correction, ...] = ()
    # Where the cost data came from, and what only a Data Export gives (empty from Cost Explorer).
    cost_source: str = "cost_explorer"
    export_format: str | None = None  # a Data Export's format: focus_1_2, focus_1_0, cur_2_0
    top_resources: tuple[TopResource, ...] = ()
    commitments: tuple[CommitmentUse, ...] = ()


@dataclass
class _Core:
    services: list[ServiceLine]
    accounts: list[AccountLine]
    credits: list[CreditLine]
    total: Decimal
    previous_total: Decimal
    accounts_seen: list[str]  # accounts with any cost row in either period


def build_report(
    client: Client, window: ReportWindow, data: CostData, facts: RunFacts, *, restatement: Restatement | None = None
) -> Report:
    """The report, section by section: each builder below reads only the cost data its section
    needs and answers the Report fields it fills (a new section: one more builder here)."""
    if data.unit is not None and data.unit != client.currency:
        source = SOURCE_NAMES.get(facts.cost_source, "Cost Explorer")
        source = source[0].upper() + source[1:]
        raise CostDataError(f"{source} reports {data.unit}, the client is configured for {client.currency}")
    core = _core(client, data, window.current, window.previous)
    anomalies = chart_anomalies(window, data)
    return Report(
        **_identity(client, window, facts),
        **_totals_section(client, core),
        **_services_section(core),
        **_forecast_section(client, window, data, anomalies, facts),
        **_daily_section(window, data),
        anomalies=anomalies,
        breakdown=_breakdown(client, data, window.current, window.previous),
        monthly_trend=_trend(window, data, client.include_credits),
        restatement=restatement,
        **_completeness_section(client, window, data, facts),
        coverage=_coverage(client, window, data, facts, core.accounts_seen),
        **_data_export_section(facts, core),
    )


def _identity(client: Client, window: ReportWindow, facts: RunFacts) -> dict[str, Any]:
    """Whose report, of which run, over which periods."""
    return {
        "client_id": client.client_id,
        "client_name": client.name,
        "run_id": facts.run_id,
        "kind": facts.kind,
        "schedule": client.schedule,
        "as_of": facts.as_of,
        "generated_at": facts.generated_at,
        "metric": client.metric,
        "currency": client.currency,
        "locale": client.locale,
        "period": window.current,
        "previous_period": window.previous,
        "ce_requests": facts.ce_requests,
        "archive_url": facts.archive_url,
    }


def _totals_section(client: Client, core: _Core) -> dict[str, Any]:
    """The headline: the period's total against its comparison, and the credit lines."""
    return {
        "total": core.total,
        "previous_total": core.previous_total,
        "change_amount": core.total - core.previous_total,
        "change_percent": percent_change(core.total, core.previous_total),
        "credits": core.credits,
        "credits_included": client.include_credits,
    }


def _services_section(core: _Core) -> dict[str, Any]:
    """Services (with the biggest movers each way) and accounts."""
    ups, downs = movers(core.services)
    return {"by_service": core.services, "movers_up": ups, "movers_down": downs, "by_account": core.accounts}


def _data_export_section(facts: RunFacts, core: _Core) -> dict[str, Any]:
    """Where the figures come from, and what only a Data Export gives: the resources that cost
    most (those of the biggest movers first) and commitment use. Empty, never zero, without them."""
    ups, downs = movers(core.services)
    resources = resource_lines(
        facts.top_resources,
        period_cost=sum((line.amount for line in core.services), ZERO),
        account_names={line.account_id: line.name for line in core.accounts},
        movers_up=ups,
        movers_down=downs,
    )
    return {
        "cost_source": facts.cost_source,
        "export_format": facts.export_format if facts.cost_source == "data_exports" else None,
        "top_resources": resources,
        "commitments": commitment_lines(facts.commitments),
    }


def _forecast_section(
    client: Client, window: ReportWindow, data: CostData, anomalies: list[Anomaly], facts: RunFacts
) -> dict[str, Any]:
    month_to_date, forecast, method = _month_to_date_and_forecast(client, window, data, anomalies, facts)
    return {"month_to_date": month_to_date, "forecast": forecast, "forecast_method": method, "budget": client.budget}


def _daily_section(window: ReportWindow, data: CostData) -> dict[str, Any]:
    """The daily chart, and the days of it (and of the period) Cost Explorer was still filling in."""
    shown = set(days_of(window.chart_period) + days_of(window.current))
    return {"daily": chart_points(window, data), "provisional_days": sorted(data.provisional_days & shown)}


def _completeness_section(client: Client, window: ReportWindow, data: CostData, facts: RunFacts) -> dict[str, Any]:
    """Whether the figures are final and whole, and the notes that say what is not."""
    missing = _missing_core(client, data)
    source = SOURCE_NAMES.get(facts.cost_source, "Cost Explorer")
    notes = [*facts.notes, *_missing_notes(client, data, source), *_provisional_notes(window, data, source)]
    return {
        "estimated": _estimated(window, data),
        "complete": not missing,
        "missing": missing,
        "corrections": list(facts.corrections),
        "notes": notes,
    }


def _provisional_notes(window: ReportWindow, data: CostData, source: str) -> list[str]:
    filling = sorted(data.provisional_days & set(days_of(window.current)))
    if not filling:
        return []
    named = " and ".join(f"{day.day} {day.strftime('%B')}" for day in filling)
    return [
        f"{named} {'is' if len(filling) == 1 else 'are'} provisional: {source} was still filling "
        f"{'it' if len(filling) == 1 else 'them'} in; the next report gives the settled cost."
    ]


def _core(client: Client, data: CostData, current: Period, previous: Period) -> _Core:
    """Totals, services, accounts and credit lines of the period and its comparison."""
    by_service, by_account = _by_service_and_account(data.rows, current, previous)
    services = sorted(
        (ServiceLine(name=name, amount=amounts[0], previous_amount=amounts[1]) for name, amounts in by_service.items()),
        key=lambda line: (-line.amount, -line.previous_amount, line.name),
    )
    accounts = sorted(
        (
            AccountLine(
                account_id=account,
                name=data.account_names.get(account, account),
                amount=by_account.get(account, [ZERO, ZERO])[0],
                previous_amount=by_account.get(account, [ZERO, ZERO])[1],
            )
            for account in dict.fromkeys([*client.account_ids, *by_account])
        ),
        key=lambda line: (-line.amount, line.account_id),
    )
    credit_sums = _split(data.credit_rows, current, previous, "service")
    ordered = [t for t in CREDIT_RECORD_TYPES if t in credit_sums] + sorted(
        name for name in credit_sums if name not in CREDIT_RECORD_TYPES
    )
    credits = [
        CreditLine(record_type=name, amount=credit_sums[name][0], previous_amount=credit_sums[name][1])
        for name in ordered
    ]
    total = sum((line.amount for line in services), ZERO)
    previous_total = sum((line.previous_amount for line in services), ZERO)
    if client.include_credits:
        total += sum((line.amount for line in credits), ZERO)
        previous_total += sum((line.previous_amount for line in credits), ZERO)
    return _Core(services, accounts, credits, total, previous_total, sorted(by_account))


def _missing_core(client: Client, data: CostData) -> list[str]:
    """What the core figures lack, in words; empty when they are complete."""
    sections = ["core", "credits"] if client.include_credits else ["core"]
    return [
        f"{SECTION_NAMES[section]}: {data.missing[section]} period(s) not read"
        for section in sections
        if section in data.missing
    ]


def _missing_notes(client: Client, data: CostData, source: str) -> list[str]:
    """One note per section left incomplete (the core's are the report's `missing`)."""
    core = ("core", "credits") if client.include_credits else ("core",)
    return [
        f"Not in this report: {SECTION_NAMES[section]} ({count} period(s) not read from {source})."
        for section, count in data.missing.items()
        if section not in core and section in SECTION_NAMES
    ]


def _month_to_date_and_forecast(
    client: Client, window: ReportWindow, data: CostData, anomalies: list[Anomaly], facts: RunFacts
) -> tuple[Decimal | None, Decimal | None, str | None]:
    """Month to date and the month-end forecast: None when a day they depend on was not read."""
    if window.month_to_date is None and not window.month_in_progress:
        return None, None, None
    basis = days_of(window.forecast_basis)
    if any(day not in data.daily for day in basis):
        return None, None, None
    month_days = [net_point(data, day, client.include_credits) for day in basis]
    month_to_date = sum((point.amount for point in month_days), ZERO) if window.month_to_date is not None else None
    if not window.month_in_progress:
        return month_to_date, None, None
    if facts.ce_forecast_remaining is not None:
        to_date = sum((point.amount for point in month_days), ZERO)
        remaining = (window.month_end - window.forecast_basis.end).days
        method = f"Month to date plus Cost Explorer's forecast (GetCostForecast) for the {remaining} remaining days."
        return month_to_date, (to_date + facts.ce_forecast_remaining).quantize(CENT), method
    # The run rate may reach back into last month: every day read up to the basis's end.
    history = [net_point(data, day, client.include_credits) for day in sorted(data.daily) if day <= basis[-1]]
    forecast = month_end_forecast(
        month_days,
        window.month_end,
        history=history,
        anomalies={a.date for a in anomalies},
        provisional=data.provisional_days,
    )
    return (month_to_date, forecast.amount, forecast.method) if forecast else (month_to_date, None, None)


def _breakdown(client: Client, data: CostData, current: Period, previous: Period) -> Breakdown | None:
    if client.breakdown is None or "breakdown" in data.missing:
        return None
    sums = _split(data.breakdown_rows, current, previous, "service")
    lines = sorted(
        (BreakdownLine(value=value, amount=amounts[0], previous_amount=amounts[1]) for value, amounts in sums.items()),
        key=lambda line: (-line.amount, line.value),
    )
    return Breakdown(type=client.breakdown.type, key=client.breakdown.key, lines=lines)


def _trend(window: ReportWindow, data: CostData, include_credits: bool) -> list[MonthPoint]:
    """The monthly trend, oldest first; none at all when a month of it was not read."""
    if not window.trend_months or any(month not in data.monthly for month in window.trend_months):
        return []
    return [
        MonthPoint(
            month=month,
            amount=data.monthly[month].gross + (data.monthly[month].credits if include_credits else ZERO),
            estimated=month in data.estimated_months,
        )
        for month in window.trend_months
    ]


def _estimated(window: ReportWindow, data: CostData) -> bool:
    """True while any day of the period is still an estimate, or was not read."""
    current = window.current
    if window.trend_months:
        return current.start in data.estimated_months or "core" in data.missing
    return any(day in data.estimated_days or day not in data.daily for day in days_of(current))


def _coverage(client: Client, window: ReportWindow, data: CostData, facts: RunFacts, seen: list[str]) -> Coverage:
    chart = window.chart_period
    return Coverage(
        accounts_expected=list(client.account_ids),
        accounts_seen=seen,
        days_expected=chart.days,
        days_with_data=sum(1 for day in days_of(chart) if day in data.daily),
        ce_requests=facts.ce_requests,
        ce_cost_usd=requests_cost_usd(facts.ce_requests),
        cache_hits=facts.cache_hits,
        key_age_days=facts.key_age_days,
    )
