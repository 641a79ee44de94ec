"""The operations reports' arithmetic: pure functions over execution records and readings.

Targets and thresholds are the users' runbook's (Performance Management, Scaling Thresholds):
success rate above 99.5%, average execution under 5 minutes per client, email delivery rate
above 98%; Lambda memory above 80%, duration above 80% of the timeout, any throttling.
Nothing here reads the clock or AWS: callers pass the time and the records.
"""

from __future__ import annotations

import calendar
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from cli.reviews.pricing import GB
from lambdas.logic.periods import add_months, previous_month_start
from lambdas.models.execution import ExecutionRecord
from lambdas.models.ses_events import Suppression

if TYPE_CHECKING:  # the listing's record only: this module reads no AWS
    from cli.probes.sources import StoredObject

SUCCESS_TARGET = Decimal("0.995")
DURATION_TARGET_MS = 5 * 60 * 1000  # average execution time per client
DELIVERY_TARGET = Decimal("0.98")
MEMORY_THRESHOLD = Decimal("0.80")
DURATION_THRESHOLD = Decimal("0.80")  # of the function timeout
# A run still "running" this long after it started died with its invocation (Lambda's longest
# timeout is 15 minutes): it counts as failed.
UNFINISHED_AFTER = timedelta(minutes=15)
PERCENTILES = (50, 90, 95, 99)
WORKER_BATCH_SIZE = 10  # infrastructure/constructs/fanout.py: runs per worker invocation, in order
LAMBDA_MEMORY_STEP_MB = 128


# -- periods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC days; `end` exclusive."""

    kind: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time(0), tzinfo=UTC)

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        if self.kind == "monthly":
            return f"{self.start:%B %Y}"
        if self.start == last:
            return f"{self.start:%-d %B %Y}"
        return f"{self.start:%-d %b} – {last:%-d %b %Y}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start, "end": self.end - timedelta(days=1), "label": self.label}

    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]


def month_window(first: date) -> Window:
    first = first.replace(day=1)
    return Window("monthly", first, first + timedelta(days=calendar.monthrange(first.year, first.month)[1]))


def parse_month(value: str) -> date:
    """`YYYY-MM` -> the month's first day; ValueError otherwise."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}", value):
            return date.fromisoformat(f"{value}-01")
    except ValueError:
        pass
    raise ValueError(f"not a month (YYYY-MM): {value!r}")


def period_window(period: str, as_of: date, month: date | None = None) -> Window:
    """daily: the day before `as_of`; weekly: the 7 days before it; monthly: `month`, or the
    calendar month before `as_of`'s."""
    if period == "daily":
        return Window("daily", as_of - timedelta(days=1), as_of)
    if period == "weekly":
        return Window("weekly", as_of - timedelta(days=7), as_of)
    if period == "monthly":
        return month_window(month or previous_month_start(as_of))
    raise ValueError(period)


def in_window(record: ExecutionRecord, window: Window) -> bool:
    return window.start_at <= record.started_at < window.end_at


