"""How old a key is against its rotation period: client keys (90 days) and the link signer's (60)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from cli.reviews.checks import Status, age_in_days, key_age_status
from lambdas.dal.access_keys import AccessKeys
from lambdas.dal.archive import LINK_EXPIRY_SECONDS
from lambdas.dal.credentials import CredentialProvider
from lambdas.logic.calendar import KEY_AGE_CRITICAL_DAYS, KEY_AGE_WARN_DAYS
from lambdas.models.client import Client, StoredKeyCredentials
from lambdas.models.exceptions import PlatformError

WARN_DAYS, CRITICAL_DAYS = KEY_AGE_WARN_DAYS, KEY_AGE_CRITICAL_DAYS  # the calendar's key-age limits


# System keys (the link signer's) are rotated every 60 days (runbook); the same lead times as client
# keys (rotated every 90 days: WARNING a month before, CRITICAL ten days before) give day 30 and day 50.
SYSTEM_ROTATION_DAYS = 60


SYSTEM_WARN_DAYS, SYSTEM_CRITICAL_DAYS = SYSTEM_ROTATION_DAYS - 30, SYSTEM_ROTATION_DAYS - 10


# A run that read the old signer key just before the new one was stored can still sign with it until
# it ends (the worker's timeout is 10 minutes): a retired key's links live this much past 7 days.
RETIRED_KEY_MARGIN = timedelta(minutes=15)


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


def key_age(client: Client, warn_days: int, critical_days: int, at: datetime) -> KeyAge:
    """The age of a stored-keys client's key, from IAM, classified against the limits."""
    if not isinstance(client.credentials, StoredKeyCredentials):
        raise TypeError(f"{client.client_id} has no stored keys")
    secret = client.credentials.secret_name
    try:
        credentials = CredentialProvider().for_client(client)
        key = AccessKeys(credentials).current()
    except PlatformError as error:
        return KeyAge(client.client_id, secret, Status.WARNING, f"age unknown: {error}")
    masked = mask_key(credentials.access_key_id)
    if key is None:
        return KeyAge(client.client_id, secret, Status.CRITICAL, "IAM does not list the stored key", masked)
    age = age_in_days(key.created, at)
    status = key_age_status(age, warn_days, critical_days)
    detail = {Status.OK: "within limits", Status.WARNING: "rotate soon", Status.CRITICAL: "rotate now"}[status]
    return KeyAge(client.client_id, secret, status, detail, masked, key.created, age)


def retired_links_until(stored_at: datetime) -> datetime:
    """When the last link a retired signer key signed expires: 7 days after the key replacing it was
    stored, plus the longest a run that had read the old key before can still sign with it."""
    return stored_at + timedelta(seconds=LINK_EXPIRY_SECONDS) + RETIRED_KEY_MARGIN


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
