"""Clients read from a Data Export (docs/data-exports.md) through the CLI, against the embedded AWS:
`client add | update | import` refuse a bad export field with one line naming it and write nothing;
`client add` and `credentials validate` probe the export (its partitions and newest manifest, never
its data) with the credentials the worker reads it with."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from cli.main import app
from emulator.exports import ExportOptions, write_client_export
from infrastructure.config import for_environment
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import parse_client
from tests.integration.conftest import AS_OF

runner = CliRunner()

BUCKET = "payer-billing-exports"
NOW = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=UTC)
ROLE = ["--role-arn", "arn:aws:iam::111111111110:role/CostReportingReadOnly", "--external-id", "new-co-7f3a-e1d0-42b9"]
NEW = ["--client-id", "new-co", "--name", "New Co", "--account-id", "111111111111", "--recipient",
       "finance@new.example", *ROLE]  # fmt: skip
EXPORT = ["--cost-source", "data_exports", "--export-bucket", BUCKET, "--export-prefix", "exports",
          "--export-name", "new-co-focus"]  # fmt: skip


def stored(platform) -> dict[str, dict]:
    return {record["client_id"]: record for record in ClientsTable(platform.clients_table).records()}


@pytest.fixture
def registered(platform, demo_records):
    table = ClientsTable(platform.clients_table)
    for record in demo_records:
        table.put(parse_client(record))
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return demo_records


def _with(arguments: list[str], flag: str, value: str) -> list[str]:
    """`arguments` with `flag`'s value replaced."""
    changed = list(arguments)
    changed[changed.index(flag) + 1] = value
    return changed


ASSETS = for_environment("local").assets_bucket
BAD_EXPORT = [
    (_with(EXPORT, "--export-bucket", "Payer_Exports"), "data_export.bucket: must be 3-63 lower-case letters"),
    (_with(EXPORT, "--export-bucket", "192.168.1.10"), "data_export.bucket: must not be formatted as an IP address"),
    (_with(EXPORT, "--export-prefix", "/exports/"), "data_export.prefix: write it without a leading or trailing"),
    (_with(EXPORT, "--export-prefix", "exports/../other"), "data_export.prefix: segment '..' is not a plain S3 key"),
    (_with(EXPORT, "--export-name", "new co"), "data_export.export_name: use letters, digits, hyphens and under"),
    ([*EXPORT, "--export-format", "focus_1_0"], "data_export.format: Input should be 'focus_1_2' or 'cur_2_0'"),
    ([*EXPORT, "--export-access", "public"], "data_export.access: Input should be 'client_role' or 'replicated'"),
    (["--cost-source", "data_exports"], "data_export: cost_source data_exports needs the export: bucket, prefix"),
    (["--cost-source", "s3"], "cost_source: Input should be 'cost_explorer' or 'data_exports'"),
    (EXPORT[:4], "data_export.prefix: Field required"),
    ([*EXPORT, "--export-access", "replicated"], "data_export.bucket: a replicated export is read from the platform's"),
    (
        [*_with(EXPORT, "--export-bucket", ASSETS), "--export-access", "replicated", "--export-prefix", "exports/acme"],
        "data_export.prefix: a replicated export of client new-co is under exports/new-co/ in the platform's bucket",
    ),
]


@pytest.mark.parametrize(("flags", "message"), BAD_EXPORT, ids=[message[:40] for _, message in BAD_EXPORT])
def test_add_refuses_a_bad_export_field_in_one_line_naming_it_and_writes_nothing(registered, platform, flags, message):
    before = stored(platform)

    result = runner.invoke(app, ["client", "add", *NEW, *flags])

    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"error: {message}"), line
    assert stored(platform) == before


