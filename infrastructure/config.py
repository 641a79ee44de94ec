"""Resource names and settings per environment: the one place the stack, the CLI,
the embedded AWS and the tests take them from.

Pure Python (no CDK import) so the CLI and the Lambda-side tooling can use it
without loading jsii.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Environment = Literal["prod", "staging", "dev", "local"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)

PREFIX = "cost-reporting"
# Audit events stay locked this long (S3 Object Lock, governance mode): the runbook's audits read a
# year back, as the ACCESS log lines kept 13 months in production.
AUDIT_RETENTION_DAYS = 400
SERVICE_NAME = "cost-reporting"
METRICS_NAMESPACE = "CostReporting"
# The embedded AWS runs the handlers in process, in a context of these limits (emulator/lambda_runtime.py):
# the local environment's stand-in for a function's memory and timeout.
LOCAL_FUNCTION_MEMORY_MB, LOCAL_FUNCTION_TIMEOUT_S = 1024, 300

# The jobs queue and the worker's event source (infrastructure/constructs/fanout.py; the emulator's
# bootstrap and history use the same). Up to 10 runs per worker invocation (SQS's largest receive):
# the dispatcher queues the clients that share a payer next to each other, so they share a batch.
# The operations reviews size a batch's duration with it.
WORKER_BATCH = 10
# A run that failed this many receives goes to the dead-letter queue and raises the DLQ alarm.
MAX_RECEIVES = 5

# The export worker: the function that runs the clients whose cost source is data_exports, with
# DuckDB in its own layer (docs/data-exports.md "Deployment"), so the Cost Explorer worker's code
# and layer stay under 10 MB zipped and never load DuckDB. Sized from the read's measurements
# (docs/data-exports.md "The thresholds", bench/exports.py) for a report at the in-process threshold:
# the most Parquet one run reads in process (MAX_IN_PROCESS_BYTES, lambdas/dal/data_exports.py;
# tests/infrastructure/test_export_worker.py keeps the two equal). Past it the run belongs on Athena.
EXPORT_IN_PROCESS_MB = 1024
# Memory: about 115 MB fixed (Python, boto3, DuckDB) plus 5.0 MB per MB of Parquet read, measured
# through 10 and 1,000 accounts: 5,235 MB at the threshold, rounded up to the next GiB (6,144 MB,
# 3.5 vCPUs). Lambda's largest size (10,240 MB) would hold about 2 GB of Parquet: the threshold is half.
EXPORT_READ_FIXED_MB = 115
EXPORT_READ_MB_PER_PARQUET_MB = 5
EXPORT_WORKER_MEMORY_MB = (
    -(-(EXPORT_READ_FIXED_MB + EXPORT_READ_MB_PER_PARQUET_MB * EXPORT_IN_PROCESS_MB) // 1024) * 1024
)
# /tmp: the Parquet fetched (the threshold at most: the reader checks the manifests' sizes before any
# download) plus as much again for what DuckDB spills past its memory limit.
EXPORT_WORKER_TMP_MB = 2 * EXPORT_IN_PROCESS_MB
# Read speed 32 to 56 s per GB of Parquet: a report at the threshold reads in 30 to 60 s. 300 s is five
# times the slowest, for the download, the render and the send; the duration alarm fires at 80%.
EXPORT_WORKER_TIMEOUT_S = 300
# One run per invocation: a run at the threshold takes most of the function's memory and /tmp, and
# export clients share no Cost Explorer query that a batch would let them share.
EXPORT_WORKER_BATCH = 1
# Where in the assets bucket a payer's own S3 replication delivers a copy of its Data Export (a client's
# `data_export.access: replicated`, whose bucket is then the assets bucket): the workers' role reads that
# prefix only. The stack itself does not replicate anything.
# lambdas/models/export_source.py states it for the runtime; a test keeps the two equal.
REPLICATED_EXPORTS_PREFIX = "exports/"


@dataclass(frozen=True)
class EnvironmentConfig:
    """Every name the runbook and the code use for one environment."""

    environment: str

    @property
    def suffix(self) -> str:
        return "" if self.environment == "prod" else f"-{self.environment}"

    def _name(self, base: str) -> str:
        return f"{PREFIX}-{base}{self.suffix}"

    @property
    def service_name(self) -> str:
        """Powertools service: the `service` dimension of every metric, so environments sharing
        an account and the CostReporting namespace never mix their figures or alarms."""
        return f"{SERVICE_NAME}{self.suffix}"

    @property
    def stack_name(self) -> str:
        return f"CostReporting-{self.environment}"

    @property
    def worker_function(self) -> str:
        return f"{PREFIX}-lambda{self.suffix}"

    @property
    def worker_role(self) -> str:
        return f"{PREFIX}-lambda-role{self.suffix}"

    @property
    def export_worker_function(self) -> str:
        """Runs the clients whose cost source is data_exports (DuckDB in its own layer), under the
        worker's role: clients' read-only roles trust that one role (docs/deploy.md)."""
        return f"{PREFIX}-export-worker{self.suffix}"

    @property
    def dispatcher_function(self) -> str:
        return self._name("dispatcher")

    @property
    def feedback_function(self) -> str:
        return self._name("feedback")

    @property
    def clients_table(self) -> str:
        return self._name("clients")

    @property
    def executions_table(self) -> str:
        return self._name("executions")

    @property
    def cost_cache_table(self) -> str:
        """Cost Explorer answers per account and day (docs/cost-explorer.md): closed months are never fetched twice."""
        return self._name("cost-cache")

    @property
    def idempotency_table(self) -> str:
        return self._name("idempotency")

    @property
    def assets_bucket(self) -> str:
        """Base name; a deployed bucket may carry a globally unique suffix (see `bucket_matches`)."""
        return self._name("assets")

    @property
    def jobs_queue(self) -> str:
        return self._name("jobs")

    @property
    def dead_letter_queue(self) -> str:
        return self._name("jobs-dlq")

    @property
    def export_jobs_queue(self) -> str:
        """The data_exports clients' runs, from the dispatcher to the export worker."""
        return self._name("export-jobs")

    @property
    def export_dead_letter_queue(self) -> str:
        return self._name("export-jobs-dlq")

    @property
    def alerts_topic(self) -> str:
        return self._name("alerts")

    @property
    def dashboard(self) -> str:
        return "Cost-Reporting-System" + ("" if self.environment == "prod" else f"-{self.environment}")

    @property
    def configuration_set(self) -> str:
        return self._name("email")

    @property
    def secrets_prefix(self) -> str:
        """Stored client access keys live under this Secrets Manager path, and only there."""
        return f"{PREFIX}{self.suffix}/clients/"

    @property
    def secrets_reader_role(self) -> str:
        """The role the worker reads a client's secrets through, in a session tagged with that client:
        its policy lets a session read only secrets carrying the same `client_id` tag."""
        return f"{PREFIX}-secrets-reader{self.suffix}"

    @property
    def audit_bucket(self) -> str:
        """Base name of the audit trail's bucket (deployed with an account and region suffix): S3 Object
        Lock in governance mode keeps every event for AUDIT_RETENTION_DAYS, whoever asks to delete it."""
        return self._name("audit")

    @property
    def backup_key_alias(self) -> str:
        """The HMAC key (KMS) that signs backup manifests: a backup is restored only if KMS verifies it."""
        return f"alias/{PREFIX}-backup{self.suffix}"

    @property
    def link_signer_user(self) -> str:
        """The IAM user whose access key signs the reports' links: only a user's key lasts the 7 days
        of a SigV4 presigned URL (a role's credentials expire first, and the link with them)."""
        return f"{PREFIX}-link-signer{self.suffix}"

    @property
    def link_signer_secret(self) -> str:
        """Where the link signer's access key is kept: the platform's own (system) secrets, apart from
        the clients' path."""
        return f"{PREFIX}{self.suffix}/system/link-signer"

    @property
    def traced_functions(self) -> frozenset[str]:
        """Functions whose Powertools Tracer is on: X-Ray subsegments of their AWS calls (botocore only,
        lambdas/observability.py). Elsewhere POWERTOOLS_TRACE_DISABLED keeps the X-Ray SDK out of the
        cold start (about 45 ms of CPU, bench/results.json) while Lambda's own active tracing still
        records each invocation's init and duration. On for dev's worker, the one function whose time
        goes to many AWS calls, so that a slow run is traced before it reaches production."""
        return frozenset({self.worker_function}) if self.environment == "dev" else frozenset()

    @property
    def client_role_pattern(self) -> str:
        """The only role names the worker may assume in a client's account."""
        return "CostReportingReadOnly*"

    @property
    def suppressions_table(self) -> str:
        """Recipients SES reported as bouncing or complaining, per client (the feedback handler's)."""
        return self._name("suppressions")

    @property
    def feedback_topic(self) -> str:
        """SES bounce and complaint events, published by the configuration set."""
        return self._name("ses-feedback")

    @property
    def events_dead_letter_queue(self) -> str:
        """Asynchronous invocations (schedules, SES feedback) that failed every retry."""
        return self._name("events-dlq")

    @property
    def access_logs_bucket(self) -> str:
        """Base name of the S3 server access log bucket (deployed with an account and region suffix)."""
        return self._name("access-logs")

    @property
    def kms_alias(self) -> str:
        """The project's customer-managed key: tables, bucket, queues, topics and client secrets."""
        return f"alias/{PREFIX}{self.suffix}"

    @property
    def sender_email(self) -> str:
        return "reports@example.com" if self.environment == "local" else f"reports@{self.environment}.example.com"

    @property
    def cost_allocation_tags(self) -> dict[str, str]:
        """The tags the stack puts on every resource: activated as cost allocation tags, they pick
        the platform's own bill out of the account's (`costs report`, `costs trends`)."""
        return {"project": PREFIX, "environment": self.environment}

    @property
    def deployed_by_stack(self) -> bool:
        """False for `local`: emulator/provision.py creates only the data plane there and the
        handlers run in process, so no Lambda function, alarm or dashboard exists to check."""
        return self.environment != "local"

    def bucket_matches(self, name: str, base: str | None = None) -> bool:
        """Is `name` this environment's assets bucket (or the bucket of base name `base`), with or
        without the deployed account-and-region suffix?"""
        base = base or self.assets_bucket
        return name == base or (name.startswith(base + "-") and not _other_env_bucket(name, base))


