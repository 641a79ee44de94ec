"""What SES counts for the account, as AWS counts it: the embedded AWS's answers to the SES calls
the daily check and the runbook read (`GetSendQuota`, `GetSendStatistics`, SES v2 `GetAccount`)
and the identity's sending status.

moto answers these from a running total: `SentLast24Hours` is every message since the server
started (45 seeded days read as 394 recipients "in 24 h" against a quota of 200), the statistics
never hold a bounce, v2 `GetAccount` is not served at all, and `GetEmailIdentity` says
`VerifiedForSendingStatus: false` for an identity whose `VerificationStatus` is `SUCCESS`. Here
every send is kept with its time and recipient count:

- a send through moto (SES v1 `SendEmail`/`SendRawEmail`/`SendTemplatedEmail`, v2 `SendEmail`)
  that moto accepted is recorded at the emulator's clock, or at the time in the request's
  `x-emulator-time` header: emulator/history.py stamps the sends of seeded days with their
  simulated time, so a seeded day's mail counts on its own day;
- bounces and complaints are what SES learns from receiving servers; the emulator has none, so
  whoever simulates one (emulator/history.py) posts it to `/_emulator/ses/events`.

The account is a production account (`ProductionAccessEnabled`, 50,000 messages a day, 14 a
second: AWS's usual first production quota), healthy and sending. Statistics are 15-minute data
points over the last 14 days, as AWS gives them (only those with activity).
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from emulator.wsgi import peek_body
from lambdas import clock

MAX_24_HOUR_SEND = 50_000
MAX_SEND_RATE = 14
STATISTICS_DAYS = 14
TIME_HEADER = "HTTP_X_EMULATOR_TIME"  # x-emulator-time
KINDS = ("send", "Bounce", "Complaint", "Reject")

_V1_SENDS = {"SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"}
_V1_NAMESPACE = "http://ses.amazonaws.com/doc/2010-12-01/"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class _Event:
    at: datetime
    kind: str  # send (recipients), Bounce, Complaint, Reject
    count: int


class SesAccount:
    """The account's sends and feedback events with their times; thread-safe."""

    def __init__(self) -> None:
        self._events: list[_Event] = []
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._events.clear()

    def record(self, kind: str, count: int, at: datetime | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._events.append(_Event(at or clock.now(), kind, count))

    def _since(self, start: datetime, end: datetime) -> list[_Event]:
        with self._lock:
            return [event for event in self._events if start < event.at <= end]

    def quota(self) -> dict[str, float]:
        now = clock.now()
        sent = sum(e.count for e in self._since(now - timedelta(hours=24), now) if e.kind == "send")
        return {"Max24HourSend": float(MAX_24_HOUR_SEND), "MaxSendRate": float(MAX_SEND_RATE), "SentLast24Hours": sent}

    def statistics(self) -> list[dict[str, Any]]:
        """15-minute data points of the last 14 days, oldest first (only those with activity)."""
        now = clock.now()
        points: dict[datetime, dict[str, int]] = {}
        for event in self._since(now - timedelta(days=STATISTICS_DAYS), now):
            start = event.at.replace(minute=event.at.minute - event.at.minute % 15, second=0, microsecond=0)
            point = points.setdefault(start, {"DeliveryAttempts": 0, "Bounces": 0, "Complaints": 0, "Rejects": 0})
            field = "DeliveryAttempts" if event.kind == "send" else f"{event.kind}s"
            point[field] += event.count
        return [{"Timestamp": start, **figures} for start, figures in sorted(points.items())]

    def account(self) -> dict[str, Any]:
        return {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": True,
            "SendingEnabled": True,
            "SendQuota": self.quota(),
            "SuppressionAttributes": {"SuppressedReasons": []},
        }

    # -- the HTTP side ---------------------------------------------------------------------------

    def handle(self, environ: dict[str, Any], start_response: StartResponse, moto: WSGIApp) -> Iterable[bytes] | None:
        """Answer or watch an SES request; None when it is not one this module serves."""
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if not _is_ses(environ):
            return None
        if path == "/v2/email/account" and method == "GET":
            return _json(start_response, self.account())
        if path.startswith("/v2/email/identities/") and method == "GET" and path.count("/") == 4:
            return _rewrite_json(environ, start_response, moto, _sending_follows_verification)
        if path == "/v2/email/outbound-emails" and method == "POST":
            body = peek_body(environ)
            return self._send(environ, start_response, moto, _v2_recipients(body))
        if path in ("", "/") and method == "POST":
            body = peek_body(environ)
            form = parse_qs(body.decode("utf-8", "replace"))
            action = (form.get("Action") or [""])[0]
            if action == "GetSendQuota":
                return _xml(start_response, action, "".join(f"<{k}>{v}</{k}>" for k, v in self.quota().items()))
            if action == "GetSendStatistics":
                return _xml(start_response, action, _points_xml(self.statistics()))
            if action in _V1_SENDS:
                return self._send(environ, start_response, moto, _v1_recipients(form))
        return None

    def _send(
        self, environ: dict[str, Any], start_response: StartResponse, moto: WSGIApp, recipients: int
    ) -> Iterable[bytes]:
        at = _stamp(environ.get(TIME_HEADER, ""))
        status: list[str] = []

        def watching(code: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        answer = list(moto(environ, watching))
        if status and status[0].startswith("200") and recipients:
            self.record("send", recipients, at)
        return answer


def _is_ses(environ: dict[str, Any]) -> bool:
    """SigV4 names the service in the credential scope: .../us-east-1/ses/aws4_request."""
    return "/ses/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")


def _stamp(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _v2_recipients(body: bytes) -> int:
    try:
        destination = json.loads(body or b"{}").get("Destination") or {}
    except (ValueError, AttributeError):
        return 0
    return sum(len(destination.get(key) or []) for key in ("ToAddresses", "CcAddresses", "BccAddresses"))


def _v1_recipients(form: dict[str, list[str]]) -> int:
    prefixes = (
        "Destinations.member.",
        "Destination.ToAddresses.member.",
        "Destination.CcAddresses.member.",
        "Destination.BccAddresses.member.",
    )
    return sum(1 for key in form if key.startswith(prefixes))


def _sending_follows_verification(document: dict[str, Any]) -> dict[str, Any]:
    """AWS sends from an identity whose verification succeeded: say so, as v1 does."""
    if document.get("VerificationStatus") == "SUCCESS":
        document["VerifiedForSendingStatus"] = True
    return document


def _rewrite_json(
    environ: dict[str, Any],
    start_response: StartResponse,
    moto: WSGIApp,
    change: Callable[[dict[str, Any]], dict[str, Any]],
) -> Iterable[bytes]:
    held: list[Any] = []
    body = b"".join(moto(environ, lambda code, headers, *rest: held.extend([code, headers])))
    code, headers = held
    if code.startswith("200"):
        with contextlib.suppress(ValueError):  # not JSON: passed on as moto wrote it
            body = json.dumps(change(json.loads(body))).encode()
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [("Content-Length", str(len(body)))]
    start_response(code, headers)
    return [body]


def _json(start_response: StartResponse, document: dict[str, Any]) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("x-amzn-RequestId", _request())],
    )
    return [body]


def _points_xml(points: list[dict[str, Any]]) -> str:
    members = []
    for point in points:
        fields = "".join(
            f"<{key}>{point[key]}</{key}>" for key in ("DeliveryAttempts", "Bounces", "Complaints", "Rejects")
        )
        stamp = point["Timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ")
        members.append(f"<member><Timestamp>{stamp}</Timestamp>{fields}</member>")
    return f"<SendDataPoints>{''.join(members)}</SendDataPoints>"


def _xml(start_response: StartResponse, action: str, result: str) -> list[bytes]:
    body = (
        f'<{action}Response xmlns="{_V1_NAMESPACE}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>{escape(_request())}</RequestId></ResponseMetadata></{action}Response>"
    ).encode()
    start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _request() -> str:
    return str(uuid.uuid4())
