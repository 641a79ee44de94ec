"""`deploy validate`'s proof that an alarm reaches the people: a probe alarm notifying the alert
topic is set to ALARM (CloudWatch SetAlarmState), and its notification must arrive at a test
subscription of the topic (an SQS queue made for the check). Everything it creates is deleted
after the check, whatever happened.

It proves what the resource checks cannot: that CloudWatch may publish to the topic (the topic's
own policy, and the key policy of its encryption), which is where every alarm silently failed
before. The topic's other subscribers (the operations team's e-mail) get the probe's ALARM
message too: its name and reason say it is a test.

On `local` the embedded AWS runs alarm actions the way CloudWatch does, topic policy included
(emulator/iam_enforcement.py), so the proof holds there as well.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cli.aws_errors import problem
from cli.probes.resources import topic_arn
from cli.reviews.checks import Check, Status
from infrastructure.config import PREFIX, EnvironmentConfig
from lambdas.dal.aws import platform_client

NAME = "alert delivery"
# Long polls of the test queue: AWS delivers within seconds; the embedded AWS at once.
DEPLOYED_WAITS, LOCAL_WAITS = (20, 20, 20), (1, 1)


def alert_delivery_check(config: EnvironmentConfig) -> Check:
    try:
        topic = topic_arn(config)
    except (ClientError, BotoCoreError) as error:
        return Check(NAME, Status.CRITICAL, f"cannot read the topics ({problem(error)})")
    if topic is None:
        return Check(NAME, Status.CRITICAL, f"topic {config.alerts_topic} missing: no alarm can reach anyone")
    probe = _Probe(config, topic)
    try:
        return probe.run()
    except (ClientError, BotoCoreError) as error:
        return Check(NAME, Status.WARNING, f"could not prove delivery: {probe.step} failed ({problem(error)})")
    finally:
        probe.clean_up()


class _Probe:
    def __init__(self, config: EnvironmentConfig, topic: str) -> None:
        token = secrets.token_hex(4)
        self.config, self.topic = config, topic
        self.queue_name = f"{PREFIX}-alert-probe{config.suffix}-{token}"
        self.alarm_name = f"CostReporting-{config.environment}-AlertDeliveryProbe-{token}"
        self.waits = DEPLOYED_WAITS if config.deployed_by_stack else LOCAL_WAITS
        self.step = "starting"
        self.queue_url: str | None = None
        self.subscription: str | None = None
        self.alarm = False

    def run(self) -> Check:
        sqs, sns, cloudwatch = platform_client("sqs"), platform_client("sns"), platform_client("cloudwatch")
        self.step = "creating the test queue"
        self.queue_url = sqs.create_queue(
            QueueName=self.queue_name, Attributes={"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": "300"}
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sqs.set_queue_attributes(
            QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(_queue_policy(queue_arn, self.topic))}
        )
        self.step = "subscribing it to the alert topic"
        self.subscription = sns.subscribe(
            TopicArn=self.topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        self.step = "creating the probe alarm"
        cloudwatch.put_metric_alarm(
            AlarmName=self.alarm_name,
            AlarmDescription="deploy validate: proves that alarm notifications reach the alert topic (deleted after)",
            Namespace="CostReporting/AlertProbe",
            MetricName="Probe",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[self.topic],
        )
        self.alarm = True
        self.step = "setting the probe alarm to ALARM"
        cloudwatch.set_alarm_state(
            AlarmName=self.alarm_name, StateValue="ALARM", StateReason="deploy validate: alert delivery probe (a test)"
        )
        self.step = "waiting for the notification"
        for wait in self.waits:
            for message in sqs.receive_message(
                QueueUrl=self.queue_url, WaitTimeSeconds=wait, MaxNumberOfMessages=10
            ).get("Messages", []):
                if _alarm_name(message) == self.alarm_name:
                    return Check(NAME, Status.OK, f"an alarm's notification reached a subscription of {self.topic}")
        seconds = sum(self.waits)
        return Check(
            NAME,
            Status.CRITICAL,
            f"the probe alarm's notification did not reach a subscription of {self.topic} within {seconds} s: "
            "CloudWatch cannot publish to it (its policy must allow cloudwatch.amazonaws.com: docs/architecture.md)",
        )

    def clean_up(self) -> None:
        """Delete whatever the probe made; a failure here is left to the account's tidy-up, never raised."""
        for undo in (
            lambda: platform_client("cloudwatch").delete_alarms(AlarmNames=[self.alarm_name]) if self.alarm else None,
            lambda: (
                platform_client("sns").unsubscribe(SubscriptionArn=self.subscription) if self.subscription else None
            ),
            lambda: platform_client("sqs").delete_queue(QueueUrl=self.queue_url) if self.queue_url else None,
        ):
            try:
                undo()
            except (ClientError, BotoCoreError):
                continue


def _queue_policy(queue_arn: str, topic: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
            }
        ],
    }


def _alarm_name(message: dict[str, Any]) -> str | None:
    try:
        body = json.loads(message.get("Body", ""))
        if isinstance(body, dict) and "Message" in body and "AlarmName" not in body:  # not raw delivery
            body = json.loads(body["Message"])
        return str(body.get("AlarmName")) if isinstance(body, dict) else None
    except (ValueError, TypeError):
        return None