def _other_env_bucket(name: str, base: str) -> bool:
    rest = name[len(base) + 1 :]
    return any(rest == env or rest.startswith(env + "-") for env in ENVIRONMENTS if env != "prod")


def for_environment(environment: str) -> EnvironmentConfig:
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment: must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
    return EnvironmentConfig(environment)


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: str
    projection: tuple[str, ...] = ()  # keys only when empty


@dataclass(frozen=True)
class TableSpec:
    """Keys of a DynamoDB table: the stack and the local bootstrap both build from these."""

    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    indexes: tuple[IndexSpec, ...] = ()


TABLES: dict[str, TableSpec] = {
    # Sparse index: only active clients carry `due_schedule`, so the dispatcher's query reads
    # exactly the clients due on a schedule, never a scan.
    "clients_table": TableSpec("client_id", indexes=(IndexSpec("by-schedule", "due_schedule"),)),
    "executions_table": TableSpec("client_id", "run_id", ttl_attribute="expires_at"),
    # Powertools idempotency records: partition key "id", TTL "expiration".
    "idempotency_table": TableSpec("id", ttl_attribute="expiration"),
    # One item per (credential scope, account, metric, granularity, dataset) and month; TTL past CE's history.
    "cost_cache_table": TableSpec("pk", "period", ttl_attribute="expires_at"),
    # One item per suppressed recipient of a client (email lower-cased), written by the SES feedback handler.
    "suppressions_table": TableSpec("client_id", "email"),
}
