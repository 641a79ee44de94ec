"""`optimize lambda-memory`: the memory size a function should have, from its measured runs.

What is measured: for the worker, its recorded runs (duration and peak memory of every run in
the period, the figures `ops capacity` reads); for any function, the REPORT line Lambda writes
after each invocation (duration, billed duration, memory size, max memory used). Each candidate
size is priced over the period with the Lambda prices of cli/reviews/pricing.py.

What is estimated, and said so: a run's duration at another size. Lambda gives a function CPU in
proportion to its memory, one vCPU at 1,769 MB; the CPU-bound share of a run takes longer at a
smaller size, the rest (waiting on Cost Explorer, S3, SES) does not. The worker's CPU share is
`make bench`'s CPU time per client over its median run (bench/results.json); a function without
such a measurement is taken as all CPU (the cautious assumption: a smaller size is then never
cheaper below 1,769 MB).

The size recommended is the cheapest that keeps the peak memory at half the size or less (the
headroom `ops cost-optimization` keeps for larger clients) and the longest invocation under 80%
of the timeout; a size whose peak is above 80% is too small (the runbook's scale-up threshold).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import typer

from cli.context import (
    REPOSITORY,
    EnvironmentOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    as_of_day,
    emit,
    environment_config,
    fail,
    finish,
    now,
    writable,
)
from cli.documents.dynamodb_queries import review
from cli.probes import sources
from cli.readers import tables
from cli.render.console import Table
from cli.render.dynamodb_queries import dynamodb_table
from cli.reviews.capacity import DURATION_THRESHOLD, MEMORY_THRESHOLD, WORKER_BATCH_SIZE
from cli.reviews.cost_advice import RIGHT_SIZE_THRESHOLD
from cli.reviews.dynamodb_queries import table_names
from cli.reviews.periods import percentile, rounded
from cli.reviews.pricing import price
from infrastructure.config import TABLES, EnvironmentConfig, for_environment
from lambdas.dal.aws import platform_client

app = typer.Typer(help="Right-size functions and tables from what they measurably do.", no_args_is_help=True)

FULL_VCPU_MB = 1769  # AWS Lambda: the memory at which a function has the equivalent of one vCPU
SIZES = (128, 256, 384, 512, 768, 1024, 1536, 1769, 2048, 3008)
MIN_SAVING_USD = Decimal("0.01")  # as `ops cost-optimization`: less than a cent is shown, not a finding
BENCH_RESULTS = REPOSITORY / "bench" / "results.json"
_REPORT = re.compile(
    r"Duration: (?P<duration>[\d.]+) ms\s+Billed Duration: (?P<billed>\d+) ms\s+Memory Size: (?P<size>\d+) MB"
    r"\s+Max Memory Used: (?P<used>\d+) MB"
)


@dataclass(frozen=True)
class Measured:
    """One invocation (REPORT line) or one run (run record): how long, how much memory."""

    duration_ms: Decimal
    max_memory_mb: int | None


def function_names(config: EnvironmentConfig) -> dict[str, str]:
    """Names `--function-name` accepts: the environment's, and the production names the users'
    runbook writes (cost-reporting-lambda), for the same function."""
    prod = for_environment("prod")
    pairs = [
        (prod.worker_function, config.worker_function),
        (prod.dispatcher_function, config.dispatcher_function),
        (prod.feedback_function, config.feedback_function),
    ]
    return {name: own for base, own in pairs for name in (base, own)}


def cpu_share(function: str, config: EnvironmentConfig) -> tuple[Decimal, str]:
    """The share of a run that is CPU: `make bench`'s CPU per client over its median run, for the worker."""
    if function == config.worker_function:
        try:
            largest = json.loads(BENCH_RESULTS.read_text(encoding="utf-8"))["sizes"][-1]
            per_client = largest["per_client_ms"]
            share = Decimal(str(per_client["worker_cpu_per_client"])) / Decimal(str(per_client["median"]))
            source = f"make bench, {largest['clients']} clients: {per_client['worker_cpu_per_client']} ms CPU"
            return min(share, Decimal(1)).quantize(Decimal("0.01")), f"{source} of a {per_client['median']} ms run"
        except (OSError, ValueError, KeyError, IndexError, ArithmeticError):
            pass
    return Decimal(1), "not measured: taken as all CPU (the cautious assumption)"


def _cpu(mb: int) -> Decimal:
    return Decimal(min(mb, FULL_VCPU_MB)) / FULL_VCPU_MB


def estimated_ms(duration: Decimal, share: Decimal, current_mb: int, candidate_mb: int) -> Decimal:
    """A run's duration at another size: its CPU part scaled by the CPU the size gives."""
    return duration * (1 - share) + duration * share * _cpu(current_mb) / _cpu(candidate_mb)


