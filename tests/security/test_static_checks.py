"""Static checks in `make test`: checkov on the synthesized CloudFormation of every environment
(each finding acknowledged with a reason in tests/security/checkov.toml, none stale), and ruff's
security rules (flake8-bandit, `S`) on the code, each suppression with its reason.

checkov lives in its own virtualenv (`make checkov`: .venv-checkov, pinned in requirements-checkov.txt)
because its dependency tree conflicts with the project's pins. It runs offline: no download of
Prisma Cloud's guidelines, no update check, and any request elsewhere goes to a closed loopback port.
The templates are the ones the infrastructure tests synthesized in this session when they ran
(tests/infrastructure/conftest.py); otherwise this module synthesizes the app itself, the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
ACKNOWLEDGED = Path(__file__).with_name("checkov.toml")
STACKS = ("CostReporting-prod", "CostReporting-staging", "CostReporting-dev")
OFFLINE = {
    "BC_SKIP_MAPPING": "TRUE",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "",
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory holding every stack's template and metadata."""
    for directory in sorted(tmp_path_factory.getbasetemp().glob("cdk.out*")):
        if all((directory / f"{stack}.template.json").exists() for stack in STACKS):
            return directory  # synthesized by tests/infrastructure in this session
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App

    from infrastructure.stack import build_app

    outdir = tmp_path_factory.mktemp("checkov-synth")
    app = App(outdir=str(outdir), context=json.loads((ROOT / "cdk.json").read_text())["context"])
    build_app(app)
    with contextlib.suppress(RuntimeError):  # cdk-nag's verdict: tests/infrastructure/test_nag.py reports it
        app.synth()
    return outdir


@pytest.fixture(scope="module")
def checkov(templates: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        if os.environ.get("REQUIRE_CHECKOV"):
            pytest.fail("checkov is not installed: run `make checkov`")
        pytest.skip("checkov is not installed (`make checkov`; `make test` requires it)")
    files = [arg for stack in STACKS for arg in ("-f", str(templates / f"{stack}.template.json"))]
    command = [str(CHECKOV), *files, "--framework", "cloudformation", "--skip-download", "--quiet", "-o", "json"]
    done = subprocess.run(  # noqa: S603 - a fixed command line of the pinned tool
        command, capture_output=True, text=True, timeout=300, env={**os.environ, **OFFLINE}, check=False
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: findings, reported below
    report = json.loads(done.stdout)
    return report[0] if isinstance(report, list) else report


def construct_paths(templates: Path) -> dict[tuple[str, str], str]:
    """(template file, logical id) -> construct path without the stack, e.g. `Functions/Worker`."""
    paths = {}
    for stack in STACKS:
        metadata = json.loads((templates / f"{stack}.metadata.json").read_text())
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == "aws:cdk:logicalId":
                    construct = path.removeprefix(f"/{stack}/").removesuffix("/Resource")
                    paths[(f"{stack}.template.json", entry["data"])] = construct
    return paths


def findings(checkov: dict[str, Any], templates: Path) -> set[tuple[str, str, str]]:
    """(check id, construct path, stack) of every failed check."""
    paths = construct_paths(templates)
    found = set()
    for failed in checkov["results"]["failed_checks"]:
        template = Path(failed["file_path"]).name
        logical_id = failed["resource"].split(".", 1)[1]
        found.add((failed["check_id"], paths.get((template, logical_id), logical_id), template.split(".")[0]))
    return found


def acknowledgements() -> list[dict[str, Any]]:
    return tomllib.loads(ACKNOWLEDGED.read_text())["acknowledged"]


def test_checkov_checks_every_resource_of_every_stack(checkov):
    summary = checkov["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 3 * 50  # each stack has about sixty resources
    assert summary["passed"] > 3 * summary["failed"]


def test_every_checkov_finding_is_acknowledged_with_a_reason(checkov, templates):
    acknowledged = {(entry["check"], resource) for entry in acknowledgements() for resource in entry["resources"]}
    unacknowledged = sorted(
        f"{check} at {stack}/{path}" for check, path, stack in findings(checkov, templates)
        if (check, path) not in acknowledged
    )  # fmt: skip
    assert unacknowledged == []


def test_every_acknowledgement_names_a_reason_and_still_silences_a_real_finding(checkov, templates):
    reported = {(check, path) for check, path, _ in findings(checkov, templates)}
    for entry in acknowledgements():
        assert re.fullmatch(r"CKV2?_AWS_\d+", entry["check"]), entry
        assert len(entry["reason"]) >= 100, f"{entry['check']}: give a reason a reviewer accepts"
        stale = [resource for resource in entry["resources"] if (entry["check"], resource) not in reported]
        assert stale == [], f"{entry['check']} no longer fails on {stale}: remove the acknowledgement"


def test_ruff_security_rules_are_on_and_find_nothing():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'select = \[[^\]]*"S"', pyproject), "ruff's flake8-bandit rules (S) must stay selected"
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "S", "--output-format", "json",
         "lambdas", "cli", "emulator", "infrastructure", "app.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert json.loads(done.stdout or "[]") == [], done.stdout[:2000]


def test_every_security_suppression_in_the_code_says_why():
    """`# noqa: S...` silences a security rule: each one carries its reason on the line."""
    bare = []
    for directory in ("lambdas", "cli", "emulator", "infrastructure"):
        for path in (ROOT / directory).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                match = re.search(r"#\s*noqa:\s*(S\d+(?:,\s*S?\d+)*)(.*)", line)
                if match and not re.search(r"\w", match.group(2)):
                    bare.append(f"{path.relative_to(ROOT)}:{number}")
    assert bare == []
