"""What each handler imports at cold start, in a fresh interpreter (as a Lambda sandbox starts):
never the modules that serve only some runs, or only onboarding, or only tracing. Their cost is
measured by `make bench` (bench/results.json); here only whether they are imported at all, so a
later change cannot quietly bring them back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = (
    "lambdas.handlers.worker",
    "lambdas.handlers.export_worker",
    "lambdas.handlers.dispatcher",
    "lambdas.handlers.feedback",
)
# Module -> why it stays out of every handler's import.
LAZY = {
    "openpyxl": "the XLSX workbook: only clients with attach_xlsx",
    "PIL": "imported by openpyxl when installed",
    "lambdas.logic.render.xlsx": "the XLSX workbook",
    "lambdas.logic.render": "the renderer: imported by the first run that renders",
    "jinja2": "the renderer",
    "css_inline": "the renderer",
    "lambdas.logic.render.chat": "chat summaries: only clients with webhooks",
    "email_validator": "the full recipient check: onboarding only (lambdas/models/client.py)",
    "dns": "email_validator's resolver",
    "aws_xray_sdk": "the X-Ray SDK: only where tracing is on (lambdas/observability.py)",
    "pydantic_settings": "settings are a plain pydantic model (lambdas/models/settings.py)",
    "aws_lambda_powertools.utilities.parser": "every event source's model; the feedback handler reads SNS itself",
    "duckdb": "the Data Exports engine: only clients on data_exports (lambdas/dal/duckdb_engine.py imports it lazily)",
    "lambdas.logic.exports_sql": "a Data Export's SQL: imported by the read (orchestration/export_reader.py)",
    "lambdas.logic.export_schema": "a Data Export's columns: imported by the read",
}
_PROBE = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"


def imported_by(module: str, **environment: str) -> set[str]:
    env = {key: value for key, value in os.environ.items() if key != "LAMBDA_TASK_ROOT"}
    env.update(environment)
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed probe
        [sys.executable, "-c", _PROBE, module], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("handler", HANDLERS)
def test_a_cold_handler_imports_none_of_the_lazy_modules(handler):
    # As the stack deploys it: in Lambda, tracing off (POWERTOOLS_TRACE_DISABLED, infrastructure/config.py).
    modules = imported_by(handler, LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED="true")

    assert handler in modules and "boto3" in modules  # the probe did import the handler
    loaded = {lazy: why for lazy, why in LAZY.items() if lazy in modules}
    assert loaded == {}


def test_where_tracing_is_on_the_tracer_patches_botocore_only():
    probe = (
        "import lambdas.handlers.worker as worker, http.client, json;"
        "from aws_xray_sdk.core import patcher;"
        "print(json.dumps([sorted(patcher._PATCHED_MODULES), type(worker.tracer).__name__,"
        " hasattr(http.client.HTTPConnection.request, '__wrapped__')]))"
    )
    env = dict(os.environ, LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED="false")
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )

    patched, tracer, http_client_patched = json.loads(result.stdout.strip().splitlines()[-1])
    assert (patched, tracer, http_client_patched) == (["botocore"], "Tracer", False)
