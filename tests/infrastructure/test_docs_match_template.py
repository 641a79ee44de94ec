"""What the documentation and the CLI's own words promise about the stack, checked against the
synthesized template: no replication is claimed unless a bucket replicates, and the audit trail is
called append-only only because its bucket locks every event (S3 Object Lock, governance mode)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infrastructure.config import AUDIT_RETENTION_DAYS, for_environment
from tests.infrastructure.conftest import ENVIRONMENTS, ROOT
from tests.infrastructure.test_stack import bucket

pytestmark = pytest.mark.infrastructure

CLAIMS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "cli" / "workflows" / "audit_trail.py",
    ROOT / "cli" / "commands" / "backup.py",
]
OPTIONAL_REPLICATION = "## Cross-region replication (optional)"


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def outside_the_optional_section(path: Path) -> list[str]:
    """The lines of a file, without deploy.md's section on adding replication as a deployer's option."""
    kept, inside = [], False
    for line in lines(path):
        if line.startswith("## "):
            inside = line.startswith(OPTIONAL_REPLICATION)
        if not inside:
            kept.append(line)
    return kept


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_replication_is_claimed_only_if_the_stack_replicates(synthesized, environment):
    replicating = [
        name
        for name, resource in synthesized.resources(environment, "AWS::S3::Bucket").items()
        if "ReplicationConfiguration" in resource["Properties"]
    ]
    assert replicating == []  # the decision: the stack does not replicate; docs/deploy.md says how to add it
    claims = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in CLAIMS
        for line in outside_the_optional_section(path)
        if re.search(r"replicat", line, re.IGNORECASE)
        and not re.search(r"not replicated|does not replicate|no replication|replication is not", line, re.IGNORECASE)
    ]
    assert claims == []
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert OPTIONAL_REPLICATION in deploy  # how a deployer adds it


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_audit_trail_is_called_append_only_because_its_bucket_locks_every_event(synthesized, environment):
    config = for_environment(environment)
    audit = synthesized.resources(environment, "AWS::S3::Bucket")[bucket(synthesized, environment, config.audit_bucket)]
    lock = audit["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert (lock["Mode"], lock["Days"]) == ("GOVERNANCE", AUDIT_RETENTION_DAYS)
    claiming = [path for path in CLAIMS if re.search(r"append-only", path.read_text(encoding="utf-8"), re.IGNORECASE)]
    assert ROOT / "cli" / "workflows" / "audit_trail.py" in claiming and ROOT / "docs" / "architecture.md" in claiming
    for path in claiming:  # each claim says how it is enforced, with the template's figures
        text = " ".join(path.read_text(encoding="utf-8").split())
        assert "Object Lock" in text and "governance" in text.lower(), path
    architecture = " ".join((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").split())
    assert f"{AUDIT_RETENTION_DAYS} days" in architecture
