"""The large-payer row of the bench: daily reports of a payer with 300 accounts x 40 services
(emulator/payer.py), its Cost Explorer answers paged at the emulator's default page size.

The embedded AWS runs in its own process (`python -m emulator.server --payer 300x40`), and so does
each step here, so the figures are the worker's own:
- Cost Explorer: requests the endpoint received cold and on a same-day re-run, pages planned,
  the budget, USD per report and per month;
- the report's own CPU (building it and rendering every output) and the worker's peak memory, with
  `bench.startup.report_driver` through the worker handler, first run (cold cache) and the median of
  the next ones.

`python -m bench.payer [--accounts 300] [--services 40] [--page-groups N]` prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

AS_OF = date(2026, 11, 27)
AT = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 6, tzinfo=UTC)  # the daily schedule's hour
PRICE = Decimal("0.01")
REPORT_RUNS = 4
ROOT = Path(__file__).resolve().parents[1]
GOALS = {"report_cpu_ms": 150, "peak_rss_mb": 128}


@contextlib.contextmanager
def payer_aws(accounts: int, services: int, page_groups: int | None) -> Iterator[str]:
    command = [sys.executable, "-m", "emulator.server", "--port", "0", "--as-of", AS_OF.isoformat()]
    command += ["--payer", f"{accounts}x{services}", "--no-late-data"]
    if page_groups:
        command += ["--page-groups", str(page_groups)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)  # noqa: S603
    try:
        assert process.stdout is not None  # noqa: S101 - set just above
        for line in process.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found:
                yield found.group(0)
                return
        raise RuntimeError("the embedded AWS did not start")
    finally:
        process.terminate()
        process.wait(timeout=10)


def register(endpoint: str, accounts: int, services: int) -> dict[str, Any]:
    """Provision the local environment and register the payer's client; its environment and record."""
    from bench.startup import quiet_worker_environment, register_record

    environment = quiet_worker_environment(endpoint)
    from emulator.payer import payer_client, payer_dataset

    return register_record(environment, payer_client(payer_dataset(AS_OF, accounts=accounts, services=services)))


def cost_explorer(endpoint: str, record: dict[str, Any]) -> dict[str, Any]:
    """A cold run and a same-day re-run through the pipeline: what Cost Explorer was asked."""
    from emulator.admin import admin
    from lambdas import clock
    from lambdas.models.events import ReportJob
    from lambdas.models.settings import get_settings
    from lambdas.orchestration.dependencies import dependencies_from
    from lambdas.orchestration.run import ReportRun

    runs = []
    for label, hour in (("cold", 6), ("same-day re-run", 18)):
        admin(endpoint, "ce/reset-log", {})
        with clock.pinned(AT.replace(hour=hour)):
            job = ReportJob(run_id=f"{AS_OF}.ce-{hour}", client_id=record["client_id"], as_of=AS_OF)
            with contextlib.redirect_stdout(open(os.devnull, "w")):
                outcome = ReportRun(dependencies_from(get_settings())).run(job)
        runs.append(
            {
                "run": label,
                "status": outcome.status,
                "complete": outcome.report.complete if outcome.report else None,
                "ce_requests": outcome.ce_requests,
                "endpoint_received": len(admin(endpoint, "ce/requests")),
                "budget": outcome.ce_budget,
                "planned_pages": outcome.ce_planned,
                "usd": str(PRICE * outcome.ce_requests),
            }
        )
    return {"runs": runs, "page_groups": admin(endpoint, "ce/dataset")["page_size"]}


def measure(accounts: int = 300, services: int = 40, page_groups: int | None = None) -> dict[str, Any]:
    from bench.startup import step

    with payer_aws(accounts, services, page_groups) as endpoint:
        registered = step("bench.payer", "register", endpoint, str(accounts), str(services))
        env = {**os.environ, **registered["environment"]}
        record = json.dumps(registered["record"])
        requests = step("bench.payer", "cost-explorer", endpoint, record, env=env)
    with payer_aws(accounts, services, page_groups) as endpoint:  # a fresh cache: the first run is cold
        registered = step("bench.payer", "register", endpoint, str(accounts), str(services))
        env = {**os.environ, **registered["environment"]}
        driven = step("bench.payer", "drive", json.dumps(registered["record"]), env=env)
    cold = requests["runs"][0]
    return {
        "accounts": accounts,
        "services": services,
        "groups_per_day": accounts * services,
        "page_groups": requests["page_groups"],
        "cost_explorer": requests["runs"],
        "usd_per_report": cold["usd"],
        "usd_per_month_daily": str(PRICE * cold["ce_requests"] * 30),
        "report_cpu_ms": driven["report_cpu_ms"],
        "worker_cpu_ms": driven["worker_cpu_ms"],
        "peak_rss_mb": driven["peak_rss_mb"],
        "goals": GOALS,
    }


def drive(record: dict[str, Any]) -> dict[str, Any]:
    from bench.startup import report_driver
    from lambdas import clock

    with clock.pinned(AT):
        return report_driver(record, AS_OF, REPORT_RUNS)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "register":
        print(json.dumps(register(argv[1], int(argv[2]), int(argv[3]))))
    elif argv and argv[0] == "cost-explorer":
        print(json.dumps(cost_explorer(argv[1], json.loads(argv[2]))))
    elif argv and argv[0] == "drive":
        print(json.dumps(drive(json.loads(argv[1]))))
    else:
        parser = argparse.ArgumentParser(prog="python -m bench.payer", description=__doc__.splitlines()[0])
        parser.add_argument("--accounts", type=int, default=300)
        parser.add_argument("--services", type=int, default=40)
        parser.add_argument("--page-groups", type=int, default=None)
        args = parser.parse_args(argv)
        print(json.dumps(measure(args.accounts, args.services, args.page_groups), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
