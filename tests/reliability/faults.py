"""Faults injected at botocore's HTTP layer: the request is answered with AWS's own error (or a
dropped connection) instead of reaching the embedded AWS.

A `before-send` handler on the process's boto3 session answers matching requests. Everything
above the wire runs for real: botocore parses the canned answer exactly like one from AWS, its
retry policy (standard or adaptive mode, with the clients' real configuration) decides whether
to retry, and the platform's adapters map what comes out. The error bodies follow each
service's protocol (JSON, REST-JSON, query XML, REST-XML), so the error code botocore reports is
the one AWS would send.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from lambdas.dal.aws import _shared_session, reset_clients

# Service ids as botocore names them in event names (`before-send.<service>.<Operation>`).
_PROTOCOLS = {"s3": "rest-xml", "sts": "query", "sesv2": "rest-json", "iam": "query"}
DROPPED = "<connection dropped>"  # a `code` that answers with no response at all


@dataclass(frozen=True)
class Request:
    """What a rule's `when` sees: the request's URL and its body as text."""

    operation: str
    url: str
    body: str

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass
class Rule:
    service: str
    operation: str
    code: str
    status: int = 400
    times: int | None = None  # how many matching requests to answer; None: all of them
    when: Callable[[Request], bool] | None = None
    answered: int = 0

    def matches(self, service: str, operation: str, request: Request) -> bool:
        if (self.service, self.operation) != (service, operation):
            return False
        if self.times is not None and self.answered >= self.times:
            return False
        return self.when is None or self.when(request)


class Faults:
    """Rules answering matching requests with errors; requests no rule matches go through."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self._lock = threading.Lock()
        self._events = _shared_session().events
        self._events.register_first("before-send", self._before_send, unique_id="reliability-faults")
        reset_clients()  # clients copy the session's handlers when they are built: build them again

    def close(self) -> None:
        self._events.unregister("before-send", unique_id="reliability-faults")
        reset_clients()

    def fail(
        self,
        service: str,
        operation: str,
        code: str,
        *,
        status: int = 400,
        times: int | None = None,
        when: Callable[[Request], bool] | None = None,
    ) -> Rule:
        rule = Rule(service, operation, code, status, times, when)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def _before_send(self, request: Any, event_name: str, **_: Any) -> Any:
        _, service, operation = event_name.split(".", 2)
        body = request.body
        if hasattr(body, "read"):  # a streamed body (S3 uploads): peek without consuming it
            position = body.tell()
            text = body.read().decode("utf-8", "replace")
            body.seek(position)
        else:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        view = Request(operation, request.url, text)
        with self._lock:
            rule = next((r for r in self.rules if r.matches(service, operation, view)), None)
            if rule is not None:
                rule.answered += 1
        if rule is None:
            return None
        if rule.code == DROPPED:
            raise EndpointConnectionError(endpoint_url=request.url)
        return _error_response(service, rule.code, rule.status, request.url)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _error_response(service: str, code: str, status: int, url: str) -> AWSResponse:
    message = f"injected {code}"
    protocol = _PROTOCOLS.get(service, "json")
    headers = {"x-amzn-RequestId": "00000000-0000-4000-8000-000000000000"}
    if protocol == "rest-xml":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        headers["Content-Type"] = "application/xml"
    elif protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
        ).encode()
        headers["Content-Type"] = "text/xml"
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers["Content-Type"] = "application/x-amz-json-1.1"
        headers["x-amzn-ErrorType"] = code
    return AWSResponse(url, status, headers, _Raw(body))
