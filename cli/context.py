"""What every command shares: the environment's names, settings, clock, exit codes and output."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cli.options import OutputFormat
from cli.render.checks import checks_table
from cli.render.console import Table, console, errors
from cli.reviews.checks import Check, Status, shortfall, worst
from cli.reviews.periods import parse_month
from infrastructure.config import EnvironmentConfig, for_environment
from infrastructure.worker_settings import worker_settings
from lambdas import clock as platform_clock
from lambdas.dal.aws import platform_client, reset_clients
from lambdas.logic.periods import previous_month_start
from lambdas.models.settings import Settings

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


def clock() -> datetime:
    return platform_clock.now()


def now() -> datetime:
    """The CLI's one clock (UTC). Tests freeze time by replacing `clock`, never by sleeping."""
    return clock()


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One clear line on stderr and the exit code; nothing else."""
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def findings(reason: str) -> NoReturn:
    """Exit 1 (findings), the output ending with one line that names what fell short: on stderr,
    so that stdout stays the table or the JSON."""
    errors.print(f"[bold yellow]findings:[/] {escape(reason)}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_FINDINGS)


def finish(shortfall: str) -> NoReturn:
    """Exit 0 when nothing fell short (`shortfall` empty), else `findings(shortfall)`."""
    if shortfall:
        findings(shortfall)
    raise typer.Exit(EXIT_OK)


# -- the local environment ------------------------------------------------------------------------

LOCAL_PORT = 4566  # the embedded AWS of `local up`: loopback only, the port LocalStack made familiar
REPOSITORY = Path(__file__).resolve().parents[1]


def local_state_dir() -> Path:
    """Where `local up` keeps its pid/state file and the server's log (gitignored)."""
    return Path(os.environ.get("COST_REPORTING_LOCAL_DIR") or REPOSITORY / ".local")


def local_state_file() -> Path:
    return local_state_dir() / "local-aws.json"