def test_update_refuses_a_bad_export_field_and_keeps_the_other_fields_of_the_export(registered, platform):
    flags = ["--client-id", "acme-retail", "--cost-source", "data_exports"]
    before = stored(platform)

    missing = runner.invoke(app, ["client", "update", *flags])
    only_prefix = runner.invoke(app, ["client", "update", *flags, "--export-prefix", "exports"])

    assert (missing.exit_code, only_prefix.exit_code) == (2, 2)
    assert missing.output.strip() == (
        "error: data_export: cost_source data_exports needs the export: bucket, prefix, export_name, format"
    )
    assert only_prefix.output.strip() == "error: data_export.bucket: Field required"
    assert stored(platform) == before

    export = ["--export-bucket", BUCKET, "--export-prefix", "exports", "--export-name", "acme-focus"]
    named = runner.invoke(app, ["client", "update", "--client-id", "acme-retail", *export])  # still Cost Explorer
    assert named.exit_code == 1, named.output  # written, and the probe finds the export empty
    changed = runner.invoke(app, ["client", "update", "--client-id", "acme-retail", "--export-format", "cur_2_0"])
    assert changed.exit_code == 1, changed.output
    assert stored(platform)["acme-retail"]["data_export"] == {
        "bucket": BUCKET, "prefix": "exports", "export_name": "acme-focus", "format": "cur_2_0", "access": "client_role"
    }  # fmt: skip
    assert stored(platform)["acme-retail"].get("cost_source", "cost_explorer") == "cost_explorer"

    bad = runner.invoke(app, ["client", "update", "--client-id", "acme-retail", "--export-bucket", "a..b"])
    assert bad.exit_code == 2 and bad.output.strip() == "error: data_export.bucket: must not hold two adjacent dots"
    assert stored(platform)["acme-retail"]["data_export"]["bucket"] == BUCKET


def test_import_with_one_bad_export_imports_none(platform, demo_records, tmp_path):
    records = [dict(record) for record in demo_records]
    export = {"bucket": BUCKET, "prefix": "exports", "export_name": "x-focus", "format": "focus_1_2"}
    records[0] = dict(records[0], cost_source="data_exports", data_export=export)
    records[3] = dict(records[3], cost_source="data_exports", data_export=dict(export, prefix="exports//umbrella"))
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(records))

    result = runner.invoke(app, ["client", "import", "--input", str(path)])
    dry = runner.invoke(app, ["client", "import", "--input", str(path), "--dry-run"])

    line = "error: --input: record 4 (client_id 'umbrella-media'): data_export.prefix: segment '' is not a plain S3 key"
    line += " segment"
    assert (result.exit_code, dry.exit_code) == (2, 2)
    assert result.output.strip() == line and dry.output.strip() == line
    assert stored(platform) == {}

    records[3] = dict(records[3], data_export=dict(export, access="replicated", bucket=ASSETS, prefix="exports/acme"))
    path.write_text(json.dumps(records))
    replicated = runner.invoke(app, ["client", "import", "--input", str(path)])
    assert replicated.exit_code == 2
    assert "data_export.prefix: a replicated export of client umbrella-media is under exports/umbrella-media/" in (
        replicated.output
    )
    assert stored(platform) == {}


# -- the probe -------------------------------------------------------------------------------------


def _client_record(demo_records, client_id: str = "acme-retail", **export: Any) -> dict[str, Any]:
    record = dict(next(r for r in demo_records if r["client_id"] == client_id))
    record["cost_source"] = "data_exports"
    record["data_export"] = {
        "bucket": BUCKET,
        "prefix": "exports",
        "export_name": f"{client_id}-focus",
        "format": "focus_1_2",
        **export,
    }
    return record


def _write(embedded_aws, record: dict[str, Any], options: ExportOptions | None = None) -> None:
    export = record["data_export"]
    write_client_export(
        boto3.client("s3"),
        embedded_aws.dataset,
        record,
        bucket=export["bucket"],
        start=date(2026, 10, 1),
        end_exclusive=AS_OF,
        options=options or ExportOptions(format=export["format"]),
        now=NOW,
    )


def _add(record: dict[str, Any], tmp_path) -> Any:
    path = tmp_path / f"{record['client_id']}.json"
    path.write_text(json.dumps(record))
    return runner.invoke(app, ["client", "add", "--from-file", str(path)])


def test_add_probes_the_export_with_the_clients_role(platform, embedded_aws, demo_records, tmp_path, frozen_clock):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    record = _client_record(demo_records)
    _write(embedded_aws, record)

    result = _add(record, tmp_path)

    assert result.exit_code == 0, result.output
    assert "Added client acme-retail" in result.output
    assert (
        f"Data Export: s3://{BUCKET}/exports/acme-retail-focus/: 2 billing period(s), 2026-10 to 2026-11, read as "
        "the role arn:aws:iam::111111111110:role/CostReportingReadOnly" in " ".join(result.output.split())
    )
    assert stored(platform)["acme-retail"]["data_export"]["export_name"] == "acme-retail-focus"


def test_add_registers_the_client_when_its_export_is_empty_and_says_so(platform, demo_records, tmp_path):
    boto3.client("s3").create_bucket(Bucket=BUCKET)

    result = _add(_client_record(demo_records), tmp_path)

    assert result.exit_code == 1, result.output
    assert "acme-retail" in stored(platform)
    finding = f"data_export: no BILLING_PERIOD= partition under s3://{BUCKET}/exports/acme-retail-focus/data/"
    assert finding in " ".join(result.stderr.split())
    assert result.stderr.startswith("findings: acme-retail is registered; its Data Export: data_export: no BILLING")


