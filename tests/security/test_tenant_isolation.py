"""Tenant isolation: twenty clients, several behind one payer, with overlapping names and id
prefixes, dispatched and run together. Each report, archive and email holds only that client's
accounts; each client's objects live under its own prefix; a report link opens one object, for
seven days, and no other."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from emulator.client_roles import ensure_client_roles
from emulator.dataset import demo_clients, generate_demo_dataset
from emulator.lambda_runtime import LocalContext, drain_queue
from lambdas.dal.archive import ReportArchive
from lambdas.dal.credentials import CredentialProvider
from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from tests.integration.conftest import AS_OF
from tests.integration.helpers import sent_messages
from tests.integration.runs import register
from tests.reliability.test_redelivery import deliver
from tests.security.leaks import mime_parts
from tests.security.sigv4 import s3_answer

PAYER_ROLE = "arn:aws:iam::{}:role/CostReportingReadOnly"


def tenants(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Twenty clients: four behind acme's payer (ids that are prefixes of one another, two named
    alike), two behind globex's, four behind the payer initech and umbrella share, nine synthetic
    ones (one named like an acme client), and one naming an account of another tenant."""
    synthetic = [r for r in records if r["client_id"].startswith("client-")]

    def client(client_id: str, name: str, accounts: list[str], payer: str) -> dict[str, Any]:
        role = {"type": "role", "role_arn": PAYER_ROLE.format(payer), "external_id": f"{client_id}-x1"}
        return {
            "client_id": client_id,
            "name": name,
            "account_ids": accounts,
            "credentials": role,
            "recipients": [f"finance@{client_id}.example"],
            "schedule": "daily",
        }

    shared = [
        client("acme", "Acme", ["111111111111"], "111111111110"),
        client("acme-retail", "Acme Retail", ["111111111112"], "111111111110"),
        client("acme-retail-data", "Acme Retail", ["111111111113"], "111111111110"),
        client("acme-management", "ACME", ["111111111110"], "111111111110"),
        client("globex", "Globex", ["222222222221"], "222222222220"),
        client("globex-health", "Globex Health", ["222222222222", "222222222220"], "222222222220"),
        client("initech", "Initech", ["444444444441"], "333333333330"),
        client("initech-labs", "Initech Labs", ["444444444442"], "333333333330"),
        client("umbrella", "Umbrella", ["555555555551"], "333333333330"),
        client("umbrella-media", "Umbrella Media", ["555555555552", "555555555553"], "333333333330"),
    ]
    own = [
        dict(record, schedule="daily", name="Acme Retail" if n == 0 else record["name"])
        for n, record in enumerate(synthetic)
    ]
    # Misconfigured: its own payer's role, and an account that belongs to acme's payer.
    intruder = client("intruder", "Intruder", ["111111111111"], synthetic[-1]["account_ids"][0])
    return [*shared, *own, intruder]


@pytest.fixture
def twenty(platform, embedded_aws):
    original = embedded_aws.dataset
    embedded_aws.set_dataset(generate_demo_dataset(AS_OF, extra_clients=9))
    try:
        records = tenants(demo_clients(embedded_aws.dataset))
        ensure_client_roles(records)  # each payer's role trusts its tenants' external ids (docs/deploy.md)
        clients = [register(record) for record in records]
        assert len(clients) == 20
        yield clients
    finally:
        embedded_aws.set_dataset(original)


def run_everyone(platform: Any) -> dict[str, Any]:
    from lambdas.handlers import dispatcher, worker

    dispatched = dispatcher.handler(
        {"schedule": "daily", "as_of": AS_OF.isoformat()}, LocalContext("cost-reporting-dispatcher-local")
    )
    processed, failed = drain_queue(platform.jobs_queue_url, worker.handler, "cost-reporting-lambda-local")
    return {"dispatched": dispatched["dispatched"], "processed": processed, "failed": failed}


