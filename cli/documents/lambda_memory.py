"""`optimize lambda-memory`'s document: a function's measured runs (its REPORT log lines, or the
recorded runs), its CPU share, every size priced, the size to give it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from cli.context import (
    REPOSITORY,
    fail,
)
from cli.probes import sources
from cli.readers import tables
from cli.reviews.capacity import WORKER_BATCH_SIZE
from cli.reviews.lambda_memory import SIZES, Measured, _usd, candidate, recommend
from cli.reviews.periods import percentile, rounded
from cli.reviews.pricing import price
from infrastructure.config import EnvironmentConfig, for_environment
from lambdas.dal.aws import platform_client

BENCH_RESULTS = REPOSITORY / "bench" / "results.json"


_REPORT = re.compile(
    r"Duration: (?P<duration>[\d.]+) ms\s+Billed Duration: (?P<billed>\d+) ms\s+Memory Size: (?P<size>\d+) MB"
    r"\s+Max Memory Used: (?P<used>\d+) MB"
)


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
