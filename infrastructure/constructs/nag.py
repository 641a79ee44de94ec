"""cdk-nag acknowledgements, written next to the resource they concern."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

PLUGIN = "AwsSolutions"  # cdk-nag's AwsSolutionsChecks validation plugin


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one AwsSolutions finding on `scope` (and its children) with a reviewer's reason.

    `rule` is the finding id as cdk-nag reports it, e.g. `AwsSolutions-IAM5[Resource::*]`; the
    acknowledgement is recorded under the plugin's name, as the validation report asks for it."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PLUGIN}::{rule}", reason=reason))


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of a construct's resource, as cdk-nag names it in a finding
    (`<LogicalId.Arn>`)."""
    resource = construct.node.default_child
    if not isinstance(resource, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    stack = Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(resource)))
