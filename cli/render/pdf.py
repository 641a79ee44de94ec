"""PDFs of the operations CLI with fpdf2: the monthly operations review and client billing
statements. Charts are drawn with fpdf2's own primitives (rectangles and lines): no plotting
library, nothing rasterised, text stays text (searchable, extractable).

Fonts: DejaVu Sans (or Liberation Sans) when the system has it, so client names in any script
print; otherwise fpdf2's built-in Helvetica, which covers Latin-1 only (other characters print
as "?", and the statement says so nowhere else: install fonts-dejavu-core to avoid it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cli.reviews.periods import Window

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
)
INK = (33, 37, 41)
MUTED = (108, 117, 125)
GOOD = (25, 135, 84)
BAD = (200, 35, 51)
NEUTRAL = (173, 181, 189)
ACCENT = (13, 110, 253)
LIGHT = (233, 236, 239)


class Document(FPDF):
    """A4 portrait with a title line and a footer: environment, generation time, page n of m."""

    def __init__(self, title: str, footer: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.title_text, self.footer_text = title, footer
        self.set_title(title)
        self.set_creator("cost-reporting operations CLI")
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.alias_nb_pages()
        self.family = "helvetica"
        self.unicode = False
        for regular, bold in FONT_CANDIDATES:
            if Path(regular).is_file() and Path(bold).is_file():
                self.add_font("Body", "", regular)
                self.add_font("Body", "B", bold)
                self.family, self.unicode = "Body", True
                break
        self.set_font(self.family, size=10)

    # Text ----------------------------------------------------------------------------------------

    def safe(self, text: Any) -> str:
        value = str(text)
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(self.family, size=7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 5, self.safe(f"{self.footer_text}  ·  page {self.page_no()} of {{nb}}"), align="C")
        self.set_text_color(*INK)

    def heading(self, text: str, size: float = 13) -> None:
        if self.get_y() > self.h - 45:
            self.add_page()
        self.ln(2)
        self.set_font(self.family, "B", size)
        self.cell(0, 8, self.safe(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.family, size=10)

    def paragraph(self, text: str, size: float = 9, color: tuple[int, int, int] = INK) -> None:
        self.set_font(self.family, size=size)
        self.set_text_color(*color)
        self.multi_cell(0, 4.6, self.safe(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.set_font(self.family, size=10)

    def table(  # type: ignore[override]
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        widths: Sequence[float],
        aligns: str,
        *,
        size: float = 8.5,
        bold_last: bool = False,
    ) -> None:
        """A simple ruled table; rows that do not fit go on to the next page with the header."""
        line = size * 0.55

        def header() -> None:
            self.set_font(self.family, "B", size)
            self.set_fill_color(*LIGHT)
            for text, width, align in zip(headers, widths, aligns, strict=True):
                self.cell(width, line + 1.5, self.safe(text), border="B", align=align, fill=True)
            self.ln(line + 1.5)
            self.set_font(self.family, size=size)

        header()
        for number, row in enumerate(rows):
            heights = [
                len(cast(list[str], self.multi_cell(width, line, self.safe(cell), dry_run=True, output="LINES"))) * line
                for cell, width in zip(row, widths, strict=True)
            ]
            height = max(heights) + 1
            if self.get_y() + height > self.h - 18:
                self.add_page()
                header()
            if bold_last and number == len(rows) - 1:
                self.set_font(self.family, "B", size)
            top = self.get_y()
            x = self.l_margin
            for cell, width, align in zip(row, widths, aligns, strict=True):
                self.set_xy(x, top + 0.5)
                self.multi_cell(width, line, self.safe(cell), align=align)
                x += width
            self.set_xy(self.l_margin, top + height)
            self.set_draw_color(*LIGHT)
            self.line(self.l_margin, self.get_y(), self.l_margin + sum(widths), self.get_y())
            self.set_draw_color(*INK)
        self.set_font(self.family, size=10)
        self.ln(2)

    # Figures --------------------------------------------------------------------------------------

    def tiles(self, tiles: Sequence[tuple[str, str, str, bool | None]]) -> None:
        """KPI tiles: (label, value, target, met)."""
        gap = 3
        width = (self.w - self.l_margin - self.r_margin - gap * (len(tiles) - 1)) / len(tiles)
        top = self.get_y()
        for index, (label, value, target, met) in enumerate(tiles):
            x = self.l_margin + index * (width + gap)
            colour = {True: GOOD, False: BAD, None: NEUTRAL}[met]
            self.set_fill_color(*LIGHT)
            self.rect(x, top, width, 24, style="F")
            self.set_fill_color(*colour)
            self.rect(x, top, 1.6, 24, style="F")
            self.set_xy(x + 4, top + 2)
            self.set_font(self.family, size=7.5)
            self.set_text_color(*MUTED)
            self.cell(width - 6, 4, self.safe(label))
            self.set_xy(x + 4, top + 7)
            self.set_font(self.family, "B", 15)
            self.set_text_color(*INK)
            self.cell(width - 6, 8, self.safe(value))
            self.set_xy(x + 4, top + 16)
            self.set_font(self.family, size=7.5)
            self.set_text_color(*colour)
            verdict = {True: "met", False: "missed", None: ""}[met]
            self.cell(width - 6, 4, self.safe(" · ".join(part for part in (target, verdict) if part)))
        self.set_text_color(*INK)
        self.set_font(self.family, size=10)
        self.set_xy(self.l_margin, top + 28)

    def bar_chart(
        self,
        labels: Sequence[str],
        stacks: Sequence[Sequence[float]],
        colours: Sequence[tuple[int, int, int]],
        legend: Sequence[str],
        *,
        height: float = 48,
        title: str = "",
        label_every: int = 1,
    ) -> None:
        """Stacked bars, one per label, with a y axis of round steps and a legend."""
        if self.get_y() + height + 16 > self.h - 18:
            self.add_page()
        if title:
            self.set_font(self.family, "B", 9)
            self.cell(0, 5, self.safe(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        left, top = self.l_margin + 10, self.get_y() + 2
        width = self.w - self.r_margin - left
        peak = max((sum(stack) for stack in stacks), default=0) or 1
        step = _nice_step(peak)
        scale_top = step * max(1, -(-peak // step))
        self.set_font(self.family, size=6.5)
        self.set_text_color(*MUTED)
        self.set_draw_color(*LIGHT)
        ticks = int(scale_top // step)
        for tick in range(ticks + 1):
            y = top + height - height * tick / ticks
            self.line(left, y, left + width, y)
            self.set_xy(self.l_margin, y - 2)
            self.cell(9, 4, _short(step * tick), align="R")
        slot = width / max(len(labels), 1)
        bar = slot * 0.7
        for index, (label, stack) in enumerate(zip(labels, stacks, strict=True)):
            x = left + index * slot + (slot - bar) / 2
            base = top + height
            for value, colour in zip(stack, colours, strict=True):
                if value <= 0:
                    continue
                h = height * value / scale_top
                self.set_fill_color(*colour)
                self.rect(x, base - h, bar, h, style="F")
                base -= h
            if index % label_every == 0:
                self.set_xy(x - 3, top + height + 0.5)
                self.cell(bar + 6, 3.5, self.safe(label), align="C")
        y = top + height + 5
        x = left
        for name, colour in zip(legend, colours, strict=True):
            self.set_fill_color(*colour)
            self.rect(x, y + 0.8, 2.5, 2.5, style="F")
            self.set_xy(x + 3.5, y)
            self.cell(30, 4, self.safe(name))
            x += 4 + self.get_string_width(self.safe(name)) + 6
        self.set_text_color(*INK)
        self.set_draw_color(*INK)
        self.set_xy(self.l_margin, y + 7)
        self.set_font(self.family, size=10)


def _nice_step(peak: float) -> float:
    """A round tick step giving 3 to 6 ticks under `peak`."""
    raw = peak / 4
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _short(value: float) -> str:
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"


def percent(value: Any) -> str:
    return "-" if value is None else f"{Decimal(str(value)) * 100:.2f}%"


def seconds(value: Any) -> str:
    return "-" if value is None else f"{Decimal(str(value)) / 1000:.2f} s"


def usd(value: Any, places: int = 2) -> str:
    amount = Decimal(str(value))
    return f"USD {amount:,.{places}f}"


# -- the monthly operations review ----------------------------------------------------------------


def monthly_review_pdf(sections: dict[str, Any], environment: str, window: Window, at: datetime) -> bytes:
    operations, capacity = sections["operations"], sections["capacity"]
    security, costs = sections["security"], sections["costs"]
    pdf = Document(
        f"Operations review, {window.label}",
        f"cost-reporting {environment} · generated {at:%Y-%m-%d %H:%M} UTC · python cli/main.py ops monthly-report",
    )
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 18)
    pdf.cell(0, 10, pdf.safe(f"Operations review: {window.label}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.paragraph(
        f"Environment {environment}. Period {window.start:%-d %B} to {window.as_dict()['end']:%-d %B %Y} (UTC)"
        + (f", in progress: figures up to {at:%-d %B %H:%M}" if at < window.end_at else "")
        + ". Figures from the platform's execution records; targets from the users' runbook.",
        color=MUTED,
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
    return bytes(pdf.output())


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
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 18)
    pdf.cell(0, 10, pdf.safe(f"Platform cost by client: {period['label']}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.paragraph(
        f"Environment {document['environment']}, {period['start']} to {period['end']} (UTC). What running the "
        "platform cost for each client, from its recorded runs, archived reports and stored items, at the unit "
        "prices below. Shared costs are allocated in proportion to runs.",
        color=MUTED,
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
    for client in document["clients"]:
        pdf.add_page()
        pdf.set_font(pdf.family, "B", 15)
        pdf.cell(0, 8, pdf.safe(f"{client['name']}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.paragraph(
            f"Client {client['client_id']} · {period['label']} · {client['runs']} run(s) · environment "
            f"{document['environment']}",
            color=MUTED,
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
    return bytes(pdf.output())
