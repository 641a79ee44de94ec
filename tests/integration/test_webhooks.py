"""Webhook delivery against a real HTTP server on loopback, the URL kept in Secrets Manager
(the embedded AWS): success, retries on 5xx, 429 and timeouts, permanent failures, and the URL
never showing up in a result or a log line."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import boto3
import pytest

from lambdas.dal.webhooks import WebhookSender
from tests.unit import report_fixtures as fx
from tests.unit.factories import make_client

Response = tuple[int, dict[str, str], bytes]


@dataclass
class Hook:
    """A scripted webhook endpoint: answers in turn from `script` (the last one repeats)."""

    script: list[Response | Callable[[], Response]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    hooks: ClassVar[dict[str, Hook]] = {}

    def do_POST(self) -> None:
        hook = self.hooks.get(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if hook is None:
            self.send_response(404)
            self.end_headers()
            return
        hook.requests.append({"headers": dict(self.headers), "body": json.loads(body)})
        step = hook.script[min(len(hook.requests) - 1, len(hook.script) - 1)]
        status, headers, payload = step() if callable(step) else step
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    for hook in _Handler.hooks.values():
        hook.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def secrets(embedded_aws, monkeypatch):
    from lambdas.dal.aws import reset_clients

    monkeypatch.setenv("AWS_ENDPOINT_URL", embedded_aws.endpoint_url)
    reset_clients()
    return boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=embedded_aws.endpoint_url)


@pytest.fixture
def hook(server, secrets):
    """Register a scripted endpoint; returns (secret name, URL, Hook)."""

    def make(*script: Response | Callable[[], Response], url: str | None = None) -> tuple[str, str, Hook]:
        token = uuid.uuid4().hex
        path = f"/services/T000/B000/{token}"  # the secret part, as in a Slack URL
        hook = Hook(script=list(script))
        _Handler.hooks[path] = hook
        url = url or f"http://127.0.0.1:{server.server_address[1]}{path}"
        name = f"cost-reporting-local/clients/acme/webhook-{token}"
        secrets.create_secret(Name=name, SecretString=url)
        return name, url, hook

    return make


OK: Response = (200, {"Content-Type": "text/plain"}, b"ok")
ERROR: Response = (500, {}, b"")


def client_with(*webhooks: tuple[str, str]):
    return make_client(webhooks=[{"kind": kind, "secret_name": name} for kind, name in webhooks])


def sender(**options: Any) -> tuple[WebhookSender, list[float]]:
    pauses: list[float] = []
    options.setdefault("timeout", 2.0)
    options.setdefault("allow_loopback", True)  # the receivers are on loopback, as in `local`
    return WebhookSender(sleep=pauses.append, **options), pauses


REPORT = fx.daily_report()[0]


def test_slack_and_teams_summaries_are_delivered(hook):
    slack_secret, _, slack = hook(OK)
    teams_secret, _, teams = hook((202, {}, b""))
    deliver, pauses = sender()
    results = deliver.deliver(client_with(("slack", slack_secret), ("teams", teams_secret)), REPORT)
    assert results == [
        {"webhook": 0, "kind": "slack", "ok": True, "attempts": 1, "error": None, "status": 200, "detail": None},
        {"webhook": 1, "kind": "teams", "ok": True, "attempts": 1, "error": None, "status": 202, "detail": None},
    ]
    assert pauses == []
    posted = slack.requests[0]
    assert posted["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert posted["body"]["blocks"][0]["text"]["text"] == "Acme Retail · Daily AWS cost report"
    assert REPORT.archive_url in json.dumps(posted["body"])
    card = teams.requests[0]["body"]["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"


def test_server_errors_are_retried_with_backoff_until_success(hook):
    name, _, endpoint = hook(ERROR, (503, {}, b""), OK)
    deliver, pauses = sender(attempts=3, backoff=0.5)
    [result] = deliver.deliver(client_with(("slack", name)), REPORT)
    assert result["ok"] is True and result["attempts"] == 3 and result["status"] == 200
    assert pauses == [0.5, 1.0]  # exponential
    assert len(endpoint.requests) == 3
    assert endpoint.requests[0]["body"] == endpoint.requests[2]["body"]  # the same message each time


def test_a_permanent_server_failure_gives_up_after_the_attempts(hook):
    name, _, endpoint = hook(ERROR)
    deliver, pauses = sender(attempts=3)
    [result] = deliver.deliver(client_with(("teams", name)), REPORT)
    assert result == {
        "webhook": 0,
        "kind": "teams",
        "ok": False,
        "attempts": 3,
        "error": "server_error",
        "status": 500,
        "detail": None,
    }
    assert len(endpoint.requests) == 3 and len(pauses) == 2


def test_a_rejected_payload_is_not_retried_and_slacks_error_code_is_kept(hook):
    name, _, endpoint = hook((400, {}, b"invalid_payload"))
    deliver, _ = sender()
    [result] = deliver.deliver(client_with(("slack", name)), REPORT)
    assert (result["ok"], result["attempts"], result["error"], result["detail"]) == (
        False,
        1,
        "rejected",
        "invalid_payload",
    )
    assert len(endpoint.requests) == 1


def test_rate_limiting_honours_retry_after(hook):
    name, _, _ = hook((429, {"Retry-After": "3"}, b""), OK)
    deliver, pauses = sender(backoff=0.5)
    [result] = deliver.deliver(client_with(("slack", name)), REPORT)
    assert result["ok"] is True and result["attempts"] == 2
    assert pauses == [3.0]


def hanging(hook):
    """A webhook that answers only once the test releases it (or after 5 s): its name and endpoint."""

    def hang() -> Response:
        endpoint.release.wait(5)
        return OK

    name, _, endpoint = hook(hang)
    return name, endpoint


def test_a_hanging_endpoint_times_out_and_is_retried(hook):
    name, endpoint = hanging(hook)
    deliver, pauses = sender(timeout=0.3, attempts=2)
    try:
        [result] = deliver.deliver(client_with(("slack", name)), REPORT)
    finally:
        endpoint.release.set()
    assert (result["ok"], result["attempts"], result["error"]) == (False, 2, "timeout")
    assert pauses == [0.5]


def test_the_whole_delivery_has_a_deadline(hook):
    name, endpoint = hanging(hook)
    # The first request may only use what is left of the deadline (0.3 s, not its 5 s timeout);
    # having used it all, nothing is left to retry or to try the second webhook.
    deliver = WebhookSender(timeout=5, attempts=5, backoff=0.05, deadline=0.3, allow_loopback=True)
    try:
        [first, second] = deliver.deliver(client_with(("slack", name), ("teams", name)), REPORT)
    finally:
        endpoint.release.set()
    assert (first["ok"], first["attempts"], first["error"]) == (False, 1, "timeout")
    assert second == {
        "webhook": 1,
        "kind": "teams",
        "ok": False,
        "attempts": 0,
        "error": "deadline",
        "status": None,
        "detail": None,
    }


def test_nothing_listening_is_unreachable(hook, secrets):
    name = f"cost-reporting-local/clients/acme/webhook-{uuid.uuid4().hex}"
    secrets.create_secret(Name=name, SecretString="http://127.0.0.1:9/services/closed")
    deliver, _ = sender(attempts=2)
    [result] = deliver.deliver(client_with(("slack", name)), REPORT)
    assert (result["ok"], result["attempts"], result["error"]) == (False, 2, "unreachable")


def test_bad_or_missing_secrets_fail_that_webhook_only(hook, secrets):
    good, _, endpoint = hook(OK)
    plain_http = f"cost-reporting-local/clients/acme/webhook-{uuid.uuid4().hex}"
    secrets.create_secret(Name=plain_http, SecretString="http://hooks.example.com/services/x")
    as_json = f"cost-reporting-local/clients/acme/webhook-{uuid.uuid4().hex}"
    secrets.create_secret(Name=as_json, SecretString=json.dumps({"url": endpoint_url(good, secrets)}))
    deliver, _ = sender()
    results = deliver.deliver(
        client_with(
            ("slack", "cost-reporting-local/clients/acme/webhook-missing"), ("slack", plain_http), ("teams", as_json)
        ),
        REPORT,
    )
    assert [(r["ok"], r["error"], r["attempts"]) for r in results] == [
        (False, "secret_unavailable", 0),
        (False, "host_not_allowed", 0),  # plain http is only for loopback: never sent
        (True, None, 1),
    ]
    assert len(endpoint.requests) == 1


def endpoint_url(secret_name: str, secrets) -> str:
    return str(secrets.get_secret_value(SecretId=secret_name)["SecretString"])


def test_the_url_never_reaches_a_result_or_a_log(hook, caplog, monkeypatch):
    ok_name, ok_url, _ = hook(OK)
    bad_name, bad_url, _ = hook(ERROR)
    deliver, _ = sender(attempts=2)
    results = deliver.deliver(client_with(("slack", ok_name), ("teams", bad_name)), REPORT)
    # Even an unexpected error (here: building the payload) is contained and says only its type.
    from lambdas.logic.render import chat as channels

    def explode(*_args: Any) -> dict[str, Any]:
        raise RuntimeError(f"boom {ok_url}")

    monkeypatch.setitem(channels.PAYLOADS, "slack", explode)
    results += deliver.deliver(client_with(("slack", ok_name)), REPORT)
    assert results[2]["error"] == "unexpected_RuntimeError"
    from lambdas.observability import logger

    # The log lines as CloudWatch gets them: Powertools' JSON formatter over the records.
    lines = "\n".join(logger.registered_formatter.format(record) for record in caplog.records)
    for secret in (ok_url, bad_url, ok_url.rsplit("/", 1)[1], bad_url.rsplit("/", 1)[1]):
        assert secret not in json.dumps(results)
        assert secret not in lines
    assert '"message":"webhook delivery failed"' in lines
    assert '"error":"server_error"' in lines  # the failure is logged, by kind


def test_no_webhooks_no_work():
    assert WebhookSender(secrets=object()).deliver(make_client(), REPORT) == []


# -- where a summary may go, and how long an endpoint may hold the worker ------------------------


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("slack", "https://10.0.0.5/services/T/B/x"),  # a private address
        ("slack", "https://169.254.169.254/latest/meta-data/"),  # the instance metadata service
        ("slack", "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next"),  # Lambda's Runtime API
        ("slack", "https://example.com/services/T/B/x"),  # any other host
        ("slack", "https://hooks.slack.com.evil.example/services/T/B/x"),
        ("slack", "https://hooks.slack.com@evil.example/services/T/B/x"),
        ("slack", "http://hooks.slack.com/services/T/B/x"),  # not https
        ("slack", "https://hooks.slack.com:8443/services/T/B/x"),
        ("teams", "https://hooks.slack.com/services/T/B/x"),  # Slack's host for a Teams webhook
        ("teams", "https://webhook.office.com.evil.example/webhookb2/x"),
        ("teams", "https://logic.azure.com/workflows/x"),  # no subdomain: not a workflow host
    ],
)
def test_a_webhook_outside_the_slack_and_teams_hosts_is_never_posted_to(hook, secrets, kind, url):
    name = f"cost-reporting-local/clients/acme/webhook-{uuid.uuid4().hex}"
    secrets.create_secret(Name=name, SecretString=url)
    deliver, _ = sender(allow_loopback=False)  # as in every deployed environment
    [result] = deliver.deliver(client_with((kind, name)), REPORT)
    assert (result["ok"], result["error"], result["attempts"]) == (False, "host_not_allowed", 0)


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("slack", "https://hooks.slack.com/services/T000/B000/XXXX"),
        ("teams", "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456"),
        ("teams", "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x"),
        ("teams", "https://default1a2b.03.environment.api.powerplatform.com:443/powerautomate/automations/direct/x"),
    ],
)
def test_the_official_hosts_are_allowed(kind, url):
    from lambdas.logic.webhook_hosts import webhook_url_problem

    assert webhook_url_problem(kind, url) is None
    assert webhook_url_problem(kind, url.replace("https://", "http://")) is not None


def test_loopback_is_allowed_only_where_the_sender_says_local(hook):
    name, _, endpoint = hook(OK)
    [refused] = sender(allow_loopback=False)[0].deliver(client_with(("slack", name)), REPORT)
    [posted] = sender(allow_loopback=True)[0].deliver(client_with(("slack", name)), REPORT)
    assert (refused["ok"], refused["error"]) == (False, "host_not_allowed")
    assert posted["ok"] is True and len(endpoint.requests) == 1


def test_another_clients_webhook_secret_is_never_read(hook, secrets):
    """A record that somehow names another client's webhook (written around the model) posts nothing."""
    from lambdas.dal.client_secrets import ClientSecrets
    from lambdas.models.client import Webhook

    name, _, endpoint = hook(OK)
    other = f"cost-reporting-local/clients/globex/webhook-{uuid.uuid4().hex}"
    secrets.create_secret(Name=other, SecretString=endpoint_url(name, secrets))
    client = make_client().model_copy(update={"webhooks": [Webhook(kind="slack", secret_name=other)]})
    deliver, _ = sender()
    [result] = deliver.deliver(client, REPORT, ClientSecrets("acme", prefix="cost-reporting-local/clients/"))
    assert (result["ok"], result["error"], result["attempts"]) == (False, "secret_not_the_clients", 0)
    assert endpoint.requests == []


