"""``EmbeddedAWS``: one loopback endpoint serving moto and the Cost Explorer emulator.

Setting only ``AWS_ENDPOINT_URL=http://127.0.0.1:PORT`` points boto3 (every service, ``ce``
included) at it:

- requests whose ``X-Amz-Target`` starts with ``AWSInsightsIndexService.`` go to the Cost Explorer
  emulator, on behalf of the account of the SigV4 access key (moto's own mapping: keys issued by
  moto, for example by ``sts:AssumeRole``, belong to the role's account; other keys belong to
  moto's default account ``123456789012``, which sees every account);
- paths under ``/_emulator/`` are a small JSON admin API (see ``_Router._admin``);
- everything else goes to moto's server application (``/moto-api/reset`` included).

moto keeps its backends in process-global state: one process holds one emulator's AWS state. Two
``EmbeddedAWS`` in one process (or ``moto.mock_aws`` alongside) share moto's resources; only the
Cost Explorer datasets are per instance.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage
from http import HTTPStatus
from types import TracebackType
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import BaseResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulator import iam_enforcement, moto_clock
from emulator.client_roles import ensure_client_roles
from emulator.cost_explorer import DEFAULT_PAGE_GROUPS, TARGET_PREFIX, CostExplorerEmulator
from emulator.dataset import CostDataset, demo_clients, generate_demo_dataset
from emulator.dynamodb_metrics import TARGET_PREFIX as DYNAMODB_TARGET
from emulator.dynamodb_metrics import DynamoDBMetrics
from emulator.payer import payer_dataset
from emulator.platform_bill import add_platform_bill
from emulator.ses_account import SesAccount
from emulator.wsgi import peek_body
from lambdas import clock

try:  # moto >= 5.2.5 keeps header names with underscores (S3 metadata) intact
    from moto.moto_server.werkzeug_app import MotoRequestHandler as _BaseHandler
except ImportError:  # pragma: no cover - older moto
    _BaseHandler = WSGIRequestHandler  # type: ignore[misc,assignment]

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIEnviron = dict[str, Any]


class _QuietRequestHandler(_BaseHandler):
    """No access log line per request: benchmarks send thousands."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def caller_account(headers: dict[str, str]) -> str:
    """The account a request acts for, decided the way moto decides it.

    ``MOTO_ACCOUNT_ID`` in the environment, then an ``x-moto-account-id`` header, then the SigV4
    access key id (moto maps the keys it issued to their account), else ``123456789012``.
    """
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    lowered = {key.lower(): value for key, value in headers.items()}
    if lowered.get("x-moto-account-id"):
        return lowered["x-moto-account-id"]
    match = BaseResponse.access_key_regex.search(lowered.get("authorization", ""))
    if not match:
        return DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from  # imported late: loads moto's IAM models

    return get_account_id_from(match.group("access_key"))


def sent_ses_messages() -> list[dict[str, Any]]:
    """Every message sent through moto's SES (v1 or v2), all accounts and regions."""
    from moto.ses.models import ses_backends

    messages: list[dict[str, Any]] = []
    for account_id, per_account in list(ses_backends.items()):
        for region, backend in list(dict.items(per_account)):
            for message in list(backend.sent_messages):
                messages.append(_render_message(message, account_id, region))
    return messages


def _flatten_destinations(destinations: Any) -> list[str]:
    if isinstance(destinations, dict):
        flat: list[str] = []
        for key in ("ToAddresses", "CcAddresses", "BccAddresses"):
            flat.extend(destinations.get(key) or [])
        return flat
    if isinstance(destinations, list):
        flat = []
        for item in destinations:  # bulk templated sends hold a list of {"Destination": {...}}
            if isinstance(item, dict):
                flat.extend(_flatten_destinations(item.get("Destination", item)))
            else:
                flat.append(str(item))
        return flat
    return []


def _render_message(message: Any, account_id: str, region: str) -> dict[str, Any]:
    destinations = _flatten_destinations(getattr(message, "destinations", []))
    raw = getattr(message, "raw_data", None)
    if raw is None and hasattr(message, "subject"):
        rendered = EmailMessage()
        rendered["From"] = message.source or ""
        rendered["To"] = ", ".join(destinations)
        rendered["Subject"] = message.subject or ""
        body = message.body or ""
        rendered.set_content(body, subtype="html" if "<html" in body.lower() else "plain")
        raw = rendered.as_string()
    elif raw is None:  # templated send: no body to render, show the template and its data
        raw = f"Template: {getattr(message, 'template', '')}\n\n{getattr(message, 'template_data', '')}"
    message_id = getattr(message, "id", None) or ",".join(getattr(message, "ids", []))
    return {
        "id": message_id,
        "source": message.source,
        "destinations": destinations,
        "raw": raw,
        "account_id": account_id,
        "region": region,
    }


