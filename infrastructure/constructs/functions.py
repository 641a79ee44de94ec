"""The four Lambda functions, their roles and log groups, the shared layer and the Data Exports layer.

Sizing comes from measurement (`make bench`, bench/results.json; docs/architecture.md "Sizing, from
measurement"): the worker's CPU per report and peak memory for the demo's largest client, and the
Lambda cost per 1,000 reports they give at 256, 512 and 1,024 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.assets import LAMBDA_ARCHITECTURE, LAMBDA_PYTHON
from infrastructure.config import (
    EXPORT_WORKER_MEMORY_MB,
    EXPORT_WORKER_TIMEOUT_S,
    EXPORT_WORKER_TMP_MB,
    EnvironmentConfig,
)
from infrastructure.constructs.nag import acknowledge

RUNTIME_VERSION = LAMBDA_PYTHON
RUNTIME = lambda_.Runtime(f"python{RUNTIME_VERSION}", lambda_.RuntimeFamily.PYTHON)
ARCHITECTURE = lambda_.Architecture.X86_64 if LAMBDA_ARCHITECTURE == "x86_64" else lambda_.Architecture.ARM_64


@dataclass(frozen=True)
class Sizing:
    memory_mb: int
    timeout: Duration
    tmp_mb: int | None = None  # ephemeral storage (/tmp); None: Lambda's default, 512 MB


# 512 MB: the bench's sizing rule (bench/startup.py, docs/architecture.md): the smallest size that
# holds the worker's measured peak (112 MB for the demo's largest client, its workbook included) at
# half its memory or less, room for clients twice as large before the runbook's 80% line, and runs
# the slowest report's CPU (1.4 s at 0.29 vCPU; 2.9 s at 256 MB) in 2 s or less. CPU-bound work
# costs the same GB-seconds at any size below one vCPU; time spent waiting on AWS costs in
# proportion to memory, half of what it cost at 1,024 MB.
# 600 s for a batch of up to 10 runs (config.WORKER_BATCH): a minute per client, for Cost Explorer
# pages and throttling back-off. The duration alarm fires at 80% (480 s), long before a batch is cut off.
WORKER = Sizing(memory_mb=512, timeout=Duration.seconds(600))
# The export worker: the read's measured memory and /tmp at the in-process threshold, and five times
# its slowest read (infrastructure/config.py, docs/data-exports.md "Deployment").
EXPORT_WORKER = Sizing(
    memory_mb=EXPORT_WORKER_MEMORY_MB, timeout=Duration.seconds(EXPORT_WORKER_TIMEOUT_S), tmp_mb=EXPORT_WORKER_TMP_MB
)
# Measured 130 MB; its work is a paginated index query and SQS batches of 10: time grows with
# the number of due clients (10,000 clients are 1,000 SendMessageBatch calls).
DISPATCHER = Sizing(memory_mb=256, timeout=Duration.seconds(300))
# Measured 123 to 130 MB; one SNS notification per invocation, one conditional write per recipient.
FEEDBACK = Sizing(memory_mb=256, timeout=Duration.seconds(30))

ASYNC_RETRIES = 2  # Lambda's asynchronous retries before the event goes to the dead-letter queue


class Functions(Construct):
    """`worker`, `export_worker`, `dispatcher` and `feedback`, each with its own log group; each with
    its own role but the export worker, which runs under the worker's: a client's read-only role trusts
    that one role (docs/deploy.md), whichever of the two functions runs the client's report."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        code_dir: Path,
        layer_dir: Path,
        data_exports_layer_dir: Path,
        environment: dict[str, str],
        log_retention: logs.RetentionDays,
        events_dead_letter_queue: sqs.IQueue,
        retain_logs: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._environment = environment
        self._log_retention = log_retention
        self._log_removal = RemovalPolicy.RETAIN if retain_logs else RemovalPolicy.DESTROY
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Powertools, pydantic, Jinja2, css-inline, Babel, openpyxl (layers/requirements.txt, pruned)",
        )
        # DuckDB (layers/data-exports/requirements.txt): the export worker's alone.
        self.data_exports_layer = lambda_.LayerVersion(
            self,
            "DataExportsDependencies",
            code=lambda_.Code.from_asset(str(data_exports_layer_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="DuckDB, for the Data Exports reader (layers/data-exports/requirements.txt)",
        )
        self._code = lambda_.Code.from_asset(str(code_dir))
        self.roles: dict[str, iam.Role] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        self.worker = self._function(
            "Worker",
            name=config.worker_function,
            role_name=config.worker_role,
            handler="lambdas.handlers.worker.handler",
            sizing=WORKER,
            description="One client's cost report per SQS message",
        )
        # The worker's role and log group: the operators' audits search that one log group for every
        # ACCESS and UNAUTHORIZED line (DESIGN's names); each line names its function (Powertools'
        # `function_name`), so the two workers' lines stay apart.
        self.export_worker = self._function(
            "ExportWorker",
            name=config.export_worker_function,
            role=self.worker_role,
            log_group=self.log_groups["Worker"],
            handler="lambdas.handlers.export_worker.handler",
            sizing=EXPORT_WORKER,
            description="One data_exports client's cost report per SQS message, read with DuckDB",
            extra_layers=[self.data_exports_layer],
        )
        self.dispatcher = self._function(
            "Dispatcher",
            name=config.dispatcher_function,
            role_name=f"{config.dispatcher_function}-role",
            handler="lambdas.handlers.dispatcher.handler",
            sizing=DISPATCHER,
            description="Queues one run per client due on the schedule that fired",
            dead_letter_queue=events_dead_letter_queue,
        )
        self.feedback = self._function(
            "Feedback",
            name=config.feedback_function,
            role_name=f"{config.feedback_function}-role",
            handler="lambdas.handlers.feedback.handler",
            sizing=FEEDBACK,
            description="Records SES bounces and complaints as recipient suppressions",
            dead_letter_queue=events_dead_letter_queue,
        )

    @property
    def worker_role(self) -> iam.Role:
        return self.roles["Worker"]

    def _function(
        self,
        construct_id: str,
        *,
        name: str,
        handler: str,
        sizing: Sizing,
        description: str,
        role_name: str | None = None,
        role: iam.Role | None = None,
        log_group: logs.LogGroup | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        extra_layers: list[lambda_.ILayerVersion] | None = None,
    ) -> lambda_.Function:
        if log_group is None:
            log_group = logs.LogGroup(
                self,
                f"{construct_id}Logs",
                log_group_name=f"/aws/lambda/{name}",
                retention=self._log_retention,
                removal_policy=self._log_removal,
            )
            self.log_groups[construct_id] = log_group
        # A role per function (or the worker's, given), written out rather than AWSLambdaBasicExecutionRole
        # (which may write to any log group): this function's log group only; the stack adds the rest.
        own_role = role is None
        if role is None:
            role = iam.Role(
                self,
                f"{construct_id}Role",
                role_name=role_name,
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"{name}: {description}",
            )
            self.roles[construct_id] = role
            log_group.grant(role, "logs:CreateLogStream", "logs:PutLogEvents")
        function = lambda_.Function(
            self,
            construct_id,
            function_name=name,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=self._code,
            layers=[self.layer, *(extra_layers or [])],
            memory_size=sizing.memory_mb,
            ephemeral_storage_size=Size.mebibytes(sizing.tmp_mb) if sizing.tmp_mb else None,
            timeout=sizing.timeout,
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            # The Powertools Tracer only where it is worth its cold start (EnvironmentConfig.traced_functions).
            environment={
                **self._environment,
                "POWERTOOLS_TRACE_DISABLED": "false" if name in self._config.traced_functions else "true",
            },
            dead_letter_queue=dead_letter_queue,
            retry_attempts=ASYNC_RETRIES if dead_letter_queue else None,
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            f"python{RUNTIME_VERSION} is a supported Lambda runtime. The layer's compiled wheels (pydantic-core, "
            "css-inline, wrapt) are built for exactly this CPython version (infrastructure/assets.py), so a runtime "
            "upgrade is a deliberate change of that one constant and a rebuilt layer, never a silent drift.",
        )
        if own_role:
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
                "permissions (the Service Authorization Reference lists no resource type for them).",
            )
        return function
