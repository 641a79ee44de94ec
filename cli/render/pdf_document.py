"""The PDF document the reports are drawn on (fpdf2): a font that has the text's characters, headings,
tiles, tables and bar charts in the platform's colours, and the figures' formats."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from fpdf import FPDF
from fpdf.enums import XPos, YPos

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
