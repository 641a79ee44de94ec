"""Clients of one payer share one grouped request per run; none sees another's rows."""

from __future__ import annotations

import json

from emulator.lambda_runtime import drain_queue, invoke
from lambdas.dal.archive import ReportArchive
from lambdas.handlers import dispatcher, worker
from tests.integration.conftest import AS_OF
from tests.integration.runs import ce_calls, register, run


def by_id(demo_records, client_id):
    return next(r for r in demo_records if r["client_id"] == client_id)


def test_clients_of_one_payer_share_one_request_each_sees_only_its_own(platform, embedded_aws, demo_records):
    # initech-labs and umbrella-media are billed by the same payer and reached through its role.
    initech = register(by_id(demo_records, "initech-labs"), schedule="weekly")
    umbrella = register(by_id(demo_records, "umbrella-media"), schedule="weekly")
    embedded_aws.ce.reset_log()

    invoke(dispatcher.handler, {"schedule": "weekly", "as_of": AS_OF.isoformat()}, "dispatcher")
    processed, failed = drain_queue(platform.jobs_queue_url, worker.handler, "worker")

    assert (processed, failed) == (2, 0)
    calls = ce_calls(embedded_aws)
    calls = ce_calls(embedded_aws)
    every_account = sorted(initech.account_ids + umbrella.account_ids)
    asked: dict[str, list[str]] = {}
    for call in calls:
        account_filter = call["body"]["Filter"]["And"][0] if "And" in call["body"]["Filter"] else call["body"]["Filter"]
        asked.setdefault(call["body"]["GroupBy"][0]["Key"], []).extend(account_filter["Dimensions"]["Values"])
    # Record types of both clients fit one page: one request for both. Their services by day would
    # not (5 accounts x 14 days x 20 services, as planned before any answer showed the real density):
    # the first run shares what fits, the second asks for its own accounts.
    assert len(calls) == 3
    assert sorted(asked["RECORD_TYPE"]) == every_account
    assert sorted(set(asked["SERVICE"])) == every_account
    archive = ReportArchive(platform.assets_bucket)
    for client in (initech, umbrella):
        report = json.loads(archive.get(f"reports/{client.client_id}/{AS_OF.isoformat()}.weekly/report.json"))
        assert {a["account_id"] for a in report["by_account"]} == set(client.account_ids)
        assert set(report["coverage"]["accounts_seen"]) <= set(client.account_ids)
        csv_accounts = {
            line.split(",")[1]
            for line in archive.get(f"reports/{client.client_id}/{AS_OF.isoformat()}.weekly/report.csv")
            .decode()
            .splitlines()[1:]
        }
        assert csv_accounts <= set(client.account_ids)
    ce_requests = sorted(
        json.loads(archive.get(f"reports/{c.client_id}/{AS_OF.isoformat()}.weekly/report.json"))["ce_requests"]
        for c in (initech, umbrella)
    )
    assert ce_requests == [1, 2]


def test_other_credentials_never_read_cells_they_did_not_fetch(platform, embedded_aws, demo_records):
    initech = register(by_id(demo_records, "initech-labs"))
    first = run(initech.client_id, AS_OF)
    assert first.ce_requests == 2 and first.report is not None and first.report.total > 0

    # A client that names initech's accounts but holds other credentials (globex's payer role):
    # the cache is keyed by credentials, so it must ask Cost Explorer, which shows it nothing.
    globex = by_id(demo_records, "globex-health")
    intruder = register(
        initech.model_dump(mode="json", exclude_none=True),
        client_id="intruder",
        credentials=globex["credentials"],
    )
    outcome = run(intruder.client_id, AS_OF)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.ce_requests == 2 and outcome.cache_hits == 0
    assert outcome.report is not None
    assert outcome.report.total == 0
    assert outcome.report.coverage is not None and outcome.report.coverage.accounts_seen == []