def test_add_before_the_role_exists_registers_the_client_without_probing(platform, tmp_path):
    generated = runner.invoke(app, ["client", "add", *NEW[:-2], *EXPORT])  # the platform makes the external id
    given = runner.invoke(app, ["client", "add", *_with(NEW, "--client-id", "other-co")[:-2], "--external-id",
                                "other-co-7f3a-e1d0-42b9", *EXPORT])  # fmt: skip

    assert generated.exit_code == 0, generated.output
    assert "Data Export not checked yet: the client's role does not trust its new external id" in generated.output
    assert given.exit_code == 0, given.output
    assert "Data Export not checked yet: credentials of client other-co refused (AccessDenied)" in " ".join(
        given.output.split()
    )
    assert "credentials validate --client-id other-co" in " ".join(given.output.split())
    assert set(stored(platform)) == {"new-co", "other-co"}


def test_a_replicated_export_is_probed_with_the_platforms_credentials(platform, embedded_aws, demo_records, tmp_path):
    record = _client_record(demo_records, access="replicated", bucket=ASSETS, prefix="exports/acme-retail")
    _write(embedded_aws, record)

    result = _add(record, tmp_path)

    assert result.exit_code == 0, result.output
    assert "read as the platform's own credentials (access replicated)" in " ".join(result.output.split())


def test_validate_refuses_to_probe_another_clients_replicated_copy(platform, embedded_aws, demo_records, frozen_clock):
    """A record edited by hand past `client add`: globex's copy in the platform's bucket, named in
    acme's record. validate says so and lists nothing of it, as the run reads nothing of it."""
    theirs = _client_record(
        demo_records, "globex-health", access="replicated", bucket=ASSETS, prefix="exports/globex-health"
    )
    _write(embedded_aws, theirs)
    _put(platform, _client_record(demo_records, access="replicated", bucket=ASSETS, prefix="exports/globex-health"))

    code, document = _validate("acme-retail")

    [check] = [check for check in document["checks"] if check["name"] == "data export"]
    assert (code, check["status"]) == (1, "CRITICAL")
    assert check["detail"].startswith(
        "data_export.prefix: a replicated export of client acme-retail is under exports/acme-retail/"
    )
    assert "partitions" not in check  # nothing was listed


def _validate(client_id: str) -> tuple[int, dict[str, Any]]:
    code, document, _ = _validate_logged(client_id)
    return code, document


def _validate_logged(client_id: str) -> tuple[int, dict[str, Any], str]:
    """The exit code, the JSON document and what went to stderr (the audit lines among it)."""
    result = runner.invoke(app, ["credentials", "validate", "--client-id", client_id, "--format", "json"])
    return result.exit_code, json.loads(result.stdout), result.stderr


def _put(platform, record: dict[str, Any]) -> None:
    ClientsTable(platform.clients_table).put(parse_client(record))


def test_validate_a_good_export_is_clean_and_skips_cost_explorer(platform, embedded_aws, demo_records, frozen_clock):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    record = _client_record(demo_records)
    _write(embedded_aws, record)
    _put(platform, record)
    embedded_aws.ce.reset_log()

    code, document = _validate("acme-retail")

    assert code == 0, document
    checks = {check["name"]: check for check in document["checks"]}
    assert [check["name"] for check in document["checks"]] == [
        "external id", "credentials", "identity", "cost explorer", "data export"
    ]  # fmt: skip
    assert checks["cost explorer"]["read"] is False and embedded_aws.ce.request_log() == []  # no paid request
    export = checks["data export"]
    assert (export["status"], export["partitions"], export["newest"]) == ("OK", ["2026-10", "2026-11"], "2026-11")
    assert export["newest_has_manifest"] is True and export["findings"] == []


def test_validate_keeps_cost_explorer_when_the_forecast_reads_it(platform, embedded_aws, demo_records, frozen_clock):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    record = dict(_client_record(demo_records), forecast_source="cost_explorer")
    _write(embedded_aws, record)
    _put(platform, record)

    code, document = _validate("acme-retail")

    assert code == 0, document
    explorer = next(check for check in document["checks"] if check["name"] == "cost explorer")
    assert explorer["status"] == "OK" and explorer["readable"] == record["account_ids"]
    assert "cost explorer plan" not in {check["name"] for check in document["checks"]}  # its costs are not planned

    shown = runner.invoke(app, ["client", "show", "--client-id", "acme-retail", "--format", "json"])
    assert json.loads(shown.stdout)["cost_explorer"] is None
    assert json.loads(shown.stdout)["client"]["data_export"]["export_name"] == "acme-retail-focus"


