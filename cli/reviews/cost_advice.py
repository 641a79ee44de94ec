"""`ops cost-optimization`'s advice: memory, schedules, the cost cache, the bucket's lifecycle. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from cli.reviews.capacity import next_memory_size
from cli.reviews.kpis import trigger
from cli.reviews.periods import mean, percentile, ratio
from cli.reviews.pricing import GB
from lambdas.models.execution import ExecutionRecord


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    storage_class: str
    last_modified: datetime


# -- cost optimisation ---------------------------------------------------------------------------
# Each rule takes plain data and returns its recommendation (saving unrounded, over the analysed
# period) or nothing; `ops cost-optimization` reads the data and prices the lines.

MIN_SAVING_USD = Decimal("0.01")  # a saving of less than a cent is shown, not a finding
RIGHT_SIZE_THRESHOLD = Decimal("0.5")  # half used at the peak: room for larger clients
STEADY_DAYS = 7  # a week of daily totals before a client's spend counts as steady
STEADY_SPREAD = Decimal("0.10")  # (max - min) / mean of those totals
# infrastructure/constructs/storage.py: reports move to Standard-IA after 90 days; S3 does not
# transition objects under 128 KB (IA would bill them as 128 KB).
OLD_REPORT_AGE = timedelta(days=90)
TRANSITION_MINIMUM_BYTES = 128 * 1024
REPORTS_PREFIX = "reports/"


def memory_advice(runs: Sequence[ExecutionRecord], memory_mb: int, lambda_cost: Decimal) -> dict[str, Any] | None:
    """Right-size the worker when its measured peak would fit a smaller size at half use; the
    saving is the worker's GB-second cost in proportion (same duration assumed)."""
    memory = [r.max_memory_mb for r in runs if r.max_memory_mb is not None]
    if not memory:
        return None
    peak = max(memory)
    target = next_memory_size(peak, RIGHT_SIZE_THRESHOLD)
    if target >= memory_mb:
        return None
    return {
        "id": "lambda-memory",
        "title": f"Right-size the worker: {memory_mb} MB → {target} MB",
        "detail": f"peak resident memory {peak} MB over {len(memory)} run(s) "
        f"({Decimal(peak) * 100 / memory_mb:.0f}% of {memory_mb} MB); p95 run duration "
        f"{percentile([r.duration_ms for r in runs if r.duration_ms], 95)} ms. Lambda's CPU "
        "share grows with memory: measure the duration at the new size before deploying "
        "(python -m tests.infrastructure.measure_functions).",
        "estimated_saving_usd": lambda_cost * (1 - Decimal(target) / Decimal(memory_mb)),
        "action": f"WORKER = Sizing(memory_mb={target}, ...) in infrastructure/constructs/functions.py, "
        "then cdk deploy",
    }


def schedule_advice(runs: Sequence[ExecutionRecord]) -> list[dict[str, Any]]:
    """Daily clients whose daily spend stayed within ±5% over at least a week: a weekly report
    says the same with a seventh of the Cost Explorer requests."""
    daily: dict[str, list[ExecutionRecord]] = defaultdict(list)
    for r in runs:
        if trigger(r) == "daily" and r.status == "succeeded" and r.total is not None and r.period_start == r.period_end:
            daily[r.client_id].append(r)
    found = []
    for client_id, client_runs in sorted(daily.items()):
        totals = [r.total for r in client_runs if r.total is not None]
        average = mean(totals) or Decimal(0)
        if len(totals) < STEADY_DAYS or not average:
            continue
        spread = (max(totals) - min(totals)) / average
        if spread > STEADY_SPREAD:
            continue
        ce = sum((r.ce_cost_usd for r in client_runs), Decimal(0))
        found.append(
            {
                "id": f"schedule-{client_id}",
                "title": f"Move {client_id} from daily to weekly",
                "detail": f"its daily spend stayed within ±{spread * 50:.1f}% of {average:.2f} over "
                f"{len(totals)} daily reports: a weekly report says the same with a seventh of the "
                "Cost Explorer requests",
                "estimated_saving_usd": ce * (1 - Decimal(1) / 7),
                "action": f"python cli/main.py client update --client-id {client_id} --schedule weekly "
                "(after asking the client)",
            }
        )
    return found


