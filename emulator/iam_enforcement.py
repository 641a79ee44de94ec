"""What the embedded AWS checks on top of moto, so the local environment refuses what AWS refuses:

- **sts:AssumeRole** of a role moto's IAM holds: its trust policy must allow the caller (and
  `sts:TagSession` when session tags are passed), with the request's `sts:ExternalId` and tags as
  condition keys; a wrong or missing external id is `AccessDenied`, as in AWS. A role moto does
  not hold is assumed as moto does (tests use made-up roles to act in other accounts).
- **secretsmanager:GetSecretValue** by a session of such a role: the role's inline policies must
  allow it for that secret, with the secret's tags (`aws:ResourceTag/...`) and the session's tags
  (`aws:PrincipalTag/...`) as condition keys: the secrets reader's tag condition holds locally.
- **cloudwatch:SetAlarmState**: a state change runs the alarm's actions as CloudWatch does, publishing
  CloudWatch's message to each SNS topic whose policy allows `cloudwatch.amazonaws.com` for that alarm;
  a topic whose policy does not is skipped, as AWS skips it ("not authorized to perform: SNS:Publish").

Installed once per process by `EmbeddedAWS` (moto's state is process-global), by wrapping moto's
response and backend methods at run time: moto's package files are not changed.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from datetime import UTC
from typing import Any

from emulator.iam_policy import Principal, allows, evaluate, session_principal
from lambdas import clock

logger = logging.getLogger(__name__)

_installed = False
_lock = threading.Lock()
# Access key id of a session -> (role ARN, the session's tags): what AWS keeps with the session.
SESSIONS: dict[str, tuple[str, dict[str, str]]] = {}
# Alarm ARN -> topic ARN of each action CloudWatch could not run (the topic policy refused it).
REFUSED_ACTIONS: list[tuple[str, str]] = []


class _AccessDenied(Exception):
    pass


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        # moto serializes our refusals well; it only warns that STS's model lists no AccessDenied shape.
        warnings.filterwarnings("ignore", message=r"Exception\(STSClientError\) with code AccessDenied")
        _install_sts()
        _install_secrets_manager()
        _install_cloudwatch()
        _installed = True


def _role(role_arn: str) -> Any | None:
    """moto's IAM role for an ARN, or None when moto does not hold it."""
    from moto.iam.models import iam_backends

    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return None
    account, partition = parts[4], parts[1]
    try:
        return iam_backends[account][partition].get_role_by_arn(role_arn)
    except Exception:  # moto's IAMNotFoundException: a role made up by a test
        return None


def _caller(response: Any) -> Principal:
    from moto.sts.models import sts_backends

    access_key = response.get_access_key()
    account = response.current_account
    _, arn, account = sts_backends[account][response.partition].get_caller_identity(access_key, response.region)
    return session_principal(arn, account)


# -- STS -----------------------------------------------------------------------------------------


def _install_sts() -> None:
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    original = TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        role_arn = self._get_param("RoleArn")
        tags = {str(tag["Key"]): str(tag["Value"]) for tag in (self._get_param("Tags") or [])}
        role = _role(role_arn)
        if role is not None:
            caller = _caller(self)
            context: dict[str, Any] = {
                "aws:PrincipalArn": caller.arn,
                "aws:PrincipalAccount": caller.account,
                "aws:SecureTransport": "true",
                **{f"aws:RequestTag/{key}": value for key, value in tags.items()},
            }
            if tags:
                context["aws:TagKeys"] = list(tags)
            external_id = self._get_param("ExternalId")
            if external_id is not None:
                context["sts:ExternalId"] = external_id
            trust = role.assume_role_policy_document
            actions = ["sts:AssumeRole", *(["sts:TagSession"] if tags else [])]
            if not all(allows(trust, action=a, principal=caller, context=context) for a in actions):
                raise STSClientError(
                    "AccessDenied",
                    f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                )
        result = original(self)
        answer = getattr(result, "result", None)
        credentials = answer.get("Credentials") if isinstance(answer, dict) else None
        access_key_id = getattr(credentials, "access_key_id", None)
        if role is not None and access_key_id:
            SESSIONS[access_key_id] = (role_arn, tags)
        return result

    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]


