"""The email's view model: what the recipient reads, as plain strings and small records, built
once by view.py and shown by every renderer (HTML, text, chat summaries)."""

from __future__ import annotations

from dataclasses import dataclass

CHART_HEIGHT_PX = 110


@dataclass(frozen=True)
class Figure:
    label: str
    amount: str
    note: str = ""


@dataclass(frozen=True)
class Headline:
    title: str  # "Yesterday, Thu 26 November 2026"
    phrase: str  # "yesterday": how the subject line says it
    total: str
    change: str  # "+$56.00 (+3.1%)"
    change_percent: str
    tone: str
    comparison: str  # "vs $1,809.12 on Wed 25 November 2026"
    drivers: str  # "Most of the increase: Amazon EC2 +$810.34, Amazon RDS +$681.54." or ""
    extra: tuple[Figure, ...]


@dataclass(frozen=True)
class BudgetView:
    amount: str
    basis: str  # "Forecast" | "Spend" | "Month to date"
    percent: int
    fill: int  # width of the bar, 0..100
    over: bool  # the basis or the spend so far is over the budget
    status: str  # "$10,840.70 over" | "$3,120.00 left"
    # What the month has already spent, once that alone is over the budget, else "":
    exceeded: str  # "Already over budget: month to date is $3,257.79 over the $45,000.00 budget (107%)."
    caption: str  # "Forecast is 124% of the budget: $10,840.70 over."; "" when `exceeded` says it already
    alert: str  # how the subject says it: "over budget: month to date 107%", "forecast 124% of budget" or ""


@dataclass(frozen=True)
class ForecastView:
    month: str
    amount: str
    method: str


@dataclass(frozen=True)
class Row:
    """One line of a table of amounts: a service, an account, a tag value."""

    name: str
    detail: str
    amount: str
    previous: str
    change: str
    change_percent: str
    tone: str
    share: int  # bar width, 0..100, against the largest line


@dataclass(frozen=True)
class Mover:
    name: str
    change: str
    change_percent: str
    amount: str
    previous: str


@dataclass(frozen=True)
class Bar:
    label: str
    title: str
    height: int
    style: str  # weekday | weekend | estimated | anomaly | credit


@dataclass(frozen=True)
class Band:
    """A run of consecutive bars under one label (the reported period, the one compared)."""

    days: int
    label: str
    style: str  # current | previous | "" (unlabelled)


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    bands: tuple[Band, ...]
    legend: tuple[tuple[str, str], ...]  # (style, label) of the styles shown
    peak: str
    summary: str
    points: tuple[str, ...]  # one line per day, for the plain text: "Sat 14 Nov: $4,147.46 (anomaly)"
    height: int = CHART_HEIGHT_PX


@dataclass(frozen=True)
class TrendRow:
    month: str
    amount: str
    change_percent: str
    tone: str
    share: int
    note: str  # "estimated", "to date"


@dataclass(frozen=True)
class AnomalyView:
    day: str
    amount: str
    expected: str
    rule: str
    service: str | None
    # Before the report's period: an earlier report of this client already showed it (a daily
    # report looks back over the month, so a spike would otherwise lead every email after it).
    earlier: bool = False


@dataclass(frozen=True)
class CreditsView:
    rows: tuple[Row, ...]
    total: str
    included: bool
    note: str


@dataclass(frozen=True)
class RestatementView:
    sent_total: str
    final_total: str
    change: str
    tone: str
    summary: str
    services: tuple[Row, ...]


@dataclass(frozen=True)
class BreakdownView:
    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class ResourceRow:
    """One of the resources that cost most (a Data Export's ResourceId)."""

    name: str  # the resource id, whole: the reader searches for it
    detail: str  # "Amazon EC2 · acme-prod (111111111111)"
    amount: str
    share: str  # of the period's cost, "12.3%"; "" when not known
    bar: int  # width against the largest, 0..100
    mover: str  # "Amazon EC2 +$810.34": its service is among the biggest movers; else ""
    tone: str  # up | down | flat (the mover's direction)


@dataclass(frozen=True)
class ResourcesView:
    rows: tuple[ResourceRow, ...]
    note: str


@dataclass(frozen=True)
class CommitmentRow:
    name: str  # "Savings Plans", "Reserved Instances"
    used: str
    unused: str
    utilisation: str  # "92.4%", "—" when not known
    coverage: str  # "66.7%", "—" when not known


@dataclass(frozen=True)
class CommitmentsView:
    rows: tuple[CommitmentRow, ...]
    note: str


@dataclass(frozen=True)
class ArchiveLink:
    url: str
    expiry: str  # "The link expires 7 days after this email was sent." or ""


@dataclass(frozen=True)
class EmailView:
    subject: str
    partial: str  # "" for a complete report; else what it leaves out, said first
    preheader: str
    eyebrow: str
    client_name: str
    period: str
    metric_label: str
    currency: str
    headline: Headline
    forecast: ForecastView | None
    budget: BudgetView | None
    budget_note: str
    estimate_note: str | None
    notes: tuple[str, ...]
    restatement: RestatementView | None
    anomalies: tuple[AnomalyView, ...]
    movers_up: tuple[Mover, ...]
    movers_down: tuple[Mover, ...]
    chart: Chart | None
    trend: tuple[TrendRow, ...]
    services_title: str  # "Top services", "Top services before credits and refunds"
    services: tuple[Row, ...]
    accounts_title: str
    accounts: tuple[Row, ...]
    breakdown: BreakdownView | None
    credits: CreditsView | None
    coverage: tuple[str, ...]
    archive: ArchiveLink | None
    footer: str
    period_column: str
    previous_column: str
    # Only from a Data Export (lambdas/logic/export_sections.py); None from Cost Explorer.
    resources: ResourcesView | None = None
    commitments: CommitmentsView | None = None
    source: str = "AWS Cost Explorer"  # "AWS Data Export (FOCUS 1.2)"