class _Router:
    """WSGI application: Cost Explorer emulator, admin API, or moto."""

    def __init__(self, aws: EmbeddedAWS) -> None:
        self._aws = aws
        self._moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        try:
            if path.startswith("/_emulator/"):
                return self._admin(environ, start_response, path)
            if environ.get("HTTP_X_AMZ_TARGET", "").startswith(TARGET_PREFIX):
                return self._cost_explorer(environ, start_response)
            if path == "/moto-api/reset":
                self._aws.ses.reset()
                self._aws.dynamodb_metrics.reset()
            if environ.get("HTTP_X_AMZ_TARGET", "").startswith(DYNAMODB_TARGET):
                body = _body(environ)
                account = caller_account(_headers(environ))
                return self._aws.dynamodb_metrics.watch(environ, start_response, self._moto, body, account)
            if "/monitoring/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""):
                self._aws.dynamodb_metrics.publish()  # CloudWatch is read: DynamoDB's metrics are there first
            answer = self._aws.ses.handle(environ, start_response, self._moto)
            if answer is not None:
                return answer
        except Exception:  # an emulator bug must show as a 500, never a dropped connection
            logger.exception("embedded AWS failed on %s %s", environ.get("REQUEST_METHOD"), path)
            error = {"__type": "InternalErrorException", "message": "emulator error; see the server log"}
            return _respond(start_response, 500, error, "application/x-amz-json-1.1")
        served: Iterable[bytes] = self._moto(environ, start_response)
        if path.rstrip("/") == "/moto-api/reset":
            # moto forgot every account: the platform's is provisioned again by its owner, the clients'
            # roles were never the platform's to lose.
            iam_enforcement.reset()
            self._aws.ensure_client_roles()
        return served

    # -- Cost Explorer ---------------------------------------------------------------------------

    def _cost_explorer(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        content_type = "application/x-amz-json-1.1"
        raw = _body(environ)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            error = {"__type": "SerializationException", "message": "The request body is not valid JSON"}
            return _respond(start_response, 400, error, content_type)
        headers = _headers(environ)
        status, answer = self._aws.ce.handle(environ["HTTP_X_AMZ_TARGET"], body, caller_account(headers))
        return _respond(start_response, status, answer, content_type)

    # -- admin API -------------------------------------------------------------------------------

    def _admin(self, environ: WSGIEnviron, start_response: StartResponse, path: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        route = path[len("/_emulator") :].rstrip("/")
        routes: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
            ("GET", "/health"): lambda _: {"ok": True},
            ("GET", "/ses/messages"): lambda _: sent_ses_messages(),
            ("GET", "/ce/requests"): lambda _: self._aws.ce.request_log(),
            ("POST", "/ce/reset-log"): self._reset_log,
            ("POST", "/ce/restate"): self._restate,
            ("POST", "/ce/page-size"): self._page_size,
            ("POST", "/ce/throttle"): self._throttle,
            ("GET", "/ce/dataset"): lambda _: self._aws.dataset_summary(),
            ("GET", "/clients"): lambda _: demo_clients(self._aws.ce.dataset),
            ("POST", "/ses/events"): self._ses_event,
            ("POST", "/exports/deliver"): self._deliver_exports,
        }
        handler = routes.get((method, route))
        if handler is None:
            known = any(r == route for _, r in routes)
            status = 405 if known else 404
            return _respond(start_response, status, {"error": f"no admin route {method} {path}"})
        payload: dict[str, Any] = {}
        if method == "POST":
            try:
                payload = json.loads(_body(environ) or b"{}", parse_float=Decimal)  # money: no floats
            except ValueError:
                return _respond(start_response, 400, {"error": "body must be JSON"})
            if not isinstance(payload, dict):
                return _respond(start_response, 400, {"error": "body must be a JSON object"})
        try:
            return _respond(start_response, 200, handler(payload))
        except (KeyError, ValueError, TypeError, InvalidOperation) as error:
            return _respond(start_response, 400, {"error": f"{type(error).__name__}: {error}"})

    def _deliver_exports(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The Data Exports of the dataset's clients read from one (hooli), as their payers have them
        on `as_of` (default: the dataset's day), written into their buckets here."""
        from emulator.exports import deliver_demo_exports

        dataset = self._aws.dataset
        as_of = date.fromisoformat(payload["as_of"]) if payload.get("as_of") else None
        if as_of is None:
            if dataset.last_day is None:
                raise ValueError("the dataset is empty: give as_of")
            as_of = dataset.last_day + timedelta(days=1)
        written = deliver_demo_exports(dataset, demo_clients(dataset), as_of, endpoint_url=self._aws.endpoint_url)
        return {
            "exports": [
                {"bucket": w.bucket, "root": f"{w.prefix}/{w.export_name}/", "periods": w.periods, "bytes": w.bytes}
                for w in written
            ]
        }

    def _reset_log(self, _: dict[str, Any]) -> dict[str, Any]:
        self._aws.ce.reset_log()
        return {"ok": True}

    def _restate(self, payload: dict[str, Any]) -> dict[str, Any]:
        day = date.fromisoformat(payload["day"])
        amount = Decimal(str(payload["amount"]))
        self._aws.ce.dataset.restate(day, str(payload["account_id"]), str(payload["service"]), amount)
        return {"ok": True}

    def _ses_event(self, payload: dict[str, Any]) -> dict[str, Any]:
        at = datetime.fromisoformat(payload["at"]) if payload.get("at") else None
        if at is not None and at.tzinfo is None:
            raise ValueError("at must carry its time zone")
        self._aws.ses.record(str(payload["type"]), int(payload.get("count", 1)), at)
        return {"ok": True}

    def _throttle(self, payload: dict[str, Any]) -> dict[str, Any]:
        count = payload["count"]
        if not isinstance(count, int) or isinstance(count, bool):
            raise ValueError("count must be an integer (-1: always, 0: off)")
        code = str(payload.get("code", "ThrottlingException"))
        after = payload.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool):
            raise ValueError("after must be an integer")
        self._aws.ce.throttle(count, code, after=after)
        return {"ok": True, "count": count, "code": code, "after": after}

    def _page_size(self, payload: dict[str, Any]) -> dict[str, Any]:
        size = payload["page_size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError("page_size must be a positive integer")
        self._aws.ce.page_size = size
        return {"ok": True, "page_size": size}


def _headers(environ: WSGIEnviron) -> dict[str, str]:
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return headers


def _body(environ: WSGIEnviron) -> bytes:
    """The request body, gunzipped if it was sent so; put back as sent for moto to read."""
    raw = peek_body(environ)
    return gzip.decompress(raw) if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip" else raw


def _respond(
    start_response: StartResponse, status: int, body: Any, content_type: str = "application/json"
) -> list[bytes]:
    data = json.dumps(body, default=str).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(data))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [data]


class EmbeddedAWS:
    """moto and the Cost Explorer emulator behind one loopback endpoint, served from a thread.

    >>> with EmbeddedAWS(generate_demo_dataset(date(2026, 11, 27))) as aws:  # doctest: +SKIP
    ...     boto3.client("ce", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    """

    def __init__(
        self,
        dataset: CostDataset | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        page_size: int = DEFAULT_PAGE_GROUPS,
        late_data: bool = False,
    ) -> None:
        if dataset is None:
            dataset = generate_demo_dataset(clock.today())
        moto_clock.install()  # moto records and checks times on the platform's clock
        self._ce = CostExplorerEmulator(dataset, page_size=page_size, late_data=late_data)
        self.ses = SesAccount()  # what SES counts: sends and feedback with their times
        self.dynamodb_metrics = DynamoDBMetrics()  # the AWS/DynamoDB metrics moto does not publish
        iam_enforcement.install()  # trust policies, external ids, session tags, alarm actions
        self.ensure_client_roles()
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def _make_server(self) -> BaseWSGIServer:
        return make_server(self._host, self._port, _Router(self), threaded=True, request_handler=_QuietRequestHandler)

    def start(self) -> EmbeddedAWS:
        if self._server is not None:
            raise RuntimeError("EmbeddedAWS is already started")
        self._server = self._make_server()
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), name="embedded-aws", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (SIGINT or SIGTERM)."""
        if self._server is not None:
            raise RuntimeError("EmbeddedAWS is already started")
        self._server = self._make_server()
        # `local up` reads this line to learn the endpoint (port 0 picks a free port).
        print(f"EmbeddedAWS listening on {self.endpoint_url}", flush=True)
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
            self._server = None

    def __enter__(self) -> EmbeddedAWS:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- accessors -------------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmbeddedAWS is not started")
        host = self._host if ":" not in self._host else f"[{self._host}]"
        return f"http://{host}:{self._server.server_port}"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("EmbeddedAWS is not started")
        return int(self._server.server_port)

    @property
    def ce(self) -> CostExplorerEmulator:
        return self._ce

    @property
    def dataset(self) -> CostDataset:
        return self._ce.dataset

    def set_dataset(self, dataset: CostDataset) -> None:
        """Answer Cost Explorer from another dataset from now on (the request log is kept)."""
        self._ce.dataset = dataset
        self.ensure_client_roles()

    def ensure_client_roles(self) -> int:
        """Each client of the dataset has its read-only role in its payer account (emulator/client_roles.py)."""
        return ensure_client_roles(demo_clients(self._ce.dataset))

    def dataset_summary(self) -> dict[str, Any]:
        dataset = self._ce.dataset
        return {
            "finalised_through": dataset.finalised_through.isoformat(),
            "first_day": dataset.first_day.isoformat() if dataset.first_day else None,
            "last_day": dataset.last_day.isoformat() if dataset.last_day else None,
            "records": len(dataset),
            "version": dataset.version,
            "accounts": [
                {"account_id": a.account_id, "name": a.name, "payer_account_id": a.payer_account_id}
                for a in sorted(dataset.accounts.values(), key=lambda a: a.account_id)
            ],
            "highlights": dataset.highlights,
            "page_size": self._ce.page_size,
        }


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 4566,
    dataset: CostDataset | None = None,
    *,
    page_size: int = DEFAULT_PAGE_GROUPS,
    late_data: bool = True,
) -> None:
    """Run the embedded AWS in the foreground (for ``local up``); returns on SIGINT or SIGTERM."""
    aws = EmbeddedAWS(dataset, host=host, port=port, page_size=page_size, late_data=late_data)

    def _stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not interrupt the shutdown
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread: the caller handles signals
        signal.signal(signal.SIGTERM, _stop)
    with contextlib.suppress(KeyboardInterrupt):
        aws.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulator.server",
        description="Embedded local AWS: moto plus a Cost Explorer emulator, on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566, help="port (default: 4566; 0 picks a free one)")
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="dataset date YYYY-MM-DD (default: today, UTC)"
    )
    parser.add_argument("--seed", type=int, default=7, help="dataset seed (default: 7)")
    parser.add_argument("--extra-clients", type=int, default=0, help="synthetic clients to add (default: 0)")
    parser.add_argument(
        "--page-groups",
        type=int,
        default=DEFAULT_PAGE_GROUPS,
        help=f"Cost Explorer groups per page (default: {DEFAULT_PAGE_GROUPS}; AWS documents none)",
    )
    parser.add_argument(
        "--no-late-data", action="store_true", help="yesterday complete at once (default: it fills in over the day)"
    )
    parser.add_argument(
        "--payer",
        default="",
        metavar="ACCOUNTSxSERVICES",
        help="serve a large payer instead of the demo dataset (e.g. 300x40; emulator/payer.py)",
    )
    args = parser.parse_args(argv)
    if args.page_groups < 1:
        parser.error("--page-groups must be at least 1")
    as_of = args.as_of or clock.today()
    dataset: CostDataset
    if args.payer:
        accounts, _, services = args.payer.partition("x")
        if not (accounts.isdigit() and services.isdigit()):
            parser.error("--payer must be ACCOUNTSxSERVICES, e.g. 300x40")
        dataset = payer_dataset(as_of, accounts=int(accounts), services=int(services))
    else:
        dataset = generate_demo_dataset(as_of, seed=args.seed, extra_clients=args.extra_clients)
    add_platform_bill(dataset)  # the platform's own account, for `costs report` and `costs trends`
    logging.basicConfig(level=logging.INFO)
    serve_forever(args.host, args.port, dataset, page_size=args.page_groups, late_data=not args.no_late_data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
