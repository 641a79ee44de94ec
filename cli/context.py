"""What every command shares: the environment's names, settings, exit codes and output."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from emulator.provision import settings_for
from infrastructure.config import ENVIRONMENTS, EnvironmentConfig, for_environment
from lambdas.dal.aws import platform_client
from lambdas.models.settings import Settings

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2

# Piped output (CI logs, files) gets 120 columns rather than rich's default of 80.
console = Console(width=None if sys.stdout.isatty() else 120)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EnvironmentOption = typer.Option(
    os.environ.get("COST_REPORTING_ENV", "local"),
    "--environment",
    "-e",
    help=f"Which deployment to act on: {', '.join(ENVIRONMENTS)}.",
)


def environment_config(environment: str) -> EnvironmentConfig:
    try:
        return for_environment(environment)
    except ValueError as error:
        fail(str(error))


def settings(config: EnvironmentConfig) -> Settings:
    """The worker's settings for this environment, with the queue's real URL looked up."""
    try:
        queue_url = platform_client("sqs").get_queue_url(QueueName=config.jobs_queue)["QueueUrl"]
    except Exception:
        queue_url = ""
    return settings_for(config, queue_url=queue_url)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One clear line on stderr and the exit code; nothing else."""
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)