def test_validate_a_missing_export_or_bucket_is_a_finding(platform, embedded_aws, demo_records, frozen_clock):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    _put(platform, _client_record(demo_records))
    _put(platform, _client_record(demo_records, "globex-health", bucket="no-such-billing-bucket"))

    empty_code, empty = _validate("acme-retail")
    gone_code, gone = _validate("globex-health")

    assert (empty_code, empty["status"], gone_code, gone["status"]) == (1, "CRITICAL", 1, "CRITICAL")
    [empty_check] = [check for check in empty["checks"] if check["name"] == "data export"]
    assert empty_check["findings"] == [
        f"data_export: no BILLING_PERIOD= partition under s3://{BUCKET}/exports/acme-retail-focus/data/"
    ]
    assert empty_check["detail"].endswith("(read as the role arn:aws:iam::111111111110:role/CostReportingReadOnly)")
    [gone_check] = [check for check in gone["checks"] if check["name"] == "data export"]
    assert gone_check["findings"] == ["data_export.bucket: no bucket no-such-billing-bucket"]


def test_validate_an_export_still_being_written_is_a_note(platform, embedded_aws, demo_records, frozen_clock):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    record = _client_record(demo_records)
    _write(embedded_aws, record, ExportOptions(no_manifest=frozenset({"2026-11"})))
    _put(platform, record)

    code, document = _validate("acme-retail")

    assert code == 0, document
    [check] = [check for check in document["checks"] if check["name"] == "data export"]
    assert check["status"] == "OK" and check["newest_has_manifest"] is False
    assert "note: BILLING_PERIOD=2026-11 is still being written (no manifest yet)" in check["detail"]