def cache_advice(runs: Sequence[ExecutionRecord]) -> dict[str, Any] | None:
    """Runs that repeated a client's report on the UTC day of an earlier run that had already asked
    Cost Explorer, and asked again: the cache reuses a cell fetched on the run's own UTC day
    (docs/cost-explorer.md), so their recorded Cost Explorer cost was avoidable."""
    same_day: dict[tuple[str, date, date], list[ExecutionRecord]] = defaultdict(list)
    for r in runs:
        same_day[(r.client_id, r.as_of, r.started_at.astimezone(UTC).date())].append(r)
    wasted: list[ExecutionRecord] = []
    for group in same_day.values():
        asked = [r for r in sorted(group, key=lambda r: r.started_at) if r.ce_requests > 0]
        wasted.extend(asked[1:])
    if not wasted:
        return None
    requests = sum(r.ce_requests for r in runs)
    hits = sum(r.cache_hits for r in runs)
    rate = ratio(hits, hits + requests)
    return {
        "id": "cache-repeats",
        "title": "Same-day repeat runs asked Cost Explorer again",
        "detail": f"{len(wasted)} run(s) repeated a client's report on the same UTC day and still made "
        f"{sum(r.ce_requests for r in wasted)} request(s); cache hit rate "
        f"{'-' if rate is None else f'{rate * 100:.2f}%'}. Re-runs on the same UTC day should be free "
        "(docs/cost-explorer.md): check that COST_CACHE_TABLE is set and the cost-cache table is reachable.",
        "estimated_saving_usd": sum((r.ce_cost_usd for r in wasted), Decimal(0)),
        "action": "python cli/main.py deploy validate; check the worker's COST_CACHE_TABLE",
    }


def _rule_prefix(rule: dict[str, Any]) -> str:
    """The key prefix a lifecycle rule applies to (its Filter's, or the legacy top-level one)."""
    selector = rule.get("Filter") or {}
    return str(selector.get("Prefix", selector.get("And", {}).get("Prefix", rule.get("Prefix", ""))))


def moves_reports(rule: dict[str, Any]) -> bool:
    """An enabled lifecycle rule with a storage-class transition that covers every report key."""
    return (
        rule.get("Status") == "Enabled"
        and bool(rule.get("Transitions"))
        and REPORTS_PREFIX.startswith(_rule_prefix(rule))
        and "Tag" not in (rule.get("Filter") or {})
        and "Tags" not in (rule.get("Filter") or {}).get("And", {})
    )


def lifecycle_advice(
    rules: Sequence[dict[str, Any]],
    objects: Sequence[StoredObject],
    at: datetime,
    months: Decimal,
    standard_usd: Decimal,
    infrequent_usd: Decimal,
) -> dict[str, Any] | None:
    """No lifecycle rule moves the reports out of Standard: the saving is the report objects S3
    would transition (old and large enough), priced at the two storage prices (per GB-month) for
    `months` (the analysed period)."""
    if any(moves_reports(rule) for rule in rules):
        return None
    old = [
        o
        for o in objects
        if o.key.startswith(REPORTS_PREFIX)
        and o.storage_class == "STANDARD"
        and o.size >= TRANSITION_MINIMUM_BYTES
        and at - o.last_modified > OLD_REPORT_AGE
    ]
    eligible = Decimal(sum(o.size for o in old))
    return {
        "id": "s3-lifecycle",
        "title": "No lifecycle rule moves old reports to cheaper storage",
        "detail": f"{len(old)} report object(s) of 128 KB or more are older than 90 days in Standard "
        f"({eligible / 1024**2:.1f} MiB); smaller objects would be billed as 128 KB in IA and stay in Standard",
        "estimated_saving_usd": eligible / GB * months * (standard_usd - infrequent_usd),
        "action": "deploy the stack's lifecycle (infrastructure/constructs/storage.py: IA after 90 days, "
        "Glacier IR after 365, noncurrent versions expire after 30)",
    }
