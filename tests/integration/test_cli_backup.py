"""`backup create | validate | restore` and `system validate-recovery` against the embedded AWS."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from typer.testing import CliRunner

from cli.main import app
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.models.client import parse_client

runner = CliRunner()


@pytest.fixture
def populated(platform, demo_records, frozen_clock):
    """Four clients, two of them with a real recorded run."""
    table = ClientsTable(platform.clients_table)
    for record in demo_records:
        table.put(parse_client(record))
    for client_id in ("acme-retail", "initech-labs"):
        result = runner.invoke(app, ["report", "run", "--client-id", client_id, "--as-of", "2026-11-27"])
        assert result.exit_code == 0, result.output
    return platform


def members(path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]


def rewrite(path, changes: dict[str, bytes]) -> None:
    files = {**members(path), **changes}
    with tarfile.open(path, "w:gz") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))


def test_backup_holds_clients_history_configuration_and_checksums(populated, tmp_path):
    path = tmp_path / "backup.tar.gz"

    result = runner.invoke(app, ["backup", "create", "--type", "full", "--output", str(path)])

    assert result.exit_code == 0, result.output
    files = members(path)
    manifest = json.loads(files["manifest.json"])
    assert set(files) == {"manifest.json", "manifest.sig", "clients.json", "executions.jsonl", "configuration.json"}
    assert manifest["files"]["clients.json"]["records"] == 4
    assert manifest["files"]["executions.jsonl"]["records"] == 2
    assert json.loads(files["configuration.json"])["names"]["clients_table"] == "cost-reporting-clients-local"
    export = tmp_path / "export.json"
    runner.invoke(app, ["client", "export-all", "--output", str(export)])
    assert files["clients.json"] == export.read_bytes()  # `client import` can read a backup's clients
    assert runner.invoke(app, ["backup", "validate", "--input", str(path)]).exit_code == 0


def test_a_backup_restored_into_a_fresh_environment_validates(populated, wipe_aws, tmp_path):
    path = tmp_path / "backup.tar.gz"
    assert runner.invoke(app, ["backup", "create", "--output", str(path)]).exit_code == 0
    history = ExecutionsTable(populated.executions_table).history("acme-retail")

    wipe_aws()  # the environment is lost, its KMS keys with it (in AWS the stack retains them)
    assert runner.invoke(app, ["local", "bootstrap"]).exit_code == 0
    before = runner.invoke(app, ["system", "validate-recovery", "--input", str(path), "--format", "json"])
    assert before.exit_code == 1  # an empty environment does not match the backup
    unverifiable = runner.invoke(app, ["backup", "restore", "--input", str(path), "--dry-run"])
    assert unverifiable.exit_code == 1 and "the key that signed it" in unverifiable.output
    accept = ["--accept-unverifiable"]
    dry = runner.invoke(app, ["backup", "restore", "--input", str(path), "--dry-run", *accept])
    assert dry.exit_code == 0 and "4 client(s) to write" in dry.output
    assert list(ClientsTable(populated.clients_table).records()) == []

    restored = runner.invoke(app, ["backup", "restore", "--input", str(path), *accept])
    assert restored.exit_code == 0, restored.output

    result = runner.invoke(app, ["system", "validate-recovery", "--input", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["restored clients.json"]["detail"] == "all 4 match"
    assert checks["restored executions.jsonl"]["detail"] == "all 2 match"
    assert ExecutionsTable(populated.executions_table).history("acme-retail") == history
    again = runner.invoke(app, ["backup", "restore", "--input", str(path), "--dry-run", *accept])
    assert "0 client(s) to write (4 already identical)" in again.output


def test_validate_recovery_names_what_is_missing_or_changed(populated, tmp_path):
    path = tmp_path / "backup.tar.gz"
    runner.invoke(app, ["backup", "create", "--output", str(path)])
    table = ClientsTable(populated.clients_table)
    table.delete("globex-health")
    table.put(table.get("acme-retail").model_copy(update={"name": "Changed"}))

    result = runner.invoke(app, ["system", "validate-recovery", "--input", str(path), "--format", "json"])

    assert result.exit_code == 1
    check = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "restored clients.json")
    assert (check["status"], check["missing"], check["different"]) == ("CRITICAL", ["globex-health"], ["acme-retail"])


def test_a_damaged_backup_does_not_validate_and_is_not_restored(populated, tmp_path):
    path = tmp_path / "backup.tar.gz"
    runner.invoke(app, ["backup", "create", "--output", str(path)])
    clients = json.loads(members(path)["clients.json"])
    clients["clients"][0]["name"] = "Tampered"
    rewrite(path, {"clients.json": json.dumps(clients).encode()})

    validated = runner.invoke(app, ["backup", "validate", "--input", str(path), "--format", "json"])
    assert validated.exit_code == 1
    checks = {c["name"]: c for c in json.loads(validated.stdout)["checks"]}
    assert checks["clients.json"]["detail"] == "checksum mismatch: the file was changed or damaged"

    restored = runner.invoke(app, ["backup", "restore", "--input", str(path)])
    assert restored.exit_code == 1 and "nothing restored" in restored.output
    assert ClientsTable(populated.clients_table).get("acme-retail").name == "Acme Retail"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a tar at all", "is not a readable backup"), (None, "no such file")],
)
def test_not_a_backup_is_bad_input(platform, tmp_path, content, message):
    path = tmp_path / "backup.tar.gz"
    if content is not None:
        path.write_bytes(content)
    for command in (["backup", "validate"], ["backup", "restore"], ["system", "validate-recovery"]):
        result = runner.invoke(app, [*command, "--input", str(path)])
        assert result.exit_code == 2, result.output
        assert message in result.output


def test_a_tar_without_manifest_is_bad_input(platform, tmp_path):
    path = tmp_path / "other.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("../../etc/evil")
        archive.addfile(info, io.BytesIO(b""))
    result = runner.invoke(app, ["backup", "validate", "--input", str(path)])
    assert result.exit_code == 2 and "has no manifest.json" in result.output


def test_restore_refuses_an_unprovisioned_environment(populated, wipe_aws, tmp_path):
    path = tmp_path / "backup.tar.gz"
    runner.invoke(app, ["backup", "create", "--output", str(path)])
    wipe_aws()

    result = runner.invoke(app, ["backup", "restore", "--input", str(path), "--accept-unverifiable"])

    assert result.exit_code == 1
    assert "provision the environment first" in result.output


def forge(path, name: str, body: bytes) -> None:
    """What a forger does: change a file and write its new checksum and size into the manifest."""
    import hashlib

    manifest = json.loads(members(path)["manifest.json"])
    manifest["files"][name].update(sha256=hashlib.sha256(body).hexdigest(), bytes=len(body))
    rewrite(path, {name: body, "manifest.json": json.dumps(manifest).encode()})


def test_a_forged_backup_with_matching_checksums_is_refused(populated, tmp_path):
    """A new recipient slipped into a client record, the manifest's checksum rewritten to match: the
    checksums alone (all they once checked) pass; the signature does not."""
    path = tmp_path / "backup.tar.gz"
    assert runner.invoke(app, ["backup", "create", "--output", str(path)]).exit_code == 0
    clients = json.loads(members(path)["clients.json"])
    clients["clients"][0]["recipients"].append("attacker@evil.example")
    forge(path, "clients.json", json.dumps(clients).encode())

    validated = runner.invoke(app, ["backup", "validate", "--input", str(path), "--format", "json"])

    assert validated.exit_code == 1
    checks = {c["name"]: c for c in json.loads(validated.stdout)["checks"]}
    assert checks["clients.json"]["status"] == "OK"  # the checksum was made to match
    assert checks["signature"]["status"] == "CRITICAL"
    assert "changed or forged" in checks["signature"]["detail"]
    restored = runner.invoke(app, ["backup", "restore", "--input", str(path), "--accept-unverifiable"])
    assert restored.exit_code == 1 and "nothing restored" in restored.output
    acme = ClientsTable(populated.clients_table).get("acme-retail")
    assert "attacker@evil.example" not in acme.recipients


def test_an_unsigned_backup_is_refused(populated, tmp_path):
    path = tmp_path / "backup.tar.gz"
    assert runner.invoke(app, ["backup", "create", "--output", str(path)]).exit_code == 0
    files = members(path)
    files.pop("manifest.sig")
    with tarfile.open(path, "w:gz") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))

    result = runner.invoke(app, ["backup", "restore", "--input", str(path), "--accept-unverifiable"])

    assert result.exit_code == 1 and "not signed" in result.output


def test_a_restore_is_recorded_in_the_audit_trail(populated, tmp_path, frozen_clock):
    from datetime import timedelta

    from cli.audit import events_between

    path = tmp_path / "backup.tar.gz"
    assert runner.invoke(app, ["backup", "create", "--output", str(path)]).exit_code == 0
    ClientsTable(populated.clients_table).delete("globex-health")
    at = frozen_clock()

    assert runner.invoke(app, ["backup", "restore", "--input", str(path)]).exit_code == 0

    from infrastructure.config import for_environment

    events, _ = events_between(for_environment("local"), at - timedelta(minutes=1), at + timedelta(minutes=1))
    [restore] = [event for event in events if event.action == "backup.restore"]
    assert restore.clients == ["globex-health"]
    assert "backup.tar.gz" in restore.detail and "signature verified" in restore.detail
