"""The dispatcher queues one run per active client due on the schedule, from the sparse index."""

from __future__ import annotations

import json

from emulator.lambda_runtime import invoke
from lambdas.dal.aws import platform_client
from lambdas.dal.clients_table import ClientsTable
from lambdas.handlers import dispatcher
from lambdas.models.client import parse_client
from tests.integration.conftest import AS_OF


def queued(queue_url):
    sqs = platform_client("sqs")
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        bodies += [json.loads(m["Body"]) for m in messages]


def test_only_active_clients_of_the_schedule_are_queued(platform, demo_records):
    table = ClientsTable(platform.clients_table)
    daily = [r for r in demo_records if r["schedule"] == "daily"]
    assert len(daily) >= 2
    for record in demo_records:
        table.put(parse_client(record))
    paused = dict(daily[0], status="paused")
    table.put(parse_client(paused))

    result = invoke(dispatcher.handler, {"schedule": "daily", "as_of": AS_OF.isoformat()}, "dispatcher")

    jobs = queued(platform.jobs_queue_url)
    expected = {r["client_id"] for r in daily} - {paused["client_id"]}
    assert {job["client_id"] for job in jobs} == expected
    assert result["dispatched"] == len(expected)
    assert all(job["run_id"] == f"{AS_OF.isoformat()}.daily" for job in jobs)


def test_the_index_follows_status_changes(platform, demo_records):
    table = ClientsTable(platform.clients_table)
    record = demo_records[0]
    table.put(parse_client(dict(record, status="paused")))
    assert list(table.due(record["schedule"])) == []
    table.put(parse_client(record))
    assert list(table.due(record["schedule"])) == [record["client_id"]]
