"""The plain-text alternative of the email: the same sections and figures as the HTML."""

from __future__ import annotations

from lambdas.logic.render.view import email_view
from lambdas.logic.render.view_model import EmailView
from lambdas.models.report import Report


def render_text(report: Report, view: EmailView | None = None) -> str:
    """The plain-text alternative: the same sections and figures, readable in any mail client."""
    v = view or email_view(report)
    out: list[str] = [v.client_name, f"{v.eyebrow}: {v.period} · {v.metric_label} · {v.currency}", ""]

    def section(title: str) -> None:
        out.extend(["", title.upper(), "=" * min(len(title), 60)])

    h = v.headline
    if v.partial:
        out += [v.partial, ""]
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
    for note in v.notes:
        out.append(f"Note: {note}")
    if v.restatement:
        r = v.restatement
        section("What changed since the estimate")
        out.append(r.summary)
        out += [f"- {row.name}: estimated {row.previous}, final {row.amount} ({row.change})" for row in r.services]
    if v.forecast or v.budget:
        section("Forecast and budget" if v.forecast else "Budget")
    if v.forecast:
        out.append(f"Forecast for {v.forecast.month}: {v.forecast.amount}. Method: {v.forecast.method}")
    if v.budget:
        out.append(f"Monthly budget: {v.budget.amount}")
        out += [line for line in (v.budget.exceeded, v.budget.caption) if line]
    elif v.forecast:
        out.append(v.budget_note)
    if v.anomalies:
        section("Anomalies")
        for a in v.anomalies:
            earlier = "(reported before) " if a.earlier else ""
            out.append(f"- {earlier}{a.day}: {a.amount}, expected {a.expected}. Rule: {a.rule}")
            if a.service:
                out.append(f"  Biggest change that day: {a.service}")
    if v.movers_up or v.movers_down:
        section("Biggest changes")
        out += [f"- Up: {m.name} {m.change} ({m.change_percent}), now {m.amount}" for m in v.movers_up]
        out += [f"- Down: {m.name} {m.change} ({m.change_percent}), now {m.amount}" for m in v.movers_down]
    if v.chart:
        section(v.chart.title)
        out.append(v.chart.summary)
        out += v.chart.points
    if v.trend:
        section("Last months")
        for t in v.trend:
            extra = f" ({t.note})" if t.note else ""
            change = f", {t.change_percent}" if t.change_percent else ""
            out.append(f"- {t.month}: {t.amount}{change}{extra}")
    tables = [(v.services_title, v.services), (v.accounts_title, v.accounts)]
    if v.breakdown:
        tables.append((v.breakdown.title, v.breakdown.rows))
    for title, rows in tables:
        section(f"{title} ({v.period_column} vs {v.previous_column})")
        for row in rows:
            name = f"{row.name} ({row.detail})" if row.detail else row.name
            percent = f", {row.change_percent}" if row.change_percent else ""
            out.append(f"- {name}: {row.amount} (was {row.previous}, {row.change}{percent})")
    if v.credits:
        section("Credits and refunds")
        out += [f"- {row.name}: {row.amount} (was {row.previous})" for row in v.credits.rows]
        out.append(v.credits.note)
    section("About this report")
    out += v.coverage
    if v.archive:
        out.append(f"Archived report: {v.archive.url}")
        if v.archive.expiry:
            out.append(v.archive.expiry)
    out.append(v.footer)
    return "\n".join(out) + "\n"
