"""`backup create | validate | restore` and `system validate-recovery` against the embedded AWS."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from cli.main import app
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.ses_events import Suppression

runner = CliRunner()


def members(path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]


def rewrite(path, changes: dict[str, bytes], *, drop: tuple[str, ...] = ()) -> None:
    files = {name: body for name, body in {**members(path), **changes}.items() if name not in drop}
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
    assert set(files) == {
        "manifest.json",
        "manifest.sig",
        "clients.json",
        "executions.jsonl",
        "suppressions.jsonl",
        "configuration.json",
    }
    assert manifest["files"]["clients.json"]["records"] == 5  # the five demo clients
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
    assert dry.exit_code == 0 and "5 client(s) to write" in dry.output
    assert list(ClientsTable(populated.clients_table).records()) == []

    restored = runner.invoke(app, ["backup", "restore", "--input", str(path), *accept])
    assert restored.exit_code == 0, restored.output

    result = runner.invoke(app, ["system", "validate-recovery", "--input", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["restored clients.json"]["detail"] == "all 5 match"
    assert checks["restored executions.jsonl"]["detail"] == "all 2 match"
    assert ExecutionsTable(populated.executions_table).history("acme-retail") == history
    again = runner.invoke(app, ["backup", "restore", "--input", str(path), "--dry-run", *accept])
    assert "0 client(s) to write (5 already identical)" in again.output


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


def _bounced(client_id: str, email: str, day: int) -> Suppression:
    return Suppression(
        client_id=client_id,
        email=email,
        reason="bounce",
        recorded_at=datetime(2026, 11, day, 6, 5, tzinfo=UTC),
        detail="Permanent/General 5.1.1",
    )


@pytest.mark.parametrize("kind", ["full", "clients"])
def test_suppressed_recipients_survive_a_lost_environment(populated, wipe_aws, tmp_path, kind):
    """A restored environment must not mail the addresses that bounced before the loss."""
    suppressions = SuppressionsTable(populated.suppressions_table)
    suppressions.add(_bounced("acme-retail", "cfo@acme.example", 20))
    suppressions.add(_bounced("globex-health", "ops@globex.example", 21))
    suppressions.clear("globex-health", "ops@globex.example", at=datetime(2026, 11, 22, tzinfo=UTC), by="operator")
    path = tmp_path / "backup.tar.gz"
    assert runner.invoke(app, ["backup", "create", "--type", kind, "--output", str(path)]).exit_code == 0
    assert json.loads(members(path)["manifest.json"])["files"]["suppressions.jsonl"]["records"] == 2

    wipe_aws()
    assert runner.invoke(app, ["local", "bootstrap"]).exit_code == 0
    lost = runner.invoke(app, ["system", "validate-recovery", "--input", str(path), "--format", "json"])
    check = next(c for c in json.loads(lost.stdout)["checks"] if c["name"] == "restored suppressions.jsonl")
    assert check["status"] == "CRITICAL" and len(check["missing"]) == 2
    # The lost environment took its KMS backup key along: the signature cannot be checked any more.
    restored = runner.invoke(app, ["backup", "restore", "--input", str(path), "--accept-unverifiable"])
    assert restored.exit_code == 0 and "2 suppressed recipient(s)" in restored.output

    assert SuppressionsTable(populated.suppressions_table).is_suppressed("acme-retail", "cfo@acme.example")
    assert not SuppressionsTable(populated.suppressions_table).is_suppressed("globex-health", "ops@globex.example")
    result = runner.invoke(app, ["system", "validate-recovery", "--input", str(path), "--format", "json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["restored suppressions.jsonl"]["status"] == "OK"


def test_restore_keeps_a_suppression_newer_than_the_backup(populated, tmp_path):
    suppressions = SuppressionsTable(populated.suppressions_table)
    suppressions.add(_bounced("acme-retail", "cfo@acme.example", 20))
    suppressions.clear("acme-retail", "cfo@acme.example", at=datetime(2026, 11, 21, tzinfo=UTC), by="operator")
    path = tmp_path / "backup.tar.gz"
    runner.invoke(app, ["backup", "create", "--output", str(path)])
    suppressions.add(_bounced("acme-retail", "cfo@acme.example", 25))  # bounced again after the backup

    assert runner.invoke(app, ["backup", "restore", "--input", str(path)]).exit_code == 0

    assert suppressions.is_suppressed("acme-retail", "cfo@acme.example")


def test_a_backup_without_suppressions_validates_with_a_warning(populated, tmp_path):
    path = tmp_path / "backup.tar.gz"
    runner.invoke(app, ["backup", "create", "--output", str(path)])
    manifest = json.loads(members(path)["manifest.json"])
    del manifest["files"]["suppressions.jsonl"]
    rewrite(path, {"manifest.json": json.dumps(manifest).encode()}, drop=("suppressions.jsonl",))

    result = runner.invoke(app, ["backup", "validate", "--input", str(path), "--format", "json"])

    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["suppressions.jsonl"]["status"] == "WARNING"
    # Such a backup predates signed backups too: rewritten here, its manifest no longer matches its MAC.
    assert checks["signature"]["status"] == "CRITICAL"


def test_the_runbooks_full_backup_needs_no_output_and_lands_where_git_ignores_it(populated, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(app, ["backup", "create", "--full"])

    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "backups").iterdir()
    assert path.name == "backup_20261127_090000.tar.gz"  # the CLI's clock, frozen at 27 November 09:00
    assert json.loads(members(path)["manifest.json"])["type"] == "full"
    conflict = runner.invoke(app, ["backup", "create", "--full", "--type", "clients"])
    assert conflict.exit_code == 2 and "--full: give --full or --type clients, not both" in conflict.output


def test_an_output_in_a_new_directory_is_written_and_a_file_in_the_way_is_bad_input(populated, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["client", "export-all", "--output", "out/ops/clients.json"]).exit_code == 0
    assert json.loads((tmp_path / "out" / "ops" / "clients.json").read_text())["clients"]
    (tmp_path / "file").write_text("")
    result = runner.invoke(app, ["client", "export-all", "--output", "file/sub/x.json"])
    assert result.exit_code == 2 and "--output: file is a file, not a directory" in result.output
    elsewhere = runner.invoke(app, ["client", "export-all", "--output", str(tmp_path / "missing" / "x.json")])
    assert elsewhere.exit_code == 2 and "does not exist" in elsewhere.output  # an absolute path: a typo, not made
    assert not (tmp_path / "missing").exists()


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

    from cli.workflows.audit_trail import events_between

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
