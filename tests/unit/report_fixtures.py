"""Reports for the presentation tests: one per schedule and kind, with every optional section.

The figures (services, accounts, daily points, totals, change, movers, month to date) come from
lambdas.logic.report.build_report over fixed generated cost rows, so they are what production
computes from those rows. The fixture chooses the periods (its daily report compares with the day
before; production's with the same weekday a week earlier) and sets the sections that are data
rather than arithmetic: forecast, breakdown, credits, anomaly, trend, restatement, coverage, link.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lambdas.logic.cost_data import CostData, CostRow
from lambdas.logic.periods import ReportWindow
from lambdas.logic.report import RunFacts, build_report
from lambdas.models.report import (
    Anomaly,
    Breakdown,
    BreakdownLine,
    Coverage,
    CreditLine,
    MonthPoint,
    Period,
    Report,
    ReportKind,
    Restatement,
    ServiceLine,
)
from tests.unit.factories import make_client

CENT = Decimal("0.01")
EC2 = "Amazon Elastic Compute Cloud - Compute"
# name -> daily base cost (USD)
SERVICES: dict[str, str] = {
    EC2: "612.40",
    "Amazon Relational Database Service": "241.10",
    "Amazon Simple Storage Service": "151.35",
    "AWS Support (Business)": "140.00",
    "EC2 - Other": "133.80",
    "Amazon CloudFront": "88.20",
    "Amazon DynamoDB": "79.95",
    "AWS Lambda": "44.10",
    "Amazon CloudWatch": "29.70",
    "AWS Key Management Service": "6.45",
}
# account -> (name, share of every service)
ACCOUNTS: dict[str, tuple[str, str]] = {
    "111111111111": ("acme-prod", "0.62"),
    "222222222222": ("acme-staging", "0.23"),
    "333333333333": ("acme-data", "0.15"),
}
MISSING_ACCOUNT = "444444444444"  # expected by the client, no cost seen: the coverage footer says so
SPIKE_DAY = date(2026, 11, 14)
ARCHIVE_URL = (
    "https://cost-reporting-assets.s3.amazonaws.com/reports/acme/RUN/report.html"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604800&X-Amz-Signature=0123abcd"
)

HOSTILE_HTML = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HOSTILE_LONG = "x" * 300  # no space to break at
HOSTILE_RTL = "חשבון ייצור ‏الإنتاج"  # Hebrew and Arabic
HOSTILE_EMOJI = "🔥💸 cost-center 👩🏽‍💻🏳️‍🌈"


def _amount(base: str, day: date, index: int) -> Decimal:
    weekend = Decimal("0.78") if day.weekday() >= 5 else Decimal("1")
    wobble = Decimal(1) + Decimal((day.toordinal() * 7 + index * 3) % 5 - 2) / 60
    value = Decimal(base) * weekend * wobble
    if day == SPIKE_DAY and index == 0:
        value += Decimal("2950.00")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cost_rows(start: date, end: date) -> list[CostRow]:
    rows = []
    day = start
    while day <= end:
        for index, (service, base) in enumerate(SERVICES.items()):
            amount = _amount(base, day, index)
            left = amount
            accounts = list(ACCOUNTS.items())
            for number, (account, (_name, share)) in enumerate(accounts):
                part = left if number == len(accounts) - 1 else (amount * Decimal(share)).quantize(CENT)
                left -= part
                rows.append(CostRow(day=day, service=service, account_id=account, amount=part))
        day += timedelta(days=1)
    return rows


def build(
    *,
    schedule: str,
    as_of: date,
    period: Period,
    previous: Period,
    chart: Period,
    estimated_from: date | None,
    kind: ReportKind = "scheduled",
    month_to_date: Period | None = None,
    **overrides: Any,
) -> tuple[Report, list[CostRow]]:
    """A report built from generated cost rows, with the fixed sections added."""
    spans = [period, previous, chart] + ([month_to_date] if month_to_date else [])
    rows = cost_rows(min(span.start for span in spans), max(span.end for span in spans))
    days = {row.day for row in rows}
    client = make_client(
        client_id="acme", name="Acme Retail", account_ids=list(ACCOUNTS), schedule=schedule, budget="45000.00"
    )
    data = CostData.from_rows(
        rows,
        estimated_days={day for day in days if estimated_from is not None and day >= estimated_from},
        account_names={account: name for account, (name, _share) in ACCOUNTS.items()},
        unit="USD",
    )
    # No forecast from the builder: the fixtures set one of their own (daily_report, weekly_report).
    window = ReportWindow(
        current=period, previous=previous, month_in_progress=False, chart=chart, month_to_date=month_to_date
    )
    run_id = f"{as_of.isoformat()}.{'month-close' if kind == 'final' else schedule}"
    report = build_report(
        client,
        window,
        data,
        RunFacts(
            run_id=run_id,
            as_of=as_of,
            generated_at=datetime.combine(as_of, datetime.min.time(), tzinfo=UTC) + timedelta(hours=6),
            ce_requests=2,
            kind=kind,
        ),
    )
    total, previous_total = report.total, report.previous_total
    fields: dict[str, Any] = {
        "breakdown": Breakdown(
            type="tag",
            key="team",
            lines=[
                BreakdownLine(value="platform", amount=total * Decimal("0.55"), previous_amount=previous_total / 2),
                BreakdownLine(value="data", amount=total * Decimal("0.30"), previous_amount=previous_total * 3 / 10),
                BreakdownLine(value="", amount=total * Decimal("0.15"), previous_amount=previous_total / 5),
            ],
        ),
        # Fixed lines, declared included: the totals are read as net of them (rendering never recomputes them).
        "credits": [
            CreditLine(record_type="Credit", amount=Decimal("-120.00"), previous_amount=Decimal("-100.00")),
            CreditLine(record_type="Refund", amount=Decimal("-35.50"), previous_amount=Decimal("0")),
        ],
        "credits_included": True,
        "coverage": Coverage(
            accounts_expected=[*ACCOUNTS, MISSING_ACCOUNT],
            accounts_seen=list(ACCOUNTS),
            days_expected=chart.days,
            days_with_data=chart.days,
            ce_requests=2,
            ce_cost_usd=Decimal("0.02"),
            cache_hits=1,
            key_age_days=None,
        ),
        "archive_url": ARCHIVE_URL.replace("RUN", run_id),
        "anomalies": [],
    }
    spike = next((point for point in report.daily if point.date == SPIKE_DAY), None)
    if spike is not None:
        fields["anomalies"] = [
            Anomaly(
                date=SPIKE_DAY,
                amount=spike.amount,
                expected_low=Decimal("1120.00"),
                expected_high=Decimal("1560.00"),
                rule="More than 3 standard deviations above the mean of the 14 days before",
                service=EC2,
            )
        ]
    fields.update(overrides)
    return report.model_copy(update=fields), rows


def _forecast(month_to_date: Decimal) -> dict[str, Any]:
    """A fixed forecast: 26 days of November so far, 4 more at their average."""
    return {
        "forecast": (month_to_date + month_to_date / 26 * 4).quantize(CENT),
        "forecast_method": "Month to date plus the average of the last 7 days for the 4 remaining days.",
    }


def daily_report(**overrides: Any) -> tuple[Report, list[CostRow]]:
    """Yesterday against the day before, with the month so far, a forecast and a budget."""
    report, rows = build(
        schedule="daily",
        as_of=date(2026, 11, 27),
        period=Period(start=date(2026, 11, 26), end=date(2026, 11, 26)),
        previous=Period(start=date(2026, 11, 25), end=date(2026, 11, 25)),
        chart=Period(start=date(2026, 11, 1), end=date(2026, 11, 26)),
        estimated_from=date(2026, 11, 25),
        month_to_date=Period(start=date(2026, 11, 1), end=date(2026, 11, 26)),
    )
    assert report.month_to_date is not None
    return report.model_copy(update={**_forecast(report.month_to_date), **overrides}), rows


def weekly_report(**overrides: Any) -> tuple[Report, list[CostRow]]:
    """The last 7 days against the 7 before; the chart shows both weeks; no budget, no month to date."""
    report, rows = build(
        schedule="weekly",
        as_of=date(2026, 11, 27),
        period=Period(start=date(2026, 11, 20), end=date(2026, 11, 26)),
        previous=Period(start=date(2026, 11, 13), end=date(2026, 11, 19)),
        chart=Period(start=date(2026, 11, 13), end=date(2026, 11, 26)),
        estimated_from=None,
        month_to_date=Period(start=date(2026, 11, 1), end=date(2026, 11, 26)),  # the forecast's basis only
        budget=None,
        credits_included=False,
    )
    assert report.month_to_date is not None
    fields = {**_forecast(report.month_to_date), "month_to_date": None, **overrides}
    return report.model_copy(update=fields), rows


def _trend(end_month: date, amounts: list[str], estimated_last: bool) -> list[MonthPoint]:
    months: list[date] = []
    month = end_month
    for _ in amounts:
        months.insert(0, month)
        month = (month - timedelta(days=1)).replace(day=1)
    return [
        MonthPoint(month=m, amount=Decimal(a), estimated=estimated_last and index == len(amounts) - 1)
        for index, (m, a) in enumerate(zip(months, amounts, strict=True))
    ]


def monthly_report(**overrides: Any) -> tuple[Report, list[CostRow]]:
    """Last month against the month before, with a 6-month trend; the month is complete."""
    report, rows = build(
        schedule="monthly",
        as_of=date(2026, 11, 1),
        period=Period(start=date(2026, 10, 1), end=date(2026, 10, 31)),
        previous=Period(start=date(2026, 9, 1), end=date(2026, 9, 30)),
        chart=Period(start=date(2026, 10, 1), end=date(2026, 10, 31)),
        estimated_from=date(2026, 10, 1),
    )
    trend = _trend(date(2026, 10, 1), ["39210.55", "40876.10", "41002.98", "42877.31", "0", "0"], True)
    trend[-2] = trend[-2].model_copy(update={"amount": report.previous_total})
    trend[-1] = trend[-1].model_copy(update={"amount": report.total})
    fields = {"monthly_trend": trend, **overrides}
    return report.model_copy(update=fields), rows


def final_report(**overrides: Any) -> tuple[Report, list[CostRow]]:
    """Month close: October's final bill, and what changed against the estimate already sent."""
    report, rows = build(
        schedule="daily",
        kind="final",
        as_of=date(2026, 11, 4),
        period=Period(start=date(2026, 10, 1), end=date(2026, 10, 31)),
        previous=Period(start=date(2026, 9, 1), end=date(2026, 9, 30)),
        chart=Period(start=date(2026, 10, 1), end=date(2026, 10, 31)),
        estimated_from=None,
    )
    ec2 = next(line for line in report.by_service if line.name == EC2)
    support = next(line for line in report.by_service if line.name == "AWS Support (Business)")
    changed = [
        ServiceLine(name=EC2, amount=ec2.amount, previous_amount=ec2.amount - Decimal("214.37")),
        ServiceLine(name=support.name, amount=support.amount, previous_amount=support.amount - Decimal("62.20")),
    ]
    sent = report.total - Decimal("276.57")
    restatement = Restatement(
        sent_run_id="2026-11-01.daily",
        sent_total=sent,
        final_total=report.total,
        change_amount=report.total - sent,
        services=changed,
    )
    fields = {"restatement": restatement, "estimated": False, **overrides}
    return report.model_copy(update=fields), rows


