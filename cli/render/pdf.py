"""PDFs of the operations CLI with fpdf2: the monthly operations review and client billing
statements. Charts are drawn with fpdf2's own primitives (rectangles and lines): no plotting
library, nothing rasterised, text stays text (searchable, extractable).

Fonts: DejaVu Sans (or Liberation Sans) when the system has it, so client names in any script
print; otherwise fpdf2's built-in Helvetica, which covers Latin-1 only (other characters print
as "?", and the statement says so nowhere else: install fonts-dejavu-core to avoid it).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fpdf.enums import XPos, YPos

from cli.render.pdf_document import ACCENT, BAD, GOOD, MUTED, NEUTRAL, Document, percent, seconds, usd
from cli.reviews.periods import Window

# -- the monthly operations review ----------------------------------------------------------------


def monthly_review_pdf(sections: dict[str, Any], environment: str, window: Window, at: datetime) -> bytes:
    pdf = Document(
        f"Operations review, {window.label}",
        f"cost-reporting {environment} · generated {at:%Y-%m-%d %H:%M} UTC · python cli/main.py ops monthly-report",
    )
    _operations_page(pdf, sections["operations"], environment, window, at)
    _capacity_page(pdf, sections["capacity"])
    _security_and_costs_page(pdf, sections["security"], sections["costs"])
    return bytes(pdf.output())


def _titled_page(pdf: Document, title: str, about: str, *, size: float = 18, height: float = 10) -> None:
    """A new page, its title in bold, and under it, muted, what the page is about."""
    pdf.add_page()
    pdf.set_font(pdf.family, "B", size)
    pdf.cell(0, height, pdf.safe(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.paragraph(about, color=MUTED)


def _operations_page(pdf: Document, operations: dict[str, Any], environment: str, window: Window, at: datetime) -> None:
    """The KPI tiles, runs per day, executions and errors by kind."""
    _titled_page(
        pdf,
        f"Operations review: {window.label}",
        f"Environment {environment}. Period {window.start:%-d %B} to {window.as_dict()['end']:%-d %B %Y} (UTC)"
        + (f", in progress: figures up to {at:%-d %B %H:%M}" if at < window.end_at else "")
        + ". Figures from the platform's execution records; targets from the users' runbook.",
    )
    pdf.ln(2)
    kpis = {kpi["name"]: kpi for kpi in operations["kpis"]}
    ce = operations["cost_explorer"]
    success, average, delivery = kpis["success rate"], kpis["average execution time"], kpis["email delivery rate"]
    pdf.tiles(
        [
            ("Success rate", percent(success["value"]), "target ≥ 99.5%", success["met"]),
            ("Average execution", seconds(average["value"]), "target < 5 min", average["met"]),
            ("Email delivery", percent(delivery["value"]), "target ≥ 98%", delivery["met"]),
            ("Cost Explorer", usd(ce["cost_usd"]), f"{ce['requests']} requests", None),
        ]
    )
    daily = operations["daily"]
    pdf.bar_chart(
        [str(d["date"])[8:10].lstrip("0") for d in daily],
        [[d["succeeded"], d["failed"], d["skipped"]] for d in daily],
        [GOOD, BAD, NEUTRAL],
        ["succeeded", "failed", "skipped"],
        title="Runs per day",
        label_every=1 if len(daily) <= 16 else 2,
    )
    executions, email, duration = operations["executions"], operations["email"], operations["duration"]
    pdf.heading("Executions", 11)
    pdf.table(
        ["figure", "value", "figure", "value"],
        [
            ["runs", executions["total"], "duration p50", seconds(duration["p50_ms"])],
            ["succeeded", executions["succeeded"], "duration p95", seconds(duration["p95_ms"])],
            ["failed", executions["failed"], "duration p99", seconds(duration["p99_ms"])],
            ["skipped", executions["skipped"], "longest run", seconds(duration["max_ms"])],
            ["retried", executions["retried"], "runs of 5 min or more", duration["runs_over_target"]],
            ["clients", executions["clients"], "emails sent", email["sent"]],
            ["recipients", email["recipients"], "bounced recipients", email["bounced_recipients"]],
            ["suppressed (not sent)", email["suppressed_recipients"], "rejected by SES", email["rejected_by_ses"]],
            ["CE requests", ce["requests"], "cache hit rate", percent(ce["cache_hit_rate"])],
        ],
        [45, 45, 45, 45],
        "LRLR",
    )
    errors = operations["errors_by_kind"]
    pdf.heading("Errors by kind", 11)
    if errors:
        pdf.table(["kind", "failed runs"], [[kind, count] for kind, count in errors.items()], [90, 30], "LR")
    else:
        pdf.paragraph("No failed run in the period.")


def _capacity_page(pdf: Document, capacity: dict[str, Any]) -> None:
    """Capacity checks, growth per month with its projection, what to change."""
    pdf.add_page()
    pdf.heading("Capacity")
    pdf.paragraph(
        "Thresholds (runbook): memory above 80% of the function's, an invocation above 80% of its timeout, "
        "any throttling. " + capacity["projection"]["note"] + ".",
        color=MUTED,
    )
    pdf.table(
        ["check", "status", "used", "limit", "how measured"],
        [[c["check"], c["status"], _plain(c["used"]), _plain(c["limit"]), c["detail"]] for c in capacity["checks"]],
        [32, 20, 22, 22, 84],
        "LLRRL",
    )
    growth = capacity["growth"]
    for key in ("clients", "executions"):
        series = growth[key]
        history = series["history"]
        projection = series["projection"]
        pdf.bar_chart(
            [p["month"][2:] for p in history + projection],
            [[float(p["value"]), 0.0] for p in history] + [[0.0, float(p["value"])] for p in projection],
            [ACCENT, NEUTRAL],
            ["recorded", "projected (least squares)"],
            height=32,
            title=f"{key.capitalize()} per month, {capacity['forecast_months']} months projected",
        )
    projection = capacity["projection"]
    pdf.table(
        ["projection at", "clients", "runs a day", "mean run", "daily burst drains in"],
        [
            [
                _plain(projection["horizon"]),
                _plain(projection["clients"]),
                _plain(projection["runs_per_day"]),
                seconds(projection["mean_run_ms"]),
                seconds(projection["daily_burst_drain_ms"]),
            ]
        ],
        [36, 30, 30, 30, 54],
        "LRRRR",
    )
    pdf.heading("What to change", 11)
    for line in capacity["recommendations"]:
        pdf.paragraph(f"• {line}")


def _security_and_costs_page(pdf: Document, security: dict[str, Any], costs: dict[str, Any]) -> None:
    """The comprehensive security audit's findings, the platform's running cost and its savings."""
    pdf.add_page()
    pdf.heading("Security audit (comprehensive, 30 days)")
    summary = security["summary"]
    pdf.paragraph(" · ".join(f"{level} {count}" for level, count in summary.items()))
    findings = security["findings"]
    pdf.table(
        ["severity", "area", "resource", "finding"],
        [[f["severity"], f["area"], f["resource"], f["finding"]] for f in findings[:18]],
        [20, 22, 50, 88],
        "LLLL",
        size=7.5,
    )
    if len(findings) > 18:
        pdf.paragraph(
            f"… and {len(findings) - 18} more: python cli/main.py ops security-audit --comprehensive", color=MUTED
        )
    pdf.heading("Cost of running the platform and optimisation")
    pdf.table(
        ["service", "USD"],
        [
            *([service, f"{Decimal(str(amount)):.4f}"] for service, amount in costs["by_service_usd"].items()),
            ["total", f"{Decimal(str(costs['running_cost_usd'])):.2f}"],
        ],
        [60, 30],
        "LR",
        bold_last=True,
    )
    if costs["recommendations"]:
        pdf.table(
            ["recommendation", "saving USD", "action"],
            [
                [r["title"], f"{Decimal(str(r['estimated_saving_usd'])):.4f}", r["action"]]
                for r in costs["recommendations"]
            ],
            [70, 22, 88],
            "LRL",
            size=7.5,
        )
    else:
        pdf.paragraph("No recommendation: nothing to save that the records show.")
    pricing = costs["pricing"]
    pdf.paragraph(
        f"Prices: {pricing['basis']}, {pricing['region']}, as of {pricing['as_of']} (cli/reviews/pricing.py).",
        color=MUTED,
    )


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


# -- billing statements ---------------------------------------------------------------------------


def billing_pdf(document: dict[str, Any]) -> bytes:
    """A summary page, then one page per client: its lines, its share of shared costs, its total."""
    period = document["period"]
    pdf = Document(
        f"Platform cost by client, {period['label']}",
        f"cost-reporting {document['environment']} · {period['label']} · python cli/main.py billing report",
    )
    _billing_summary_page(pdf, document)
    for client in document["clients"]:
        _billing_client_page(pdf, document, client)
    return bytes(pdf.output())


def _billing_summary_page(pdf: Document, document: dict[str, Any]) -> None:
    """Every client's total, the unit prices, what is not priced."""
    period = document["period"]
    _titled_page(
        pdf,
        f"Platform cost by client: {period['label']}",
        f"Environment {document['environment']}, {period['start']} to {period['end']} (UTC). What running the "
        "platform cost for each client, from its recorded runs, archived reports and stored items, at the unit "
        "prices below. Shared costs are allocated in proportion to runs.",
    )
    rows = [[c["client_id"], c["name"], c["runs"], f"{Decimal(str(c['total_usd'])):.2f}"] for c in document["clients"]]
    if Decimal(str(document["unallocated_usd"])):
        rows.append(["", "unallocated shared cost (no runs)", "", f"{Decimal(str(document['unallocated_usd'])):.2f}"])
    rows.append(
        ["Total", "", sum(c["runs"] for c in document["clients"]), f"{Decimal(str(document['total_usd'])):.2f}"]
    )
    pdf.table(["client", "name", "runs", "USD"], rows, [40, 90, 20, 30], "LLRR", bold_last=True)
    pdf.heading("Unit prices", 11)
    pricing = document["pricing"]
    pdf.table(
        ["service", "item", "USD", "per"],
        [
            [p["service"], p["description"], _plain(Decimal(str(p["usd"]))), f"{p['per']:,} {p['unit']}"]
            for p in pricing["unit_prices"]
        ],
        [28, 82, 30, 40],
        "LLRL",
        size=7.5,
    )
    pdf.paragraph(
        f"{pricing['basis']}; {pricing['region']}; as of {pricing['as_of']}. Not priced: "
        + "; ".join(pricing["not_priced"])
        + ".",
        size=8,
        color=MUTED,
    )
    for note in document["shared"]["notes"]:
        pdf.paragraph(f"Note: {note}.", size=8, color=MUTED)