def read_local_state() -> dict[str, Any] | None:
    try:
        state = json.loads(local_state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("endpoint_url") else None


def local_aws_environment(endpoint_url: str) -> dict[str, str]:
    """Point every boto3 client of this process at the emulator, with throwaway credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "cost-reporting-local",
    }


def use_local_aws(endpoint_url: str) -> None:
    """This process talks to the embedded AWS at `endpoint_url` from now on."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)  # an operator's real session must never be used against the emulator
    os.environ.update(local_aws_environment(endpoint_url))
    reset_clients()


def environment_config(environment: str, *, output: Path | None = None) -> EnvironmentConfig:
    """The environment's names. `local` without AWS_ENDPOINT_URL means the emulator of `local up`.

    With `output`, the file the command will write (--output) is checked first (`writable`): bad
    input is refused before the environment is reached, and changes nothing."""
    writable(output)
    try:
        config = for_environment(environment)
    except ValueError as error:
        fail(str(error))
    if config.environment == "local" and not os.environ.get("AWS_ENDPOINT_URL"):
        state = read_local_state()
        if state is None:
            fail("the local environment is not running: start it with `python cli/main.py local up`")
        use_local_aws(state["endpoint_url"])
    return config


def settings(config: EnvironmentConfig) -> Settings:
    """The worker's settings for this environment.

    A deployed environment's truth is the worker function's own environment (the sender the
    stack was deployed with, the bucket's unique name, the queue URL); the names of
    infrastructure/config.py are the fallback, and all there is locally.
    """
    if config.deployed_by_stack:
        try:
            answer = platform_client("lambda").get_function_configuration(FunctionName=config.worker_function)
            return Settings.model_validate(answer["Environment"]["Variables"])
        except Exception:  # noqa: S110 - not deployed or not readable: the config's names follow
            pass
    try:
        queue_url = platform_client("sqs").get_queue_url(QueueName=config.jobs_queue)["QueueUrl"]
    except Exception:  # no queue readable: only dispatching needs it; `report run` runs jobs directly
        queue_url = ""
    account = str(platform_client("sts").get_caller_identity()["Account"])
    return worker_settings(config, account=account, queue_url=queue_url)


# -- input and output -----------------------------------------------------------------------------


def parse_day(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{flag}: not a date (YYYY-MM-DD): {value!r}")


def as_of_day(value: str, flag: str = "--as-of") -> date:
    """The day an --as-of option names; today (UTC) when it is not given."""
    return parse_day(value, flag) if value else now().date()


def month_start(value: str, flag: str = "--month") -> date | None:
    """The first day of the month a `YYYY-MM` option names; None when it is not given."""
    if not value:
        return None
    try:
        return parse_month(value)
    except ValueError:
        fail(f"{flag}: not a month (YYYY-MM): {value!r}")


def month_or_previous(month: str, as_of: str) -> date:
    """The first day of the month a --month option names; without it, of the month before the
    --as-of day's (today's, UTC)."""
    return month_start(month) or previous_month_start(as_of_day(as_of))


def writable(path: Path | None, flag: str = "--output") -> None:
    """Check an output path before any work is done, so bad input changes nothing. Directories
    missing under the working directory are made when the file is written (`out/ops/x.json`);
    elsewhere (an absolute path, a `..`) a missing directory is bad input, likely a typo."""
    if path is None:
        return
    if path.is_dir():
        fail(f"{flag}: {path} is a directory, not a file")
    if path.parent.exists():
        if not path.parent.is_dir():
            fail(f"{flag}: {path.parent} is a file, not a directory")
        return
    if path.is_absolute() or ".." in path.parts:
        fail(f"{flag}: directory {path.parent} does not exist")
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        fail(f"{flag}: {existing} is a file, not a directory")


def readable(path: Path, flag: str = "--input") -> Path:
    if not path.is_file():
        fail(f"{flag}: no such file: {path}")
    return path


def read_output_of(command: str, expected_format: str, path: Path, flag: str = "--input") -> dict[str, Any]:
    """The JSON document `command` wrote (its `format` field says so), or one line naming the flag."""
    try:
        document = json.loads(readable(path, flag).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        fail(f"{flag}: {path} is not JSON ({error})")
    if not isinstance(document, dict) or document.get("format") != expected_format:
        fail(f"{flag}: {path} is not the output of `{command}` (format {expected_format!r})")
    return document


def jsonable(value: Any) -> Any:
    """JSON of what the platform stores: Decimal stays exact (integer or decimal string)."""
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent == 0 else str(value)  # "45000.00" keeps its cents
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(document: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=jsonable) + "\n"


def write_atomically(path: Path, data: bytes | str) -> None:
    """A reader never sees half a file, nobody else can read it, and no symlink is followed.

    The bytes go to a new file of a unique name beside the target, created with O_EXCL|O_NOFOLLOW
    and mode 0600 (`tempfile.mkstemp`: exports, backups and reports hold client data), then renamed
    over the target. A rename replaces a symlink at the target's path, never the file it points to,
    and a fixed temporary name (which someone could have made a symlink in advance) is never used."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(descriptor, "wb") as sink:
            sink.write(body)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def emit(document: Any, table: Table | None, fmt: Enum, output: Path | None) -> None:
    """Print the table (people) or the JSON (machines); write the JSON to --output if asked."""
    if fmt.value == "json" or table is None:
        sys.stdout.write(to_json(document))
        sys.stdout.flush()
    else:
        console.print(table)
    if output is not None:
        write_atomically(output, to_json(document))
        errors.print(f"Wrote {output}", highlight=False)


def emit_and_finish(document: Any, table: Table | None, fmt: Enum, output: Path | None, shortfall: str) -> NoReturn:
    """`emit` the result, then exit 0, or 1 ending with the line that names `shortfall`."""
    emit(document, table, fmt, output)
    finish(shortfall)


T = TypeVar("T")


def _bars_shown() -> bool:
    """Progress bars only where they can be erased cleanly: on a terminal, with stdout not a pipe.
    Output piped on (`| less`, `| tee`) reaches the same terminal from another process, between
    the bar's redraws: the bar's erasing then hits the wrong lines and finished bars stay."""
    if not errors.is_terminal:
        return False
    try:
        return not stat.S_ISFIFO(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no real stdout (captured): no bar
        return False


def progress() -> Progress:
    """A progress bar for work over many clients, gone once finished (transient); on stderr so
    stdout stays machine-readable."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not _bars_shown(),
    )


def tracked(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar."""
    with progress() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


@contextlib.contextmanager
def pipeline_logs(verbose: bool) -> Iterator[None]:
    """Run the worker's pipeline from the CLI: its structured logs go to stderr so stdout stays
    the command's output, only warnings and errors (UNAUTHORIZED included) unless `verbose`.
    Its EMF metrics would only reach CloudWatch from Lambda: shown on stderr when `verbose`,
    otherwise dropped."""
    from lambdas.observability import logger, logs_to, metrics

    previous_level = logger.log_level
    logger.setLevel("INFO" if verbose else "WARNING")
    try:
        # Powertools prints EMF to stdout when its buffer fills.
        with logs_to(sys.stderr), contextlib.redirect_stdout(sys.stderr):
            yield
            if verbose:
                metrics.flush_metrics()
    finally:
        metrics.clear_metrics()
        logger.setLevel(previous_level)


def confirm(question: str, assume_yes: bool) -> None:
    if assume_yes:
        return
    if not typer.confirm(question, default=False):
        fail("cancelled: nothing changed", EXIT_FINDINGS)


def report_checks(
    checks: list[Check], *, title: str, fmt: OutputFormat, output: Path | None, meta: dict[str, Any]
) -> NoReturn:
    """Print the checks (table or JSON), write --output, exit with the worst verdict's code."""
    overall = worst(checks)
    document = {**meta, "status": overall.name, "checks": [check.as_dict() for check in checks]}
    table = checks_table(checks, f"{title}: {overall.name}")
    emit(document, table, fmt, output)
    finish(shortfall(checks))


def exit_code(status: Status) -> int:
    return EXIT_OK if status is Status.OK else EXIT_FINDINGS
