"""The Data Exports rows of the bench: a daily report read from a payer's FOCUS 1.2 export with
DuckDB in process, for 10, 100 and 1,000 accounts (emulator/payer.py's payer, 20 services each),
beside what the same client costs in Cost Explorer requests.

Each size is written by one process (emulator/exports.py, into a scratch folder served as the
bucket) and read by another, so the peak memory is the reader's own: the peak is reset
(/proc/self/clear_refs) just before `read_export_costs`, so `peak_rss_mb` is the process at its
highest while reading and `read_rss_mb` what the read added to it. (The S3 side is a folder, not
moto, whose in-process objects and per-GET copies would count as the reader's memory; the
adapter's S3 calls are the same and tested against moto in tests/integration/test_data_exports.py.)

Figures per size: wall of the read, peak memory, bytes fetched from S3 (= /tmp used by the Parquet;
DuckDB spilled nothing at these sizes), rows in the partitions and rows per second, S3 requests,
USD per report (Lambda GB-seconds at the memory the read needs + S3 GET/LIST requests), and for the
same client Cost Explorer's planned requests and USD per report (lambdas/logic/planner.py,
`expected_pages`: the assumed density, and the density this payer's answers show at the
emulator's page size). Then the threshold: bytes of Parquet per row, seconds and MB of memory per
GB of Parquet, extrapolated to one Lambda's limits (10,240 MB memory, 10,240 MB /tmp, 900 s).

`python -m bench.exports [--sizes 10,100,1000] [--services 20]` prints the figures and writes
bench/exports.json; `make bench` runs it after bench.run (about a minute here).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

AS_OF = date(2026, 11, 27)
AT = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 6, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "bench" / "exports.json"
BUCKET = "payer-billing-exports"
S3_GET_USD_PER_1000 = Decimal("0.0004")  # S3 Standard GET (https://aws.amazon.com/s3/pricing/)
LAMBDA_MAX_MB = 10_240
LAMBDA_MAX_TMP_MB = 10_240
LAMBDA_MAX_SECONDS = 900
MEMORY_STEP_MB = 64


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _client(accounts: int, services: int) -> Any:
    from emulator.payer import payer_client, payer_dataset
    from lambdas.models.client import parse_client

    dataset = payer_dataset(AS_OF, accounts=accounts, services=services)
    record = payer_client(dataset)
    record["cost_source"] = "data_exports"
    record["data_export"] = {"bucket": BUCKET, "prefix": "exports", "export_name": "payer-focus", "format": "focus_1_2"}
    return dataset, parse_client(record)


def write_size(accounts: int, services: int, folder: str) -> dict[str, Any]:
    """In this process: the payer's FOCUS export (the report's billing periods) into `folder`."""
    from emulator.exports import ExportOptions, FolderS3, write_export
    from emulator.payer import PAYER_ACCOUNT
    from lambdas.logic.needs import needs_for
    from lambdas.logic.periods import window_for

    dataset, client = _client(accounts, services)
    window = window_for("daily", AS_OF)
    first = min(p for need in needs_for(client, window) for p in need.periods()).replace(day=1)
    started = time.perf_counter()
    written = write_export(
        FolderS3(Path(folder)),
        dataset,
        bucket=BUCKET,
        prefix="exports",
        export_name="payer-focus",
        accounts=list(client.account_ids),
        payer=PAYER_ACCOUNT,
        start=first,
        end_exclusive=AS_OF,
        options=ExportOptions(),
        now=AT,
    )
    return {"rows": written.rows, "parquet_bytes": written.bytes, "write_s": round(time.perf_counter() - started, 2)}


def read_size(accounts: int, services: int, folder: str) -> dict[str, Any]:
    """In a fresh process: a daily report read from the export in `folder` (served as S3 objects)."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    import gc

    from emulator.exports import FolderS3
    from lambdas.logic.periods import window_for
    from lambdas.orchestration.export_costs import read_export_costs

    _, client = _client(accounts, services)
    window = window_for("daily", AS_OF)
    s3 = FolderS3(Path(folder))
    gc.collect()
    before_kb = _rss_kb("VmRSS")
    reset = _reset_peak()
    cpu = time.process_time()
    started = time.perf_counter()
    read = read_export_costs(client, window, s3=s3, now=AT)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    peak_kb = _rss_kb("VmHWM")
    data = read.data
    return {
        "accounts": accounts,
        "services": services,
        "partitions": sorted(read.periods),
        "bytes_read": read.bytes_read,
        "files": read.files,
        "s3_requests": read.s3_requests,
        "s3_gets": s3.gets,
        "s3_lists": s3.lists,
        "queries": read.queries,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "rss_before_mb": round(before_kb / 1024, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "read_rss_mb": round((peak_kb - before_kb) / 1024, 1) if reset else None,
        "peak_reset": reset,
        "tmp_mb": round(read.bytes_read / 1024**2, 2),
        "days_read": len(data.daily),
        "missing": data.missing,
        "total_current": str(sum((r.amount for r in data.rows if r.day == window.current.start), Decimal(0))),
    }


def import_cost_ms() -> dict[str, float]:
    """What `import duckdb` costs a cold process (the reason it stays out of the worker's imports)."""
    probe = (
        "import time; t = time.perf_counter(); import duckdb; d = time.perf_counter() - t;"
        "t = time.perf_counter(); import lambdas.orchestration.export_costs; e = time.perf_counter() - t;"
        "print(round(d * 1000, 1), round(e * 1000, 1))"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed probe
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    duckdb_ms, reader_ms = (float(x) for x in result.stdout.split())
    return {"import_duckdb_ms": duckdb_ms, "import_reader_without_duckdb_ms": reader_ms}


def cost_explorer_side(accounts: int, services: int) -> dict[str, Any]:
    """The same client's Cost Explorer requests a report (cold cache) and USD."""
    from emulator.cost_explorer import DEFAULT_PAGE_GROUPS
    from emulator.payer import payer_client, payer_dataset
    from lambdas.logic.needs import RECORD_TYPES, SERVICES, Density
    from lambdas.logic.periods import window_for
    from lambdas.logic.planner import expected_pages
    from lambdas.logic.queries import requests_cost_usd
    from lambdas.models.client import parse_client

    client = parse_client(payer_client(payer_dataset(AS_OF, accounts=accounts, services=services)))
    window = window_for("daily", AS_OF)
    assumed = expected_pages(client, window)
    shown = Density(
        page_groups=DEFAULT_PAGE_GROUPS,
        groups_per_cell={f"DAILY|{SERVICES.name}": float(services), f"DAILY|{RECORD_TYPES.name}": 1.1},
    )
    learned = expected_pages(client, window, shown)
    return {
        "requests_assumed_density": assumed,
        "requests_at_emulator_page_size": learned,
        "usd_per_report": str(requests_cost_usd(learned)),
        "usd_per_month_daily": str(requests_cost_usd(learned) * 30),
    }


def lambda_usd(row: dict[str, Any]) -> dict[str, Any]:
    """USD per report in Lambda: GB-seconds at the memory the read needs (its peak with half again
    as margin, at least 512 MB) plus S3 requests (the LISTs and GETs the read made)."""
    from cli.reviews.pricing import price

    memory_mb = max(512, math.ceil(row["peak_rss_mb"] * 1.5 / MEMORY_STEP_MB) * MEMORY_STEP_MB)
    gb_seconds = Decimal(str(row["wall_s"])) * memory_mb / 1024
    compute = gb_seconds * price("lambda_gb_second").usd
    requests = (row["s3_gets"] * S3_GET_USD_PER_1000 + row["s3_lists"] * price("s3_put_request").usd) / 1000
    return {
        "lambda_memory_mb": memory_mb,
        "gb_seconds": str(gb_seconds.quantize(Decimal("0.0001"))),
        "usd_per_report": str(
            (compute + requests + price("lambda_request").usd / 1_000_000).quantize(Decimal("0.000001"))
        ),
    }


def threshold(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Seconds and memory of a read against GB of Parquet, fitted through the smallest and the
    largest size (a fixed part, DuckDB and the process, plus a part per GB), and the GB at which
    each of one Lambda's limits is reached: time (900 s), memory (10,240 MB), /tmp (10,240 MB,
    which holds the fetched Parquet)."""
    small, big = min(rows, key=lambda r: r["bytes_read"]), max(rows, key=lambda r: r["bytes_read"])
    span_gb = (big["bytes_read"] - small["bytes_read"]) / 1024**3
    if span_gb <= 0:
        return {"note": "one size only: no threshold"}
    seconds_per_gb = (big["wall_s"] - small["wall_s"]) / span_gb
    # What the read added to the process (the objects streamed to /tmp, as from S3).
    memory_per_gb = (big["read_rss_mb"] - small["read_rss_mb"]) / span_gb
    fixed_s = small["wall_s"] - seconds_per_gb * small["bytes_read"] / 1024**3
    fixed_mb = small["peak_rss_mb"] - memory_per_gb * small["bytes_read"] / 1024**3  # the process and DuckDB
    limits = {
        "time_gb": (LAMBDA_MAX_SECONDS - fixed_s) / seconds_per_gb,
        "memory_gb": (LAMBDA_MAX_MB - fixed_mb) / memory_per_gb if memory_per_gb > 0 else float("inf"),
        "tmp_gb": LAMBDA_MAX_TMP_MB / 1024,
    }
    return {
        "basis": f"{small['accounts']} and {big['accounts']} accounts x {big['services']} services",
        "parquet_bytes_per_row": round(big["parquet_bytes"] / big["rows"], 1),
        "seconds_per_gb": round(seconds_per_gb, 1),
        "fixed_seconds": round(fixed_s, 2),
        "peak_memory_mb_per_gb": round(memory_per_gb, 1),
        "fixed_memory_mb": round(fixed_mb, 1),
        "lambda_limit_gb": {name: round(value, 1) for name, value in limits.items()},
        "fits_one_lambda_up_to_gb": round(min(limits.values()), 1),
        "limit_reached_first": min(limits, key=lambda k: limits[k]),
        "platform_threshold_bytes": _platform_threshold(),
        "note": (
            "Extrapolated linearly from the sizes measured on this machine (2 shared cores); the platform's "
            "threshold (lambdas/dal/data_exports.py MAX_IN_PROCESS_BYTES) is set well under it."
        ),
    }


def _platform_threshold() -> int:
    from lambdas.dal.data_exports import MAX_IN_PROCESS_BYTES

    return MAX_IN_PROCESS_BYTES


def measure(sizes: list[int], services: int) -> dict[str, Any]:
    def step(*argv: str) -> dict[str, Any]:
        result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "bench.exports", *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        if result.returncode != 0:
            raise RuntimeError(f"bench.exports {argv} failed:\n{result.stderr[-4000:]}")
        loaded: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return loaded

    rows = []
    for accounts in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-exports-") as folder:
            written = step("write", str(accounts), str(services), folder)
            row = step("read", str(accounts), str(services), folder)
        row.update(written)
        row["rows_per_s"] = int(row["rows"] / row["wall_s"]) if row["wall_s"] else None
        row.update(lambda_usd(row))
        row["cost_explorer"] = cost_explorer_side(accounts, services)
        rows.append(row)
    return {
        "as_of": AS_OF.isoformat(),
        "schedule": "daily",
        "rows": rows,
        "imports": import_cost_ms(),
        "threshold": threshold(rows),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("write", "read"):
        step = write_size if argv[0] == "write" else read_size
        print(json.dumps(step(int(argv[1]), int(argv[2]), argv[3])))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args(argv)
    figures = measure([int(s) for s in args.sizes.split(",")], args.services)
    text = json.dumps(figures, indent=2)
    print(text)
    Path(args.output).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
