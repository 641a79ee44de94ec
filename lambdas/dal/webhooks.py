"""Delivery of a report's summary to the client's Slack and Microsoft Teams incoming webhooks.

A webhook is a courtesy next to the email: `deliver` never raises and never waits long. Each
webhook gets a per-request timeout, a few retries with exponential backoff on 5xx, 408, 429
(honouring Retry-After) and network failures, and the whole call has one deadline. The result
says, per webhook, its kind, whether it worked, after how many attempts and, if not, an error
kind. Nothing more: a webhook URL is a credential (anyone holding it can post to the channel),
so it is read from Secrets Manager at delivery time and never reaches a log, an exception
message or a result.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import platform_client
from lambdas.models.client import Client, Webhook
from lambdas.models.report import Report
from lambdas.observability import logger, metrics

if TYPE_CHECKING:
    from lambdas.logic.render import EmailView

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_RETRY_AFTER_SECONDS = 10.0
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A webhook answers itself; a redirect is refused rather than followed somewhere else.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


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
    ) -> None:
        self._secrets = secrets
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.deadline = deadline
        self._sleep = sleep
        self._clock = clock
        self._opener = urllib.request.build_opener(_NoRedirect)

    @property
    def secrets(self) -> Any:
        if self._secrets is None:
            self._secrets = platform_client("secretsmanager")
        return self._secrets

    def deliver(self, client: Client, report: Report) -> list[dict[str, Any]]:
        """Post the report's summary to every webhook of the client; one result per webhook."""
        if not client.webhooks:
            return []
        ends = self._clock() + self.deadline
        # Imported here: only clients with a chat channel need the summaries (and the renderer they share).
        from lambdas.logic.render import email_view

        try:
            view: EmailView | None = email_view(report)
        except Exception:  # the email itself has been built from the same report; do not fail here
            view = None
        results = []
        for index, webhook in enumerate(client.webhooks):
            try:
                result = self._deliver_one(index, webhook, report, view, ends)
            except Exception as error:  # never raises: the email must not depend on a chat service
                result = WebhookResult(
                    index, webhook.kind, ok=False, attempts=0, error=f"unexpected_{type(error).__name__}"
                )
            self._record(result)
            results.append(asdict(result))
        return results

    def _deliver_one(
        self, index: int, webhook: Webhook, report: Report, view: EmailView | None, ends: float
    ) -> WebhookResult:
        if view is None:
            return WebhookResult(index, webhook.kind, ok=False, attempts=0, error="payload")
        try:
            url = self._url(webhook.secret_name)
        except _Failure as failure:
            return WebhookResult(index, webhook.kind, ok=False, attempts=0, error=failure.error)
        from lambdas.logic.channels import PAYLOADS

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

    def _url(self, secret_name: str) -> str:
        try:
            value = str(self.secrets.get_secret_value(SecretId=secret_name)["SecretString"]).strip()
        except (ClientError, BotoCoreError, KeyError, TypeError):
            raise _Failure("secret_unavailable", retry=False) from None
        if value.startswith("{"):  # {"url": "..."} is accepted as well as the bare URL
            try:
                value = str(json.loads(value)["url"]).strip()
            except (ValueError, KeyError, TypeError):
                raise _Failure("secret_invalid", retry=False) from None
        try:
            parts = urlsplit(value)
            host = parts.hostname or ""
        except ValueError:
            raise _Failure("secret_invalid", retry=False) from None
        # https only; plain http is for the local emulator on loopback.
        if not host or not (parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS)):
            raise _Failure("secret_invalid", retry=False)
        return value

    def _post(self, url: str, body: bytes, timeout: float) -> int:
        request = urllib.request.Request(  # noqa: S310 - scheme checked in _url (https, or http on loopback)
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "cost-reporting-webhooks"},
        )
        try:
            with self._opener.open(request, timeout=timeout) as answer:
                answer.read(65536)
                return int(answer.status)
        except urllib.error.HTTPError as error:
            failure = _Failure(
                "rate_limited" if error.code == 429 else ("server_error" if error.code >= 500 else "rejected"),
                retry=error.code in RETRY_STATUSES,
                status=error.code,
                detail=_detail(error),
            )
            failure.retry_after = _retry_after(error.headers.get("Retry-After") if error.headers else None)
            error.close()
            raise failure from None
        except TimeoutError:
            raise _Failure("timeout", retry=True) from None
        except urllib.error.URLError as error:
            timed_out = isinstance(error.reason, TimeoutError)
            raise _Failure("timeout" if timed_out else "unreachable", retry=True) from None
        except (ConnectionError, OSError):
            raise _Failure("unreachable", retry=True) from None

    def _record(self, result: WebhookResult) -> None:
        fields = {k: v for k, v in asdict(result).items() if v is not None}
        if result.ok:
            metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=1)
            logger.info("webhook delivered", extra=fields)
        else:
            metrics.add_metric(name="WebhooksFailed", unit=MetricUnit.Count, value=1)
            logger.warning("webhook delivery failed", extra=fields)


def _detail(error: urllib.error.HTTPError) -> str | None:
    try:
        text = error.read(200).decode("utf-8", "replace").strip()
    except Exception:  # no body, or a broken connection: the detail is optional, the status says enough
        return None
    return text if _SAFE_DETAIL.match(text) else None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff
