"""EventBridge Scheduler schedules that fire the dispatcher, each saying which schedule fired."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.config import EnvironmentConfig
from infrastructure.constructs.nag import acknowledge, logical_id


@dataclass(frozen=True)
class Trigger:
    """One schedule: the `schedule` value the dispatcher receives, and when (UTC cron fields)."""

    schedule: str
    description: str
    hour: str = "6"
    minute: str = "0"
    day: str | None = None
    week_day: str | None = None


# 06:00 UTC: yesterday is complete in Cost Explorer's overnight refresh, and the report is in
# inboxes before the working day starts in Europe and overnight for the Americas.
TRIGGERS: tuple[Trigger, ...] = (
    Trigger("daily", "Every day: clients on the daily schedule"),
    Trigger("weekly", "Mondays: clients on the weekly schedule", week_day="MON"),
    Trigger("monthly", "The 1st: clients on the monthly schedule (the whole previous month)", day="1"),
    # AWS finalises a month's bill in the first days of the next month, usually by the 5th but not
    # always by 06:00 UTC: from the 5th to the 10th, daily. A run skips while Cost Explorer still marks
    # last month estimated, and once the final report is archived (sent once, lambdas/pipeline.py).
    Trigger("month-close", "The 5th to the 10th: last month again, final, once AWS has finalised it", day="5-10"),
)


class Schedules(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        dispatcher: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # One role for every schedule: invoke the dispatcher, park undeliverable events in the DLQ.
        self.role = iam.Role(
            self,
            "Role",
            role_name=f"{config.dispatcher_function}-scheduler-role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="EventBridge Scheduler: fires the cost reporting dispatcher",
        )
        # The DLQ is KMS-encrypted: sending into it needs a data key.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn])
        )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::<{logical_id(dispatcher)}.Arn>:*]",
            "The Scheduler Lambda target grants lambda:InvokeFunction on the dispatcher and its qualified "
            "ARNs (versions and aliases, `:*`); the role can invoke this one function only.",
        )
        self.schedules: dict[str, scheduler.Schedule] = {}
        for trigger in TRIGGERS:
            # Day-of-month and day-of-week cannot both be set: the other one is "?".
            self.schedules[trigger.schedule] = scheduler.Schedule(
                self,
                "".join(part.capitalize() for part in trigger.schedule.split("-")),
                schedule_name=f"{config.dispatcher_function}-{trigger.schedule}",
                description=trigger.description,
                schedule=scheduler.ScheduleExpression.cron(
                    minute=trigger.minute,
                    hour=trigger.hour,
                    day=trigger.day,
                    week_day=trigger.week_day,
                    time_zone=TimeZone.ETC_UTC,
                ),
                target=targets.LambdaInvoke(
                    dispatcher,
                    input=scheduler.ScheduleTargetInput.from_object({"schedule": trigger.schedule}),
                    retry_attempts=3,
                    max_event_age=Duration.hours(2),
                    dead_letter_queue=dead_letter_queue,
                    role=self.role,
                ),
            )
