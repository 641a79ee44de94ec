"""The operations CLI of the cost reporting platform: `python cli/main.py --help`."""

from __future__ import annotations

import typer

from cli import demo, report

app = typer.Typer(
    help="Cost reporting platform: reports, clients, credentials, health, backups.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(report.app, name="report")
app.command("demo")(demo.demo)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
