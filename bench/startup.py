"""Cold start, memory and size (`make bench`, or `python -m bench.run --quick` for this part alone).

- Cold import of each handler next to a bare handler (boto3 and Powertools' Logger), each in a
  fresh interpreter, interleaved, several runs, median; CPU time (`time.process_time`, what a
  loaded 2-core machine disturbs least) and wall time. Bytecode is cached for every module in a
  bench-owned PYTHONPYCACHEPREFIX, the same for both sides (see docs/architecture.md).
- What remains of each handler's import beyond the bare handler, by package (`-X importtime`).
- The Tracer's cold-start cost (the X-Ray SDK, botocore patched), where tracing is turned on.
- Deployment sizes: code and layer, zipped as the CDK uploads them.
- The worker's CPU per report and its peak memory for the demo's largest client (acme-retail:
  four accounts, the XLSX workbook), in a process of its own with the embedded AWS in another.
- Lambda cost per 1,000 reports at 256, 512 and 1,024 MB from that CPU time, and the sizing rule.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = ("worker", "dispatcher", "feedback")
BARE = "import boto3\nfrom aws_lambda_powertools import Logger\nlogger = Logger()"
COLD_RUNS = 9
RATIO_GOAL = 1.3
LARGEST_DEMO_CLIENT = "acme-retail"  # four accounts and the XLSX workbook: the demo's biggest report
REPORT_RUNS = 12
REPORT_CPU_GOAL_MS = 50
SIZE_GOAL_BYTES = 10 * 1000 * 1000
# Lambda, x86, us-east-1, as published on AWS's pricing page (checked 2026-11-27): USD per GB-second
# and per request; CPU is allotted in proportion to memory, one vCPU at 1,769 MB.
PRICE_GB_SECOND = Decimal("0.0000166667")
PRICE_REQUEST = Decimal("0.20") / 1_000_000
FULL_VCPU_MB = 1769
MEMORY_SIZES = (256, 512, 1024)
SLOWEST_REPORT_SECONDS = 2
_TIMED = (
    "import time\nc, w = time.process_time(), time.perf_counter()\n{}\n"
    "print(time.process_time() - c, time.perf_counter() - w)"
)


def _environment(prefix: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "LAMBDA_TASK_ROOT")}
    # As the stack deploys the functions: in Lambda, tracing off (infrastructure/config.py).
    env.update(PYTHONPYCACHEPREFIX=prefix, LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED="true", **extra)
    env.setdefault("AWS_REGION", "us-east-1")
    return env


def _python(code: str, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, our own statements
        [sys.executable, *flags, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )


def cold_imports(runs: int = COLD_RUNS) -> dict[str, Any]:
    """Median CPU and wall ms of each handler's import and of the bare handler's, and the ratios."""
    statements = {"bare": BARE, **{name: f"import lambdas.handlers.{name}" for name in HANDLERS}}
    with tempfile.TemporaryDirectory() as prefix:
        env = _environment(prefix)
        for statement in statements.values():  # compile once: every later run reads cached bytecode
            _python(statement, env)
        samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for _ in range(runs):
            for name, statement in statements.items():  # interleaved: a burst of load hits all alike
                cpu, wall = _python(_TIMED.format(statement), env).stdout.split()
                samples[name].append((float(cpu) * 1000, float(wall) * 1000))
        remaining = {name: remaining_by_module(statements[name], env) for name in HANDLERS}
        tracer = _tracer_cost(env, runs)
    medians = {
        name: {
            "cpu_ms": round(statistics.median(c for c, _ in values), 1),
            "wall_ms": round(statistics.median(w for _, w in values), 1),
        }
        for name, values in samples.items()
    }
    bare = medians["bare"]
    for name in HANDLERS:
        medians[name]["ratio_cpu"] = round(medians[name]["cpu_ms"] / bare["cpu_ms"], 2)
        medians[name]["ratio_wall"] = round(medians[name]["wall_ms"] / bare["wall_ms"], 2)
        medians[name]["remaining_beyond_bare_ms"] = remaining[name]
    return {
        "runs": runs,
        "bytecode": "cached for every module (bench-owned PYTHONPYCACHEPREFIX), bare and handlers alike",
        "goal_ratio": RATIO_GOAL,
        "handlers": medians,
        "tracer_when_on": tracer,
    }


def _self_times(statement: str, env: dict[str, str]) -> Counter[str]:
    """Self time (ms) of one `-X importtime` run, summed by top-level package (lambdas by module)."""
    per: Counter[str] = Counter()
    for line in _python(statement, env, "-X", "importtime").stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        per[name if name.startswith("lambdas") else name.split(".")[0]] += int(own) / 1000
    return per


def remaining_by_module(statement: str, env: dict[str, str], runs: int = 3) -> dict[str, float]:
    """What a handler's import spends beyond the bare handler's, by package, 1 ms and more (median)."""
    handler = [_self_times(statement, env) for _ in range(runs)]
    bare = [_self_times(BARE, env) for _ in range(runs)]
    names = set().union(*handler)
    extra = {
        name: statistics.median(run.get(name, 0) for run in handler)
        - statistics.median(run.get(name, 0) for run in bare)
        for name in names
    }
    return {name: round(ms, 1) for name, ms in sorted(extra.items(), key=lambda item: -item[1]) if ms >= 1}


def _tracer_cost(env: dict[str, str], runs: int) -> dict[str, Any]:
    """What turning tracing on adds to a cold start: the X-Ray SDK and botocore patched."""
    traced = BARE + "\nfrom aws_lambda_powertools import Tracer\ntracer = Tracer(patch_modules=['botocore'])"
    on = dict(env, POWERTOOLS_TRACE_DISABLED="false")
    _python(traced, on)
    bare, with_tracer = [], []
    for _ in range(runs):  # interleaved, as the handlers are
        bare.append(float(_python(_TIMED.format(BARE), on).stdout.split()[0]))
        with_tracer.append(float(_python(_TIMED.format(traced), on).stdout.split()[0]))
    return {
        "cold_import_cpu_ms": round((statistics.median(with_tracer) - statistics.median(bare)) * 1000, 1),
        "patched": ["botocore"],
    }


def deployment_sizes() -> dict[str, Any]:
    from infrastructure import assets

    code = assets.zipped_size(assets.stage_code())
    layer = assets.zipped_size(assets.build_layer())
    return {
        "code_zipped_bytes": code,
        "layers_zipped_bytes": {"dependencies": layer},
        "worker_total_zipped_bytes": code + layer,
        "worker_total_unzipped_bytes": assets.unzipped_size(assets.CODE_DIR) + assets.unzipped_size(assets.LAYER_DIR),
        "goal_bytes": SIZE_GOAL_BYTES,
    }


# -- the worker's CPU and memory for one client, in a process of its own ------------------------------


def quiet_worker_environment(endpoint: str) -> dict[str, str]:
    """Point this process at the embedded AWS at `endpoint`, the worker's logs at WARNING and its
    metrics off; returns those variables. Before anything of lambdas/ is imported: they are read then."""
    from cli.commands.demo import local_aws_environment

    environment = {
        **local_aws_environment(endpoint),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    os.environ.update(environment)
    return environment


def register_record(environment: dict[str, str], record: dict[str, Any]) -> dict[str, Any]:
    """Provisions the local environment and registers `record` as onboarding does; returns the
    worker's environment (`environment` and the platform's settings) and the record."""
    from emulator.provision import provision, settings_environment
    from infrastructure.config import for_environment
    from lambdas.dal.clients_table import ClientsTable
    from lambdas.models.client import parse_client

    settings = provision(for_environment("local"))
    environment.update(settings_environment(settings))
    ClientsTable(settings.clients_table).put(parse_client(record, onboarding=True))
    return {"environment": environment, "record": record}


def register(endpoint: str, client_id: str) -> dict[str, Any]:
    """Provisions the local environment and registers the demo client `client_id` as onboarding does;
    returns the worker's environment and the record. Its own process: the worker's peak memory is not its."""
    environment = quiet_worker_environment(endpoint)
    from emulator.admin import admin

    [record] = [r for r in admin(endpoint, "clients", timeout=60) if r["client_id"] == client_id]
    return register_record(environment, record)


def report_driver(record: dict[str, Any], as_of: date, runs: int) -> dict[str, Any]:
    """Runs the client's report `runs` times through the worker handler (one SQS message each), in a
    process that is the worker only (the environment comes from `register`)."""
    client_id = record["client_id"]
    rss_before = peak_rss_mb()
    from emulator.lambda_runtime import LocalContext, sqs_event
    from infrastructure.config import for_environment
    from lambdas.models.events import ReportJob
    from lambdas.models.settings import get_settings

    settings = get_settings()
    import lambdas.orchestration.run as pipeline
    from lambdas.handlers import worker

    # CPU of building and rendering the report (the report's own work), and of its workbook within.
    own: dict[str, list[float]] = {"report": [], "xlsx": []}

    def timed(function: Any, into: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                own[into].append(time.process_time() - started)

        return wrapper

    pipeline.build_report = timed(pipeline.build_report, "report")  # type: ignore[assignment]
    pipeline.render_outputs = timed(pipeline.render_outputs, "report")  # type: ignore[assignment]
    if record.get("attach_xlsx"):
        # Only a client that asks for the workbook imports openpyxl (about 7 MB): importing it here for
        # the others would lend its memory to a worker that never loads it.
        import lambdas.logic.render.xlsx as xlsx

        xlsx.render_xlsx = timed(xlsx.render_xlsx, "xlsx")  # type: ignore[assignment]
    whole, report, workbook = [], [], []
    for index in range(runs):
        job = ReportJob(run_id=f"{as_of.isoformat()}.bench-{index}", client_id=client_id, as_of=as_of)
        message = {"MessageId": f"m{index}", "ReceiptHandle": "r", "Body": job.model_dump_json()}
        event = sqs_event([message], f"arn:aws:sqs:us-east-1:123456789012:{settings.jobs_queue_url}")
        own["report"].clear()
        own["xlsx"].clear()
        started = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            answer = worker.handler(event, LocalContext(for_environment("local").worker_function))
        whole.append((time.process_time() - started) * 1000)
        workbook.append(sum(own["xlsx"]) * 1000)
        report.append(sum(own["report"]) * 1000 - workbook[-1])
        if answer.get("batchItemFailures"):
            raise RuntimeError(f"run {index} of {client_id} failed: {answer}")
    warm = slice(1, None)
    return {
        "client_id": client_id,
        "accounts": len(record["account_ids"]),
        "attach_xlsx": bool(record.get("attach_xlsx")),
        "runs": runs,
        # Building the report and rendering the email, text, CSV, JSON and MIME message; the workbook apart.
        "report_cpu_ms": {"first": round(report[0], 1), "median_after": round(statistics.median(report[warm]), 1)},
        "xlsx_cpu_ms": {"first": round(workbook[0], 1), "median_after": round(statistics.median(workbook[warm]), 1)},
        "worker_cpu_ms": {"first": round(whole[0], 1), "median_after": round(statistics.median(whole[warm]), 1)},
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_worker_import_mb": rss_before,
        "goal_report_cpu_ms": REPORT_CPU_GOAL_MS,
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts
    at its parent's resident size when it forked (it survives exec), so a bench that has grown would
    lend its size to the worker it starts."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def step(module: str, *argv: str, env: dict[str, str] | None = None) -> Any:
    """One step of a bench in a process of its own (`python -m module *argv`): the JSON of its last line."""
    result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", module, *argv], cwd=ROOT, capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        raise RuntimeError(f"{module} {argv[0]} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def largest_demo_client(as_of: date) -> dict[str, Any]:
    from bench.run import embedded_aws

    with embedded_aws(0, as_of) as endpoint:
        registered = step("bench.startup", "register", endpoint, LARGEST_DEMO_CLIENT)
        env = {**os.environ, **registered["environment"]}
        driven: dict[str, Any] = step(
            "bench.startup", "drive", json.dumps(registered["record"]), as_of.isoformat(), str(REPORT_RUNS), env=env
        )
        return driven


def payer_300_accounts() -> dict[str, Any]:
    """The 300-account x 40-service payer (bench/payer.py): report CPU, peak memory, requests, USD."""
    from bench.payer import measure as measure_payer

    return measure_payer()


def lambda_cost(
    worker_cpu_ms: float, workbook_cpu_ms: float, peak_rss_mb: float, slowest_cpu_ms: float | None = None
) -> dict[str, Any]:
    """USD per 1,000 reports at each memory size, from the worker's measured CPU per report (with and
    without the workbook): CPU-bound time stretches as the CPU share shrinks (memory / 1,769 MB), so
    its GB-seconds are the same at every size below one vCPU; waiting on AWS (not measured here: the
    emulator is not AWS) costs in proportion to memory, given per 100 ms. Requests: one invocation
    per report (the worst case; SQS batches of 10 make it a tenth). `slowest_cpu_ms`: the slowest
    run measured (the payer's), which the size must also run in time; the demo client's if None."""
    slowest_cpu_ms = max(worker_cpu_ms, slowest_cpu_ms or 0)
    rows = []
    for memory in MEMORY_SIZES:
        share = min(Decimal(memory) / FULL_VCPU_MB, Decimal(1))

        def usd(cpu_ms: float, share: Decimal = share, memory: int = memory) -> str:
            gb_seconds = Decimal(str(cpu_ms)) / 1000 / share * memory / 1024
            return str(round((gb_seconds * PRICE_GB_SECOND + PRICE_REQUEST) * 1000, 5))

        rows.append(
            {
                "memory_mb": memory,
                "cpu_share_vcpu": float(round(share, 3)),
                "cpu_seconds_per_report": float(round(Decimal(str(worker_cpu_ms)) / 1000 / share, 3)),
                "slowest_cpu_seconds": float(round(Decimal(str(slowest_cpu_ms)) / 1000 / share, 3)),
                "usd_per_1000_reports": usd(worker_cpu_ms),
                "usd_per_1000_reports_without_workbook": usd(worker_cpu_ms - workbook_cpu_ms),
                "usd_per_1000_reports_per_100_ms_waiting_on_aws": str(
                    round(Decimal("0.1") * memory / 1024 * PRICE_GB_SECOND * 1000, 5)
                ),
                "peak_memory_utilisation": round(peak_rss_mb / memory, 2),
            }
        )
    # CPU-bound work costs the same at every size, so the size is a matter of room and time: the smallest
    # that holds the peak at half its memory or less (the runbook raises memory above 80%: room for
    # clients twice the demo's largest) and runs the slowest report's CPU in 2 s or less (a batch of 10
    # then spends at most 20 s of its 600 s on its own work; the rest is for Cost Explorer and retries).
    fitting = [
        r for r in rows if r["peak_memory_utilisation"] <= 0.5 and r["slowest_cpu_seconds"] <= SLOWEST_REPORT_SECONDS
    ]
    return {
        "price": {
            "usd_per_gb_second": str(PRICE_GB_SECOND),
            "usd_per_request": str(PRICE_REQUEST),
            "as_of": "2026-11-27, x86, us-east-1",
        },
        "rows": rows,
        "chosen_memory_mb": fitting[0]["memory_mb"] if fitting else MEMORY_SIZES[-1],
    }


def measure(as_of: date) -> dict[str, Any]:
    cold = cold_imports()
    sizes = deployment_sizes()
    largest = largest_demo_client(as_of)
    payer = payer_300_accounts()
    # The size must hold the largest run measured and run the slowest in time: the payer's process peaks
    # higher and works longer than the demo's largest client, so the sizing rule takes the higher of each.
    peak = max(largest["peak_rss_mb"], payer.get("peak_rss_mb") or 0)
    slowest = (payer.get("worker_cpu_ms") or {}).get("median_after")
    cost = lambda_cost(largest["worker_cpu_ms"]["median_after"], largest["xlsx_cpu_ms"]["median_after"], peak, slowest)
    return {
        "cold_import": cold,
        "deployment": sizes,
        "largest_demo_client": largest,
        "payer_300_accounts": payer,
        "lambda_cost": cost,
    }


def show(console: Any, measured: dict[str, Any]) -> None:
    """The part's tables, as `make bench` prints them."""
    from rich.table import Table

    cold = measured["cold_import"]
    table = Table(
        "cold import", "CPU ms", "wall ms", "x bare (CPU)", "x bare (wall)", "most of the rest (ms)", box=None
    )
    table.add_row(
        "bare (boto3 + Logger)", *(str(cold["handlers"]["bare"][k]) for k in ("cpu_ms", "wall_ms")), "1", "1", ""
    )
    for name in HANDLERS:
        row = cold["handlers"][name]
        rest = ", ".join(f"{module} {ms}" for module, ms in list(row["remaining_beyond_bare_ms"].items())[:5])
        table.add_row(
            name, str(row["cpu_ms"]), str(row["wall_ms"]), str(row["ratio_cpu"]), str(row["ratio_wall"]), rest
        )
    console.print(table)
    console.print(f"Tracer where tracing is on: +{cold['tracer_when_on']['cold_import_cpu_ms']} ms CPU of cold import.")
    sizes = measured["deployment"]
    layer, total = sizes["layers_zipped_bytes"]["dependencies"], sizes["worker_total_zipped_bytes"]
    console.print(
        f"Worker code {sizes['code_zipped_bytes'] / 1e6:.2f} MB + layer {layer / 1e6:.2f} MB = "
        f"{total / 1e6:.2f} MB zipped (goal {sizes['goal_bytes'] / 1e6:.0f} MB)."
    )
    largest = measured["largest_demo_client"]
    report, workbook, worker = (largest[k]["median_after"] for k in ("report_cpu_ms", "xlsx_cpu_ms", "worker_cpu_ms"))
    console.print(
        f"{largest['client_id']} ({largest['accounts']} accounts): report {report} ms CPU "
        f"(first {largest['report_cpu_ms']['first']}), workbook {workbook} ms, worker {worker} ms CPU per report; "
        f"peak {largest['peak_rss_mb']} MB."
    )
    payer = measured["payer_300_accounts"]
    cold, rerun = payer["cost_explorer"][0], payer["cost_explorer"][1]
    state = "complete" if cold["complete"] else "INCOMPLETE"
    console.print(
        f"300-account payer ({payer['groups_per_day']:,} groups a day, {payer['page_groups']} a page): "
        f"{cold['ce_requests']} Cost Explorer requests cold (USD {cold['usd']}, {state}), "
        f"{rerun['ce_requests']} on a same-day re-run; report {payer['report_cpu_ms']['median_after']} ms CPU "
        f"(first {payer['report_cpu_ms']['first']}, goal {payer['goals']['report_cpu_ms']}), "
        f"peak {payer['peak_rss_mb']} MB (goal {payer['goals']['peak_rss_mb']})."
    )
    cost = Table(
        "memory MB",
        "vCPU",
        "s CPU per report",
        "USD / 1,000 reports",
        "without workbook",
        "+ per 100 ms on AWS",
        "peak",
        box=None,
    )
    for row in measured["lambda_cost"]["rows"]:
        cost.add_row(
            str(row["memory_mb"]),
            str(row["cpu_share_vcpu"]),
            str(row["cpu_seconds_per_report"]),
            row["usd_per_1000_reports"],
            row["usd_per_1000_reports_without_workbook"],
            row["usd_per_1000_reports_per_100_ms_waiting_on_aws"],
            f"{row['peak_memory_utilisation']:.0%}",
        )
    console.print(cost)
    console.print(f"Worker memory from the sizing rule: {measured['lambda_cost']['chosen_memory_mb']} MB.")


if __name__ == "__main__":
    if sys.argv[1] == "register":
        print(json.dumps(register(sys.argv[2], sys.argv[3])))
    else:
        record, day, count = sys.argv[2:5]
        print(json.dumps(report_driver(json.loads(record), date.fromisoformat(day), int(count))))