def test_each_report_archive_and_email_holds_only_its_own_accounts(platform, embedded_aws, twenty):
    outcome = run_everyone(platform)

    assert outcome == {"dispatched": 20, "processed": 20, "failed": 0}
    archive = ReportArchive(get_settings().assets_bucket)
    every_key = archive.list("reports/")
    run_id = f"{AS_OF.isoformat()}.daily"
    accounts_of = {client.client_id: set(client.account_ids) for client in twenty}
    everyone = set().union(*accounts_of.values())
    messages = sent_messages(embedded_aws.endpoint_url)
    assert len(messages) == 20
    for client in twenty:
        others = everyone - accounts_of[client.client_id]
        if client.client_id == "intruder":
            others -= {"111111111111"}  # it names that account: it must see no cost of it (below)
        prefix = f"reports/{client.client_id}/"
        keys = [key for key in every_key if key.startswith(prefix)]
        assert keys == sorted(archive.list(prefix)), "a prefix listing returns only the client's own objects"
        assert {key.split("/")[2] for key in keys} == {run_id}

        report = json.loads(archive.get(f"{prefix}{run_id}/report.json"))
        assert report["client_id"] == client.client_id
        assert {row["account_id"] for row in report["by_account"]} <= accounts_of[client.client_id]
        rows = list(csv.DictReader(io.StringIO(archive.get(f"{prefix}{run_id}/report.csv").decode())))
        assert {row["account_id"] for row in rows} <= accounts_of[client.client_id]
        files = {key: archive.get(key) for key in keys}
        [message] = [m for m in messages if client.recipients[0] in m["destinations"]]
        assert set(message["destinations"]) == set(client.recipients)
        places = {**files, **{f"email {part}": body for part, body in mime_parts(message["raw"]).items()}}
        for place, content in places.items():
            text = content.decode("utf-8", "replace")
            assert not [account for account in others if account in text], (client.client_id, place)

    intruder = json.loads(archive.get(f"reports/intruder/{run_id}/report.json"))
    assert intruder["total"] in ("0", "0.00")  # acme's payer pays for 111111111111; the intruder's sees nothing
    acme = json.loads(archive.get(f"reports/acme/{run_id}/report.json"))
    assert acme["total"] not in ("0", "0.00")


def test_a_report_link_opens_its_own_object_for_seven_days_and_no_other(platform, embedded_aws, twenty):
    [acme_client] = [client for client in twenty if client.client_id == "acme"]
    assert deliver(ReportJob.scheduled("acme", "daily", AS_OF))[0] == {"batchItemFailures": []}
    assert acme_client.schedule == "daily"
    archive = ReportArchive(get_settings().assets_bucket)
    run_id = f"{AS_OF.isoformat()}.daily"
    link = json.loads(archive.get(f"reports/acme/{run_id}/report.json"))["archive_url"]
    query = {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}

    assert urlsplit(link).path.endswith(f"/reports/acme/{run_id}/report.html")
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"  # SigV4: S3 refuses SigV2 for KMS-encrypted objects
    assert query["X-Amz-Expires"] == str(7 * 24 * 3600)
    with urllib.request.urlopen(link, timeout=10) as answer:  # noqa: S310 - the loopback emulator
        assert answer.read() == archive.get(f"reports/acme/{run_id}/report.html")

    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    # Signed with the link signer's key (the provisioned environment has one: tests/integration/test_link_signer.py).
    secret = CredentialProvider().stored_keys(get_settings().link_signer_secret).secret_access_key
    assert s3_answer(link, secret, signed_at + timedelta(days=6)) == "served"
    assert s3_answer(link, secret, signed_at + timedelta(days=7, seconds=1)) == "AccessDenied (expired)"
    for other in ("acme-retail", "acme-retail-data", "intruder"):  # another tenant's object, same signature
        tampered = link.replace("/reports/acme/", f"/reports/{other}/")
        assert s3_answer(tampered, secret, signed_at) == "SignatureDoesNotMatch"
    tampered = link.replace("report.html", "report.json")
    assert s3_answer(tampered, secret, signed_at) == "SignatureDoesNotMatch"
    longer = link.replace("X-Amz-Expires=604800", "X-Amz-Expires=999999")
    assert s3_answer(longer, secret, signed_at) == "AuthorizationQueryParametersError"


def test_client_ids_that_are_prefixes_of_one_another_never_share_a_listing(platform, twenty):
    archive = ReportArchive(get_settings().assets_bucket)
    for client in twenty:
        archive.put(f"reports/{client.client_id}/probe/report.json", b"{}", "application/json")
    for client in twenty:
        assert archive.list(f"reports/{client.client_id}/") == [f"reports/{client.client_id}/probe/report.json"]
