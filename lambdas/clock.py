"""The platform's one clock. Every "now" of the runtime, the CLI, the demo and the emulator's
history comes from `now()`; nothing else reads the system clock.

In Lambda it is the system's UTC time. The demo, `report run --as-of` fixtures and the tests pin
it (`pinned(moment)` or `pin(source)`), so a report of 27 November 2026 says the same thing
whatever day it is generated on, and a test green today is green next year.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

Source = Callable[[], datetime]

_source: Source | None = None


def _system() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """The current moment, timezone-aware, in UTC."""
    moment = (_source or _system)()
    if moment.tzinfo is None:
        raise ValueError("the clock must give timezone-aware datetimes")
    return moment.astimezone(UTC)


def today() -> date:
    """The current UTC day."""
    return now().date()


def pin(source: Source | datetime | None) -> None:
    """Make `now()` answer from `source` (a fixed moment or a callable); None: the system clock."""
    global _source
    if isinstance(source, datetime):
        fixed = source
        _source = lambda: fixed  # noqa: E731 - a one-line closure over the pinned moment
    else:
        _source = source


def pinned_source() -> Source | None:
    return _source


@contextlib.contextmanager
def pinned(source: Source | datetime) -> Iterator[None]:
    """`now()` answers from `source` inside the block, and what it answered before after it."""
    before = _source
    pin(source)
    try:
        yield
    finally:
        pin(before)


def at_hour(day: date, hour: int = 6) -> datetime:
    """A day's moment at `hour`:00 UTC (the schedules fire at 06:00 UTC)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
