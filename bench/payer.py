"""The large-payer row of the bench: one daily report of a payer with 300 accounts x 40 services
(emulator/payer.py), its Cost Explorer answers paged at the emulator's default page size, cold
cache then a same-day re-run. The embedded AWS runs in its own process, so the figures are the
worker's own: requests and pages, USD, wall and CPU time, and the process's peak memory.

`python -m bench.payer [--accounts 300] [--services 40] [--page-groups N]` prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

AS_OF = date(2026, 11, 27)
PRICE = Decimal("0.01")


@contextlib.contextmanager
def payer_aws(accounts: int, services: int, page_groups: int | None) -> Iterator[str]:
    command = [sys.executable, "-m", "emulator.server", "--port", "0", "--as-of", AS_OF.isoformat()]
    command += ["--payer", f"{accounts}x{services}", "--no-late-data"]
    if page_groups:
        command += ["--page-groups", str(page_groups)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
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


def measure(accounts: int = 300, services: int = 40, page_groups: int | None = None) -> dict[str, Any]:
    with payer_aws(accounts, services, page_groups) as endpoint:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_NAMESPACE": "CostReporting",
            }
        )
        from emulator.admin import admin
        from emulator.payer import payer_client, payer_dataset
        from emulator.provision import provision, settings_environment
        from infrastructure.config import for_environment
        from lambdas import clock
        from lambdas.dal.clients_table import ClientsTable
        from lambdas.models.client import parse_client
        from lambdas.models.events import ReportJob
        from lambdas.models.settings import get_settings
        from lambdas.observability import logs_to
        from lambdas.pipeline import ReportRun, dependencies_from

        settings = provision(for_environment("local"))
        os.environ.update(settings_environment(settings))
        get_settings.cache_clear()
        client = parse_client(payer_client(payer_dataset(AS_OF, accounts=accounts, services=services)))
        ClientsTable(get_settings().clients_table).put(client)
        runs = []
        with open(os.devnull, "w") as sink, logs_to(sink), contextlib.redirect_stdout(sink):
            for label, hour in (("cold", 6), ("same-day re-run", 18)):
                with clock.pinned(datetime(AS_OF.year, AS_OF.month, AS_OF.day, hour, tzinfo=UTC)):
                    admin(endpoint, "ce/reset-log", {})
                    wall, cpu = time.perf_counter(), time.process_time()
                    job = ReportJob(run_id=f"{AS_OF}.bench-{hour}", client_id=client.client_id, as_of=AS_OF)
                    outcome = ReportRun(dependencies_from(get_settings())).run(job)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    received = len(admin(endpoint, "ce/requests"))
                report = outcome.report
                runs.append(
                    {
                        "run": label,
                        "status": outcome.status,
                        "complete": report.complete if report else None,
                        "ce_requests": outcome.ce_requests,
                        "endpoint_received": received,
                        "budget": outcome.ce_budget,
                        "planned_pages": outcome.ce_planned,
                        "usd": str(PRICE * outcome.ce_requests),
                        "wall_s": round(wall, 2),
                        "cpu_s": round(cpu, 2),
                    }
                )
        page = admin(endpoint, "ce/dataset")["page_size"]
    return {
        "accounts": accounts,
        "services": services,
        "page_groups": page,
        "groups_per_day": accounts * services,
        "runs": runs,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "usd_per_month_daily": str(PRICE * runs[0]["ce_requests"] * 30),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.payer", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument("--page-groups", type=int, default=None)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.accounts, args.services, args.page_groups), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