class _Trickle(BaseHTTPRequestHandler):
    """Answers 200 with a body of TRICKLE_BYTES, one byte every TRICKLE_PAUSE seconds (or a huge body
    at once), recording how many bytes it got out before the client hung up."""

    sent: ClassVar[list[int]] = []
    huge: ClassVar[bool] = False

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        size = 64 * 1024 * 1024 if self.huge else TRICKLE_BYTES
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        sent = 0
        try:
            if self.huge:
                chunk = b"x" * 65536
                while sent < size:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            else:
                for _ in range(size):
                    self.wfile.write(b"o")
                    self.wfile.flush()
                    sent += 1
                    threading.Event().wait(TRICKLE_PAUSE)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.sent.append(sent)

    def log_message(self, *args: Any) -> None:
        pass


TRICKLE_BYTES, TRICKLE_PAUSE = 200, 0.1  # 20 s for the whole answer, each byte well within a 1 s timeout


@pytest.fixture
def trickle(secrets):
    _Trickle.sent.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    name = f"cost-reporting-local/clients/acme/webhook-{uuid.uuid4().hex}"
    secrets.create_secret(Name=name, SecretString=f"http://127.0.0.1:{httpd.server_address[1]}/services/T/B/slow")
    yield name
    httpd.shutdown()
    httpd.server_close()


