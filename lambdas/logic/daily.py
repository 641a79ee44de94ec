"""The report's days: the chart's points, the anomalies among its settled days, a day's net amount.
Pure; lambdas/logic/report.py builds the daily and month-to-date sections from them, and the cost
readers ask for the services of the anomalies' days (`anomaly_days`)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from lambdas.logic.anomalies import detect
from lambdas.logic.cost_data import CostData
from lambdas.logic.periods import ReportWindow
from lambdas.models.report import Anomaly, DailyPoint, Period

ZERO = Decimal("0")


def days_of(period: Period) -> list[date]:
    return [period.start + timedelta(days=offset) for offset in range(period.days)]


def chart_points(window: ReportWindow, data: CostData) -> list[DailyPoint]:
    """The chart's days before credits; none at all when any day of it was not read."""
    chart = days_of(window.chart_period)
    if any(day not in data.daily for day in chart):
        return []
    return [
        DailyPoint(
            date=day,
            amount=data.daily[day].gross,
            estimated=day in data.estimated_days,
            provisional=day in data.provisional_days,
        )
        for day in chart
    ]


def chart_anomalies(window: ReportWindow, data: CostData) -> list[Anomaly]:
    """Anomalies among the chart's days that were read and have settled: a day Cost Explorer is
    still filling in is low by nature, never an anomaly."""
    series = {day: totals.gross for day, totals in sorted(data.daily.items())}
    judged = [day for day in days_of(window.chart_period) if day not in data.provisional_days]
    return detect(series, judged, data.service_by_day)


def anomaly_days(window: ReportWindow, data: CostData) -> list[date]:
    """The days an anomaly fires on (the run asks for their services, to name what moved)."""
    return [anomaly.date for anomaly in chart_anomalies(window, data)]


def net_point(data: CostData, day: date, include_credits: bool) -> DailyPoint:
    totals = data.daily[day]
    amount = totals.gross + (totals.credits if include_credits else ZERO)
    return DailyPoint(date=day, amount=amount, estimated=day in data.estimated_days)
