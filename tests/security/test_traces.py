"""X-Ray traces hold no webhook URL. In Lambda the Tracer patches modules for X-Ray; a patched HTTP
client records each request's URL in a subsegment, and a Slack or Teams webhook's secret is in its
URL, outside the log redaction. The Tracer patches botocore only (lambdas/observability.py).

Each case runs in a fresh interpreter with tracing on, as in Lambda (patching is process-wide and
cannot be undone), posts a summary to a loopback webhook whose path holds the secret, makes one AWS
call, and prints every entity X-Ray would have been sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "T0TRACE/B0TRACE/xoxbTraceSecret9f8e7d6c"

SCRIPT = (
    """
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args): pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()

from aws_xray_sdk.core import xray_recorder

class Capture:
    sent = []
    def send_entity(self, entity):
        self.sent.append(entity.serialize())
    def set_daemon_address(self, address):
        pass

xray_recorder.configure(emitter=Capture(), sampling=False, context_missing="LOG_ERROR", streaming_threshold=0)

from lambdas.observability import tracer  # noqa: F401 - creating the Tracer patches, as in Lambda
if sys.argv[1] == "default":  # Powertools' default: Tracer(patch_modules=None)
    from aws_lambda_powertools import Tracer
    Tracer(service="probe")
elif sys.argv[1] == "http-clients":  # X-Ray's own patch of Python's HTTP client
    from aws_xray_sdk.core import patch
    patch(["httplib"])

import boto3
from lambdas.dal.webhooks import WebhookSender

url = f"http://127.0.0.1:{server.server_address[1]}/services/"""
    + SECRET
    + """"
with xray_recorder.in_subsegment("webhook"):
    status = WebhookSender(allow_loopback=True)._post(url, b"{}", 5.0)
with xray_recorder.in_subsegment("aws"):
    try:
        boto3.client("sts", endpoint_url="http://127.0.0.1:9", region_name="us-east-1").get_caller_identity()
    except Exception:
        pass
print(json.dumps({"status": status, "entities": Capture.sent}))
"""
)


def traced(mode: str) -> dict[str, object]:
    environment = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "cost-reporting-lambda",
        "LAMBDA_TASK_ROOT": str(ROOT),  # Powertools traces only where Lambda runs it
        "POWERTOOLS_TRACE_DISABLED": "false",
        "_X_AMZN_TRACE_ID": "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, env=environment, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_webhook_url_reaches_a_trace_segment_and_aws_calls_are_still_traced():
    result = traced("as-deployed")

    assert result["status"] == 200
    entities = "\n".join(str(entity) for entity in result["entities"])
    assert SECRET not in entities and "/services/" not in entities
    assert '"namespace": "aws"' in entities and "GetCallerIdentity" in entities  # botocore is traced


def test_the_check_would_see_a_url_if_http_clients_were_traced():
    """The same capture with X-Ray's patch of Python's HTTP client: the webhook's secret is there. (The
    pinned Powertools' default list leaves http.client out but patches requests and httpx whenever
    they are imported; the explicit botocore-only list does not depend on what gets imported.)"""
    entities = "\n".join(str(entity) for entity in traced("http-clients")["entities"])

    assert SECRET in entities
