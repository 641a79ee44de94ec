"""`docs overview`: a system overview for onboarding, generated from the live configuration.

Everything in it is read from the environment as it is now: the functions (memory, timeout,
runtime), tables (items, size, key), bucket, queues, topics, schedules, the clients by schedule,
the alarms and their state. Text that comes from records (client names, alarm names) is
escaped for Markdown, so a name can never inject a link, an image or HTML.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import environment_config, now, write_atomically
from cli.documents.overview import overview_markdown
from cli.options import EnvironmentOption
from cli.render.console import console

app = typer.Typer(help="Documentation generated from the live configuration.", no_args_is_help=True)


@app.command("overview")
def overview(
    output: Path = typer.Option(..., "--output", help="The Markdown file to write."),
    environment: str = EnvironmentOption,
) -> None:
    """A system overview for onboarding: resources, clients by schedule, alarms."""
    config = environment_config(environment, output=output)
    text = overview_markdown(config, now())
    write_atomically(output, text)
    console.print(f"Wrote {output}.")