def _billing_client_page(pdf: Document, document: dict[str, Any], client: dict[str, Any]) -> None:
    """One client's lines, its share of the shared costs, its total."""
    period = document["period"]
    _titled_page(
        pdf,
        f"{client['name']}",
        f"Client {client['client_id']} · {period['label']} · {client['runs']} run(s) · environment "
        f"{document['environment']}",
        size=15,
        height=8,
    )
    pdf.ln(2)
    lines = [
        [
            line["service"],
            line["description"],
            _plain(Decimal(str(line["quantity"]))),
            line["unit"],
            f"{Decimal(str(line['amount_usd'])):.4f}",
        ]
        for line in client["lines"]
    ]
    lines += [
        [item["service"], item["description"], "", "", f"{Decimal(str(item['amount_usd'])):.4f}"]
        for item in client["shared"]
    ]
    pdf.table(["service", "item", "quantity", "unit", "USD"], lines, [26, 74, 28, 26, 26], "LLRLR")
    pdf.set_font(pdf.family, "B", 12)
    pdf.cell(150, 8, pdf.safe("Total"), align="R")
    pdf.cell(30, 8, pdf.safe(usd(client["total_usd"])), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.family, size=10)
    pdf.paragraph(
        f"Direct {Decimal(str(client['direct_usd'])):.4f} + shared {Decimal(str(client['shared_usd'])):.4f}, "
        "rounded half up to the cent. Line amounts are rounded to 0.0001 USD.",
        size=8,
        color=MUTED,
    )
