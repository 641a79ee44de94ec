"""Step 3 of a run: the client's cost data from its source, as the one `CostRead` the rest of the run
builds the report from (DESIGN.md: two cost sources, one report).

- `cost_explorer`: the client's credentials -> Cost Explorer, cached and within the run's budget
  (lambdas/orchestration/cost_reader.py). The month close waits while Cost Explorer still marks
  last month as estimated.
- `data_exports`: the client's role (or, for a replicated export, the platform's own S3) -> its Data
  Export (lambdas/orchestration/export_reader.py). The month close waits until the export's last
  month carries its invoice ids.

Either way one ACCESS audit line says what was read, and the outcome what it took.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from typing import TYPE_CHECKING

from lambdas.dal.client_secrets import ClientSecrets
from lambdas.logic.daily import days_of
from lambdas.logic.periods import ReportWindow
from lambdas.models.client import Client
from lambdas.models.events import ReportJob
from lambdas.models.exceptions import InvalidInputError, WrongFunctionError
from lambdas.models.export_source import replicated_export_problem
from lambdas.observability import ACCESS, audit
from lambdas.orchestration.cost_reader import CostRead, CostReader
from lambdas.orchestration.export_reader import ExportReader, closed_on_athena, export_location
from lambdas.orchestration.outcome import RunOutcome

if TYPE_CHECKING:
    from lambdas.orchestration.dependencies import Dependencies

NOT_FINAL_IN_COST_EXPLORER = "last month is not final yet in Cost Explorer"
NOT_FINAL_IN_THE_EXPORT = "last month is not final yet in the Data Export"


class CostStep:
    def __init__(self, deps: Dependencies, *, dry_run: bool, requester: str) -> None:
        self.deps = deps
        self.dry_run = dry_run
        self.requester = requester

    def read(
        self,
        client: Client,
        job: ReportJob,
        window: ReportWindow,
        now: datetime,
        outcome: RunOutcome,
        secrets: ClientSecrets,
    ) -> CostRead | None:
        """The client's cost data; None when the month-close run finds last month not final yet in
        its source (the outcome is skipped: the next month-close run tries again)."""
        if client.cost_source == "data_exports":
            return self._from_export(client, job, window, now, outcome, secrets)
        read = self._from_cost_explorer(client, job, window, now, outcome, secrets)
        if job.kind == "final" and (
            window.current.start in read.data.estimated_months
            or read.data.estimated_days & set(days_of(window.current))
        ):
            outcome.skip(NOT_FINAL_IN_COST_EXPLORER)
            return None
        return read

    def _from_cost_explorer(
        self,
        client: Client,
        job: ReportJob,
        window: ReportWindow,
        now: datetime,
        outcome: RunOutcome,
        secrets: ClientSecrets,
    ) -> CostRead:
        credentials = self.deps.credentials.for_client(client, secrets)  # a refusal is logged UNAUTHORIZED by _fail
        explorer = self.deps.cost_explorer(credentials)
        cache = self.deps.cost_cache()
        cache.read_only = cache.read_only or self.dry_run  # a dry run writes nothing, the cache included
        audit(
            ACCESS, "cost data read", client_id=client.client_id, requester=self.requester, accounts=client.account_ids
        )
        try:
            reader = CostReader(explorer, cache, now=now, cap=self.deps.ce_request_cap)
            read = reader.read(client, window, shared_accounts=job.shared_accounts)
        finally:
            outcome.ce_requests = explorer.requests
            outcome.ce_budget = explorer.max_requests
        outcome.cache_hits = read.cache_hits
        outcome.ce_planned = read.planned_requests
        return read

    def _from_export(
        self,
        client: Client,
        job: ReportJob,
        window: ReportWindow,
        now: datetime,
        outcome: RunOutcome,
        secrets: ClientSecrets,
    ) -> CostRead | None:
        export = client.data_export
        outcome.cost_source = "data_exports"
        if importlib.util.find_spec("duckdb") is None:  # the export worker's layer: routed to the wrong worker
            raise WrongFunctionError(
                "this function has no DuckDB (the Data Exports layer): a data_exports client's run belongs on "
                "the export jobs queue (EXPORT_JOBS_QUEUE_URL), where the export worker reads it"
            )
        if export is not None:  # a record edited by hand is checked again: only the client's own copy is read
            problem = replicated_export_problem(client.client_id, export, self.deps.archive.bucket)
            if problem:
                raise InvalidInputError(*problem)
        # The client's role reads its own bucket; a replicated export is in the platform's bucket.
        replicated = export is not None and export.access == "replicated"
        credentials = None if replicated else self.deps.credentials.for_client(client, secrets)
        reader = ExportReader(self.deps.export_s3(credentials), now=now, athena=self.deps.export_athena)
        audit(
            ACCESS,
            "cost data read",
            client_id=client.client_id,
            requester=self.requester,
            accounts=client.account_ids,
            source="data_exports",
            export=export_location(client),
            access=export.access if export is not None else None,
        )
        closed = None
        if job.kind == "final":
            # Only last month's partition is read to know: a month not invoiced yet costs no more.
            closed = reader.month_closed(client, window.current.start)
            if closed is False:
                outcome.skip(NOT_FINAL_IN_THE_EXPORT)
                return None
        read, found = reader.read(client, window)
        outcome.export_bytes_read, outcome.export_s3_requests = read.bytes_read, read.s3_requests
        if closed is None and job.kind == "final" and not closed_on_athena(found, window.current.start):
            outcome.skip(NOT_FINAL_IN_THE_EXPORT)  # too large to tell in process: the read on Athena told
            return None
        return read
