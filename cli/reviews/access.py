"""Who read which client's costs: the requester of each run and the ACCESS log lines. Pure."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from lambdas.models.execution import ExecutionRecord

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
