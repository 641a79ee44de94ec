"""EventBridge Scheduler schedules that fire the dispatcher, each saying which schedule fired.

When each fires is stated once, in lambdas/logic/calendar.py (TRIGGERS): 06:00 UTC, daily, weekly on
Mondays, monthly on the 1st, and the month close from the 5th to the 10th (a run skips while Cost
Explorer still marks last month estimated, and once the final report is archived: sent once,
lambdas/orchestration/run.py). The dispatcher and the emulator's history read the same module."""

from __future__ import annotations

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
from lambdas.logic.calendar import TRIGGERS, Trigger


def cron_expression(trigger: Trigger) -> scheduler.ScheduleExpression:
    """The trigger's cron, as lambdas/logic/calendar.py states it. CDK takes day of month and day of
    week as options and writes the "?" of the one left unset itself (both cannot be set)."""
    fields = trigger.cron_fields()
    return scheduler.ScheduleExpression.cron(
        minute=fields["minute"],
        hour=fields["hour"],
        day=None if fields["day"] in ("*", "?") else fields["day"],
        week_day=None if fields["week_day"] == "?" else fields["week_day"],
        time_zone=TimeZone.ETC_UTC,
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
            self.schedules[trigger.schedule] = scheduler.Schedule(
                self,
                "".join(part.capitalize() for part in trigger.schedule.split("-")),
                schedule_name=f"{config.dispatcher_function}-{trigger.schedule}",
                description=trigger.description,
                schedule=cron_expression(trigger),
                target=targets.LambdaInvoke(
                    dispatcher,
                    input=scheduler.ScheduleTargetInput.from_object({"schedule": trigger.schedule}),
                    retry_attempts=3,
                    max_event_age=Duration.hours(2),
                    dead_letter_queue=dead_letter_queue,
                    role=self.role,
                ),
            )