def test_validate_an_export_the_role_cannot_read_is_critical(
    platform, embedded_aws, demo_records, frozen_clock, role_s3_permissions
):
    """acme's role grants Cost Explorer only (deployed without ExportBucket and ExportPrefix): S3
    refuses its session, as the role_s3_permissions fixture below evaluates it."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    record = _client_record(demo_records)
    _write(embedded_aws, record)
    _put(platform, record)

    code, document = _validate("acme-retail")
    table = runner.invoke(app, ["credentials", "validate", "--client-id", "acme-retail"])

    assert code == 1 and document["status"] == "CRITICAL", document
    [check] = [check for check in document["checks"] if check["name"] == "data export"]
    assert check["detail"] == (
        f"data_export: S3 refused list_objects_v2 on s3://{BUCKET}/exports/acme-retail-focus/data/ (AccessDenied) "
        "(read as the role arn:aws:iam::111111111110:role/CostReportingReadOnly)"
    )
    *logged, last = table.stderr.strip().splitlines()
    assert table.exit_code == 1 and last == "findings: 1 check(s) not OK: data export (CRITICAL)"
    # The refusal is an audit line too, as a refused role is: the runbook's UNAUTHORIZED filter finds it.
    [refusal] = [json.loads(line) for line in logged]
    assert (refusal["audit"], refusal["client_id"]) == ("UNAUTHORIZED", "acme-retail")
    assert refusal["message"].startswith("UNAUTHORIZED data_export: S3 refused list_objects_v2")


def test_validate_an_export_of_another_format_is_a_finding(platform, embedded_aws, demo_records, frozen_clock):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    record = _client_record(demo_records)
    _write(embedded_aws, record)  # FOCUS 1.2
    _put(platform, _client_record(demo_records, format="cur_2_0"))

    code, document = _validate("acme-retail")

    assert code == 1
    [check] = [check for check in document["checks"] if check["name"] == "data export"]
    assert check["findings"] == [
        "exports/acme-retail-focus/metadata/BILLING_PERIOD=2026-11/acme-retail-focus-Manifest.json: "
        "the export delivers FOCUS 1.2, the client's export is cur_2_0"
    ]


# -- the role's S3 permissions, evaluated ----------------------------------------------------------


@pytest.fixture
def role_s3_permissions(monkeypatch):
    """The embedded S3 answers a role's session as S3 does: a LIST or GET the role's policies do not
    allow is AccessDenied (emulator/iam_enforcement.py holds the sessions; its evaluator,
    emulator/iam_policy.py, decides). For this module's tests only: the emulator's own enforcement
    covers trust policies and the secrets reader."""
    from moto.s3.exceptions import S3AccessDeniedError
    from moto.s3.responses import S3Response

    from emulator.iam_enforcement import SESSIONS, _role
    from emulator.iam_policy import evaluate

    def allowed(response: Any, action: str, resource: str, context: dict[str, Any]) -> bool:
        session = SESSIONS.get(response.get_access_key())
        role = _role(session[0]) if session else None
        if role is None:
            return True  # the platform's own credentials, or a role made up by a test
        decisions = [evaluate(doc, action=action, resource=resource, context=context) for doc in role.policies.values()]
        return "allow" in decisions and "deny" not in decisions

    list_objects_v2, get_object = S3Response.list_objects_v2, S3Response.get_object

    def checked_list(self: Any) -> Any:
        prefix = self.querystring.get("prefix", [""])[0]
        if not allowed(self, "s3:ListBucket", f"arn:aws:s3:::{self.bucket_name}", {"s3:prefix": prefix}):
            raise S3AccessDeniedError()
        return list_objects_v2(self)

    def checked_get(self: Any) -> Any:
        if not allowed(self, "s3:GetObject", f"arn:aws:s3:::{self.bucket_name}/{self.parse_key_name()}", {}):
            raise S3AccessDeniedError()
        return get_object(self)

    monkeypatch.setattr(S3Response, "list_objects_v2", checked_list)
    monkeypatch.setattr(S3Response, "get_object", checked_get)


def _template_export_policy(bucket: str, prefix: str) -> dict[str, Any]:
    """The export policy of docs/deploy.md's role template, for this bucket and prefix."""
    from cfnlint.decode.cfn_yaml import loads

    from tests.infrastructure.test_client_role import DOC, _sub

    [template] = [b for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S) if "AWSTemplateFormat" in b]
    [role] = [r for r in loads(template)["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    granted = role["Properties"]["Policies"][1]["Fn::If"][1]
    return dict(_sub(granted, {"ExportBucket": bucket, "ExportPrefix": prefix})["PolicyDocument"])


@pytest.mark.parametrize("deployed_with_export", [True, False])
def test_the_role_reads_the_export_only_when_deployed_with_its_bucket_and_prefix(
    platform, embedded_aws, demo_records, frozen_clock, role_s3_permissions, deployed_with_export
):
    """acme's role as the template makes it, with and without ExportBucket and ExportPrefix: the
    probe lists and reads the manifest through it, or S3 refuses it and validate says so."""
    from moto.iam.models import iam_backends

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    record = _client_record(demo_records)
    _write(embedded_aws, record)
    _put(platform, record)
    iam = iam_backends["111111111110"]["aws"]
    if deployed_with_export:
        iam.put_role_policy(
            "CostReportingReadOnly", "DataExportReadOnly", json.dumps(_template_export_policy(BUCKET, "exports"))
        )

    code, document, logged = _validate_logged("acme-retail")

    [check] = [check for check in document["checks"] if check["name"] == "data export"]
    refusals = [json.loads(line) for line in logged.splitlines() if '"UNAUTHORIZED"' in line]
    assert len(refusals) == (0 if deployed_with_export else 1), logged  # the audit filter sees the refusal
    if deployed_with_export:
        assert (code, check["status"], check["partitions"]) == (0, "OK", ["2026-10", "2026-11"]), check
        assert check["newest_has_manifest"] is True  # the manifest was read (GetObject) through the role
    else:
        assert (code, check["status"]) == (1, "CRITICAL")
        assert check["findings"] == [
            f"data_export: S3 refused list_objects_v2 on s3://{BUCKET}/exports/acme-retail-focus/data/ (AccessDenied)"
        ]


def test_add_registers_a_client_whose_role_cannot_read_the_export_and_says_so(
    platform, embedded_aws, demo_records, tmp_path, role_s3_permissions
):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    record = _client_record(demo_records)
    _write(embedded_aws, record)

    result = _add(record, tmp_path)

    assert result.exit_code == 1, result.output
    assert "acme-retail" in stored(platform)
    *logged, last = result.stderr.strip().splitlines()
    assert last == (
        "findings: acme-retail is registered; its Data Export: data_export: S3 refused list_objects_v2 on "
        f"s3://{BUCKET}/exports/acme-retail-focus/data/ (AccessDenied) "
        "(read as the role arn:aws:iam::111111111110:role/CostReportingReadOnly)"
    )
    assert [json.loads(line)["audit"] for line in logged] == ["UNAUTHORIZED"]  # the refusal, for the audit filter
