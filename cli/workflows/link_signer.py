"""The link signer's keys: their state and ages, and the proof that a key signs links that work."""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from cli.probes.resources import bucket_name
from cli.reviews.checks import Check, Status, age_in_days, key_age_status
from cli.reviews.key_ages import (
    SYSTEM_CRITICAL_DAYS,
    SYSTEM_ROTATION_DAYS,
    SYSTEM_WARN_DAYS,
    SystemKeyAge,
    mask_key,
)
from infrastructure.config import EnvironmentConfig
from lambdas.dal.access_keys import AccessKeyInfo, AccessKeys
from lambdas.dal.archive import LINK_EXPIRY_SECONDS, ReportArchive
from lambdas.dal.aws import AwsCredentials, platform_error
from lambdas.dal.credentials import CredentialProvider
from lambdas.dal.secrets_store import SecretsStore
from lambdas.models.exceptions import PlatformError

# The rotation proves a signer key on this object (client ids cannot start with "_": no client's prefix).
PROBE_KEY = "reports/_link-signer-probe"


PROBE_LINK_SECONDS, PROBE_TIMEOUT_SECONDS = 60, 10


@dataclass
class SignerState:
    """The link signer as IAM and Secrets Manager see it: the key the secret holds (the one the
    worker signs with), since when, and every key of its IAM user."""

    stored: AwsCredentials
    stored_since: datetime
    keys: list[AccessKeyInfo]

    @property
    def current(self) -> AccessKeyInfo | None:
        return next((key for key in self.keys if key.access_key_id == self.stored.access_key_id), None)

    @property
    def retired(self) -> list[AccessKeyInfo]:
        """Keys of the user that no longer sign: they serve the links they signed until those expire."""
        return [key for key in self.keys if key.access_key_id != self.stored.access_key_id]

    @property
    def retired_links_until(self) -> datetime:
        return retired_links_until(self.stored_since)


def signer_state(config: EnvironmentConfig) -> SignerState:
    """Read with the operator's credentials (the signer's own key may only read reports)."""
    stored = CredentialProvider().stored_keys(config.link_signer_secret)
    since = SecretsStore().current_since(config.link_signer_secret)
    return SignerState(stored, since, AccessKeys.of_user(config.link_signer_user).list())


def link_signer_ages(config: EnvironmentConfig, at: datetime) -> list[SystemKeyAge]:
    """The signing key's age against the system-key limits, and each retired key: fine while the
    links it signed live, a WARNING once they have expired and it is still there."""
    user, secret = config.link_signer_user, config.link_signer_secret

    def row(use: str, status: Status, detail: str, key: AccessKeyInfo | None = None, masked: str = "") -> SystemKeyAge:
        age = age_in_days(key.created, at) if key else None
        access_key = mask_key(key.access_key_id) if key else masked
        created = key.created if key else None
        return SystemKeyAge("link-signer", user, secret, use, status, detail, access_key, created, age)

    try:
        state = signer_state(config)
    except PlatformError as error:
        return [row("unknown", Status.WARNING, f"age unknown: {error}")]
    current = state.current
    if current is None:
        detail = "IAM does not list the stored key: links signed with it fail (credentials rotate --link-signer)"
        rows = [row("signing", Status.CRITICAL, detail, masked=mask_key(state.stored.access_key_id))]
    else:
        status = key_age_status(age_in_days(current.created, at), SYSTEM_WARN_DAYS, SYSTEM_CRITICAL_DAYS)
        advice = {Status.OK: "within limits", Status.WARNING: "rotate soon", Status.CRITICAL: "rotate now"}[status]
        rows = [row("signing", status, f"{advice} (system keys: every {SYSTEM_ROTATION_DAYS} days)", current)]
    until = state.retired_links_until
    for key in state.retired:
        if at < until:
            rows.append(row("retired", Status.OK, f"serves the links it signed until {_moment(until)}", key))
        else:
            detail = f"its links expired {_moment(until)}: delete it (credentials rotate --link-signer --finish)"
            rows.append(row("retired", Status.WARNING, detail, key))
    return rows


def link_signer_check(config: EnvironmentConfig, at: datetime) -> Check:
    """The key that signs the reports' links: a system key (WARNING from day 30, CRITICAL from day 50),
    and any retired key still kept after the links it signed expired."""
    keys = link_signer_ages(config, at)
    overall = max((key.status for key in keys), default=Status.OK)
    data = {"system_keys": [key.as_dict() for key in keys]}
    detail = "; ".join(f"{key.use} {key.access_key or '?'}: {key.detail}" for key in keys)
    return Check("link signer key", overall, detail or "no key found", data)


def probe_link(config: EnvironmentConfig, credentials: AwsCredentials) -> None:
    """Does S3 serve a GET presigned with these credentials? What a recipient's browser does with a
    report link: a probe object is written under reports/ with the platform's credentials, fetched
    over HTTP through a link the key signed, compared, and deleted. Raises RotationStopped saying what
    failed (never the link: it carries the signature)."""
    bucket = bucket_name(config)
    if bucket is None:
        raise RotationStopped(f"the assets bucket {config.assets_bucket} was not found")
    archive, token = ReportArchive(bucket), secrets.token_hex(16)
    try:
        archive.put(PROBE_KEY, token.encode(), "text/plain")
        try:
            link = archive.presigned_url(PROBE_KEY, credentials, expires_in=PROBE_LINK_SECONDS)
            served = _fetch(link)
        finally:
            archive.delete(PROBE_KEY)
    except Exception as error:
        failure = platform_error(error)
        if failure is None:
            raise
        raise RotationStopped(f"the probe object could not be written or removed ({failure})") from None
    if served != token.encode():
        raise LinkRefused("S3 served something other than the probe object through the key's link")


def _fetch(link: str) -> bytes:
    if urlsplit(link).scheme not in ("https", "http"):
        raise LinkRefused("the presigned link is not a web link")
    try:
        with urllib.request.urlopen(link, timeout=PROBE_TIMEOUT_SECONDS) as answer:  # noqa: S310 - an S3 link (https; http only to the loopback emulator)
            body: bytes = answer.read()
            return body
    except urllib.error.HTTPError as refusal:
        code = re.search(rb"<Code>(\w+)</Code>", refusal.read() or b"")
        named = f" {code.group(1).decode()}" if code else ""
        raise LinkRefused(f"S3 refused a GET signed with the key (HTTP {refusal.code}{named})") from None
    except (urllib.error.URLError, TimeoutError) as error:
        raise LinkRefused(f"S3 unreachable ({type(error).__name__})") from None


class RotationStopped(Exception):
    """A step failed; the message says which and in what state the keys are. `done`: the steps
    completed before it."""

    done: tuple[str, ...] = ()


class NotYet(RotationStopped):
    """A check of a new key that may pass once IAM has propagated it (seconds): retried."""


class LinkRefused(NotYet):
    """S3 did not serve a GET presigned with the key."""


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# A run that read the old signer key just before the new one was stored can still sign with it until
# it ends (the worker's timeout is 10 minutes): a retired key's links live this much past 7 days.
RETIRED_KEY_MARGIN = timedelta(minutes=15)


def retired_links_until(stored_at: datetime) -> datetime:
    """When the last link a retired signer key signed expires: 7 days after the key replacing it was
    stored, plus the longest a run that had read the old key before can still sign with it."""
    return stored_at + timedelta(seconds=LINK_EXPIRY_SECONDS) + RETIRED_KEY_MARGIN
