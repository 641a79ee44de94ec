"""The export worker's wiring on the embedded AWS: the dispatcher queues a data_exports client's run
on the export jobs queue (and the others' on the jobs queue), and the export worker's handler runs a
batch as the worker's does, under the same idempotency key: a job runs and sends once, whichever
worker receives it."""

from __future__ import annotations

from emulator.lambda_runtime import LocalContext, drain_queue, invoke
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.handlers import dispatcher, export_worker, worker
from lambdas.models.client import parse_client
from lambdas.models.events import ReportJob
from tests.integration.conftest import AS_OF
from tests.integration.helpers import sent_messages, sqs_record
from tests.integration.test_dispatch import queued

EXPORT = {"bucket": "payer-billing", "prefix": "exports", "export_name": "payer-focus", "format": "focus_1_2"}


def test_provisioning_gives_the_export_worker_its_own_queue(platform):
    assert platform.export_jobs_queue_url and platform.export_jobs_queue_url != platform.jobs_queue_url
    assert platform.export_jobs_queue_url.endswith("cost-reporting-export-jobs-local")


def test_the_dispatcher_queues_data_exports_clients_on_the_export_queue(platform, demo_records):
    table = ClientsTable(platform.clients_table)
    daily = [r for r in demo_records if r["schedule"] == "daily"]
    for record in demo_records:
        table.put(parse_client(record))
    on_exports = dict(daily[0], client_id="export-client", cost_source="data_exports", data_export=EXPORT)
    table.put(parse_client(on_exports))

    result = invoke(dispatcher.handler, {"schedule": "daily", "as_of": AS_OF.isoformat()}, "dispatcher")

    exports = {r["client_id"] for r in daily if r.get("cost_source") == "data_exports"} | {"export-client"}
    explorer = {r["client_id"] for r in daily if r.get("cost_source", "cost_explorer") == "cost_explorer"}
    assert explorer  # the demo's daily clients on Cost Explorer
    assert {job["client_id"] for job in queued(platform.export_jobs_queue_url)} == exports
    assert {job["client_id"] for job in queued(platform.jobs_queue_url)} == explorer
    assert result["dispatched"] == len(daily) + 1


def test_a_job_runs_once_whichever_worker_receives_it(platform, embedded_aws, demo_records):
    client = parse_client(next(r for r in demo_records if r.get("cost_source", "cost_explorer") == "cost_explorer"))
    ClientsTable(platform.clients_table).put(client)
    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)

    first = export_worker.handler({"Records": [sqs_record(job)]}, LocalContext("cost-reporting-export-worker-local"))
    again = worker.handler({"Records": [sqs_record(job)]}, LocalContext("cost-reporting-lambda-local"))

    assert first == again == {"batchItemFailures": []}
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
    execution = ExecutionsTable(platform.executions_table).get(client.client_id, job.run_id)
    assert execution is not None and (execution.status, execution.delivery) == ("succeeded", "sent")


def test_the_export_queue_drains_through_the_export_worker(platform, embedded_aws, demo_records):
    from lambdas.dal.jobs_queue import JobsQueue

    client = parse_client([r for r in demo_records if r.get("cost_source", "cost_explorer") == "cost_explorer"][1])
    ClientsTable(platform.clients_table).put(client)
    JobsQueue(platform.export_jobs_queue_url).send([ReportJob.scheduled(client.client_id, client.schedule, AS_OF)])

    processed, failed = drain_queue(
        platform.export_jobs_queue_url, export_worker.handler, "cost-reporting-export-worker-local", batch_size=1
    )

    assert (processed, failed) == (1, 0)
    assert queued(platform.export_jobs_queue_url) == []


def test_the_export_worker_reports_a_data_exports_client_from_its_export(platform, embedded_aws, demo_records):
    """The export worker's own job: hooli, read from its FOCUS 1.2 export, sent with no Cost
    Explorer request, the execution naming its source and the bytes read."""
    from emulator.exports import deliver_demo_exports

    record = next(r for r in demo_records if r.get("cost_source") == "data_exports")
    client = parse_client(record)
    ClientsTable(platform.clients_table).put(client)
    deliver_demo_exports(embedded_aws.dataset, [record], AS_OF)
    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)

    answer = export_worker.handler({"Records": [sqs_record(job)]}, LocalContext("cost-reporting-export-worker-local"))

    assert answer == {"batchItemFailures": []}
    execution = ExecutionsTable(platform.executions_table).get(client.client_id, job.run_id)
    assert execution is not None and (execution.status, execution.delivery) == ("succeeded", "sent"), execution
    assert execution.cost_source == "data_exports" and execution.export_bytes_read
    assert execution.ce_requests == 0
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
