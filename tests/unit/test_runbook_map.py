"""Every command line of the users' runbook has its row in docs/operations.md, and the mapped
command parses with the runbook's own flags (typer's click parsing, nothing run).

The users' runbook lives beside the repository (`../shared/runbook/operational-procedures.md`),
not in it: on a machine without it (a fresh CI runner) these tests are skipped, saying so.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from cli.main import app

REPOSITORY = Path(__file__).resolve().parents[2]
RUNBOOK = REPOSITORY.parent / "shared" / "runbook" / "operational-procedures.md"
OPERATIONS = REPOSITORY / "docs" / "operations.md"
MAP_HEADING = "### The users' runbook, line by line"


def runbook_lines(text: str) -> list[str]:
    """The `python scripts/...` and `python cli/main.py ...` lines of the bash blocks, each joined
    over its continuation lines, without its trailing comment, spaces collapsed."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = line.strip()
            if line.startswith(("python scripts/", "python cli/main.py")):
                found.append(" ".join(re.sub(r"\s+#.*$", "", line).split()))
    return found


def map_rows(text: str) -> dict[str, str]:
    """The map's rows: the users' runbook line -> this CLI's command."""
    section = text.split(MAP_HEADING, 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|", section, re.M)
    return {" ".join(theirs.split()): " ".join(ours.split()) for theirs, ours in rows}


def words(line: str) -> list[str]:
    """The line's words, a `$(date ...)` standing for the value the shell would put there."""
    return shlex.split(re.sub(r"\$\([^)]*\)", "20261127", line))


def parse(arguments: list[str]) -> tuple[list[str], list[str]]:
    """Resolve `arguments` to a command of the CLI and parse its options as click would (types,
    choices, required options); nothing is run. The command's path and its own arguments."""
    command = typer.main.get_command(app)
    path: list[str] = []
    rest = list(arguments)
    while isinstance(command, TyperGroup):
        assert rest, f"`{' '.join(path)}` is a group, not a command"
        name, *rest = rest
        found = command.get_command(typer.Context(command), name)
        assert found is not None, f"no command `{' '.join([*path, name])}`"
        path.append(name)
        command = found
    with command.make_context(" ".join(path), list(rest)):
        pass
    return path, rest


@pytest.fixture(scope="module")
def lines() -> list[str]:
    if not RUNBOOK.is_file():
        pytest.skip(f"the users' runbook is not on this machine ({RUNBOOK})")
    return runbook_lines(RUNBOOK.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rows() -> dict[str, str]:
    return map_rows(OPERATIONS.read_text(encoding="utf-8"))


def test_lines_are_joined_over_continuations_and_read_without_their_comment():
    text = (
        "```bash\n# Rotate\npython scripts/rotate.py \\\n  --client-id X \\\n"
        "  --dry-run  # Test first\naws s3 ls\n```\n"
    )
    assert runbook_lines(text) == ["python scripts/rotate.py --client-id X --dry-run"]
    table = (
        f"{MAP_HEADING}\n\n| theirs | ours | note |\n| --- | --- | --- |\n"
        "| `python scripts/a.py  --x 1` | `python cli/main.py a --x 1` | |\n"
    )
    assert map_rows(table) == {"python scripts/a.py --x 1": "python cli/main.py a --x 1"}


def test_the_runbook_is_read_whole(lines):
    scripts = {line.split()[1] for line in lines if line.startswith("python scripts/")}
    assert len(scripts) == 25 and len(lines) >= 30  # the runbook's 25 scripts, some used twice, and the CLI lines


def test_every_runbook_line_has_a_row_and_every_row_a_runbook_line(lines, rows):
    assert [line for line in lines if line not in rows] == []
    assert [row for row in rows if row not in lines] == []  # no row for a line the runbook no longer has


def test_every_mapped_command_parses_with_the_runbooks_own_flags(lines, rows):
    problems = []
    for theirs, ours in rows.items():
        mapped = words(ours)
        assert mapped[:2] == ["python", "cli/main.py"], ours
        try:
            path, arguments = parse(mapped[2:])
        except (typer.TyperException, AssertionError) as error:
            message = error.format_message() if isinstance(error, typer.TyperException) else str(error)
            problems.append(f"{ours}: {message}")
            continue
        own = words(theirs)[2:]  # after `python scripts/NAME.py`, or after `python cli/main.py`
        if theirs.startswith("python cli/main.py"):
            own = own[len(path) :]
        if arguments != own:
            problems.append(f"{ours}: flags {arguments} are not the runbook's {own}")
    assert problems == []


def test_a_flag_the_cli_does_not_have_does_not_parse():
    with pytest.raises(typer.TyperException, match="No such option: --forecast-years"):
        parse(["ops", "capacity", "--forecast-years", "2"])
    with pytest.raises(typer.BadParameter, match="valid integer"):
        parse(["costs", "trends", "--period", "twelve"])
    with pytest.raises(AssertionError, match="no command `ops forecast`"):
        parse(["ops", "forecast"])
