"""Files the CLI writes hold client data (exports, backups, reports): only their owner may read
them, and a symlink planted at the output path (or at a temporary name next to it) never redirects
the write to another file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
VICTIM = b"the operator's own file, which must not change\n"


def planted(directory: Path, name: str) -> Path:
    """A victim file, with symlinks to it at `name` and at the old fixed temporary name."""
    victim = directory / "victim.txt"
    victim.write_bytes(VICTIM)
    (directory / name).symlink_to(victim)
    (directory / f".{name}.partial").symlink_to(victim)
    return victim


def assert_private_regular_file(path: Path) -> None:
    status = path.lstat()
    assert stat.S_ISREG(status.st_mode), f"{path} is not a regular file"
    assert stat.S_IMODE(status.st_mode) == 0o600, oct(stat.S_IMODE(status.st_mode))


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("clients.json", ["client", "export-all", "--output"]),
        ("backup.tar.gz", ["backup", "create", "--output"]),
        ("clients-list.json", ["client", "list", "--output"]),
    ],
)
def test_exports_and_backups_are_private_and_never_written_through_a_symlink(
    registered_demo_clients, tmp_path, name, command
):
    victim = planted(tmp_path, name)

    result = runner.invoke(app, [*command, str(tmp_path / name), "-e", "local"])

    assert result.exit_code == 0, result.output
    assert victim.read_bytes() == VICTIM
    assert_private_regular_file(tmp_path / name)
    assert (tmp_path / f".{name}.partial").is_symlink()  # left alone, never opened
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial") and not p.is_symlink()]


def test_report_files_are_private_and_never_written_through_a_symlink(registered_demo_clients, tmp_path):
    (tmp_path / "acme-retail").mkdir()
    victim = planted(tmp_path / "acme-retail", "report.html")

    result = runner.invoke(
        app, ["report", "run", "--client-id", "acme-retail", "--dry-run", "--output", str(tmp_path), "-e", "local"]
    )

    assert result.exit_code == 0, result.output
    assert victim.read_bytes() == VICTIM
    for path in (tmp_path / "acme-retail").iterdir():
        if path.name != "victim.txt" and not path.name.endswith(".partial"):
            assert_private_regular_file(path)
    assert b"<html" in (tmp_path / "acme-retail" / "report.html").read_bytes().lower()
