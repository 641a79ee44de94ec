"""Step 3 of a run for a client whose `cost_source` is `data_exports`: its cost data from its AWS
Data Export (FOCUS 1.2 or CUR 2.0 Parquet in S3), read with DuckDB in process (docs/data-exports.md).

needs (the same as Cost Explorer's, logic/needs.py) -> the billing periods they touch -> each one's
manifest (none yet: still being written, not read) -> the files it lists, fetched to a scratch
directory after checking they fit one function -> each file's format, FOCUS version and column
types -> no account but the client's -> one query per dataset and granularity -> cells -> the same
CostData the Cost Explorer path builds. A period the export does not hold stays missing, never zero.

The one entry point the run calls: `read_export_costs(client, window, s3=..., now=...)`; the month
close asks `export_is_final(client, month, s3=...)`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lambdas.dal.data_exports import MAX_IN_PROCESS_BYTES, DataExports, Partition
from lambdas.dal.duckdb_engine import DuckDBEngine
from lambdas.logic import export_schema, exports_sql
from lambdas.logic.cost_data import CostData, cost_data_from_cells
from lambdas.logic.daily import anomaly_days
from lambdas.logic.export_schema import billing_period
from lambdas.logic.exports_extras import (
    CommitmentUse,
    TopResource,
    commitment_sql,
    commitments_from_rows,
    top_resources_from_rows,
    top_resources_sql,
)
from lambdas.logic.needs import Cell, CellKey, Need, attribution_need, needs_for
from lambdas.logic.periods import ONE_DAY, ReportWindow, month_last_day
from lambdas.models.client import Client
from lambdas.models.exceptions import ExportAccessError, ExportDataError, InvalidInputError
from lambdas.models.export_source import ExportSource
from lambdas.observability import logger


@dataclass
class PeriodState:
    """What one billing period's partition said: read or why not, its newest day, final or not."""

    period: str
    read: bool = False
    reason: str = ""
    last_day: date | None = None
    final: bool = False
    line_items: int = 0
    currency: str | None = None


@dataclass
class ExportRead:
    data: CostData
    notes: list[str] = field(default_factory=list)
    periods: dict[str, PeriodState] = field(default_factory=dict)
    bytes_read: int = 0
    s3_requests: int = 0
    files: int = 0
    queries: int = 0
    top_resources: list[TopResource] = field(default_factory=list)
    commitments: list[CommitmentUse] = field(default_factory=list)


def covered(states: dict[str, PeriodState], starts: set[date], granularity: str, today: date) -> dict[date, bool]:
    """Period start -> final, for the periods the export holds: a final billing period's every
    day; else its days up to the newest it holds, and a month (estimated) while it is still under
    way or once the export holds its last day. The others get no cell: an empty partition, or a
    month that has ended whose export stopped short of its last day (a stale export), is missing,
    never a total of the days it happens to hold."""
    found: dict[date, bool] = {}
    for start in starts:
        state = states.get(billing_period(start))
        if state is None or not state.read or state.line_items == 0 or state.last_day is None:
            continue
        if state.final:
            found[start] = True
        elif granularity == "MONTHLY":
            last = month_last_day(start)
            if state.last_day >= last or last >= today:
                found[start] = False
        elif start <= state.last_day:
            found[start] = False
    return found


def export_of(client: Client) -> ExportSource:
    if client.data_export is None:
        raise InvalidInputError("data_export", "the client names no Data Export")
    return client.data_export


