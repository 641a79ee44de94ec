"""The operations CLI of the cost reporting platform: `python cli/main.py --help`.

Exit codes: 0 all good, 1 findings (a WARNING or CRITICAL check, a failed run), 2 bad input
(one line on stderr naming the flag, file, record or field; nothing changed).
"""

from __future__ import annotations

import sys

import typer
from botocore.exceptions import BotoCoreError, ClientError

from cli.commands import (
    backup,
    billing,
    client,
    costs,
    credentials,
    demo,
    deploy,
    docs,
    local,
    ops,
    optimize,
    report,
    system,
    training,
)
from cli.context import EXIT_BAD_INPUT, EXIT_FINDINGS
from cli.render.console import errors
from lambdas.dal.aws import error_code
from lambdas.models.exceptions import PlatformError

app = typer.Typer(
    help="Cost reporting platform: reports, clients, credentials, health, backups.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# The command groups, in the order `--help` lists them, each named after its module.
GROUPS = (system, client, credentials, report, backup, deploy, local, ops, optimize, billing, costs, docs, training)
for group in GROUPS:
    app.add_typer(group.app, name=group.__name__.rpartition(".")[2])
app.command("demo")(demo.demo)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a usage error (unknown flag, bad choice, missing option) is one line, exit 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="cli/main.py", standalone_mode=False)
    except typer.Abort:
        errors.print("[bold red]error:[/] cancelled: nothing changed", highlight=False)
        return EXIT_FINDINGS
    except typer.TyperException as error:  # usage: unknown flag, bad choice, missing option
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        context = getattr(error, "ctx", None)
        where = f" (see `{context.command_path} --help`)" if context is not None else ""
        errors.print(f"[bold red]error:[/] {message}{where}", highlight=False, soft_wrap=True)
        return int(getattr(error, "exit_code", EXIT_BAD_INPUT))
    except (BotoCoreError, ClientError, PlatformError) as error:
        # AWS unreachable or refusing: one line naming the service error, never a traceback.
        message = f"{error_code(error)}: {error}" if isinstance(error, ClientError) else str(error)
        errors.print(f"[bold red]error:[/] AWS: {message}", highlight=False, soft_wrap=True)
        return EXIT_FINDINGS
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
