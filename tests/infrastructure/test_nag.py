"""cdk-nag's AwsSolutions rules (v3, as a CDK validation plugin) and cfn-lint on every template."""

from __future__ import annotations

import pytest

from tests.infrastructure.conftest import ENVIRONMENTS, Synthesized

pytestmark = pytest.mark.infrastructure


def acknowledgements(synthesized: Synthesized, environment: str) -> list[tuple[str, str, str]]:
    """(construct path, finding id, reason) of every acknowledgement in the stack."""
    found = []
    for path, entries in synthesized.metadata[environment].items():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                found.extend((path, rule, reason) for rule, reason in entry["data"].items())
    return sorted(found)


def test_cdk_nag_finds_nothing_unacknowledged(synthesized):
    violations = [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for report in synthesized.validation_report["pluginReports"]
        for violation in report["violations"]
        for construct in violation["violatingConstructs"]
    ]
    assert violations == []
    assert synthesized.synth_error is None


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_acknowledgement_is_an_awssolutions_finding_with_a_reason_next_to_its_resource(synthesized, environment):
    found = acknowledgements(synthesized, environment)
    assert found, "the stack acknowledges nothing: was the plugin bypassed?"
    for path, rule, reason in found:
        assert rule.startswith("AwsSolutions::AwsSolutions-"), rule
        assert len(reason) >= 60, f"{rule} at {path}: give a reason a reviewer accepts"
        # Next to its resource: on the construct concerned, never on the whole stack.
        assert path.count("/") >= 2, f"{rule} acknowledged at {path}"


def test_acknowledged_findings_are_the_reviewed_ones(synthesized):
    """A new acknowledgement is a security decision: it is added here, in review, on purpose."""
    rules = {(path.split("/", 2)[2], rule.split("::", 1)[1]) for path, rule, _ in acknowledgements(synthesized, "prod")}
    secrets = (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:"
        "cost-reporting/clients/*]"
    )
    assert {rule for _, rule in rules} == {
        "AwsSolutions-L1",
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::<StorageAssets320D2163.Arn>/reports/*]",
        "AwsSolutions-IAM5[Resource::<StorageAssets320D2163.Arn>/exports/*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:"
        "cost-reporting/clients/*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/CostReportingReadOnly*]",
        "AwsSolutions-IAM5[Resource::<FunctionsDispatcher9716EDF0.Arn>:*]",
        "AwsSolutions-SMG4",
    }
    assert {path for path, rule in rules if rule == "AwsSolutions-IAM5[Resource::*]"} == {
        "Functions/WorkerRole",
        "Functions/DispatcherRole",
        "Functions/FeedbackRole",
    }
    # The link signer (docs/deploy.md): its one policy reads reports only; its key is rotated by the CLI.
    reports = "AwsSolutions-IAM5[Resource::<StorageAssets320D2163.Arn>/reports/*]"
    assert {path for path, rule in rules if rule == reports} == {"Functions/WorkerRole", "LinkSigner/ReadReports"}
    assert {path for path, rule in rules if rule == "AwsSolutions-SMG4"} == {"LinkSigner/Secret"}
    # Data Exports a payer replicates into the assets bucket: read by the workers' one role, nobody else.
    exports = "AwsSolutions-IAM5[Resource::<StorageAssets320D2163.Arn>/exports/*]"
    assert {path for path, rule in rules if rule == exports} == {"Functions/WorkerRole"}
    # Client secrets: only the secrets reader's policy, whose tag condition binds a session to its client.
    assert {path for path, rule in rules if rule == secrets} == {"ClientSecrets/ReadClientSecrets"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_cfn_lint_finds_nothing(synthesized, environment):
    from cfnlint.api import ManualArgs, lint_file

    template = synthesized.outdir / f"CostReporting-{environment}.template.json"
    # W3005 (redundant DependsOn) is CDK's own doing: it makes a function depend on its role's
    # default policy next to a GetAtt of the role; cfn-lint flags the redundancy, which is harmless.
    findings = lint_file(template, config=ManualArgs(ignore_checks=["W3005"], regions=["us-east-1", "eu-west-1"]))

    assert [str(finding) for finding in findings] == []


def test_every_acknowledgement_still_silences_a_real_finding(synthesized):
    """No stale acknowledgement: each one matches a finding cdk-nag reported and suppressed."""
    suppressed = [
        (violation["ruleName"], construct["constructPath"])
        for report in synthesized.validation_report["pluginReports"]
        for violation in report.get("suppressedViolations", [])
        for construct in violation["violatingConstructs"]
    ]
    for environment in ENVIRONMENTS:
        for path, rule, _ in acknowledgements(synthesized, environment):
            finding = rule.split("::", 1)[1]
            assert any(
                name == finding and construct.startswith(path.lstrip("/") + "/") for name, construct in suppressed
            ), f"{rule} at {path} silences nothing"
