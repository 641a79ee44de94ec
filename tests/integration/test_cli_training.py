"""`training create | setup | check` end to end on the embedded AWS: each exercise is set up, its
check fails, the runbook's fix it gives as its solution is applied, and the check passes."""

from __future__ import annotations

import json
import shlex

import pytest
from typer.testing import CliRunner

from cli.local.exercises import EXERCISES
from cli.main import app
from lambdas import clock
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import parse_client

runner = CliRunner()


@pytest.fixture
def local(platform, demo_records, frozen_clock, tmp_path, monkeypatch):
    table = ClientsTable(platform.clients_table)
    for record in demo_records:
        table.put(parse_client(record))
    monkeypatch.chdir(tmp_path)  # the damaged backup is written under backups/ where the trainee works
    return platform


def test_the_exercises_are_written_with_their_runbook_sections_and_solutions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    output = tmp_path / "training" / "exercises"

    result = runner.invoke(app, ["training", "create", "--output", "training/exercises/"])  # as the runbook writes it

    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in output.iterdir())
    assert names == [
        "01-refused-credential.md", "02-bounced-recipient.md", "03-stale-client.md", "04-damaged-backup.md",
        "05-failing-schedule.md", "README.md", "exercises.json",
    ]  # fmt: skip
    listing = json.loads((output / "exercises.json").read_text())["exercises"]
    assert [e["name"] for e in listing] == list(EXERCISES)
    text = (output / "03-stale-client.md").read_text()
    assert "python cli/main.py training setup stale-client -e local" in text
    assert "python cli/main.py training check stale-client -e local" in text
    assert "Daily health check, step 6" in text and "--as-of DAY" in text
    assert "03-stale-client.md" in (output / "README.md").read_text()


def test_each_exercise_fails_its_check_until_the_runbooks_fix_is_applied(local):
    for name, exercise in EXERCISES.items():  # in order, one at a time, as the trainee takes them
        assert runner.invoke(app, ["training", "setup", name, "-e", "local"]).exit_code == 0

        broken = runner.invoke(app, ["training", "check", name, "-e", "local"])
        assert broken.exit_code == 1, (name, broken.output)
        assert broken.output.strip().splitlines()[-1].startswith("findings: ")

        for command, expected in exercise.solution(clock.now()):
            result = runner.invoke(app, shlex.split(command))
            assert expected is None or result.exit_code == expected, (name, command, result.output)

        fixed = runner.invoke(app, ["training", "check", name, "-e", "local", "--format", "json"])
        assert fixed.exit_code == 0, (name, fixed.output)
        assert {c["status"] for c in json.loads(fixed.stdout)["checks"]} == {"OK"}


def test_setting_up_again_starts_afresh(local):
    for _ in range(2):
        assert runner.invoke(app, ["training", "setup", "bounced-recipient"]).exit_code == 0
    result = runner.invoke(app, ["client", "suppressions", "--client-id", "training-bounce", "--format", "json"])
    assert len(json.loads(result.stdout)["suppressed"]) == 1


def test_exercises_never_run_outside_local_and_unknown_ones_are_bad_input(local):
    refused = runner.invoke(app, ["training", "setup", "stale-client", "-e", "prod"])
    assert refused.exit_code == 2 and "only the local environment" in refused.output
    unknown = runner.invoke(app, ["training", "check", "nope"])
    assert unknown.exit_code == 2 and "exercise: 'nope' is not one of" in unknown.output
