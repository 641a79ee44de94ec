"""Right-sizing a function's memory: Lambda's CPU grows with memory, so a run's duration at another
size is estimated from the share of it that is CPU, and every size priced. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cli.reviews.capacity import DURATION_THRESHOLD, MEMORY_THRESHOLD
from cli.reviews.cost_advice import RIGHT_SIZE_THRESHOLD
from cli.reviews.periods import percentile, rounded
from cli.reviews.pricing import price

FULL_VCPU_MB = 1769  # AWS Lambda: the memory at which a function has the equivalent of one vCPU


SIZES = (128, 256, 384, 512, 768, 1024, 1536, 1769, 2048, 3008)


@dataclass(frozen=True)
class Measured:
    """One invocation (REPORT line) or one run (run record): how long, how much memory."""

    duration_ms: Decimal
    max_memory_mb: int | None


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
