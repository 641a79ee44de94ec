"""A small evaluator of IAM policy documents, for the embedded AWS: it decides what moto does not
(a role's trust policy and external id, a topic policy for CloudWatch alarms, a session-tag
condition on a secret), so the local environment and the tests refuse what AWS refuses.

It covers what the platform's documents use: Allow and Deny, Principal (AWS account, root, user,
role and assumed-role session; Service; "*"), Action and NotAction, Resource and NotResource with
wildcards, and the condition operators String*, Arn*, Bool and Null with ForAllValues:/ForAnyValue:
and IfExists, and `${...}` policy variables in condition values. An operator it does not know makes
an Allow statement not apply and a Deny statement apply: it never grants more than AWS would.
Hand-written: no maintained library evaluates conditions and policy variables (policyuniverse and
its kind match statements only), and this is the embedded AWS's, never shipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

Decision = Literal["allow", "deny", "none"]
Context = dict[str, str | list[str]]
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Principal:
    """Who asks: an AWS identity (`arn`, `account`) or a service (`service`)."""

    arn: str = ""
    account: str = ""
    service: str = ""
    aliases: tuple[str, ...] = field(default=())  # e.g. the role ARN of an assumed-role session


def session_principal(arn: str, account: str) -> Principal:
    """The principal of a caller ARN as moto reports it; an assumed-role session also matches its role."""
    match = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", arn)
    aliases = (f"arn:{match.group(1)}:iam::{match.group(2)}:role/{match.group(3)}",) if match else ()
    return Principal(arn=arn, account=account, aliases=aliases)


def evaluate(
    document: str | dict[str, Any],
    *,
    action: str,
    resource: str | None = None,
    principal: Principal | None = None,
    context: Context | None = None,
) -> Decision:
    """ "deny" if a Deny statement applies, else "allow" if an Allow statement does, else "none"."""
    policy = json.loads(document) if isinstance(document, str) else document
    statements = policy.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    keys = {key.lower(): value for key, value in (context or {}).items()}
    decision: Decision = "none"
    for statement in statements:
        deny = statement.get("Effect") == "Deny"
        if not _applies(statement, action, resource, principal, keys, deny):
            continue
        if deny:
            return "deny"
        decision = "allow"
    return decision


def allows(document: str | dict[str, Any], **request: Any) -> bool:
    return evaluate(document, **request) == "allow"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _applies(
    statement: dict[str, Any],
    action: str,
    resource: str | None,
    principal: Principal | None,
    keys: dict[str, Any],
    deny: bool,
) -> bool:
    if principal is not None and "Principal" in statement and not _principal_matches(statement["Principal"], principal):
        return False
    if "NotPrincipal" in statement:
        return deny  # not used by the platform: never widen an Allow
    if "Action" in statement and not _action_in(action, statement["Action"]):
        return False
    if "NotAction" in statement and _action_in(action, statement["NotAction"]):
        return False
    if resource is not None:
        if "Resource" in statement and not any(fnmatchcase(resource, r) for r in _listed(statement["Resource"])):
            return False
        if "NotResource" in statement and any(fnmatchcase(resource, r) for r in _listed(statement["NotResource"])):
            return False
    return all(
        _condition(operator, conditions, keys, deny) for operator, conditions in statement.get("Condition", {}).items()
    )


def _action_in(action: str, patterns: Any) -> bool:
    return any(fnmatchcase(action.lower(), str(pattern).lower()) for pattern in _listed(patterns))


def _principal_matches(wanted: Any, principal: Principal) -> bool:
    if wanted == "*":
        return True
    if not isinstance(wanted, dict):
        return False
    for kind, values in wanted.items():
        for value in _listed(values):
            if kind == "Service" and principal.service and value == principal.service:
                return True
            if kind != "AWS":
                continue
            if value == "*":
                return True
            if principal.account and value in (principal.account, f"arn:aws:iam::{principal.account}:root"):
                return True
            if principal.arn and value in (principal.arn, *principal.aliases):
                return True
    return False


def _condition(operator: str, conditions: dict[str, Any], keys: dict[str, Any], deny: bool) -> bool:
    quantifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    test = _OPERATORS.get(name)
    if (test is None and name != "Null") or quantifier not in ("", "ForAllValues", "ForAnyValue"):
        return deny  # an operator this evaluator does not know: never grant on it
    negated = "Not" in name
    for key, expected in conditions.items():
        expected_values = [_substitute(str(value), keys) for value in _listed(expected)]
        if name == "Null":
            present = key.lower() in keys
            if not all((value == "true") != present for value in expected_values):
                return False
            continue
        if key.lower() not in keys:
            if quantifier == "ForAllValues" or if_exists or negated:
                continue
            return False
        actual = [str(value) for value in _listed(keys[key.lower()])]
        if None in expected_values or test is None:  # a policy variable the request does not carry
            return False
        ok = {
            "ForAllValues": all(test(value, expected_values) for value in actual),
            "ForAnyValue": any(test(value, expected_values) for value in actual),
            "": any(test(value, expected_values) for value in actual),
        }[quantifier]
        if not ok:
            return False
    return True


def _substitute(value: str, keys: dict[str, Any]) -> str | None:
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        found = keys.get(match.group(1).lower())
        if found is None:
            missing = True
            return ""
        return str(found[0] if isinstance(found, list) else found)

    substituted = _VARIABLE.sub(replace, value)
    return None if missing else substituted


def _any(compare: Any) -> Any:
    return lambda actual, expected: any(compare(actual, value) for value in expected if value is not None)


_OPERATORS: dict[str, Any] = {
    "StringEquals": _any(lambda a, e: a == e),
    "StringNotEquals": lambda a, e: not _any(lambda x, y: x == y)(a, e),
    "StringEqualsIgnoreCase": _any(lambda a, e: a.lower() == e.lower()),
    "StringNotEqualsIgnoreCase": lambda a, e: not _any(lambda x, y: x.lower() == y.lower())(a, e),
    "StringLike": _any(fnmatchcase),
    "StringNotLike": lambda a, e: not _any(fnmatchcase)(a, e),
    "ArnEquals": _any(lambda a, e: a == e),
    "ArnLike": _any(fnmatchcase),
    "ArnNotEquals": lambda a, e: not _any(lambda x, y: x == y)(a, e),
    "ArnNotLike": lambda a, e: not _any(fnmatchcase)(a, e),
    "Bool": _any(lambda a, e: a.lower() == e.lower()),
}  # and Null, handled in _condition: it tests whether the key is present
