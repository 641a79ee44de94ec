"""`training ...`: hands-on exercises for new operators, on the local environment only.

`create --output DIR` writes the exercises as Markdown, one file each and an index, with
`exercises.json`; `setup NAME` breaks one thing (cli/local/exercises.py); the trainee follows the
runbook section the exercise names; `check NAME` says whether it is fixed (exit 0) or what is
still wrong (exit 1). The exercises' texts, setups, checks and solutions are one definition: the
tests run each solution between a failing and a passing check.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli.context import environment_config, fail, now, report_checks, to_json, writable, write_atomically
from cli.options import EnvironmentOption, FormatOption, OutputFormat, OutputOption
from cli.render.console import Table, console
from infrastructure.config import EnvironmentConfig

if TYPE_CHECKING:
    from cli.local.exercises import Exercise


def exercises() -> dict[str, Exercise]:
    """The exercises, imported when a training command runs: they set up the embedded AWS
    (cli/local imports emulator/), which no other command needs loaded."""
    from cli.local.exercises import EXERCISES

    return EXERCISES


app = typer.Typer(help="Hands-on exercises for new operators (local only).", no_args_is_help=True)

CLI = "python cli/main.py"


def exercise_markdown(number: int, exercise: Exercise, at: datetime) -> str:
    steps = "\n".join(f"{CLI} {command}" for command in exercise.steps_shown(at))
    return f"""# Exercise {number}: {exercise.title}

**What happened.** {exercise.situation}

**Set up** (on the local environment: `{CLI} local up` first; setting up again starts afresh):

```bash
{CLI} training setup {exercise.name} -e local
```

**Follow** the runbook, docs/operations.md: {exercise.runbook}. Find what is wrong with the
commands it gives, fix it, and make up for what was missed.

**Check** (exit 0 when it is fixed; otherwise the last line says what is still wrong):

```bash
{CLI} training check {exercise.name} -e local
```

<details><summary>Solution</summary>

```bash
{steps}
```

</details>
"""


def index_markdown(at: datetime) -> str:
    rows = "\n".join(
        f"| {number} | [{exercise.title}]({number:02d}-{exercise.name}.md) | `{exercise.name}` | {exercise.runbook} |"
        for number, exercise in enumerate(exercises().values(), start=1)
    )
    return f"""# Hands-on exercises for new operators

Each exercise breaks one thing on the local environment, the way it breaks in production, on a
client of its own (`training-...`). Start the environment once (`{CLI} local up`), then take the
exercises one at a time, in order: set one up, follow the runbook section it names, and check it
before the next (a record left broken by one is found by the next one's commands too).

| # | exercise | name | runbook |
| --- | --- | --- | --- |
{rows}

Generated {at:%Y-%m-%d} by `{CLI} training create`.
"""


def _local(environment: str) -> EnvironmentConfig:
    config = environment_config(environment)
    if config.deployed_by_stack:
        fail("--environment: training exercises break things on purpose: only the local environment")
    return config


def _exercise(name: str) -> Exercise:
    if name not in exercises():
        fail(f"exercise: {name!r} is not one of {', '.join(exercises())}")
    return exercises()[name]


@app.command("create")
def create(
    output: Path = typer.Option(Path("training/exercises"), "--output", help="The directory to write them in."),
) -> None:
    """Write the exercises as Markdown (one file each, an index) and exercises.json."""
    if output.exists() and not output.is_dir():
        fail(f"--output: {output} is a file, not a directory")
    writable(output / "README.md")
    at = now()
    files = {"README.md": index_markdown(at)}
    for number, exercise in enumerate(exercises().values(), start=1):
        files[f"{number:02d}-{exercise.name}.md"] = exercise_markdown(number, exercise, at)
    listing: list[dict[str, Any]] = [
        {"name": e.name, "title": e.title, "runbook": e.runbook, "solution": e.steps_shown(at)}
        for e in exercises().values()
    ]
    files["exercises.json"] = to_json({"format": "cost-reporting-training", "exercises": listing})
    for name, text in files.items():
        write_atomically(output / name, text)
    console.print(f"Wrote {len(exercises())} exercises to {output}/ (start with {output / 'README.md'}).")


@app.command("list")
def list_exercises() -> None:
    """The exercises and the runbook section each one practises."""
    table = Table("name", "exercise", "runbook")
    for exercise in exercises().values():
        table.add_row(exercise.name, exercise.title, exercise.runbook)
    console.print(table)


@app.command("setup")
def setup(
    name: str = typer.Argument(..., help="The exercise (training list)."),
    environment: str = EnvironmentOption,
) -> None:
    """Break one thing on the local environment, as the exercise describes."""
    exercise = _exercise(name)
    config = _local(environment)
    console.print(f"{exercise.title}: {exercise.setup(config, now())}.")
    console.print(f"Follow docs/operations.md: {exercise.runbook}; then: {CLI} training check {name} -e local")


@app.command("check")
def check(
    name: str = typer.Argument(..., help="The exercise (training list)."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """Is it fixed? Exit 0 when it is, 1 with what is still wrong."""
    exercise = _exercise(name)
    writable(output)
    config = _local(environment)
    at = now()
    meta = {"environment": config.environment, "exercise": name, "checked_at": at.isoformat()}
    report_checks(exercise.check(config, at), title=f"exercise {name}", fmt=fmt, output=output, meta=meta)
