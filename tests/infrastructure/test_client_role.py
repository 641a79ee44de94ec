"""The role a client deploys in its own account (docs/deploy.md): valid CloudFormation, and a
role the worker is allowed to assume, trusting only the worker and only with the external id."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest

from infrastructure.config import for_environment

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


@pytest.fixture(scope="module")
def template_text() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    [template] = [block for block in blocks if "AWSTemplateFormatVersion" in block]
    return str(template)


@pytest.fixture(scope="module")
def role(template_text) -> dict[str, Any]:
    from cfnlint.decode.cfn_yaml import loads

    template = loads(template_text)
    [resource] = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    return dict(resource["Properties"])


def test_the_client_role_template_lints_clean(template_text, tmp_path):
    from cfnlint.api import ManualArgs, lint_file

    path = tmp_path / "cost-reporting-role.yaml"
    path.write_text(template_text)

    assert [str(finding) for finding in lint_file(path, config=ManualArgs(regions=["us-east-1"]))] == []


@pytest.mark.parametrize("environment", ["prod", "staging", "dev"])
def test_the_role_name_is_one_the_worker_may_assume(role, environment):
    assert fnmatch.fnmatchcase(role["RoleName"], for_environment(environment).client_role_pattern)


def test_the_role_trusts_only_the_worker_and_only_with_the_external_id(role):
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]

    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"AWS": {"Ref": "TrustedWorkerRoleArn"}}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}


@pytest.mark.parametrize(
    ("arn", "accepted"),
    [
        ("arn:aws:iam::111122223333:role/cost-reporting-lambda-role", True),
        ("arn:aws:iam::111122223333:role/cost-reporting-lambda-role-staging", True),
        ("arn:aws:iam::111122223333:role/Admin", False),
        ("arn:aws:iam::111122223333:root", False),
    ],
)
def test_the_trusted_principal_must_be_a_worker_role(template_text, arn, accepted):
    from cfnlint.decode.cfn_yaml import loads

    pattern = loads(template_text)["Parameters"]["TrustedWorkerRoleArn"]["AllowedPattern"]

    assert (re.fullmatch(pattern, arn) is not None) is accepted
    assert re.fullmatch(pattern, f"arn:aws:iam::111122223333:role/{for_environment('prod').worker_role}")


def test_the_role_reads_cost_explorer_and_nothing_else(role):
    [policy] = role["Policies"]
    [statement] = policy["PolicyDocument"]["Statement"]

    assert statement["Effect"] == "Allow"
    assert all(action.startswith("ce:Get") for action in statement["Action"])
    assert "ce:GetCostAndUsage" in statement["Action"]
    assert statement["Resource"] == "*"  # Cost Explorer has no resource-level permissions
