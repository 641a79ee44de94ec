"""Anomalies of a daily cost series. Pure.

The rule, in words a recipient can check: a day is anomalous when its cost leaves the usual range
of the same kind of day (weekdays compared with weekdays, weekend days with weekend days) over
the 28 days before it. The usual range is the median of those days plus or minus 3.5 robust
standard deviations (1.4826 x the median absolute deviation), and at least 10% of the median
either way so that a very steady series does not flag small wobbles. At least 6 earlier days of
the same kind are needed; with fewer, the day is not judged. The first day of a month is neither
judged nor used as a baseline: AWS books monthly charges on it (support plans, taxes,
reservation and subscription fees), so it is different by design, not by accident.

Median and MAD rather than mean and standard deviation: a spike in the baseline (yesterday's, when
judging today) barely moves them, so a two-day spike is caught on both days.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import median

from lambdas.models.report import Anomaly

BASELINE_DAYS = 28
MIN_SAMPLES = 6
ROBUST_SIGMAS = Decimal("3.5")
MAD_TO_SIGMA = Decimal("1.4826")
MIN_RELATIVE_SPREAD = Decimal("0.10")
MIN_ABSOLUTE_SPREAD = Decimal("1.00")  # a client spending cents a day is not paged for a few more cents
CENT = Decimal("0.01")


def _weekend(day: date) -> bool:
    return day.weekday() >= 5


def _comparable(day: date, other: date) -> bool:
    return other.day != 1 and _weekend(other) == _weekend(day)


def expected_range(day: date, series: Mapping[date, Decimal]) -> tuple[Decimal, Decimal, int] | None:
    """(low, high, samples) of the usual range for `day`, or None without enough history."""
    baseline = [
        series[earlier]
        for offset in range(1, BASELINE_DAYS + 1)
        if (earlier := day - timedelta(days=offset)) in series and _comparable(day, earlier)
    ]
    if len(baseline) < MIN_SAMPLES:
        return None
    middle = Decimal(median(baseline))
    mad = Decimal(median(abs(value - middle) for value in baseline))
    spread = max(ROBUST_SIGMAS * MAD_TO_SIGMA * mad, MIN_RELATIVE_SPREAD * abs(middle), MIN_ABSOLUTE_SPREAD)
    return middle - spread, middle + spread, len(baseline)


def rule_text(day: date, above: bool, samples: int) -> str:
    kind = "weekend days" if _weekend(day) else "weekdays"
    direction = "Above" if above else "Below"
    return (
        f"{direction} the usual range: median of the {samples} {kind} in the previous {BASELINE_DAYS} days "
        f"± 3.5 robust standard deviations (median absolute deviation), at least ±10%."
    )


def detect(
    series: Mapping[date, Decimal],
    days: list[date],
    by_service: Mapping[date, Mapping[str, Decimal]] | None = None,
) -> list[Anomaly]:
    """Anomalies among `days` of `series` (days absent from the series are not judged), with the
    service whose cost moved most from its own usual level that day."""
    found = []
    for day in days:
        if day not in series or day.day == 1:
            continue
        expected = expected_range(day, series)
        if expected is None:
            continue
        low, high, samples = expected
        amount = series[day]
        if low <= amount <= high:
            continue
        found.append(
            Anomaly(
                date=day,
                amount=amount,
                expected_low=low.quantize(CENT, rounding=ROUND_HALF_EVEN),
                expected_high=high.quantize(CENT, rounding=ROUND_HALF_EVEN),
                rule=rule_text(day, amount > high, samples),
                service=_mover(day, by_service or {}, above=amount > high),
            )
        )
    return found


def _mover(day: date, by_service: Mapping[date, Mapping[str, Decimal]], *, above: bool) -> str | None:
    """The service furthest from its own median of the same kind of day, in the anomaly's direction."""
    today = by_service.get(day)
    if not today:
        return None
    earlier = [
        by_service[d]
        for offset in range(1, BASELINE_DAYS + 1)
        if (d := day - timedelta(days=offset)) in by_service and _comparable(day, d)
    ]
    best, best_move = None, Decimal(0)
    for service in sorted(set(today) | {s for services in earlier for s in services}):
        usual = Decimal(median([services.get(service, Decimal(0)) for services in earlier])) if earlier else Decimal(0)
        move = today.get(service, Decimal(0)) - usual
        if (move if above else -move) > best_move:
            best, best_move = service, move if above else -move
    return best