class _Run:
    """One read: the adapter, the engine, the scratch directory and what was learned."""

    def __init__(self, client: Client, s3: Any, scratch: Path, max_bytes: int, engine: DuckDBEngine) -> None:
        self.client = client
        self.export = export_of(client)
        self.exports = DataExports(s3, self.export)
        self.scratch = scratch
        self.max_bytes = max_bytes
        self.engine = engine
        self.accounts = list(client.account_ids)
        self.states: dict[str, PeriodState] = {}
        self.partitions: list[Partition] = []
        self.queries = 0
        self.unreadable: set[str] = set()

    def load(self, periods: list[str]) -> None:
        """Find, check and fetch the partitions of `periods`; say why any is not read."""
        present = self.exports.partitions()
        for period in periods:
            state = self.states[period] = PeriodState(period)
            if period not in present:
                state.reason = "no partition in the export"
                continue
            manifest = self.exports.manifest(period)
            if manifest is None:
                state.reason = "the export is still being written (no manifest yet)"
                continue
            self.partitions.append(self.exports.partition(period, manifest))
        self.exports.fetch(self.partitions, self.scratch, max_bytes=self.max_bytes)
        for partition in self.partitions:
            self._check(partition)

    def _check(self, partition: Partition) -> None:
        fmt = self.export.format
        for key, path in zip(partition.keys, partition.files, strict=True):
            export_schema.check_columns(fmt, self.engine.columns(path), key)
        foreign = self.run(exports_sql.foreign_accounts_sql(fmt, self.accounts), partition.files)
        if foreign:
            listed = ", ".join(str(row[0]) for row in foreign)
            raise ExportDataError(
                f"BILLING_PERIOD={partition.period}: the export holds account {listed}, not in the client's account_ids"
            )
        last_day, line_items, uninvoiced, currencies = self.run(exports_sql.coverage_sql(fmt), partition.files)[0]
        state = self.states[partition.period]
        state.read = True
        state.line_items = int(line_items or 0)
        state.last_day = exports_sql.as_date(last_day) if last_day is not None else None
        state.final = state.line_items > 0 and int(uninvoiced or 0) == 0
        known = sorted({str(c) for c in (currencies or []) if c})
        if len(known) > 1:
            raise ExportDataError(f"BILLING_PERIOD={partition.period}: more than one billing currency {known}")
        state.currency = known[0] if known else None

    def currency(self) -> str | None:
        """The export's billing currency (the report's unit): one for every period read."""
        found = sorted({state.currency for state in self.states.values() if state.currency})
        if len(found) > 1:
            raise ExportDataError(f"the export bills in more than one currency over the report's periods: {found}")
        return found[0] if found else None

    def run(self, sql: str, files: list[Path] | None = None) -> list[tuple[Any, ...]]:
        self.queries += 1
        return self.engine.query(sql, files if files is not None else self.files)

    @property
    def files(self) -> list[Path]:
        return [path for partition in self.partitions for path in partition.files]

    def covered(self, starts: set[date], granularity: str, today: date) -> dict[date, bool]:
        return covered(self.states, starts, granularity, today)

    def cells(self, needs: list[Need], now: datetime) -> dict[CellKey, Cell]:
        cells: dict[CellKey, Cell] = {}
        if not self.partitions:
            return cells
        for need in needs:
            if not exports_sql.readable(need.dataset):
                self.unreadable.add(f"{need.dataset.group_type} {need.dataset.group_key}")
        needs = [need for need in needs if exports_sql.readable(need.dataset)]
        queries = exports_sql.cell_queries(self.export.format, needs, metric=self.client.metric, accounts=self.accounts)
        for query in queries:
            covered = self.covered(set(query.starts), query.granularity, now.date())
            if not covered:
                continue
            rows = self.run(query.sql)
            cells.update(
                exports_sql.cells_from_rows(query, rows, accounts=self.accounts, covered=covered, fetched_at=now)
            )
        # A cell is as new as the delivery that wrote it, not as the run that read it: a day the export
        # delivered before AWS could refresh it after it ended stays provisional (no anomaly on it).
        for (_, _, _, start), cell in cells.items():
            delivered = self.exports.delivered.get(billing_period(start))
            if delivered is not None and cell.fetched_at is not None and delivered < cell.fetched_at:
                cell.fetched_at = delivered
        return cells


