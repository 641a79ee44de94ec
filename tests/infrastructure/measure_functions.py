"""Measure the handlers' peak memory and duration, the figures the stack's sizing comes from
(docs/architecture.md). Not a test: run it by hand.

    .venv/bin/python -m tests.infrastructure.measure_functions [--extra-clients N]

The embedded AWS runs in its own process, so what is measured is only a Lambda-like process:
a fresh interpreter that imports the handler and handles events, as a sandbox would (the
first invocation is the cold start). Peak memory is the child's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import date

AS_OF = date(2026, 11, 27)

_CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
from emulator.lambda_runtime import LocalContext
from lambdas.handlers import {module} as handler_module
imported = time.perf_counter() - started
durations = []
for event in json.loads(sys.stdin.read()):
    t = time.perf_counter()
    result = handler_module.handler(event, LocalContext("measure", memory_limit_in_mb=1024, timeout_seconds=900))
    durations.append(time.perf_counter() - t)
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if failures:
        raise SystemExit(f"failed records: {{failures}}")
print(json.dumps({{"import_s": imported, "durations_s": durations,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _start_emulator(extra_clients: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "emulator.server", "--port", "0", "--as-of", AS_OF.isoformat()]
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [*command, "--extra-clients", str(extra_clients)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if match:
            return process, match.group(1)
    raise SystemExit("the embedded AWS did not start")


def _measure(module: str, events: list[dict[str, object]], env: dict[str, str]) -> dict[str, object]:
    answer = subprocess.run(  # noqa: S603 - this interpreter, fixed program
        [sys.executable, "-c", _CHILD.format(module=module)],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if answer.returncode:
        raise SystemExit(f"{module} failed:\n{answer.stderr[-3000:]}")
    return json.loads(answer.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--extra-clients", type=int, default=0)
    args = parser.parse_args()
    emulator, endpoint = _start_emulator(args.extra_clients)
    try:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
        )
        from emulator.dataset import demo_clients, generate_demo_dataset
        from emulator.lambda_runtime import sqs_event
        from emulator.provision import provision, settings_environment
        from infrastructure.config import for_environment
        from lambdas.dal.clients_table import ClientsTable
        from lambdas.models.client import parse_client
        from lambdas.models.events import ReportJob

        settings = provision(for_environment("local"))
        env = {**os.environ, **settings_environment(settings)}
        records = demo_clients(generate_demo_dataset(AS_OF, extra_clients=args.extra_clients))
        table = ClientsTable(settings.clients_table)
        for record in records:
            table.put(parse_client(record))
        # The Cost Explorer worker's figures: a client read from its Data Export (hooli) needs its
        # export delivered and loads DuckDB, which is not this function's memory.
        jobs = [
            ReportJob.scheduled(record["client_id"], "daily", AS_OF)
            for record in records
            if record.get("cost_source", "cost_explorer") == "cost_explorer"
        ]
        worker_events = [
            sqs_event(
                [{"MessageId": str(i), "ReceiptHandle": "r", "Body": job.model_dump_json()}],
                "arn:aws:sqs:us-east-1:123456789012:jobs",
            )
            for i, job in enumerate(jobs)
        ]
        from tests.integration.test_feedback import sns_event
        from tests.unit.test_feedback import bounce, tagged

        env["SUPPRESSIONS_TABLE"] = for_environment("local").suppressions_table
        feedback_events = [sns_event(bounce(tags=tagged(record["client_id"]))) for record in records]
        started = time.perf_counter()
        results = {
            "worker (one client per invocation)": _measure("worker", worker_events, env),
            "dispatcher (every schedule)": _measure(
                "dispatcher",
                [{"schedule": s, "as_of": AS_OF.isoformat()} for s in ("daily", "weekly", "monthly")],
                env,
            ),
            "feedback (one bounce per client)": _measure("feedback", feedback_events, env),
        }
        for name, figures in results.items():
            durations = [round(d, 3) for d in figures["durations_s"]]  # type: ignore[attr-defined]
            print(
                f"{name}: peak RSS {figures['max_rss_mb']:.0f} MB, import {figures['import_s']:.2f} s, "
                f"first {durations[0]:.2f} s, then max {max(durations[1:] or [0]):.2f} s over {len(durations)} events"
            )
        print(f"clients: {len(records)}, wall {time.perf_counter() - started:.1f} s")
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
