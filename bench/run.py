"""`make bench` (python -m bench.run): the platform end to end on the embedded AWS.

For 10, 100 and 1,000 synthetic clients: the embedded AWS runs in its own process (as AWS would
be elsewhere); this process plays Lambda: the dispatcher for each schedule, then the worker
handler over the SQS queue until it is empty (render, archive, send, record), then a same-day
re-run of a sample (warm cache). A month of runs per schedule measures Cost Explorer USD per
client per month with the cache as it really behaves (estimates refreshed daily, final months
never). Then cold start, memory and size (bench/startup.py). Prints tables and writes
bench/results.json; `--quick` runs only the cold-start, memory and size part and updates that
part of the file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.startup import peak_rss_mb
from lambdas import clock

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
AS_OF = date(2026, 11, 27)
SIZES = (10, 100, 1000)
WARM_SAMPLE = 50
PEER_REQUESTS_PER_REPORT = 17  # the AWS sample's default configuration, measured against an emulator
PRICE = Decimal("0.01")


# -- the embedded AWS, in its own process ---------------------------------------------------------------


@contextlib.contextmanager
def embedded_aws(clients: int, as_of: date) -> Any:
    command = [sys.executable, "-m", "emulator.server", "--port", "0", "--as-of", as_of.isoformat()]
    server = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [*command, "--extra-clients", str(clients)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None  # noqa: S101 - Popen with PIPE always has it
        line = server.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if not match:
            raise RuntimeError(f"the embedded AWS did not start: {line!r}")
        yield match.group(1)
    finally:
        server.terminate()
        server.wait(timeout=30)


# -- one size, driven in a fresh process (its peak memory is the worker's) -------------------------


def drive(clients: int, endpoint: str, as_of: date) -> dict[str, Any]:
    from cli.commands.demo import local_aws_environment

    os.environ.update(local_aws_environment(endpoint))
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    from emulator.admin import admin
    from emulator.lambda_runtime import drain_queue, invoke
    from emulator.provision import provision, settings_environment
    from infrastructure.config import for_environment
    from lambdas.dal.aws import _shared_session
    from lambdas.dal.clients_table import ClientsTable
    from lambdas.dal.executions_table import ExecutionsTable
    from lambdas.handlers import dispatcher, worker
    from lambdas.models.client import SCHEDULES, parse_client
    from lambdas.models.events import ReportJob
    from lambdas.orchestration.dependencies import dependencies_from
    from lambdas.orchestration.run import ReportRun

    # Count every AWS call of the run (events reach clients created after the registration).
    calls = {"count": 0}
    _shared_session().events.register("before-call", lambda **_: calls.__setitem__("count", calls["count"] + 1))
    config = for_environment("local")
    settings = provision(config)
    os.environ.update(settings_environment(settings))
    records = [r for r in admin(endpoint, "clients", timeout=60) if r["client_id"].startswith("client-")][:clients]
    table = ClientsTable(settings.clients_table)
    registered = [parse_client(record) for record in records]
    for client in registered:
        table.put(client)

    calls_before = calls["count"]
    started, cpu_started = time.perf_counter(), time.process_time()
    processed = failed = 0
    with contextlib.redirect_stdout(io.StringIO()):  # the handlers' JSON logs and EMF lines
        for schedule in SCHEDULES:
            invoke(dispatcher.handler, {"schedule": schedule, "as_of": as_of.isoformat()}, config.dispatcher_function)
        done, bad = drain_queue(settings.jobs_queue_url, worker.handler, config.worker_function)
        processed, failed = processed + done, failed + bad
    wall = time.perf_counter() - started
    # This process's own CPU: the platform's code. The rest of the wall time is waiting on the
    # emulator (moto), whose calls slow down as its tables and queue fill.
    cpu = time.process_time() - cpu_started
    aws_calls = calls["count"] - calls_before

    executions = ExecutionsTable(settings.executions_table)
    runs = [executions.get(c.client_id, f"{as_of.isoformat()}.{c.schedule}") for c in registered]
    durations = sorted(r.duration_ms or 0 for r in runs if r is not None)
    cold = [r.ce_requests for r in runs if r is not None]
    succeeded = sum(1 for r in runs if r is not None and r.status == "succeeded")
    ce_log = admin(endpoint, "ce/requests", timeout=60)

    warm = []
    cold_by: dict[str, list[int]] = {}
    warm_by: dict[str, list[int]] = {}
    for client, record in zip(registered, runs, strict=True):
        if record is not None:
            cold_by.setdefault(client.schedule, []).append(record.ce_requests)
    deps = dependencies_from(settings)
    with contextlib.redirect_stdout(io.StringIO()):
        for index, client in enumerate(registered[:WARM_SAMPLE]):
            job = ReportJob(run_id=f"{as_of.isoformat()}.manual-bench-{index}", client_id=client.client_id, as_of=as_of)
            warm.append(ReportRun(deps).run(job).ce_requests)
            warm_by.setdefault(client.schedule, []).append(warm[-1])
    return {
        "clients": clients,
        "succeeded": succeeded,
        "failed_messages": failed,
        "wall_seconds": round(wall, 2),
        "per_client_ms": {
            "median": statistics.median(durations) if durations else None,
            "p95": durations[max(int(len(durations) * 0.95) - 1, 0)] if durations else None,
            "wall_per_client": round(wall * 1000 / max(clients, 1), 1),
            "worker_cpu_per_client": round(cpu * 1000 / max(clients, 1), 1),
        },
        "aws_calls_per_client": round(aws_calls / max(clients, 1), 1),
        "ce_requests_per_report": {
            "cold_mean": round(sum(cold) / max(len(cold), 1), 3),
            "cold_max": max(cold, default=0),
            "warm_mean": round(sum(warm) / max(len(warm), 1), 3),
            "warm_max": max(warm, default=0),
            "emulator_log_cold": sum(1 for e in ce_log if "GetCostAndUsage" in e["target"]) - sum(warm),
            # The bar, per kind of report: at most 2 cold, 0 on a same-day re-run.
            "by_schedule": {
                schedule: {
                    "reports": len(cold_by[schedule]),
                    "cold_max": max(cold_by[schedule]),
                    "warm_reruns": len(warm_by.get(schedule, [])),
                    "warm_max": max(warm_by.get(schedule, []), default=None),
                }
                for schedule in sorted(cold_by)
            },
        },
        "peak_memory_mb": peak_rss_mb(),
    }


# -- a month of runs per schedule: USD of Cost Explorer per client per month ---------------------


def month_of_runs() -> dict[str, Any]:
    """December 2026 day by day, with Cost Explorer finalising November on the 5th, as AWS does."""
    from cli.commands.demo import local_aws_environment
    from emulator.dataset import finalised_through_for, generate_demo_dataset
    from emulator.server import EmbeddedAWS

    dataset = generate_demo_dataset(date(2027, 1, 1), extra_clients=3)
    with EmbeddedAWS(dataset) as aws, contextlib.redirect_stdout(io.StringIO()):
        os.environ.update(local_aws_environment(aws.endpoint_url))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        from emulator.provision import provision, settings_environment
        from infrastructure.config import for_environment
        from lambdas.dal.aws import reset_clients
        from lambdas.dal.clients_table import ClientsTable
        from lambdas.models.client import parse_client
        from lambdas.models.events import ReportJob
        from lambdas.models.settings import get_settings
        from lambdas.orchestration.dependencies import dependencies_from
        from lambdas.orchestration.run import ReportRun

        reset_clients()
        get_settings.cache_clear()
        settings = provision(for_environment("local"))
        os.environ.update(settings_environment(settings))
        clients = [parse_client(r) for r in dataset.clients if r["client_id"].startswith("client-")]
        for client in clients:
            ClientsTable(settings.clients_table).put(client)
        used: dict[str, int] = {c.schedule: 0 for c in clients}
        runs: dict[str, int] = {c.schedule: 0 for c in clients}
        day = date(2026, 12, 1)
        while day <= date(2026, 12, 31):
            dataset.finalised_through = finalised_through_for(day)
            deps = dependencies_from(settings)
            morning = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
            deps.clock = lambda morning=morning: morning  # type: ignore[misc]
            for client in clients:
                due = {"daily": True, "weekly": day.weekday() == 0, "monthly": day.day == 1}[client.schedule]
                jobs = [ReportJob.scheduled(client.client_id, client.schedule, day)] if due else []
                if client.schedule == "monthly" and day.day >= 5:
                    jobs.append(ReportJob.final(client.client_id, day))  # skipped once sent, for free
                for job in jobs:
                    outcome = ReportRun(deps).run(job)
                    used[client.schedule] += outcome.ce_requests
                    runs[client.schedule] += 1 if outcome.status == "succeeded" else 0
            day += timedelta(days=1)
    return {
        schedule: {
            "reports_sent": runs[schedule],
            "ce_requests": used[schedule],
            "usd_per_client_month": str(PRICE * used[schedule]),
        }
        for schedule in ("daily", "weekly", "monthly")
    }


# -- main ---------------------------------------------------------------------------------------------


def _size_run(clients: int) -> dict[str, Any]:
    with embedded_aws(clients, AS_OF) as endpoint:
        result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "bench.run", "--drive", str(clients), "--endpoint", endpoint],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"bench driver failed for {clients} clients:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="client counts (default 10,100,1000)")
    parser.add_argument("--quick", action="store_true", help="only cold start, memory and size (bench/startup.py)")
    parser.add_argument("--drive", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive is not None:
        print(json.dumps(drive(args.drive, args.endpoint, AS_OF)))
        return 0

    from rich.console import Console
    from rich.table import Table

    from bench import startup

    console = Console()
    started = time.perf_counter()
    if args.quick:
        with console.status("Cold start, memory and size…"):
            measured = startup.measure(AS_OF)
        previous = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
        previous.update(startup=measured, startup_generated_at=clock.now().isoformat(timespec="seconds"))
        RESULTS.write_text(json.dumps(previous, indent=2) + "\n", encoding="utf-8")
        startup.show(console, measured)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = []
    for clients in sizes:
        with console.status(f"{clients} clients end to end (dispatch, worker, render, archive, send)…"):
            runs.append(_size_run(clients))
        console.print(f"  {clients} clients: {runs[-1]['wall_seconds']} s")
    with console.status("A month of runs per schedule (USD of Cost Explorer per client per month)…"):
        month = month_of_runs()
    by_size = {r["clients"]: r for r in runs}
    growth = cpu_growth = None
    if 100 in by_size and 1000 in by_size:
        growth = round(by_size[1000]["wall_seconds"] / by_size[100]["wall_seconds"], 2)
        cpu_growth = round(
            by_size[1000]["per_client_ms"]["worker_cpu_per_client"]
            * 10
            / by_size[100]["per_client_ms"]["worker_cpu_per_client"],
            2,
        )
    with console.status("Cold start, memory and size…"):
        measured = startup.measure(AS_OF)
    peer_usd = PRICE * PEER_REQUESTS_PER_REPORT * 30 * 1000
    ours_usd = Decimal(month["daily"]["usd_per_client_month"]) * 1000
    results = {
        "generated_at": clock.now().isoformat(timespec="seconds"),
        "command": "make bench",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "as_of": AS_OF.isoformat(),
        "emulator_page_size": 5000,
        "sizes": runs,
        "wall_growth_100_to_1000": growth,
        "worker_cpu_growth_100_to_1000": cpu_growth,
        "usd_per_client_month": month,
        "startup": measured,
        "peer": {
            "requests_per_report": PEER_REQUESTS_PER_REPORT,
            "usd_month_1000_daily_clients": str(peer_usd),
            "ours_usd_month_1000_daily_clients": str(ours_usd),
        },
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    table = Table(
        "clients",
        "wall s",
        "ms/client median",
        "p95",
        "CPU ms/client",
        "AWS calls/client",
        "CE req cold",
        "warm",
        "peak MB",
        box=None,
    )
    for r in runs:
        table.add_row(
            str(r["clients"]),
            str(r["wall_seconds"]),
            str(r["per_client_ms"]["median"]),
            str(r["per_client_ms"]["p95"]),
            str(r["per_client_ms"]["worker_cpu_per_client"]),
            str(r["aws_calls_per_client"]),
            str(r["ce_requests_per_report"]["cold_mean"]),
            str(r["ce_requests_per_report"]["warm_mean"]),
            str(r["peak_memory_mb"]),
        )
    console.print(table)
    largest = runs[-1]["ce_requests_per_report"]["by_schedule"]
    console.print(
        f"CE requests per report at {runs[-1]['clients']} clients, max cold / max on a same-day re-run: "
        + ", ".join(f"{s} {f['cold_max']} / {f['warm_max']}" for s, f in largest.items())
    )
    for schedule, figures in month.items():
        console.print(
            f"{schedule:8} {figures['reports_sent']} reports, {figures['ce_requests']} CE requests a month: "
            f"USD {figures['usd_per_client_month']} per client"
        )
    console.print(
        f"Peer (AWS sample, {PEER_REQUESTS_PER_REPORT} requests per report): USD {peer_usd} a month for 1,000 daily "
        f"clients; this platform: USD {ours_usd}."
    )
    console.print(f"Growth 100 -> 1,000 clients: wall x{growth}, worker CPU x{cpu_growth}.")
    startup.show(console, measured)
    console.print(f"Written: {RESULTS.relative_to(ROOT)}")
    failed = sum(r["clients"] - r["succeeded"] for r in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
