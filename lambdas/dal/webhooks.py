"""Delivery of a report's summary to the client's Slack and Microsoft Teams incoming webhooks.

A webhook is a courtesy next to the email: `deliver` never raises and never waits long. Each
attempt runs under a wall-clock limit (a watchdog closes the socket when it passes, so an
endpoint that trickles its answer a byte at a time cannot hold the worker and its SQS batch),
reads at most MAX_RESPONSE_BYTES of the answer, follows no redirect, and a few retries with
exponential backoff follow 5xx, 408, 429 (honouring Retry-After) and network failures; the whole
call has one deadline. The URL must be the client's own secret and point at an official Slack or
Teams webhook host over HTTPS (lambdas/logic/webhook_hosts.py), checked before every post.

The result says, per webhook, its kind, whether it worked, after how many attempts and, if not,
an error kind. Nothing more: a webhook URL is a credential (anyone holding it can post to the
channel), so it is read from Secrets Manager at delivery time and never reaches a log, an
exception message, a result or a trace (lambdas/observability.py traces botocore only).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.client_secrets import ClientSecrets
from lambdas.logic.webhook_hosts import webhook_url_problem
from lambdas.models.client import Client, Webhook
from lambdas.models.exceptions import UnauthorizedError
from lambdas.models.report import Report
from lambdas.observability import logger, metrics

if TYPE_CHECKING:
    from lambdas.logic.render.view_model import EmailView

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024  # Slack answers "ok" or an error code; Teams an empty 200 or 202
_SAFE_DETAIL = re.compile(r"^[a-z_]{2,40}$")  # Slack's error codes: "invalid_payload", "no_service"


@dataclass(frozen=True)
class WebhookResult:
    webhook: int  # position in the client's list
    kind: str
    ok: bool
    attempts: int
    error: str | None = None  # error kind, never a message that could hold the URL
    status: int | None = None  # last HTTP status, if any answer came
    detail: str | None = None  # the service's own error code (Slack), when it is a plain code


class _Failure(Exception):
    def __init__(self, error: str, *, retry: bool, status: int | None = None, detail: str | None = None) -> None:
        super().__init__(error)
        self.error, self.retry, self.status, self.detail = error, retry, status, detail
        self.retry_after: float | None = None


class WebhookSender:
    def __init__(
        self,
        secrets: Any | None = None,
        *,
        timeout: float = 5.0,
        attempts: int = 3,
        backoff: float = 0.5,
        deadline: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        allow_loopback: bool = False,
    ) -> None:
        self._secrets = secrets
        self.allow_loopback = allow_loopback  # plain http to loopback: the `local` environment only
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.deadline = deadline
        self._sleep = sleep
        self._clock = clock

    def deliver(self, client: Client, report: Report, secrets: ClientSecrets | None = None) -> list[dict[str, Any]]:
        """Post the report's summary to every webhook of the client; one result per webhook. The URLs
        are read through `secrets`, the client's own view of Secrets Manager (the worker's: a session
        tagged with the client), else with this sender's credentials."""
        if not client.webhooks:
            return []
        secrets = secrets or ClientSecrets(client.client_id, secrets=self._secrets)
        ends = self._clock() + self.deadline
        # Imported here: only clients with a chat channel need the summaries (and the renderer they share).
        from lambdas.logic.render.view import email_view

        try:
            view: EmailView | None = email_view(report)
        except Exception:  # the email itself has been built from the same report; do not fail here
            view = None
        results = []
        for index, webhook in enumerate(client.webhooks):
            try:
                result = self._deliver_one(index, webhook, report, view, ends, secrets)
            except Exception as error:  # never raises: the email must not depend on a chat service
                result = WebhookResult(
                    index, webhook.kind, ok=False, attempts=0, error=f"unexpected_{type(error).__name__}"
                )
            self._record(result)
            results.append(asdict(result))
        return results

    def _deliver_one(
        self,
        index: int,
        webhook: Webhook,
        report: Report,
        view: EmailView | None,
        ends: float,
        secrets: ClientSecrets,
    ) -> WebhookResult:
        if view is None:
            return WebhookResult(index, webhook.kind, ok=False, attempts=0, error="payload")
        try:
            url = self._url(webhook, secrets)
        except _Failure as failure:
            return WebhookResult(index, webhook.kind, ok=False, attempts=0, error=failure.error)
        from lambdas.logic.render.chat import PAYLOADS

        body = json.dumps(PAYLOADS[webhook.kind](report, view), ensure_ascii=False).encode("utf-8")
        attempt = 0
        while True:
            left = ends - self._clock()
            if left <= 0:
                return WebhookResult(index, webhook.kind, ok=False, attempts=attempt, error="deadline")
            attempt += 1
            try:
                status = self._post(url, body, min(self.timeout, left))
                return WebhookResult(index, webhook.kind, ok=True, attempts=attempt, status=status)
            except _Failure as failure:
                if not failure.retry or attempt >= self.attempts:
                    return WebhookResult(
                        index,
                        webhook.kind,
                        ok=False,
                        attempts=attempt,
                        error=failure.error,
                        status=failure.status,
                        detail=failure.detail,
                    )
                pause = self.backoff * 2 ** (attempt - 1)
                if failure.retry_after is not None:
                    pause = max(pause, min(failure.retry_after, MAX_RETRY_AFTER_SECONDS))
                if self._clock() + pause >= ends:
                    return WebhookResult(
                        index, webhook.kind, ok=False, attempts=attempt, error=failure.error, status=failure.status
                    )
                self._sleep(pause)

    def _url(self, webhook: Webhook, secrets: ClientSecrets) -> str:
        """The webhook's URL, from the client's own secret, and only if it may be posted to."""
        try:
            value = secrets.get(webhook.secret_name).strip()
        except UnauthorizedError:
            raise _Failure("secret_not_the_clients", retry=False) from None
        except (ClientError, BotoCoreError, KeyError, TypeError):
            raise _Failure("secret_unavailable", retry=False) from None
        if value.startswith("{"):  # {"url": "..."} is accepted as well as the bare URL
            try:
                value = str(json.loads(value)["url"]).strip()
            except (ValueError, KeyError, TypeError):
                raise _Failure("secret_invalid", retry=False) from None
        if webhook_url_problem(webhook.kind, value, allow_loopback=self.allow_loopback) is not None:
            raise _Failure("host_not_allowed", retry=False)
        return value

    def _post(self, url: str, body: bytes, timeout: float) -> int:
        """One POST, all of it (connect, send, the answer's headers and up to MAX_RESPONSE_BYTES of
        its body) within `timeout` seconds of wall-clock time: a socket timeout alone would let an
        endpoint sending a byte every few seconds keep the call going for as long as it likes."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:  # loopback in `local` only: checked in _url
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        watchdog = _Watchdog(connection, timeout)
        answer: http.client.HTTPResponse | None = None
        try:
            connection.connect()
            # Kept here: once the answer's headers are in, http.client may hand the socket to the answer
            # and forget it (a server that closes after answering), and the watchdog must still reach it.
            watchdog.sock = connection.sock
            connection.request(
                "POST",
                target,
                body=body,
                headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "cost-reporting-webhooks"},
            )
            answer = connection.getresponse()
            text = _read_capped(answer, MAX_RESPONSE_BYTES)
        except TimeoutError:
            raise _Failure("timeout", retry=True) from None
        except (http.client.HTTPException, OSError):
            raise _Failure("timeout" if watchdog.fired else "unreachable", retry=True) from None
        finally:
            watchdog.stop()
            if answer is not None:
                answer.close()  # it holds the socket too: only then is the connection really closed
            connection.close()
        if watchdog.fired:  # cut while reading: the answer is not whole
            raise _Failure("timeout", retry=True)
        return _status(answer, text)

    def _record(self, result: WebhookResult) -> None:
        fields = {k: v for k, v in asdict(result).items() if v is not None}
        if result.ok:
            metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=1)
            logger.info("webhook delivered", extra=fields)
        else:
            metrics.add_metric(name="WebhooksFailed", unit=MetricUnit.Count, value=1)
            logger.warning("webhook delivery failed", extra=fields)


class _Watchdog:
    """Closes a connection's socket when `seconds` of wall-clock time have passed: whatever the
    connection is waiting for then (a byte of a trickled answer) fails at once."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.fired = False
        self.sock: socket.socket | None = None
        self._connection = connection
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def _cut(self) -> None:
        self.fired = True
        sock = self.sock or self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._timer.cancel()


def _read_capped(answer: http.client.HTTPResponse, cap: int) -> bytes:
    """At most `cap` bytes of the answer's body, one socket read at a time (never a blocking read of
    a fixed size, which would wait for all of it)."""
    received = b""
    while len(received) < cap:
        chunk = answer.read1(cap - len(received))
        if not chunk:
            break
        received += chunk
    return received


def _status(answer: http.client.HTTPResponse, text: bytes) -> int:
    """The answer's status if it is a success; otherwise the failure it stands for (a redirect is not
    followed: a webhook answers itself)."""
    status = int(answer.status)
    if 200 <= status < 300:
        return status
    failure = _Failure(
        "rate_limited" if status == 429 else ("server_error" if status >= 500 else "rejected"),
        retry=status in RETRY_STATUSES,
        status=status,
        detail=_detail(text),
    )
    failure.retry_after = _retry_after(answer.getheader("Retry-After"))
    raise failure


def _detail(text: bytes) -> str | None:
    detail = text[:200].decode("utf-8", "replace").strip()
    return detail if _SAFE_DETAIL.match(detail) else None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff
