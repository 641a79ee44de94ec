"""The bad input corpus (tests/reliability/corpus.py) through its three consumers: `client add`,
`client import`, and the table as the dispatcher and the worker read it. Every case is refused
with one line naming the field, writes nothing, and shows no traceback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from emulator.lambda_runtime import LocalContext, drain_queue
from lambdas.dal.aws import platform_client
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.dynamo import to_item
from lambdas.models.client import parse_client
from lambdas.models.settings import get_settings
from tests.integration.conftest import AS_OF
from tests.integration.helpers import sent_messages
from tests.reliability.corpus import ADD, FILE_CASES, IMPORT, RECORDS, TABLE, VALID, Case, FileCase
from tests.reliability.observe import archived, records

runner = CliRunner()


def table_items() -> list[dict[str, Any]]:
    items = platform_client("dynamodb").scan(TableName=get_settings().clients_table)["Items"]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def refusal_problem(result: Any, *expected: str) -> str | None:
    """None if `result` is one line saying every `expected` with exit code 2; else what is wrong."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    if result.exit_code != 2:
        return f"exit code {result.exit_code}"
    if "Traceback" in result.output or not isinstance(result.exception, SystemExit):
        return f"traceback: {result.exception!r}"
    if len(lines) != 1:
        return f"{len(lines)} lines: {result.output[:300]!r}"
    missing = [fragment for fragment in expected if fragment not in lines[0]]
    if missing:
        return f"does not say {missing!r}: {lines[0][:300]!r}"
    return None


@pytest.fixture
def registered(platform):
    """The valid record, registered: the table every case must leave exactly as it was."""
    ClientsTable(platform.clients_table).put(parse_client(VALID))
    return table_items()


def cases_for(consumer: str) -> list[Case | FileCase]:
    return [case for case in [*RECORDS, *FILE_CASES] if consumer in case.consumers]


def test_the_corpus_has_every_kind_of_bad_input():
    fields = {case.field.split(".")[0] for case in RECORDS}
    assert len(RECORDS) + len(FILE_CASES) >= 40
    assert {"client_id", "name", "account_ids", "recipients", "credentials", "role_arn", "schedule"} <= fields
    assert {case.id for case in FILE_CASES} >= {"invalid-json", "ten-megabytes-import", "duplicate-client-id"}
    for case in RECORDS:  # each record is the valid one with exactly one fault
        assert len(case.changes) == 1, case.id


def test_client_add_refuses_each_case_in_one_line_and_writes_nothing(registered, tmp_path):
    problems = {}
    for case in cases_for(ADD):
        path = tmp_path / f"{case.id}.json"
        path.write_bytes(case.content() if isinstance(case, FileCase) else json.dumps(case.record()).encode())

        result = runner.invoke(app, ["client", "add", "--from-file", str(path)])

        expected = case.message if isinstance(case, FileCase) else case.field
        if problem := refusal_problem(result, expected):
            problems[case.id] = problem
    assert problems == {}
    assert table_items() == registered


def test_client_import_refuses_each_case_in_one_line_and_imports_nothing(registered, tmp_path):
    neighbours = [dict(VALID, client_id="import-before"), dict(VALID, client_id="import-after")]
    problems = {}
    for case in cases_for(IMPORT):
        path = tmp_path / f"{case.id}.json"
        if isinstance(case, FileCase):
            path.write_bytes(case.content())
            expected = (case.message,)
        else:  # one bad record between two good ones: one bad record imports none
            path.write_text(json.dumps([neighbours[0], case.record(), neighbours[1]]))
            expected = ("--input: record 2", case.field)

        result = runner.invoke(app, ["client", "import", "--input", str(path)])

        if problem := refusal_problem(result, *expected):
            problems[case.id] = problem
    assert problems == {}
    assert table_items() == registered


def test_the_dispatcher_and_the_worker_refuse_each_stored_case_and_the_others_still_get_their_report(
    platform, embedded_aws, logs
):
    """Records written into the table by hand (or by an older version): the dispatcher queues every
    client it can name, the worker fails each bad record's run naming the field, and a good client
    due at the same time gets its report."""
    dynamodb = platform_client("dynamodb")
    stored: dict[str, Case] = {}
    for number, case in enumerate(case for case in RECORDS if TABLE in case.consumers):
        record = case.record() if case.field == "client_id" else case.record(client_id=f"corpus-{number:02d}")
        dynamodb.put_item(TableName=platform.clients_table, Item=to_item({**record, "due_schedule": "daily"}))
        stored[str(record["client_id"])] = case
    control = parse_client(dict(VALID, client_id="corpus-control", recipients=["control@corpus.example"]))
    ClientsTable(platform.clients_table).put(control)

    from lambdas.handlers import dispatcher, worker

    dispatched = dispatcher.handler(
        {"schedule": "daily", "as_of": AS_OF.isoformat()}, LocalContext("cost-reporting-dispatcher-local")
    )
    processed, failed = drain_queue(platform.jobs_queue_url, worker.handler, "cost-reporting-lambda-local")

    bad_ids = [client_id for client_id, case in stored.items() if case.field == "client_id"]
    assert dispatched["dispatched"] == len(stored) - len(bad_ids) + 1
    assert (processed, failed) == (dispatched["dispatched"], 0)  # refusals are final: nothing retried
    [control_mail] = sent_messages(embedded_aws.endpoint_url)
    assert set(control_mail["destinations"]) == {"control@corpus.example"}
    problems = {}
    for client_id, case in stored.items():
        if client_id in bad_ids:
            continue
        runs = records(client_id)
        named = (runs[0].error or "").split(": ")[0] if runs else ""  # the field path, before the problem
        if len(runs) != 1 or runs[0].error_kind != "invalid_input" or case.field not in named:
            problems[case.id] = [(run.status, run.error_kind, run.error) for run in runs]
        if archived(client_id):
            problems[case.id] = "archived"
    assert problems == {}
    skipped = [line for line in logs.lines() if line["message"].startswith("client record skipped")]
    assert sorted(line["client_id"] for line in skipped) == sorted(bad_ids)
    assert all(line["error"].startswith("client_id:") for line in skipped)
    assert not any("exception" in line or "Traceback" in line["message"] for line in logs.lines())