SCHEDULES = {
    "daily": daily_report,
    "weekly": weekly_report,
    "monthly": monthly_report,
    "final": final_report,
}

BARE: dict[str, Any] = {
    "movers_up": [],
    "movers_down": [],
    "breakdown": None,
    "credits": [],
    "anomalies": [],
    "monthly_trend": [],
    "restatement": None,
    "notes": [],
    "coverage": None,
    "archive_url": None,
    "budget": None,
    "forecast": None,
    "forecast_method": None,
    "month_to_date": None,
}


def bare(report: Report) -> Report:
    """The same report with every optional section absent."""
    return report.model_copy(update=BARE)


def hostile(report: Report) -> Report:
    """Every name a recipient sees replaced by something that tries to break the email."""
    names = [HOSTILE_HTML, HOSTILE_LONG, HOSTILE_RTL, HOSTILE_EMOJI]

    def rename(lines: list[Any], attribute: str) -> list[Any]:
        return [
            line.model_copy(update={attribute: names[index % len(names)] + f" {index}"})
            for index, line in enumerate(lines)
        ]

    update: dict[str, Any] = {
        "client_name": (HOSTILE_RTL + " " + HOSTILE_EMOJI + " " + HOSTILE_HTML)[:120],
        "by_service": rename(report.by_service, "name"),
        "movers_up": rename(report.movers_up, "name"),
        "movers_down": rename(report.movers_down, "name"),
        "by_account": rename(report.by_account, "name"),
        "notes": [*report.notes, HOSTILE_HTML + " " + HOSTILE_LONG],
        "anomalies": [a.model_copy(update={"service": HOSTILE_LONG, "rule": HOSTILE_HTML}) for a in report.anomalies],
    }
    if report.breakdown is not None:
        update["breakdown"] = report.breakdown.model_copy(
            update={"key": HOSTILE_HTML, "lines": rename(report.breakdown.lines, "value")}
        )
    if report.restatement is not None:
        update["restatement"] = report.restatement.model_copy(
            update={"services": rename(report.restatement.services, "name")}
        )
    return report.model_copy(update=update)
