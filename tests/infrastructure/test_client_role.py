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
    """Cost Explorer's read actions; the only other policy is the Data Export's, granted only when
    the client gives its export (the next tests)."""
    cost_explorer, export = role["Policies"]
    [statement] = cost_explorer["PolicyDocument"]["Statement"]

    assert statement["Effect"] == "Allow"
    assert all(action.startswith("ce:Get") for action in statement["Action"])
    assert "ce:GetCostAndUsage" in statement["Action"]
    assert statement["Resource"] == "*"  # Cost Explorer has no resource-level permissions
    assert list(export) == ["Fn::If"] and export["Fn::If"][0] == "ReadsDataExport"


def test_the_export_is_read_only_when_its_bucket_and_prefix_are_given(template_text, role):
    from cfnlint.decode.cfn_yaml import loads

    template = loads(template_text)
    condition, _granted, otherwise = role["Policies"][1]["Fn::If"]

    assert template["Conditions"][condition] == {
        "Fn::And": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "ExportBucket"}, ""]}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "ExportPrefix"}, ""]}]},
        ]
    }
    assert otherwise == {"Ref": "AWS::NoValue"}
    for name in ("ExportBucket", "ExportPrefix"):  # a Cost Explorer client deploys the template as before
        assert template["Parameters"][name]["Default"] == ""


def _sub(value: Any, parameters: dict[str, str]) -> Any:
    """The template's !Sub strings, resolved as CloudFormation does for these parameters."""
    if isinstance(value, dict) and list(value) == ["Fn::Sub"]:
        text = str(value["Fn::Sub"])
        for name, given in {"AWS::Partition": "aws", **parameters}.items():
            text = text.replace("${" + name + "}", given)
        return text
    if isinstance(value, dict):
        return {key: _sub(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [_sub(item, parameters) for item in value]
    return value


EXPORT = {"ExportBucket": "acme-billing-exports", "ExportPrefix": "billing/exports"}
DATA = "billing/exports/acme-focus/data/BILLING_PERIOD=2026-11/"
MANIFEST = "billing/exports/acme-focus/metadata/BILLING_PERIOD=2026-11/acme-focus-Manifest.json"


@pytest.mark.parametrize(
    ("action", "resource", "prefix", "allowed"),
    [
        ("s3:ListBucket", "arn:aws:s3:::acme-billing-exports", "billing/exports/acme-focus/data/", True),
        ("s3:ListBucket", "arn:aws:s3:::acme-billing-exports", DATA, True),  # the reader lists each partition
        ("s3:ListBucket", "arn:aws:s3:::acme-billing-exports", "", False),  # not the whole bucket
        ("s3:ListBucket", "arn:aws:s3:::acme-billing-exports", "billing/other/", False),
        ("s3:ListBucket", "arn:aws:s3:::acme-billing-exports", "billing/exports-old/", False),
        ("s3:ListBucket", "arn:aws:s3:::another-bucket", "billing/exports/x/", False),
        ("s3:GetObject", f"arn:aws:s3:::acme-billing-exports/{DATA}part-0.parquet", None, True),
        ("s3:GetObject", f"arn:aws:s3:::acme-billing-exports/{MANIFEST}", None, True),
        ("s3:GetObject", "arn:aws:s3:::acme-billing-exports/billing/payroll.csv", None, False),
        ("s3:GetObject", "arn:aws:s3:::acme-billing-exports/billing/exports-old/x.parquet", None, False),
        ("s3:GetObject", f"arn:aws:s3:::another-bucket/{DATA}part-0.parquet", None, False),
        ("s3:PutObject", f"arn:aws:s3:::acme-billing-exports/{DATA}part-0.parquet", None, False),
        ("s3:DeleteObject", f"arn:aws:s3:::acme-billing-exports/{DATA}part-0.parquet", None, False),
    ],
)
def test_the_export_policy_reads_the_prefix_and_nothing_else(role, action, resource, prefix, allowed):
    """Evaluated as IAM does (the embedded AWS's evaluator, emulator/iam_policy.py) for an export
    under billing/exports: list and read under the prefix; nothing elsewhere, nothing written."""
    from emulator.iam_policy import evaluate

    policy = _sub(role["Policies"][1]["Fn::If"][1], EXPORT)
    assert policy["PolicyName"] == "DataExportReadOnly"
    context = {"s3:prefix": prefix} if prefix is not None else {}

    decision = evaluate(policy["PolicyDocument"], action=action, resource=resource, context=context)

    assert (decision == "allow") is allowed, (action, resource, prefix)


@pytest.mark.parametrize(
    ("parameter", "field", "value"),
    [
        ("ExportBucket", "bucket", "acme-billing-exports"),
        ("ExportBucket", "bucket", "acme.billing.exports"),
        ("ExportBucket", "bucket", "Acme_Exports"),
        ("ExportBucket", "bucket", "ab"),
        ("ExportPrefix", "prefix", "exports"),
        ("ExportPrefix", "prefix", "billing/exports/2026"),
        ("ExportPrefix", "prefix", "/exports"),
        ("ExportPrefix", "prefix", "exports/"),
        ("ExportPrefix", "prefix", "exports//cur"),
        ("ExportPrefix", "prefix", "exports cur"),
    ],
)
def test_the_templates_parameters_take_what_the_client_record_takes(template_text, parameter, field, value):
    """The bucket and prefix the client deploys with are the ones its record can name (the record
    refuses a few more: an IP address, S3's reserved names, a '.' or '..' segment)."""
    from cfnlint.decode.cfn_yaml import loads
    from pydantic import ValidationError

    from lambdas.models.export_source import ExportSource

    pattern = loads(template_text)["Parameters"][parameter]["AllowedPattern"]
    fields = {"bucket": "acme-billing-exports", "prefix": "exports", "export_name": "acme-focus", field: value}
    try:
        ExportSource(**fields)
        recorded = True
    except ValidationError:
        recorded = False

    assert (re.fullmatch(pattern, value) is not None) is recorded
    assert re.fullmatch(pattern, "")  # no export: the Cost Explorer role alone
