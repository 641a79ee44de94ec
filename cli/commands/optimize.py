"""`optimize lambda-memory`: the memory size a function should have, from its measured runs
(cli/documents/lambda_memory.py, priced by cli/reviews/lambda_memory.py). `optimize dynamodb-queries`:
how each table is read and the change to make (cli/documents/dynamodb_queries.py,
cli/reviews/dynamodb_queries.py).

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

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from cli.context import as_of_day, emit, emit_and_finish, environment_config, fail, finish, now
from cli.documents.dynamodb_queries import review
from cli.documents.lambda_memory import function_names, memory_document
from cli.options import EnvironmentOption, FormatOption, OutputFormat, OutputOption
from cli.render.console import Table
from cli.render.dynamodb_queries import dynamodb_table
from cli.reviews.cost_advice import MIN_SAVING_USD
from cli.reviews.dynamodb_queries import table_names
from infrastructure.config import TABLES

app = typer.Typer(help="Right-size functions and tables from what they measurably do.", no_args_is_help=True)


def _period_end(as_of: str, at: datetime) -> datetime:
    """The end of the period measured: the start (UTC) of the --as-of day, or `at` (now) without it."""
    return datetime.combine(as_of_day(as_of), datetime.min.time(), tzinfo=at.tzinfo) if as_of else at


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
    config = environment_config(environment, output=output)
    names = function_names(config)
    if function_name not in names:
        fail(f"--function-name: {function_name!r} is not a function of the platform ({', '.join(sorted(set(names)))})")
    at = now()
    end = _period_end(as_of, at)
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
    emit_and_finish(document, table, fmt, output, _shortfall(document))


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
    config = environment_config(environment, output=output)
    names = table_names(config)
    if table_name is not None and table_name not in names:
        fail(f"--table-name: {table_name!r} is not a table of the platform ({', '.join(sorted(names))})")
    at = now()
    end = _period_end(as_of, at)
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
