"""`local ...`: the local environment, an embedded AWS on loopback that outlives one command.

`local up` starts `python -m emulator.server` in the background on a fixed loopback port
(4566 unless `--port`), provisions the `local` environment in it under the stack's names and
registers the demo clients of its cost dataset. The pid, port and endpoint go to
`.local/local-aws.json` (the server's log beside it); every command run with
`--environment local` and no AWS_ENDPOINT_URL of its own then talks to that endpoint with
throwaway credentials. `local status` and `local down` show and stop it.

`local bootstrap` provisions an environment's resources at whatever AWS_ENDPOINT_URL points
to (an emulator; real environments come from `cdk deploy`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from cli.context import (
    EXIT_FINDINGS,
    LOCAL_PORT,
    REPOSITORY,
    as_of_day,
    environment_config,
    fail,
    finish,
    local_aws_environment,
    local_state_dir,
    local_state_file,
    now,
    parse_day,
    progress,
    read_local_state,
    settings,
    use_local_aws,
    write_atomically,
)
from cli.options import EnvironmentOption
from cli.readers.clients import clients_table
from cli.render.console import Table, console, styled
from cli.workflows.registration import register
from emulator.admin import admin
from emulator.cost_explorer import DEFAULT_PAGE_GROUPS
from emulator.provision import provision
from infrastructure.config import EnvironmentConfig, for_environment
from lambdas.logic.calendar import FIRE_HOUR_UTC
from lambdas.models.client import parse_client
from lambdas.models.exceptions import ClientNotFoundError
from lambdas.models.settings import get_settings

app = typer.Typer(help="The local environment: an embedded AWS on loopback.", no_args_is_help=True)

STARTUP_SECONDS = 120  # generating a large dataset (--extra-clients) takes a while
STOP_SECONDS = 10


def responding(endpoint_url: str) -> bool:
    try:
        return bool(admin(endpoint_url, "health", timeout=2.0).get("ok"))
    except (OSError, ValueError):
        return False


def ours(pid: int) -> bool:
    """The pid is alive and is the embedded AWS (a recycled pid must never be signalled)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path(f"/proc/{pid}")
    if not proc.exists():  # no /proc (macOS): the signal check and the health answer decide
        return True
    with contextlib.suppress(OSError):
        if (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
            return False  # exited, not yet reaped by its parent
    with contextlib.suppress(OSError):
        return b"emulator.server" in (proc / "cmdline").read_bytes()
    return False


def port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def aws_cli_prefix(endpoint_url: str) -> str:
    """The AWS CLI against the emulator: throwaway keys, the region (without ~/.aws the AWS CLI
    refuses to run without one) and `--endpoint-url` on the command line. Not AWS_ENDPOINT_URL:
    AWS CLI v1 ignores it for some services (SQS went to AWS's public endpoint), and a practice
    command must never leave the machine."""
    variables = local_aws_environment(endpoint_url)
    names = ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    return " ".join(f"{name}={variables[name]}" for name in names) + f" aws --endpoint-url {endpoint_url}"


def _conflicts(state: Mapping[str, object], asked: Mapping[str, object]) -> list[str]:
    """The options given to `local up` (`asked`, None where not given) that the running
    environment was not started with."""
    running = {flag: state.get(flag.removeprefix("--").replace("-", "_")) for flag in asked}
    return [
        f"{flag} {value} (running with {running[flag]})"
        for flag, value in asked.items()
        if value is not None and value != running[flag]
    ]


def seed_demo_clients(config: EnvironmentConfig, endpoint_url: str) -> tuple[int, int]:
    """Register the clients of the emulator's cost dataset that are not registered yet; the payers of
    those read from a Data Export (hooli) get it delivered into their bucket."""
    table = clients_table(config)
    added = kept = 0
    records = admin(endpoint_url, "clients", timeout=30)
    for record in records:
        client = parse_client(record)
        try:
            table.get_record(client.client_id)
            kept += 1
        except ClientNotFoundError:
            register(table, client)
            added += 1
    if any(record.get("cost_source") == "data_exports" for record in records):
        admin(endpoint_url, "exports/deliver", {}, timeout=120)
    return added, kept


@app.command("up")
def up(
    port: int | None = typer.Option(
        None, "--port", min=1024, max=65535, help=f"Loopback port of the embedded AWS; default {LOCAL_PORT}."
    ),
    as_of: str = typer.Option("", "--as-of", help="Date of the cost dataset (YYYY-MM-DD); default today (UTC)."),
    extra_clients: int | None = typer.Option(
        None, "--extra-clients", min=0, max=9999, help="Synthetic clients to add; default none."
    ),
    page_groups: int | None = typer.Option(
        None,
        "--page-groups",
        min=1,
        max=100000,
        help=f"Groups per Cost Explorer answer page (AWS documents none; small pages show how reports cope); "
        f"default {DEFAULT_PAGE_GROUPS}.",
    ),
) -> None:
    """Start the embedded AWS in the background, provision `local` and register the demo clients.

    On an environment already running, options it was not started with are refused (exit 2):
    `local down` first (its data goes with it)."""
    day = parse_day(as_of, "--as-of") if as_of else None
    state = read_local_state()
    if state and ours(int(state.get("pid", 0))) and responding(state["endpoint_url"]):
        asked = {
            "--port": port,
            "--as-of": day.isoformat() if day else None,
            "--extra-clients": extra_clients,
            "--page-groups": page_groups,
        }
        _already_running(state, asked)
        return
    port = LOCAL_PORT if port is None else port
    extra_clients = extra_clients or 0
    page_groups = page_groups or DEFAULT_PAGE_GROUPS
    local_state_file().unlink(missing_ok=True)  # a stale file of a server that is gone
    if port_taken(port):
        fail(f"--port: 127.0.0.1:{port} is already in use by another program; choose another --port")
    process, endpoint, log = _start_server(port, day, extra_clients, page_groups)
    state = {
        "pid": process.pid,
        "port": port,
        "endpoint_url": endpoint,
        "as_of": day.isoformat() if day else now().date().isoformat(),
        "extra_clients": extra_clients,
        "page_groups": page_groups,
        "started_at": now().isoformat(),
        "log": str(log),
    }
    write_atomically(local_state_file(), json.dumps(state, indent=2) + "\n")
    use_local_aws(endpoint)
    config = for_environment("local")
    with console.status("Provisioning the local environment and registering the demo clients…"):
        provision(config)
        added, kept = seed_demo_clients(config, endpoint)
    console.print(f"Local AWS running at [bold]{endpoint}[/] (pid {process.pid}); log {log}.")
    console.print(f"Environment `local` provisioned; demo clients: {added} registered, {kept} already there.")
    console.print("Try: python cli/main.py system health-check --environment local")
    console.print(f"AWS CLI against it: {aws_cli_prefix(endpoint)} dynamodb list-tables", soft_wrap=True)
    console.print(
        f'or as a shell function: awsl() {{ {aws_cli_prefix(endpoint)} "$@"; }}', soft_wrap=True, markup=False
    )


def _already_running(state: dict[str, Any], asked: dict[str, Any]) -> None:
    """Say so; refuse (exit 2) when the running environment was started with other options."""
    conflicts = _conflicts(state, asked)
    if conflicts:
        flag = conflicts[0].split(" ", 1)[0]
        fail(
            f"{flag}: the local environment is already running (pid {state['pid']}) and was not started with "
            f"{'; '.join(conflicts)}: stop it first with `python cli/main.py local down` (its data goes with it)"
        )
    console.print(f"Already running at {state['endpoint_url']} (pid {state['pid']}).")


def _start_server(
    port: int, day: date | None, extra_clients: int, page_groups: int
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """The embedded AWS in a process of its own, once it answers: the process, its endpoint, its log."""
    local_state_dir().mkdir(parents=True, exist_ok=True)
    log = local_state_dir() / "emulator.log"
    command = [sys.executable, "-m", "emulator.server", "--port", str(port), "--extra-clients", str(extra_clients)]
    command += ["--page-groups", str(page_groups)]
    if day:
        command += ["--as-of", day.isoformat()]
    with log.open("ab") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            command, cwd=REPOSITORY, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command and its terminal's Ctrl-C
        )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    with console.status(f"Starting the embedded AWS on {endpoint}…"):
        while not responding(endpoint):
            if process.poll() is not None or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                fail(f"the embedded AWS did not start; see {log}", EXIT_FINDINGS)
            time.sleep(0.1)
    return process, endpoint, log


@app.command("status")
def status() -> None:
    """Is the local environment running? Exit 0 if it is and answers, 1 otherwise."""
    state = read_local_state()
    if state is None:
        console.print("The local environment is not running (start it with `python cli/main.py local up`).")
        raise typer.Exit(EXIT_FINDINGS)
    alive, answering = ours(int(state.get("pid", 0))), responding(state["endpoint_url"])
    view = Table("", "", show_header=False, title="local environment")
    view.add_row("endpoint", state["endpoint_url"])
    view.add_row("pid", f"{state['pid']} ({'running' if alive else 'gone'})")
    view.add_row("answering", "yes" if answering else styled("no", "red"))
    view.add_row("started", str(state.get("started_at")))
    view.add_row("dataset as of", str(state.get("as_of")))
    view.add_row("log", str(state.get("log")))
    if answering:
        use_local_aws(state["endpoint_url"])
        view.add_row("clients", str(sum(1 for _ in clients_table(for_environment("local")).records())))
    console.print(view)
    problems = [
        what for what, bad in (("its process is gone", not alive), ("it does not answer", not answering)) if bad
    ]
    finish(f"the local environment is not usable: {' and '.join(problems)}" if problems else "")


@app.command("down")
def down() -> None:
    """Stop the local environment (its data goes with it)."""
    state = read_local_state()
    if state is None:
        console.print("The local environment is not running.")
        return
    pid = int(state.get("pid", 0))
    if ours(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while ours(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if ours(pid):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if this process started it
    local_state_file().unlink(missing_ok=True)
    console.print(f"Stopped the local environment (pid {pid}).")


@app.command("bootstrap")
def bootstrap(
    demo_clients: bool = typer.Option(False, "--demo-clients", help="Also register the emulator's demo clients."),
    environment: str = EnvironmentOption,
) -> None:
    """Provision the environment's resources at AWS_ENDPOINT_URL (an emulator, never real AWS)."""
    config = environment_config(environment)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint:
        fail("AWS_ENDPOINT_URL is not set: bootstrap provisions an emulator; real environments come from cdk deploy")
    provision(config)
    console.print(f"Provisioned {config.environment} at {endpoint}.")
    if demo_clients:
        try:
            added, kept = seed_demo_clients(config, endpoint)
        except OSError:
            fail(f"{endpoint} has no demo clients: it is not the embedded AWS", EXIT_FINDINGS)
        console.print(f"Demo clients: {added} registered, {kept} already there.")


@app.command("seed-history")
def seed_history(
    days: int = typer.Option(30, "--days", min=1, max=120, help="How many days of scheduled runs."),
    as_of: str = typer.Option(
        "",
        "--as-of",
        help="Seed the days before this day (YYYY-MM-DD); default up to today's 06:00 UTC run once it is due.",
    ),
    incidents: bool = typer.Option(
        True,
        "--incidents/--no-incidents",
        help="A refused credential, a record broken by a hand edit, a bounced recipient.",
    ),
    environment: str = EnvironmentOption,
) -> None:
    """Local only: the latest days of scheduled runs, as the deployed platform would have made them.

    The dispatcher's logic and the worker's pipeline for each day, with the logs and metrics
    Lambda would leave: a history for the reports above.
    """
    from emulator.history import seed_history as seed
    from emulator.provision import settings_environment

    config = environment_config(environment)
    if config.deployed_by_stack:
        fail("--environment: seed-history writes simulated history: only the local environment")
    dates = _seeded_days(days, as_of, now())
    platform = settings(config)
    os.environ.update(settings_environment(platform))  # the handlers read their settings from the environment
    get_settings.cache_clear()
    with _day_progress(len(dates)) as advance:
        result = seed(config, platform, dates, incidents=incidents, on_day=advance)
    console.print(
        f"Seeded {result.days} day(s) of {config.environment}: {result.runs} run(s), {result.failed} failed, "
        f"{result.invocations} invocation(s), {result.log_events} log event(s) kept by CloudWatch Logs."
    )
    for line in result.incidents:
        console.print(f"  incident {line}")


def _seeded_days(days: int, as_of: str, at: datetime) -> list[date]:
    """The `days` scheduled days to seed, oldest first: those before --as-of; without it, up to
    the latest 06:00 UTC run due by `at` (today's once the clock is past it), so that a fresh
    history leaves every client within its schedule."""
    if as_of:
        return [as_of_day(as_of) - timedelta(days=offset) for offset in range(days, 0, -1)]
    latest = at.date() if at.hour >= FIRE_HOUR_UTC else at.date() - timedelta(days=1)
    return [latest - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


@contextlib.contextmanager
def _day_progress(total: int) -> Iterator[Callable[[date, int], None]]:
    """A progress bar over days; the callable advances it by one day, naming the day and its runs."""
    with progress() as bar:
        task = bar.add_task("Running past days", total=total)
        yield lambda day, runs: bar.update(task, advance=1, description=f"{day} ({runs} runs)")
