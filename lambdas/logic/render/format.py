"""Numbers and dates as the reader sees them: amounts and percentages in the client's currency
and locale (Babel's CLDR data), dates and periods in English (the product's language)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_percent, get_currency_precision

from lambdas.logic.periods import month_last_day
from lambdas.models.report import Period

MINUS = "−"  # U+2212: a true minus, the same width as +

ZERO = Decimal("0")

METRIC_LABELS = {
    "UnblendedCost": "Unblended cost",
    "AmortizedCost": "Amortized cost",
    "NetAmortizedCost": "Net amortized cost",
    "BlendedCost": "Blended cost",
    "NetUnblendedCost": "Net unblended cost",
}

SCHEDULE_LABELS = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}


@dataclass(frozen=True)
class Formatter:
    """Amounts and percentages in one currency and locale (Babel's CLDR data)."""

    currency: str
    locale: str = "en_US"

    def money(self, amount: Decimal) -> str:
        # Round first, so that -0.001 shows as $0.00, not −$0.00.
        rounded = self.rounded(amount)
        text = format_currency(abs(rounded), self.currency, locale=_locale(self.locale))
        return MINUS + text if rounded < 0 else text

    def signed(self, amount: Decimal) -> str:
        rounded = self.rounded(amount)
        return _sign(rounded) + self.money(abs(rounded))

    def rounded(self, amount: Decimal) -> Decimal:
        """The amount as shown: rounded to the currency's precision."""
        return amount.quantize(Decimal(1).scaleb(-get_currency_precision(self.currency)), ROUND_HALF_EVEN)

    def percent(self, value: Decimal | None) -> str:
        """A signed percent change (value already in percent, e.g. -2.6); 'new' without a base."""
        if value is None:
            return "new"
        pattern = _percent_pattern(self.locale)
        return _sign(value) + format_percent(abs(value) / 100, format=pattern, locale=_locale(self.locale))

    def ratio(self, value: Decimal | None) -> str:
        """An unsigned ratio (0.6667) as a percent with one decimal, "66.7%"; "—" when not known."""
        if value is None:
            return "—"
        return format_percent(value, format=_percent_pattern(self.locale), locale=_locale(self.locale))

    def share(self, part: Decimal, whole: Decimal) -> str:
        """Unsigned whole percent, e.g. '124%'."""
        return format_percent(part / whole, locale=_locale(self.locale)) if whole else "—"


def _sign(value: Decimal) -> str:
    return "+" if value > 0 else (MINUS if value < 0 else "±")


@lru_cache(maxsize=32)
def _locale(name: str) -> Locale:
    # Parsed once: Babel parses a locale given by name on every call (a report formats hundreds of figures).
    return Locale.parse(name)


@lru_cache(maxsize=32)
def _percent_pattern(locale: str) -> str:
    # The locale's own percent pattern (e.g. "#,##0 %" in de_DE) with one decimal.
    pattern = _locale(locale).percent_formats[None].pattern
    return pattern.replace("#,##0", "#,##0.0", 1) if "#,##0" in pattern else "#,##0.0%"


def money(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    return Formatter(currency, locale).money(amount)


def english_date(day: date, pattern: str) -> str:
    return format_date(day, pattern, locale=_locale("en"))


def day_label(day: date) -> str:
    return english_date(day, "EEE d MMMM y")


def short_day(day: date) -> str:
    return english_date(day, "EEE d MMM")


def month_label(day: date) -> str:
    return english_date(day, "MMMM y")


def period_label(period: Period) -> str:
    start, end = period.start, period.end
    if start == end:
        return f"{end.day} {month_label(end)}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {month_label(end)}"
    if start.year == end.year:
        return f"{start.day} {english_date(start, 'MMM')} – {end.day} {english_date(end, 'MMM y')}"
    return f"{start.day} {english_date(start, 'MMM y')} – {end.day} {english_date(end, 'MMM y')}"


def is_whole_month(period: Period) -> bool:
    return period.start.day == 1 and period.end == month_last_day(period.start)


def tone_of(change: Decimal) -> str:
    # Costs going up is what a reader must notice: "up" is red, "down" green.
    return "up" if change > 0 else ("down" if change < 0 else "flat")


def join_words(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