def candidate(
    runs: list[Measured], share: Decimal, current_mb: int, mb: int, timeout_ms: int, per_invocation: int
) -> dict[str, Any]:
    """One size: its peak use, its estimated durations and its cost over the measured period."""
    durations = [estimated_ms(run.duration_ms, share, current_mb, mb) for run in runs]
    billed = sum((Decimal(math.ceil(d)) for d in durations), Decimal(0))
    gb_seconds = billed / 1000 * Decimal(mb) / 1024
    invocations = math.ceil(len(runs) / per_invocation)
    cost = gb_seconds * price("lambda_gb_second").per_unit + invocations * price("lambda_request").per_unit
    peak = max((run.max_memory_mb for run in runs if run.max_memory_mb is not None), default=None)
    p95 = percentile(durations, 95)
    longest: Decimal | None = None
    if p95 is not None and durations:
        longest = p95 * per_invocation if per_invocation > 1 else Decimal(max(durations))
    use = Decimal(peak) / mb if peak is not None else None
    if use is None:
        verdict = "no peak memory measured"
    elif use > MEMORY_THRESHOLD:
        verdict = "too small: peak above 80% of the size"
    elif longest is not None and longest > DURATION_THRESHOLD * timeout_ms:
        verdict = "too slow: longest invocation above 80% of the timeout"
    elif use > RIGHT_SIZE_THRESHOLD:
        verdict = "no headroom: peak above half the size"
    else:
        verdict = "fits"
    return {
        "memory_mb": mb,
        "peak_use": rounded(use),
        "p95_ms": rounded(p95, "1"),
        "longest_invocation_ms": rounded(longest, "1"),
        "gb_seconds": gb_seconds.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP),
        "cost_usd": _usd(cost),
        "cost_per_1000_runs_usd": _usd(cost * 1000 / len(runs)) if runs else None,
        "verdict": verdict,
        "_cost": cost,  # exact: sizes are compared on it, the document shows it rounded
    }