def read_export_costs(
    client: Client,
    window: ReportWindow,
    *,
    s3: Any,
    now: datetime,
    scratch_root: str | None = None,
    max_bytes: int = MAX_IN_PROCESS_BYTES,
    extras: bool = True,
    memory_limit: str | None = None,
) -> ExportRead:
    """The client's cost data for the window, from its Data Export. `s3`: a boto3 S3 client that can
    read the export (the client's role, or the platform's for a replicated export). `extras`: also
    the top resources of the current period and commitment use (FOCUS). `memory_limit`: DuckDB's
    (for example "1GB": past it DuckDB spills to the scratch directory instead of failing)."""
    scratch = Path(tempfile.mkdtemp(prefix="data-export-", dir=scratch_root))
    engine = DuckDBEngine(temp_directory=str(scratch / "duckdb"), memory_limit=memory_limit)
    try:
        run = _Run(client, s3, scratch, max_bytes, engine)
        needs = needs_for(client, window)
        run.load(exports_sql.partitions_for(needs))
        cells = run.cells(needs, now)
        names: dict[str, str] = {}
        if run.partitions:
            names = {str(a): str(n) for a, n in run.run(exports_sql.account_names_sql(run.export.format))}
        data = cost_data_from_cells(needs, cells, run.accounts, names)
        # The services of an anomaly's day, to name what moved: the files are here, so it is one query.
        days = anomaly_days(window, data) if run.partitions else []
        if days:
            need = attribution_need(days)
            extra_periods = [p for p in exports_sql.partitions_for([need]) if p not in run.states]
            if not extra_periods:
                needs = [*needs, need]
                cells.update(run.cells([need], now))
                data = cost_data_from_cells(needs, cells, run.accounts, names)
        data.unit = run.currency()
        read = ExportRead(data=data, periods=run.states)
        if extras and run.partitions:
            _extras(run, window, read)
        read.notes = [
            f"Data Export BILLING_PERIOD={state.period}: {state.reason}; its days are missing from this report."
            for state in run.states.values()
            if not state.read
        ] + [
            f"A breakdown by {what} is not read from Data Exports: it is missing from this report."
            for what in sorted(run.unreadable)
        ]
        read.bytes_read = run.exports.bytes_read
        read.s3_requests = run.exports.requests
        read.files = len(run.files)
        read.queries = run.queries
        logger.info(
            "data export read",
            extra={
                "format": run.export.format,
                "periods": {
                    p: ("final" if s.final else "estimated") if s.read else s.reason for p, s in run.states.items()
                },
                "bytes_read": read.bytes_read,
                "s3_requests": read.s3_requests,
                "queries": read.queries,
                "missing": data.missing,
            },
        )
        return read
    finally:
        engine.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _extras(run: _Run, window: ReportWindow, read: ExportRead) -> None:
    """What Cost Explorer cannot give: the top resources of the period, commitment use (FOCUS)."""
    first, end = window.current.start, window.current.end + ONE_DAY
    fmt = run.export.format
    sql = top_resources_sql(fmt, first, end, metric=run.client.metric, accounts=run.accounts)
    read.top_resources = top_resources_from_rows(run.run(sql))
    if fmt == "focus_1_2":
        rows = run.run(commitment_sql(first, end, accounts=run.accounts))
        read.commitments = commitments_from_rows(rows)


def export_is_final(
    client: Client, month: date, *, s3: Any, scratch_root: str | None = None, max_bytes: int = MAX_IN_PROCESS_BYTES
) -> bool:
    """Whether the export says the billing period of `month` is final: its manifest is there and
    every line item carries an invoice id (the month's bill is issued). Not Cost Explorer's
    Estimated flag."""
    scratch = Path(tempfile.mkdtemp(prefix="data-export-", dir=scratch_root))
    engine = DuckDBEngine(temp_directory=str(scratch / "duckdb"))
    try:
        run = _Run(client, s3, scratch, max_bytes, engine)
        period = billing_period(month)
        run.load([period])
        state = run.states[period]
        return state.read and state.final and state.last_day is not None and state.last_day <= month_last_day(month)
    finally:
        engine.close()
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass
class ExportProbe:
    """What `credentials validate` and `client add` can say about an export without reading it."""

    partitions: list[str] = field(default_factory=list)
    newest: str | None = None
    newest_has_manifest: bool = False
    findings: list[str] = field(default_factory=list)
    refusal: ExportAccessError | None = None  # S3 refused the read: the caller logs it UNAUTHORIZED

    @property
    def ok(self) -> bool:
        return not self.findings


def probe_export(client: Client, *, s3: Any) -> ExportProbe:
    """List the export's partitions and read its newest manifest (its files' sizes, not their data).
    An export the role cannot read, an empty export, or one of another format is a finding."""
    export = export_of(client)
    exports = DataExports(s3, export)
    probe = ExportProbe()
    try:
        probe.partitions = sorted(exports.partitions())
        if not probe.partitions:
            probe.findings.append(
                f"data_export: no BILLING_PERIOD= partition under s3://{export.bucket}/{export.root}data/"
            )
            return probe
        probe.newest = probe.partitions[-1]
        manifest = exports.manifest(probe.newest)
        probe.newest_has_manifest = manifest is not None
        if manifest is not None:
            exports.partition(probe.newest, manifest)
    except (ExportAccessError, ExportDataError) as error:
        probe.findings.append(str(error))
        probe.refusal = error if isinstance(error, ExportAccessError) else None
    return probe