# -- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[int | Decimal], q: int) -> Decimal | None:
    """Nearest-rank percentile (the smallest value with at least q% of values at or below it):
    always one of the values, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-q * len(ordered) // 100))  # ceil(q/100 * n)
    return Decimal(ordered[rank - 1])


def mean(values: Sequence[int | Decimal]) -> Decimal | None:
    return Decimal(sum(values)) / len(values) if values else None


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def rounded(value: Decimal | None, places: str = "0.0001") -> Decimal | None:
    return None if value is None else value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def linear_fit(points: Sequence[tuple[int, Decimal]]) -> tuple[Decimal, Decimal]:
    """Least-squares line through (x, y): (slope, intercept). One point: a flat line."""
    if not points:
        return Decimal(0), Decimal(0)
    n = Decimal(len(points))
    mean_x = sum(Decimal(x) for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((Decimal(x) - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return Decimal(0), mean_y
    slope = sum((Decimal(x) - mean_x) * (y - mean_y) for x, y in points) / spread
    return slope, mean_y - slope * mean_x


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
    # An incomplete run sent nothing: finished, not a success.
    finished = outcomes["succeeded"] + outcomes["failed"] + outcomes["incomplete"]
    unfinished = sum(1 for r in runs if r.status == "running" and outcome(r, at) == "failed")
    durations = [r.duration_ms for r in runs if r.duration_ms is not None and r.status != "running"]
    sent = [r for r in runs if r.delivery == "sent"]
    recipients = sum(r.recipients for r in sent)
    bounces = bounced_by_run(suppressions)
    bounced = sum(bounces.get((r.client_id, r.run_id), 0) for r in sent)
    rejected = sum(1 for r in runs if r.error_kind == "delivery_rejected")
    errors: Counter[str] = Counter()
    for r in runs:
        if outcome(r, at) in ("failed", "incomplete"):
            errors[r.error_kind or ("unfinished" if r.status == "running" else "unknown")] += 1
    requests = sum(r.ce_requests for r in runs)
    hits = sum(r.cache_hits for r in runs)
    stats = duration_stats(durations)
    kpis = [
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
    by_trigger: dict[str, Counter[str]] = defaultdict(Counter)
    for r in runs:
        by_trigger[trigger(r)][outcome(r, at)] += 1
    return {
        "period": window.as_dict(),
        "executions": {
            "total": len(runs),
            "succeeded": outcomes["succeeded"],
            "failed": outcomes["failed"],
            "incomplete": outcomes["incomplete"],
            "skipped": outcomes["skipped"],
            "running": outcomes["running"],
            "unfinished_counted_failed": unfinished,
            "retried": sum(1 for r in runs if r.attempts > 1),
            "clients": len({r.client_id for r in runs}),
            "by_trigger": {name: dict(sorted(counts.items())) for name, counts in sorted(by_trigger.items())},
        },
        "duration": stats,
        "email": {
            "sent": len(sent),
            "recipients": recipients,
            "bounced_recipients": bounced,
            "suppressed_recipients": sum(r.suppressed for r in runs),
            "not_sent_all_suppressed": sum(1 for r in runs if r.delivery == "suppressed"),
            "rejected_by_ses": rejected,
        },
        "errors_by_kind": dict(sorted(errors.items())),
        "cost_explorer": {
            "requests": requests,
            "cost_usd": sum((r.ce_cost_usd for r in runs), Decimal("0")),
            "cache_hits": hits,
            "cache_hit_rate": rounded(ratio(hits, hits + requests)),
        },
        "kpis": [kpi.as_dict() for kpi in kpis],
        "targets_met": all(kpi.met is not False for kpi in kpis),
        "daily": daily_series(runs, window, at),
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


# -- client health -------------------------------------------------------------------------------


def expected_run_days(schedule: str, start: date, end: date) -> list[date]:
    """Days in [start, end) a schedule has a scheduled run: daily every day, weekly Mondays,
    monthly the 1st (infrastructure/constructs/schedules.py)."""
    days = [start + timedelta(days=offset) for offset in range((end - start).days)]
    if schedule == "weekly":
        return [d for d in days if d.weekday() == 0]
    if schedule == "monthly":
        return [d for d in days if d.day == 1]
    return days


def failures_in_a_row(runs_newest_first: Sequence[ExecutionRecord], at: datetime) -> int:
    count = 0
    for r in runs_newest_first:
        state = outcome(r, at)
        if state in ("skipped", "running"):
            continue
        if state != "failed":
            break
        count += 1
    return count


SEVERITY_ORDER = {"CRITICAL": 2, "WARNING": 1, "OK": 0}
FAILURES_CRITICAL = 3


def client_health(
    *,
    client_id: str,
    name: str,
    schedule: str,
    status: str,
    registered: datetime | None,
    runs_newest_first: Sequence[ExecutionRecord],
    suppressed: Sequence[Suppression],
    recipients: int,
    credential: dict[str, Any],
    stale: bool,
    window: Window,
    at: datetime,
    last_success: ExecutionRecord | None = None,
) -> dict[str, Any]:
    """One client's health; `credential` is {"type", "age_days", "status"} (status OK, WARNING,
    CRITICAL, or None for roles); `last_success` the newest success when it is older than the runs."""
    reasons: list[tuple[str, str]] = []
    last_success = next((r for r in runs_newest_first if r.status == "succeeded"), last_success)
    last_run = runs_newest_first[0] if runs_newest_first else None
    in_a_row = failures_in_a_row(runs_newest_first, at)
    if in_a_row >= FAILURES_CRITICAL:
        reasons.append(("CRITICAL", f"{in_a_row} failed runs in a row"))
    elif in_a_row:
        reasons.append(("WARNING", f"{in_a_row} failed run(s) in a row"))
    if last_run is not None and last_run.error_kind == "unauthorized":
        reasons.append(("CRITICAL", "credentials refused on the last run"))
    if last_run is not None and last_run.status == "incomplete":
        missing = "; ".join(last_run.missing) or "core figures"
        reasons.append(
            (
                "WARNING",
                f"last report not sent, incomplete ({missing}): `report run --client-id {client_id} "
                f"--as-of {last_run.as_of.isoformat()}` sends it",
            )
        )
    suppressed = [s for s in suppressed if s.active]  # a cleared address receives reports again
    if suppressed:
        level = "CRITICAL" if len(suppressed) >= recipients > 0 else "WARNING"
        reasons.append((level, f"{len(suppressed)} of {recipients} recipient(s) suppressed"))
    if credential.get("status") in ("WARNING", "CRITICAL"):
        reasons.append((credential["status"], f"stored key {credential.get('detail', '')}".strip()))
    gaps: list[date] = []
    if status == "active":
        first = max(window.start, registered.date() if registered else window.start)
        succeeded_days = {r.as_of for r in runs_newest_first if r.status == "succeeded"}
        gaps = [d for d in expected_run_days(schedule, first, window.end) if d not in succeeded_days]
        if stale:
            reasons.append(("WARNING", "no successful report within its schedule"))
        if gaps:
            reasons.append(("WARNING", f"{len(gaps)} scheduled day(s) without a successful report"))
    severity = max((level for level, _ in reasons), key=SEVERITY_ORDER.__getitem__, default="OK")
    return {
        "client_id": client_id,
        "name": name,
        "schedule": schedule,
        "status": status,
        "health": severity,
        "reasons": [text for _, text in sorted(reasons, key=lambda item: -SEVERITY_ORDER[item[0]])],
        "last_success": (last_success.finished_at or last_success.started_at) if last_success else None,
        "last_run": {"run_id": last_run.run_id, "status": outcome(last_run, at), "error_kind": last_run.error_kind}
        if last_run
        else None,
        "failures_in_a_row": in_a_row,
        "suppressed_recipients": [{"reason": s.reason, "recorded_at": s.recorded_at} for s in suppressed],
        "recipients": recipients,
        "credential": credential,
        "coverage_gaps": gaps,
    }


def attention_order(entry: dict[str, Any]) -> tuple[int, int, int, str]:
    return (
        -SEVERITY_ORDER[entry["health"]],
        -entry["failures_in_a_row"],
        -len(entry["coverage_gaps"]),
        entry["client_id"],
    )


# -- capacity ------------------------------------------------------------------------------------


@dataclass
class Series:
    """A monthly series with its least-squares projection."""

    name: str
    months: list[date]
    values: list[Decimal]
    projected: list[tuple[date, Decimal]] = field(default_factory=list)

    def project(self, months_ahead: int) -> Series:
        if not self.months:
            return self
        # The line starts at the first month with data: months before the platform had any
        # client or run would pull it down.
        first = next((i for i, v in enumerate(self.values) if v > 0), len(self.values) - 1)
        slope, intercept = linear_fit([(i, v) for i, v in enumerate(self.values) if i >= first])
        start, last = len(self.values), self.months[-1]
        self.projected = [
            (add_months(last, step), max(Decimal(0), slope * (start + step - 1) + intercept))
            for step in range(1, months_ahead + 1)
        ]
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "history": [
                {"month": f"{m:%Y-%m}", "value": rounded(v, "0.01")}
                for m, v in zip(self.months, self.values, strict=True)
            ],
            "projection": [{"month": f"{m:%Y-%m}", "value": rounded(v, "0.01")} for m, v in self.projected],
        }


def clients_by_month(registrations: Iterable[datetime | None], months: Sequence[date]) -> list[Decimal]:
    """Clients registered by the end of each month (no registration time: counted from the start)."""
    stamps = list(registrations)
    return [Decimal(sum(1 for r in stamps if r is None or r.date() < add_months(month, 1))) for month in months]


def runs_by_month(records: Iterable[ExecutionRecord], months: Sequence[date], until: date) -> list[Decimal]:
    """Runs per month; a month recorded only in part (the current one, or the first month of
    the history) is scaled from its recorded days to the whole month, so that a partial month
    does not read as a drop."""
    runs = list(records)
    counts = Counter(r.started_at.astimezone(UTC).date().replace(day=1) for r in runs)
    first_day = min((r.started_at.astimezone(UTC).date() for r in runs), default=until)
    values = []
    for month in months:
        length = calendar.monthrange(month.year, month.month)[1]
        start = max(month, first_day)
        end = min(add_months(month, 1), until)
        recorded = (end - start).days
        if counts.get(month, 0) == 0 or recorded <= 0:
            values.append(Decimal(0))
        else:
            values.append(Decimal(counts[month]) * length / min(recorded, length))
    return values


def runs_following_clients(
    records: Iterable[ExecutionRecord], months: Sequence[date], until: date, clients: Series
) -> tuple[list[tuple[date, Decimal]], dict[str, Any]]:
    """Runs per month projected from the clients' projection: a client's schedule makes its runs,
    so the projected runs of a month are its projected clients times the runs per client and day
    recorded, times its days. Each recorded month weighs by its recorded days: a month seen for
    two days (this month, on the 2nd) no longer reads as a trend of its own."""
    runs = list(records)
    if not runs or not clients.projected:
        return [], {"available": False, "reason": "no runs recorded" if not runs else "no clients"}
    first_day = min(r.started_at.astimezone(UTC).date() for r in runs)
    counted = Counter(r.started_at.astimezone(UTC).date().replace(day=1) for r in runs)
    client_days = Decimal(0)
    for month, registered in zip(months, clients.values, strict=True):
        recorded = (min(add_months(month, 1), until) - max(month, first_day)).days
        client_days += registered * max(recorded, 0)
    total = sum(counted.get(month, 0) for month in months)
    if client_days == 0:
        return [], {"available": False, "reason": "no client registered while runs were recorded"}
    per_client_day = Decimal(total) / client_days
    projected = [
        (month, registered * per_client_day * calendar.monthrange(month.year, month.month)[1])
        for month, registered in clients.projected
    ]
    basis = {
        "available": True,
        "runs": total,
        "client_days": client_days,
        "runs_per_client_day": rounded(per_client_day),
        "method": "projected clients x runs per client and day recorded x days of the month",
    }
    return projected, basis


def next_memory_size(peak_mb: int, threshold: Decimal = MEMORY_THRESHOLD) -> int:
    """The smallest memory size (a multiple of 128 MB, at least 128) that keeps `peak_mb` under
    the threshold."""
    needed = Decimal(peak_mb) / threshold
    size = math.ceil(needed / LAMBDA_MEMORY_STEP_MB) * LAMBDA_MEMORY_STEP_MB
    return max(LAMBDA_MEMORY_STEP_MB, size)


def threshold_status(used: Decimal | None, limit: Decimal | None, threshold: Decimal) -> str:
    if used is None or limit is None or limit == 0:
        return "UNKNOWN"
    return "WARNING" if used / limit > threshold else "OK"


# -- cost optimisation ---------------------------------------------------------------------------
# Each rule takes plain data and returns its recommendation (saving unrounded, over the analysed
# period) or nothing; `ops cost-optimization` reads the data and prices the lines.

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


# -- audit -----------------------------------------------------------------------------------------


def requester(run: ExecutionRecord) -> str:
    """Who read the client's data for a run, named as the ACCESS log lines name it."""
    return "cli" if run.kind == "manual" else "worker"


def readers(runs: Iterable[ExecutionRecord], access: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Who read which client's cost data: per client and requester, the runs recorded and the
    ACCESS log lines kept; sorted by client, then requester."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for run in runs:
        counts[(run.client_id, requester(run))]["runs"] += 1
    for line in access:
        counts[(str(line.get("client_id", "?")), str(line.get("requester", "?")))]["log_lines"] += 1
    return [
        {"client_id": client, "requester": who, "runs": c["runs"], "log_lines": c["log_lines"]}
        for (client, who), c in sorted(counts.items())
    ]