# -- Secrets Manager ------------------------------------------------------------------------------


def _install_secrets_manager() -> None:
    from moto.secretsmanager.exceptions import SecretsManagerClientError
    from moto.secretsmanager.responses import SecretsManagerResponse

    original = SecretsManagerResponse.get_secret_value

    def get_secret_value(self: Any) -> Any:
        session = SESSIONS.get(self.get_access_key())
        if session is not None:
            role_arn, session_tags = session
            role = _role(role_arn)
            secret = self.backend.describe_secret(self._get_param("SecretId"))
            if role is not None and not _session_may_read(role, role_arn, secret, session_tags):
                raise SecretsManagerClientError(
                    "AccessDeniedException",
                    f"User: {role_arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: "
                    f"{secret.arn} because no identity-based policy allows the secretsmanager:GetSecretValue action",
                )
        return original(self)

    SecretsManagerResponse.get_secret_value = get_secret_value  # type: ignore[method-assign]


def _session_may_read(role: Any, role_arn: str, secret: Any, session_tags: dict[str, str]) -> bool:
    context: dict[str, Any] = {f"aws:PrincipalTag/{key}": value for key, value in session_tags.items()}
    for tag in getattr(secret, "tags", None) or []:
        context[f"aws:ResourceTag/{tag['Key']}"] = tag["Value"]
    decisions = [
        evaluate(document, action="secretsmanager:GetSecretValue", resource=secret.arn, context=context)
        for document in role.policies.values()
    ]
    return "allow" in decisions and "deny" not in decisions


# -- CloudWatch alarm actions ----------------------------------------------------------------------


def _install_cloudwatch() -> None:
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        old_state = getattr(alarm, "state_value", None)
        original(self, alarm_name, reason, reason_data, state_value)
        if alarm is None or old_state == state_value or not getattr(alarm, "actions_enabled", True):
            return
        actions = {
            "ALARM": alarm.alarm_actions,
            "OK": alarm.ok_actions,
            "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
        }.get(state_value) or []
        for action in actions:
            if str(action).startswith("arn:") and ":sns:" in str(action):
                _notify(self, alarm, str(action), old_state or "INSUFFICIENT_DATA", reason)

    CloudWatchBackend.set_alarm_state = set_alarm_state  # type: ignore[method-assign]


def _notify(backend: Any, alarm: Any, topic_arn: str, old_state: str, reason: str) -> None:
    """Publish CloudWatch's alarm message to the topic, if the topic's policy lets CloudWatch do so
    for this alarm of this account."""
    from moto.sns.models import sns_backends

    _, _, _, region, account, _ = topic_arn.split(":", 5)
    try:
        topic = sns_backends[account][region].get_topic(topic_arn)
    except Exception:  # the topic is gone: CloudWatch records a failed action
        REFUSED_ACTIONS.append((alarm.alarm_arn, topic_arn))
        return
    context = {
        "aws:SourceAccount": backend.account_id,
        "aws:SourceArn": alarm.alarm_arn,
        "AWS:SourceOwner": backend.account_id,
        "aws:SecureTransport": "true",
    }
    principal = Principal(service="cloudwatch.amazonaws.com")
    if not allows(topic.policy, action="sns:Publish", resource=topic_arn, principal=principal, context=context):
        logger.warning("alarm %s: not authorized to perform SNS:Publish on %s", alarm.name, topic_arn)
        REFUSED_ACTIONS.append((alarm.alarm_arn, topic_arn))
        return
    message = {
        "AlarmName": alarm.name,
        "AlarmDescription": getattr(alarm, "description", None),
        "AWSAccountId": backend.account_id,
        "NewStateValue": alarm.state_value,
        "NewStateReason": reason,
        "StateChangeTime": clock.now().astimezone(UTC).isoformat(timespec="milliseconds"),
        "Region": backend.region_name,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
    }
    subject = f'{alarm.state_value}: "{alarm.name}" in {backend.region_name}'[:100]
    topic.publish(message=json.dumps(message), subject=subject)


def reset() -> None:
    """Forget sessions and refused actions (moto's own reset forgets the rest)."""
    SESSIONS.clear()
    REFUSED_ACTIONS.clear()
