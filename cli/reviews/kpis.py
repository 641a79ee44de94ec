"""The operations KPIs: run outcomes, durations, delivery and errors against the users' runbook's
targets (success rate above 99.5%, average execution under 5 minutes per client, email delivery
above 98%), and the performance review's figures. Pure: callers pass the time and the records."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from cli.reviews.periods import Window, in_window, mean, percentile, ratio, rounded
from lambdas.models.execution import ExecutionRecord
from lambdas.models.ses_events import Suppression

SUCCESS_TARGET = Decimal("0.995")
DURATION_TARGET_MS = 5 * 60 * 1000  # average execution time per client
DELIVERY_TARGET = Decimal("0.98")
# A run still "running" this long after it started died with its invocation (Lambda's longest
# timeout is 15 minutes): it counts as failed.
UNFINISHED_AFTER = timedelta(minutes=15)
PERCENTILES = (50, 90, 95, 99)


# -- run records ---------------------------------------------------------------------------------


def trigger(record: ExecutionRecord) -> str:
    """What started the run: its schedule (daily, weekly, monthly), `final` or `manual`."""
    if record.kind == "scheduled":
        return record.run_id.split(".", 1)[1].split("-", 1)[0] if "." in record.run_id else "scheduled"
    return record.kind


def outcome(record: ExecutionRecord, at: datetime) -> str:
    """succeeded | incomplete | failed | skipped | running; a run unfinished long after it started failed."""
    if record.status == "running" and at - record.started_at > UNFINISHED_AFTER:
        return "failed"
    return record.status


@dataclass
class Kpi:
    name: str
    value: Decimal | None
    target: Decimal
    unit: str  # "ratio" or "ms"
    better: str  # "higher" or "lower"
    detail: str

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value < self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": rounded(self.value, "0.0001" if self.unit == "ratio" else "1"),
            "target": self.target,
            "unit": self.unit,
            "met": self.met,
            "detail": self.detail,
        }


def duration_stats(durations: Sequence[int]) -> dict[str, Any]:
    stats: dict[str, Any] = {f"p{q}_ms": percentile(durations, q) for q in PERCENTILES}
    stats["mean_ms"] = rounded(mean(durations), "1")
    stats["max_ms"] = max(durations) if durations else None
    stats["runs_measured"] = len(durations)
    stats["runs_over_target"] = sum(1 for d in durations if d >= DURATION_TARGET_MS)
    return stats


def bounced_by_run(suppressions: Iterable[Suppression]) -> dict[tuple[str, str], int]:
    """Recipients SES reported as bouncing, per (client, run) whose message bounced. Suppressions an
    operator cleared since count too: the bounce happened, whatever was done about it later."""
    counts: Counter[tuple[str, str]] = Counter()
    for suppression in suppressions:
        if suppression.reason == "bounce" and suppression.run_id:
            counts[(suppression.client_id, suppression.run_id)] += 1
    return dict(counts)


def ops_summary(
    records: Sequence[ExecutionRecord], suppressions: Iterable[Suppression], window: Window, at: datetime
) -> dict[str, Any]:
    """The figures of `ops report`: executions, success rate, durations, email delivery, errors,
    Cost Explorer requests; each KPI against its runbook target."""
    runs = [r for r in records if in_window(r, window)]
    outcomes = Counter(outcome(r, at) for r in runs)
    durations = [r.duration_ms for r in runs if r.duration_ms is not None and r.status != "running"]
    sent = [r for r in runs if r.delivery == "sent"]
    recipients = sum(r.recipients for r in sent)
    bounces = bounced_by_run(suppressions)
    bounced = sum(bounces.get((r.client_id, r.run_id), 0) for r in sent)
    stats = duration_stats(durations)
    kpis = _kpis(outcomes, durations, stats, recipients, bounced)
    return {
        "period": window.as_dict(),
        "executions": _executions(runs, outcomes, at),
        "duration": stats,
        "email": {
            "sent": len(sent),
            "recipients": recipients,
            "bounced_recipients": bounced,
            "suppressed_recipients": sum(r.suppressed for r in runs),
            "not_sent_all_suppressed": sum(1 for r in runs if r.delivery == "suppressed"),
            "rejected_by_ses": sum(1 for r in runs if r.error_kind == "delivery_rejected"),
        },
        "errors_by_kind": _errors_by_kind(runs, at),
        "cost_explorer": _cost_explorer(runs),
        "kpis": [kpi.as_dict() for kpi in kpis],
        "targets_met": all(kpi.met is not False for kpi in kpis),
        "daily": daily_series(runs, window, at),
    }


def _kpis(
    outcomes: Counter[str], durations: list[int], stats: dict[str, Any], recipients: int, bounced: int
) -> list[Kpi]:
    # An incomplete run sent nothing: finished, not a success.
    finished = outcomes["succeeded"] + outcomes["failed"] + outcomes["incomplete"]
    return [
        Kpi(
            "success rate",
            ratio(outcomes["succeeded"], finished),
            SUCCESS_TARGET,
            "ratio",
            "higher",
            f"{outcomes['succeeded']} of {finished} finished runs succeeded",
        ),
        Kpi(
            "average execution time",
            mean(durations),
            Decimal(DURATION_TARGET_MS),
            "ms",
            "lower",
            f"mean of {len(durations)} runs; {stats['runs_over_target']} took 5 minutes or more",
        ),
        Kpi(
            "email delivery rate",
            ratio(recipients - bounced, recipients),
            DELIVERY_TARGET,
            "ratio",
            "higher",
            f"{recipients - bounced} of {recipients} recipients not reported bouncing",
        ),
    ]


def _executions(runs: list[ExecutionRecord], outcomes: Counter[str], at: datetime) -> dict[str, Any]:
    by_trigger: dict[str, Counter[str]] = defaultdict(Counter)
    for r in runs:
        by_trigger[trigger(r)][outcome(r, at)] += 1
    return {
        "total": len(runs),
        "succeeded": outcomes["succeeded"],
        "failed": outcomes["failed"],
        "incomplete": outcomes["incomplete"],
        "skipped": outcomes["skipped"],
        "running": outcomes["running"],
        "unfinished_counted_failed": sum(1 for r in runs if r.status == "running" and outcome(r, at) == "failed"),
        "retried": sum(1 for r in runs if r.attempts > 1),
        "clients": len({r.client_id for r in runs}),
        "by_trigger": {name: dict(sorted(counts.items())) for name, counts in sorted(by_trigger.items())},
    }


def _errors_by_kind(runs: list[ExecutionRecord], at: datetime) -> dict[str, int]:
    errors: Counter[str] = Counter()
    for r in runs:
        if outcome(r, at) in ("failed", "incomplete"):
            errors[r.error_kind or ("unfinished" if r.status == "running" else "unknown")] += 1
    return dict(sorted(errors.items()))


def _cost_explorer(runs: list[ExecutionRecord]) -> dict[str, Any]:
    requests = sum(r.ce_requests for r in runs)
    hits = sum(r.cache_hits for r in runs)
    return {
        "requests": requests,
        "cost_usd": sum((r.ce_cost_usd for r in runs), Decimal("0")),
        "cache_hits": hits,
        "cache_hit_rate": rounded(ratio(hits, hits + requests)),
    }


def daily_series(runs: Sequence[ExecutionRecord], window: Window, at: datetime) -> list[dict[str, Any]]:
    """Per day of the window: runs by outcome, mean and longest duration, CE requests."""
    by_day: dict[date, list[ExecutionRecord]] = defaultdict(list)
    for r in runs:
        by_day[r.started_at.astimezone(UTC).date()].append(r)
    series = []
    for day in window.day_list():
        day_runs = by_day.get(day, [])
        counts = Counter(outcome(r, at) for r in day_runs)
        durations = [r.duration_ms for r in day_runs if r.duration_ms is not None and r.status != "running"]
        series.append(
            {
                "date": day,
                "runs": len(day_runs),
                "succeeded": counts["succeeded"],
                "failed": counts["failed"],
                "skipped": counts["skipped"],
                "mean_ms": rounded(mean(durations), "1"),
                "max_ms": max(durations) if durations else None,
                "ce_requests": sum(r.ce_requests for r in day_runs),
            }
        )
    return series


# -- performance ---------------------------------------------------------------------------------


def performance(records: Sequence[ExecutionRecord], window: Window, at: datetime) -> dict[str, Any]:
    """Timing detail for `ops performance`: per run, per client, per hour, the slowest runs."""
    runs = sorted((r for r in records if in_window(r, window)), key=lambda r: r.started_at)
    timed = [r for r in runs if r.duration_ms is not None and r.status != "running"]
    durations = [r.duration_ms for r in timed if r.duration_ms is not None]
    per_client: dict[str, list[ExecutionRecord]] = defaultdict(list)
    for r in timed:
        per_client[r.client_id].append(r)
    hours: dict[int, list[int]] = defaultdict(list)
    for r in timed:
        hours[r.started_at.astimezone(UTC).hour].append(r.duration_ms or 0)
    memory = [r.max_memory_mb for r in runs if r.max_memory_mb is not None]
    requests = sum(r.ce_requests for r in runs)
    hits = sum(r.cache_hits for r in runs)
    return {
        "period": window.as_dict(),
        "runs": len(runs),
        "outcomes": dict(sorted(Counter(outcome(r, at) for r in runs).items())),
        "duration": duration_stats(durations),
        "histogram": histogram(durations),
        "by_client": [
            {
                "client_id": client_id,
                "runs": len(client_runs),
                "mean_ms": rounded(mean([r.duration_ms or 0 for r in client_runs]), "1"),
                "max_ms": max(r.duration_ms or 0 for r in client_runs),
                "ce_requests": sum(r.ce_requests for r in client_runs),
                "cache_hits": sum(r.cache_hits for r in client_runs),
            }
            for client_id, client_runs in sorted(per_client.items())
        ],
        "by_hour": [
            {"hour": hour, "runs": len(values), "mean_ms": rounded(mean(values), "1"), "max_ms": max(values)}
            for hour, values in sorted(hours.items())
        ],
        "slowest": [
            {
                "client_id": r.client_id,
                "run_id": r.run_id,
                "started_at": r.started_at,
                "duration_ms": r.duration_ms,
                "status": r.status,
                "ce_requests": r.ce_requests,
            }
            for r in sorted(timed, key=lambda r: (-(r.duration_ms or 0), r.client_id, r.run_id))[:10]
        ],
        "memory": {
            "runs_measured": len(memory),
            "peak_mb": max(memory) if memory else None,
            "p95_mb": percentile(memory, 95),
        },
        "cost_explorer": {
            "requests": requests,
            "cache_hits": hits,
            "cache_hit_rate": rounded(ratio(hits, hits + requests)),
            "requests_per_run": rounded(ratio(requests, len(runs)), "0.01"),
        },
    }


HISTOGRAM_EDGES_MS = (250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 300_000)


def histogram(durations: Sequence[int]) -> list[dict[str, Any]]:
    """Runs per duration bucket: [0, 250 ms), [250, 500), ... [5 min, ∞)."""
    buckets = []
    lower = 0
    for upper in (*HISTOGRAM_EDGES_MS, None):
        count = sum(1 for d in durations if d >= lower and (upper is None or d < upper))
        buckets.append({"from_ms": lower, "to_ms": upper, "runs": count})
        lower = upper or lower
    return buckets