def _usd(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def recommend(candidates: list[dict[str, Any]], current_mb: int) -> dict[str, Any] | None:
    """The cheapest size that fits; the current one when it is among the cheapest."""
    fitting = [c for c in candidates if c["verdict"] == "fits"]
    if not fitting:
        return None
    cheapest = min(c["_cost"] for c in fitting)
    best = [c for c in fitting if c["_cost"] == cheapest]
    return next((c for c in best if c["memory_mb"] == current_mb), max(best, key=lambda c: c["memory_mb"]))


def measurements(
    config: EnvironmentConfig, function: str, start: datetime, end: datetime
) -> tuple[list[Measured], str, int]:
    """(runs or invocations, where they come from, how many runs one invocation carries)."""
    if function == config.worker_function:
        runs = [r for r in tables.runs_between(config, start, end) if r.kind != "manual" and r.duration_ms is not None]
        if runs:
            measured = [Measured(Decimal(r.duration_ms or 0), r.max_memory_mb) for r in runs]
            return measured, f"{len(runs)} recorded run(s) of the worker", WORKER_BATCH_SIZE
    return report_lines(function, start, end), f"REPORT lines of /aws/lambda/{function}", 1


def report_lines(function: str, start: datetime, end: datetime) -> list[Measured]:
    found: list[Measured] = []
    try:
        pages = (
            platform_client("logs")
            .get_paginator("filter_log_events")
            .paginate(
                logGroupName=f"/aws/lambda/{function}",
                filterPattern="REPORT",
                startTime=int(start.timestamp() * 1000),
                endTime=int(end.timestamp() * 1000) - 1,
            )
        )
        for page in pages:
            for event in page.get("events", []):
                match = _REPORT.search(event.get("message", ""))
                if match:
                    found.append(Measured(Decimal(match["duration"]), int(match["used"])))
    except Exception:  # no log group: nothing measured, said so by the caller
        return []
    return found


def memory_document(config: EnvironmentConfig, function: str, days: int, end: datetime, at: datetime) -> dict[str, Any]:
    start = end - timedelta(days=days)
    limits = sources.function_limits(config, function)
    if limits is None:
        fail(f"--function-name: {function} is not deployed in {config.environment}")
    runs, source, per_invocation = measurements(config, function, start, min(end, at))
    share, share_source = cpu_share(function, config)
    timeout_ms = limits.timeout_s * 1000
    sizes = sorted({*SIZES, limits.memory_mb})
    candidates = (
        [candidate(runs, share, limits.memory_mb, mb, timeout_ms, per_invocation) for mb in sizes] if runs else []
    )
    current = next((c for c in candidates if c["memory_mb"] == limits.memory_mb), None)
    best = recommend(candidates, limits.memory_mb)
    saving = _usd(current["_cost"] - best["_cost"]) if current and best else None
    for item in candidates:
        item["saving_usd"] = _usd(current["_cost"] - item["_cost"]) if current else None
        item["current"] = item["memory_mb"] == limits.memory_mb
        item["recommended"] = best is not None and item["memory_mb"] == best["memory_mb"]
    for item in candidates:
        del item["_cost"]
    return {
        "environment": config.environment,
        "function": function,
        "generated_at": at,
        "period": {"start": start, "end": end, "days": days},
        "source": source if runs else f"{source}: none in the period",
        "measured": {
            "runs": len(runs),
            "peak_memory_mb": max((r.max_memory_mb for r in runs if r.max_memory_mb is not None), default=None),
            "p95_ms": rounded(percentile([r.duration_ms for r in runs], 95), "1"),
            "max_ms": rounded(max((r.duration_ms for r in runs), default=None), "1"),
        },
        "configured": limits.as_dict(),
        "cpu_share": {"value": share, "source": share_source},
        "estimate": "a run's CPU part scales with the CPU a size gives (one vCPU at 1,769 MB), the rest does not; "
        "measure before deploying: python -m tests.infrastructure.measure_functions",
        "candidates": candidates,
        "recommended_mb": best["memory_mb"] if best else None,
        "saving_usd": saving,
        "pricing": [price("lambda_gb_second").as_dict(), price("lambda_request").as_dict()],
    }


def _shortfall(document: dict[str, Any]) -> str:
    function, current = document["function"], document["configured"]["memory_mb"]
    if not document["candidates"]:
        return f"nothing measured for {function} in the period: no size can be recommended"
    now_item = next(c for c in document["candidates"] if c["current"])
    if now_item["verdict"].startswith(("too small", "too slow")):
        return f"{function} at {current} MB is {now_item['verdict']}"
    saving = document["saving_usd"]
    if document["recommended_mb"] not in (None, current) and saving is not None and saving >= MIN_SAVING_USD:
        return f"{function}: {current} MB -> {document['recommended_mb']} MB saves USD {saving} in the period"
    return ""


@app.command("lambda-memory")
def lambda_memory(
    function_name: str = typer.Option(..., "--function-name", help="The function (cost-reporting-lambda: the worker)."),
    analyze_period: int = typer.Option(30, "--analyze-period", min=1, max=400, help="Days of measurements."),
    as_of: str = typer.Option("", "--as-of", help="The period ends before this day (YYYY-MM-DD); default now."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """The memory size a function should have: each candidate with its peak use, estimated
    duration and cost over the period, the size recommended and its saving (exit 1 when a size
    saves a cent or more, or the current one is too small)."""
    writable(output)
    config = environment_config(environment)
    names = function_names(config)
    if function_name not in names:
        fail(f"--function-name: {function_name!r} is not a function of the platform ({', '.join(sorted(set(names)))})")
    at = now()
    end = datetime.combine(as_of_day(as_of), datetime.min.time(), tzinfo=at.tzinfo) if as_of else at
    document = memory_document(config, names[function_name], analyze_period, end, at)
    measured = document["measured"]
    title = (
        f"memory of {document['function']}: {document['source']}, peak {measured['peak_memory_mb']} MB, "
        f"p95 {measured['p95_ms']} ms; CPU share {document['cpu_share']['value']}"
    )
    table = Table(
        "MB",
        "peak use",
        "p95 run (est.)",
        "longest invocation (est.)",
        "USD in period",
        "USD per 1,000 runs",
        "saving in period",
        "verdict",
        title=title,
    )
    for item in document["candidates"]:
        marks = [word for word, on in (("current", item["current"]), ("recommended", item["recommended"])) if on]
        mark = f" ({', '.join(marks)})" if marks else ""
        table.add_row(
            f"{item['memory_mb']}{mark}",
            "-" if item["peak_use"] is None else f"{item['peak_use'] * 100:.0f}%",
            f"{item['p95_ms']} ms",
            f"{item['longest_invocation_ms']} ms",
            str(item["cost_usd"]),
            str(item["cost_per_1000_runs_usd"]),
            str(item["saving_usd"]),
            item["verdict"],
        )
    emit(document, table, fmt, output)
    finish(_shortfall(document))


@app.command("dynamodb-queries")
def dynamodb_queries(
    table_name: str | None = typer.Option(
        None, "--table-name", help="One table (cost-reporting-clients: the client table); default all."
    ),
    analyze_period: int = typer.Option(30, "--analyze-period", min=1, max=400, help="Days of CloudWatch metrics."),
    as_of: str = typer.Option("", "--as-of", help="The period ends before this day (YYYY-MM-DD); default now."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """How each table is read and written: the code's access patterns, the operations measured and
    their share, the busiest hour, throttles, items per key, and the change to make (exit 1 when
    there is one)."""
    writable(output)
    config = environment_config(environment)
    names = table_names(config)
    if table_name is not None and table_name not in names:
        fail(f"--table-name: {table_name!r} is not a table of the platform ({', '.join(sorted(names))})")
    at = now()
    end = datetime.combine(as_of_day(as_of), datetime.min.time(), tzinfo=at.tzinfo) if as_of else at
    start = end - timedelta(days=analyze_period)
    attributes = [names[table_name]] if table_name else list(TABLES)
    reviews = [review(config, attribute, start, end) for attribute in attributes]
    document = {
        "environment": config.environment,
        "generated_at": at,
        "period": {"start": start, "end": end, "days": analyze_period},
        "tables": reviews,
    }
    if fmt is OutputFormat.table:
        for entry in reviews[:-1]:
            emit(document, dynamodb_table(entry), fmt, None)
    emit(document, dynamodb_table(reviews[-1]), fmt, output)
    found = [change["what"] for entry in reviews for change in entry["changes"]]
    finish(f"{len(found)} change(s) to make: {'; '.join(found)}" if found else "")
