"""Fixtures of the security tests: those of the fault suite (the embedded AWS, faults at botocore's
HTTP layer, the handlers' logs and metrics), plus a chat webhook receiver on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tests.reliability.conftest import (  # noqa: F401 - fixtures shared with the fault suite
    atomic_dynamodb,
    client,
    demo_records,
    embedded_aws,
    faults,
    frozen_clock,
    job,
    logs,
    platform,
    quick_backoff,
    registered_demo_clients,
    stored_key_client,
    wipe_aws,
)


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []
    answer: ClassVar[tuple[int, bytes]] = (200, b"ok")

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        status, body = self.answer
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook():
    """A Slack-like incoming webhook on loopback. Its URL carries the secret token, as Slack's do.
    Returns (url, received bodies); set `_Webhook.answer` to change the answer."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Webhook.received.clear()
    _Webhook.answer = (200, b"ok")
    url = f"http://127.0.0.1:{server.server_address[1]}/services/T0SECRET/B0SECRET/xoxb9f8e7d6c5b4a3"
    yield url, _Webhook.received
    server.shutdown()
    server.server_close()


def json_lines(text: str) -> list[dict[str, Any]]:
    """The one-line JSON documents (log lines) in a command's output."""
    found = []
    for line in text.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict):
            found.append(document)
    return found