def test_an_endpoint_trickling_its_answer_is_cut_off_at_the_wall_clock_limit(trickle):
    """Each byte arrives within the socket timeout, so a per-read timeout never fires; the attempt's
    wall-clock limit does: the answer is abandoned long before its 200 bytes are out."""
    deliver, _ = sender(timeout=1.0, attempts=1, deadline=2.0)
    [result] = deliver.deliver(client_with(("slack", trickle)), REPORT)
    assert (result["ok"], result["error"], result["attempts"]) == (False, "timeout", 1)
    for _ in range(100):  # the server notices the hang-up at its next write
        if _Trickle.sent:
            break
        threading.Event().wait(0.1)
    assert _Trickle.sent and _Trickle.sent[0] < TRICKLE_BYTES


def test_a_huge_answer_is_read_only_up_to_the_cap(trickle):
    from lambdas.dal.webhooks import MAX_RESPONSE_BYTES

    _Trickle.huge = True
    try:
        deliver, _ = sender(timeout=10.0, attempts=1)
        [result] = deliver.deliver(client_with(("slack", trickle)), REPORT)
    finally:
        _Trickle.huge = False
    assert (result["ok"], result["status"]) == (True, 200)
    for _ in range(100):
        if _Trickle.sent:
            break
        threading.Event().wait(0.1)
    assert _Trickle.sent and _Trickle.sent[0] < 64 * 1024 * 1024  # the rest was never read
    assert MAX_RESPONSE_BYTES == 64 * 1024
