"""The plain-text alternative of the email: the same sections and figures as the HTML, in the
same order, readable in any mail client. One function per part of the email."""

from __future__ import annotations

from lambdas.logic.render.view import email_view
from lambdas.logic.render.view_model import EmailView
from lambdas.models.report import Report


def render_text(report: Report, view: EmailView | None = None) -> str:
    """The plain-text alternative: the same sections and figures, readable in any mail client."""
    v = view or email_view(report)
    out: list[str] = [v.client_name, f"{v.eyebrow}: {v.period} · {v.metric_label} · {v.currency}", ""]
    parts = (_headline, _restatement, _forecast_and_budget, _anomalies, _movers, _chart, _trend, _tables, _credits)
    for part in (*parts, _resources, _commitments):
        out += part(v)
    out += _section("About this report")
    out += v.coverage
    if v.archive:
        out.append(f"Archived report: {v.archive.url}")
        if v.archive.expiry:
            out.append(v.archive.expiry)
    out.append(v.footer)
    return "\n".join(out) + "\n"


def _section(title: str) -> list[str]:
    return ["", title.upper(), "=" * min(len(title), 60)]


def _headline(v: EmailView) -> list[str]:
    h = v.headline
    out = [v.partial, ""] if v.partial else []
    out.append(f"{h.title}: {h.total}")
    out.append(f"  {h.change} {h.comparison}")
    if h.drivers:
        out.append(f"  {h.drivers}")
    for figure in h.extra:
        out.append(
            f"{figure.label} ({figure.note}): {figure.amount}" if figure.note else f"{figure.label}: {figure.amount}"
        )
    if v.estimate_note:
        out += ["", f"Note: {v.estimate_note}"]
    out += [f"Note: {note}" for note in v.notes]
    return out


def _restatement(v: EmailView) -> list[str]:
    if not v.restatement:
        return []
    r = v.restatement
    out = [*_section("What changed since the estimate"), r.summary]
    out += [f"- {row.name}: estimated {row.previous}, final {row.amount} ({row.change})" for row in r.services]
    return out


def _forecast_and_budget(v: EmailView) -> list[str]:
    out: list[str] = []
    if v.forecast or v.budget:
        out += _section("Forecast and budget" if v.forecast else "Budget")
    if v.forecast:
        out.append(f"Forecast for {v.forecast.month}: {v.forecast.amount}. Method: {v.forecast.method}")
    if v.budget:
        out.append(f"Monthly budget: {v.budget.amount}")
        out += [line for line in (v.budget.exceeded, v.budget.caption) if line]
    elif v.forecast:
        out.append(v.budget_note)
    return out


def _anomalies(v: EmailView) -> list[str]:
    if not v.anomalies:
        return []
    out = _section("Anomalies")
    for a in v.anomalies:
        earlier = "(reported before) " if a.earlier else ""
        out.append(f"- {earlier}{a.day}: {a.amount}, expected {a.expected}. Rule: {a.rule}")
        if a.service:
            out.append(f"  Biggest change that day: {a.service}")
    return out


def _movers(v: EmailView) -> list[str]:
    if not (v.movers_up or v.movers_down):
        return []
    out = _section("Biggest changes")
    out += [f"- Up: {m.name} {m.change} ({m.change_percent}), now {m.amount}" for m in v.movers_up]
    out += [f"- Down: {m.name} {m.change} ({m.change_percent}), now {m.amount}" for m in v.movers_down]
    return out


def _chart(v: EmailView) -> list[str]:
    if not v.chart:
        return []
    return [*_section(v.chart.title), v.chart.summary, *v.chart.points]


def _trend(v: EmailView) -> list[str]:
    if not v.trend:
        return []
    out = _section("Last months")
    for t in v.trend:
        extra = f" ({t.note})" if t.note else ""
        change = f", {t.change_percent}" if t.change_percent else ""
        out.append(f"- {t.month}: {t.amount}{change}{extra}")
    return out


def _tables(v: EmailView) -> list[str]:
    tables = [(v.services_title, v.services), (v.accounts_title, v.accounts)]
    if v.breakdown:
        tables.append((v.breakdown.title, v.breakdown.rows))
    out: list[str] = []
    for title, rows in tables:
        out += _section(f"{title} ({v.period_column} vs {v.previous_column})")
        for row in rows:
            name = f"{row.name} ({row.detail})" if row.detail else row.name
            percent = f", {row.change_percent}" if row.change_percent else ""
            out.append(f"- {name}: {row.amount} (was {row.previous}, {row.change}{percent})")
    return out


def _credits(v: EmailView) -> list[str]:
    if not v.credits:
        return []
    out = _section("Credits and refunds")
    out += [f"- {row.name}: {row.amount} (was {row.previous})" for row in v.credits.rows]
    out.append(v.credits.note)
    return out


def _resources(v: EmailView) -> list[str]:
    if not v.resources:
        return []
    out = _section(f"Top resources ({v.period_column})")
    for row in v.resources.rows:
        share = f", {row.share} of the period" if row.share else ""
        mover = f"; biggest change: {row.mover}" if row.mover else ""
        out.append(f"- {row.name} ({row.detail}): {row.amount}{share}{mover}")
    out.append(v.resources.note)
    return out


def _commitments(v: EmailView) -> list[str]:
    if not v.commitments:
        return []
    out = _section("Savings Plans and Reserved Instances")
    out += [
        f"- {row.name}: used {row.used}, unused {row.unused}; utilisation {row.utilisation}, coverage {row.coverage}"
        for row in v.commitments.rows
    ]
    out.append(v.commitments.note)
    return out
