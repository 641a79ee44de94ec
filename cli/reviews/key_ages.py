"""How old a key is against its rotation period: client keys (90 days) and the link signer's (60)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cli.reviews.checks import Status
from lambdas.logic.calendar import KEY_AGE_CRITICAL_DAYS, KEY_AGE_WARN_DAYS

WARN_DAYS, CRITICAL_DAYS = KEY_AGE_WARN_DAYS, KEY_AGE_CRITICAL_DAYS  # the calendar's key-age limits


# System keys (the link signer's) are rotated every 60 days (runbook); the same lead times as client
# keys (rotated every 90 days: WARNING a month before, CRITICAL ten days before) give day 30 and day 50.
SYSTEM_ROTATION_DAYS = 60


SYSTEM_WARN_DAYS, SYSTEM_CRITICAL_DAYS = SYSTEM_ROTATION_DAYS - 30, SYSTEM_ROTATION_DAYS - 10


class AgeRow:
    """A key's age row as JSON: the fields in order, status by name, created as ISO 8601."""

    status: Status
    created: datetime | None

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)  # type: ignore[call-overload]
        return {**row, "status": self.status.name, "created": self.created.isoformat() if self.created else None}


@dataclass
class KeyAge(AgeRow):
    client_id: str
    secret_name: str
    status: Status
    detail: str
    access_key: str = ""  # masked
    created: datetime | None = None
    age_days: int | None = None


@dataclass
class SystemKeyAge(AgeRow):
    """One key of a platform IAM user (today: the link signer's), classified like a client's key
    against the runbook's limits for system keys."""

    name: str
    user: str
    secret_name: str
    use: str  # signing | retired | unknown
    status: Status
    detail: str
    access_key: str = ""  # masked
    created: datetime | None = None
    age_days: int | None = None


def mask_key(access_key_id: str) -> str:
    """Enough of a key id to tell keys apart in a table; never the whole id."""
    return f"{access_key_id[:4]}…{access_key_id[-4:]}" if len(access_key_id) > 8 else "…"
