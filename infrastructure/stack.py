"""One stack per environment: composes the constructs and wires every permission between them.

Permissions are written out statement by statement rather than through CDK's `grant_*`
helpers: on KMS-encrypted resources those add wildcard KMS actions (`kms:GenerateDataKey*`,
`kms:ReEncrypt*`) and, on tables with an index, `index/*`; here each role gets the exact actions
its code calls, on the exact resources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import App, Aws, CfnOutput, Stack, Tags, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infrastructure import assets
from infrastructure.config import (
    ENVIRONMENTS,
    METRICS_NAMESPACE,
    REPLICATED_EXPORTS_PREFIX,
    TABLES,
    EnvironmentConfig,
    for_environment,
)
from infrastructure.constructs.encryption import Encryption
from infrastructure.constructs.fanout import FanOut
from infrastructure.constructs.functions import EXPORT_WORKER, WORKER, Functions
from infrastructure.constructs.link_signer import LinkSigner
from infrastructure.constructs.monitoring import MonitoredFunction, MonitoredQueue, Monitoring
from infrastructure.constructs.nag import acknowledge, logical_id
from infrastructure.constructs.notifications import Notifications
from infrastructure.constructs.schedules import Schedules
from infrastructure.constructs.secrets_access import ClientSecretsReader
from infrastructure.constructs.storage import Storage

DEPLOYABLE = tuple(env for env in ENVIRONMENTS if env != "local")  # local is the embedded emulator
# Operators search a year of ACCESS and UNAUTHORIZED log lines in audits (runbook).
LOG_RETENTION = {"prod": logs.RetentionDays.THIRTEEN_MONTHS, "staging": logs.RetentionDays.ONE_MONTH}
KMS_DATA_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


class CostReportingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        sender_email: str,
        alert_email: str | None,
        code_dir: Path,
        layer_dir: Path,
        data_exports_layer_dir: Path,
    ) -> None:
        super().__init__(
            scope,
            config.stack_name,
            stack_name=config.stack_name,
            description=f"Cost reporting platform ({config.environment})",
            termination_protection=config.environment == "prod",
        )
        for tag, value in config.cost_allocation_tags.items():
            Tags.of(self).add(tag, value)
        self.config = config
        # Data outlives the stack except in dev, which is meant to be torn down and rebuilt.
        retain = config.environment != "dev"

        encryption = Encryption(self, "Encryption", config=config, retain=retain)
        key = encryption.key
        storage = Storage(self, "Storage", config=config, key=key, retain=retain)
        fanout = FanOut(
            self,
            "FanOut",
            config=config,
            key=key,
            worker_timeout=WORKER.timeout,
            export_worker_timeout=EXPORT_WORKER.timeout,
        )
        link_signer = LinkSigner(self, "LinkSigner", config=config, assets=storage.assets, key=key)
        secrets_reader = ClientSecretsReader(self, "ClientSecrets", config=config, key=key)
        notifications = Notifications(
            self, "Notifications", config=config, key=key, sender_email=sender_email, alert_email=alert_email
        )
        functions = Functions(
            self,
            "Functions",
            config=config,
            code_dir=code_dir,
            layer_dir=layer_dir,
            data_exports_layer_dir=data_exports_layer_dir,
            environment=self._environment(config, storage, fanout, sender_email, secrets_reader.role.role_arn),
            log_retention=LOG_RETENTION.get(config.environment, logs.RetentionDays.ONE_WEEK),
            events_dead_letter_queue=fanout.events_dead_letter_queue,
            retain_logs=retain,
        )
        fanout.feed(functions.worker)
        fanout.feed_exports(functions.export_worker)
        notifications.deliver_feedback_to(functions.feedback)
        Schedules(
            self,
            "Schedules",
            config=config,
            dispatcher=functions.dispatcher,
            dead_letter_queue=fanout.events_dead_letter_queue,
            key=key,
        )
        Monitoring(
            self,
            "Monitoring",
            config=config,
            workers=[
                MonitoredFunction(functions.worker, "Worker", f"Worker ({config.worker_function})"),
                MonitoredFunction(
                    functions.export_worker, "ExportWorker", f"Export worker ({config.export_worker_function})"
                ),
            ],
            others=[
                MonitoredFunction(functions.dispatcher, "Dispatcher", f"Dispatcher ({config.dispatcher_function})"),
                MonitoredFunction(functions.feedback, "Feedback", f"SES feedback ({config.feedback_function})"),
            ],
            queues=[
                MonitoredQueue(
                    fanout.jobs_queue, fanout.dead_letter_queue, "Jobs", "Jobs queue (dispatcher to worker)"
                ),
                MonitoredQueue(
                    fanout.export_jobs_queue,
                    fanout.export_dead_letter_queue,
                    "ExportJobs",
                    "Export jobs queue (dispatcher to export worker)",
                ),
            ],
            events_dead_letter_queue=fanout.events_dead_letter_queue,
            alerts_topic=notifications.alerts_topic,
        )

        # Services that publish into encrypted topics need the key: SES events, CloudWatch alarms.
        encryption.allow_service_to_publish("ses.amazonaws.com", source_arn=notifications.configuration_set_arn)
        alarms = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
        encryption.allow_service_to_publish("cloudwatch.amazonaws.com", source_arn=alarms)

        self._grant_worker(functions.worker, functions.worker_role, storage, notifications, key.key_arn)
        # A client's secrets only through a session of the secrets reader tagged with that client.
        self._grant(functions.worker, ["sts:AssumeRole", "sts:TagSession"], [secrets_reader.role.role_arn])
        # The link signer's key, to sign the reports' links (lambdas/orchestration/run.py): that one secret only.
        self._grant(functions.worker, ["secretsmanager:GetSecretValue"], [link_signer.secret.secret_arn])
        self._grant_dispatcher(functions.dispatcher, storage, fanout, key.key_arn)
        self._grant(functions.feedback, ["dynamodb:UpdateItem"], [storage.table("suppressions_table").table_arn])
        self._grant(functions.feedback, list(KMS_DATA_ACTIONS), [key.key_arn])

        self._outputs(config, storage, fanout, notifications, functions)

    @staticmethod
    def _environment(
        config: EnvironmentConfig, storage: Storage, fanout: FanOut, sender_email: str, secrets_reader: str
    ) -> dict[str, str]:
        """The Settings model's variables (lambdas/models/settings.py) plus Powertools'. Table
        variables follow the TABLES keys (`clients_table` -> CLIENTS_TABLE), so a new table
        reaches the functions without touching this code."""
        return {
            "PLATFORM_ENVIRONMENT": config.environment,
            **{attribute.upper(): getattr(config, attribute) for attribute in TABLES},
            "ASSETS_BUCKET": storage.assets.bucket_name,
            "JOBS_QUEUE_URL": fanout.jobs_queue.queue_url,
            "EXPORT_JOBS_QUEUE_URL": fanout.export_jobs_queue.queue_url,
            "SENDER_EMAIL": sender_email,
            "SES_CONFIGURATION_SET": config.configuration_set,
            "LINK_SIGNER_SECRET": config.link_signer_secret,
            "CLIENT_SECRETS_PREFIX": config.secrets_prefix,
            "SECRETS_READER_ROLE_ARN": secrets_reader,
            "POWERTOOLS_SERVICE_NAME": config.service_name,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "DEBUG" if config.environment == "dev" else "INFO",
        }

    @staticmethod
    def _grant(
        function: lambda_.Function,
        actions: list[str],
        resources: list[str],
        conditions: dict[str, Any] | None = None,
    ) -> iam.PolicyStatement:
        statement = iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)
        function.add_to_role_policy(statement)
        return statement

    def _grant_worker(
        self,
        worker: lambda_.Function,
        role: iam.Role,
        storage: Storage,
        notifications: Notifications,
        key_arn: str,
    ) -> None:
        config = self.config
        grant = self._grant
        grant(worker, ["dynamodb:GetItem"], [storage.table("clients_table").table_arn])
        grant(
            worker,
            ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"],
            [storage.table("executions_table").table_arn],
        )
        # Powertools idempotency records: get, put (claim), update (result), delete (failed run).
        grant(
            worker,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [storage.table("idempotency_table").table_arn],
        )
        grant(worker, ["dynamodb:GetItem", "dynamodb:Query"], [storage.table("suppressions_table").table_arn])
        # Cost Explorer cache (lambdas/dal/cost_cache.py): batched reads and writes of closed months.
        grant(
            worker,
            ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
            [storage.table("cost_cache_table").table_arn],
        )
        grant(worker, list(KMS_DATA_ACTIONS), [key_arn])
        grant(
            worker,
            ["ses:SendEmail", "ses:SendRawEmail"],  # SES v2 SendEmail with raw content checks SendRawEmail
            [notifications.identity.email_identity_arn, notifications.configuration_set_arn],
            {"StringEquals": {"ses:FromAddress": notifications.sender_email}},
        )

        grant(worker, ["s3:PutObject", "s3:GetObject"], [storage.assets.arn_for_objects("reports/*")])
        # The month-close run lists the month's earlier reports of the client (lambdas/orchestration/run.py).
        grant(worker, ["s3:ListBucket"], [storage.assets.bucket_arn], {"StringLike": {"s3:prefix": ["reports/*"]}})
        # Data Exports a payer replicates into the assets bucket (`access: replicated`): read only, that prefix
        # only. Granted to the worker's role, which the export worker runs under (lambdas/dal/data_exports.py
        # lists a period's partitions, reads its manifest and fetches the files it lists).
        exports = f"{REPLICATED_EXPORTS_PREFIX}*"
        grant(worker, ["s3:GetObject"], [storage.assets.arn_for_objects(exports)])
        grant(worker, ["s3:ListBucket"], [storage.assets.bucket_arn], {"StringLike": {"s3:prefix": [exports]}})
        grant(
            worker,
            ["sts:AssumeRole"],
            [f"arn:{Aws.PARTITION}:iam::*:role/{config.client_role_pattern}"],
            # Every assume names the client's external id (confused-deputy protection).
            {"Null": {"sts:ExternalId": "false"}},
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{logical_id(storage.assets)}.Arn>/reports/*]",
            "Reports are stored per client and run under reports/; the worker writes and reads only that prefix.",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{logical_id(storage.assets)}.Arn>/{exports}]",
            "Data Exports a payer delivers into the platform's bucket are kept per payer under exports/ "
            "(docs/data-exports.md); the workers only read that prefix, they never write or delete there.",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/{config.client_role_pattern}]",
            "Clients' accounts are not known at deploy time; the worker may assume only roles following the "
            "documented name pattern (docs/deploy.md), only with an external id, and each client's role trusts "
            "only this worker role.",
        )

    def _grant_dispatcher(self, dispatcher: lambda_.Function, storage: Storage, fanout: FanOut, key_arn: str) -> None:
        clients = storage.table("clients_table")
        index = TABLES["clients_table"].indexes[0].name
        # The sparse index only: "who is due on this schedule" is a Query, never a Scan.
        self._grant(dispatcher, ["dynamodb:Query"], [f"{clients.table_arn}/index/{index}"])
        # The due clients' records, to group the clients that share a payer (lambdas/orchestration/dispatch.py).
        self._grant(dispatcher, ["dynamodb:BatchGetItem"], [clients.table_arn])
        # The jobs queue, and the export jobs queue for the clients whose cost source is data_exports.
        self._grant(dispatcher, ["sqs:SendMessage"], [fanout.jobs_queue.queue_arn, fanout.export_jobs_queue.queue_arn])
        self._grant(dispatcher, list(KMS_DATA_ACTIONS), [key_arn])

    def _outputs(
        self,
        config: EnvironmentConfig,
        storage: Storage,
        fanout: FanOut,
        notifications: Notifications,
        functions: Functions,
    ) -> None:
        CfnOutput(
            self,
            "WorkerRoleArn",
            value=functions.worker_role.role_arn,
            description="The principal a client's CostReportingReadOnly role trusts (docs/deploy.md)",
        )
        CfnOutput(self, "AssetsBucket", value=storage.assets.bucket_name)
        CfnOutput(self, "AuditBucket", value=storage.audit.bucket_name)
        CfnOutput(self, "JobsQueueUrl", value=fanout.jobs_queue.queue_url)
        CfnOutput(self, "ExportJobsQueueUrl", value=fanout.export_jobs_queue.queue_url)
        CfnOutput(self, "AlertsTopicArn", value=notifications.alerts_topic.topic_arn)
        CfnOutput(self, "SenderEmail", value=notifications.sender_email)
        identity = notifications.identity
        for number, (name, value) in enumerate(
            (
                (identity.dkim_dns_token_name1, identity.dkim_dns_token_value1),
                (identity.dkim_dns_token_name2, identity.dkim_dns_token_value2),
                (identity.dkim_dns_token_name3, identity.dkim_dns_token_value3),
            ),
            start=1,
        ):
            CfnOutput(self, f"DkimRecord{number}", value=f"{name} CNAME {value}", description="Publish in DNS")


def environments_from_context(requested: object) -> tuple[str, ...]:
    """`-c environment=prod|staging|dev|all`; none given means all. Anything else: one clear line."""
    if requested in (None, "", "all"):
        return DEPLOYABLE
    if requested not in DEPLOYABLE:
        raise SystemExit(f"environment: must be one of {', '.join(DEPLOYABLE)} or all, not {requested!r}")
    return (str(requested),)


def build_app(app: App) -> list[CostReportingStack]:
    """The stacks named by `-c environment=` (default: every deployable environment), with
    cdk-nag's AwsSolutions checks as a validation plugin: any unacknowledged finding fails synth."""
    names = environments_from_context(app.node.try_get_context("environment"))
    layer_dir = assets.build_layer()
    data_exports_layer_dir = assets.build_data_exports_layer()
    code_dir = assets.stage_code()
    stacks = []
    for name in names:
        config = for_environment(name)
        stacks.append(
            CostReportingStack(
                app,
                config=config,
                sender_email=app.node.try_get_context("sender_email") or config.sender_email,
                alert_email=app.node.try_get_context("alert_email") or None,
                code_dir=code_dir,
                layer_dir=layer_dir,
                data_exports_layer_dir=data_exports_layer_dir,
            )
        )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks
