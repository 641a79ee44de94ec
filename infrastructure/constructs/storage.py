"""DynamoDB tables (built from `config.TABLES`, like the local bootstrap) and the assets bucket."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infrastructure.config import AUDIT_RETENTION_DAYS, TABLES, EnvironmentConfig, TableSpec

# Reports are read in the first weeks (questions, audits of the current quarter), rarely after.
REPORTS_TO_INFREQUENT_ACCESS = Duration.days(90)
REPORTS_TO_GLACIER_IR = Duration.days(365)
NONCURRENT_VERSIONS_KEPT = Duration.days(30)
ACCESS_LOGS_KEPT = Duration.days(400)  # a year of audits plus a margin


def _construct_id(attribute: str) -> str:
    return "".join(part.capitalize() for part in attribute.split("_"))


def _attribute(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Storage(Construct):
    """`tables[attribute]` for every entry of TABLES (named by the config property of that name),
    `assets` (reports) and `access_logs` (the assets bucket's server access logs)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, key: kms.IKey, retain: bool
    ) -> None:
        super().__init__(scope, construct_id)
        self._removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        self.tables: dict[str, dynamodb.Table] = {
            attribute: self._table(attribute, getattr(config, attribute), spec, key, config)
            for attribute, spec in TABLES.items()
        }

        self.access_logs = self._bucket(
            "AccessLogs",
            config.access_logs_bucket,
            key=None,  # S3 server access logging can only deliver to a bucket with S3-managed encryption.
            lifecycle_rules=[s3.LifecycleRule(id="ExpireAccessLogs", expiration=ACCESS_LOGS_KEPT)],
        )

        self.assets = self._bucket(
            "Assets",
            config.assets_bucket,
            key=key,
            access_logs_prefix="assets/",
            versioned=True,
            # S3's default: objects under 128 KB are not transitioned (IA and Glacier IR bill them as
            # 128 KB). Most report files are smaller and stay in Standard; spreadsheets and large
            # HTML reports move.
            transition_default_minimum_object_size=s3.TransitionDefaultMinimumObjectSize.ALL_STORAGE_CLASSES_128_K,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="OldReportsToCheaperStorage",
                    prefix="reports/",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=REPORTS_TO_INFREQUENT_ACCESS,
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=REPORTS_TO_GLACIER_IR,
                        ),
                    ],
                ),
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=NONCURRENT_VERSIONS_KEPT,
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
                s3.LifecycleRule(id="RemoveExpiredDeleteMarkers", expired_object_delete_marker=True),
            ],
        )

        # The audit trail of operators' changes (cli/audit.py): one new object per event, never
        # overwritten, and each version locked (S3 Object Lock, governance mode) for the retention
        # period: nobody deletes or rewrites an event unless they hold s3:BypassGovernanceRetention
        # and ask for it explicitly, which CloudTrail then records. Its own bucket: a default
        # retention applies to a whole bucket, and reports must stay deletable.
        self.audit = self._bucket(
            "Audit",
            config.audit_bucket,
            key=key,
            access_logs_prefix="audit/",
            versioned=True,  # Object Lock requires it
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.governance(Duration.days(AUDIT_RETENTION_DAYS)),
            lifecycle_rules=[
                s3.LifecycleRule(id="AbortIncompleteUploads", abort_incomplete_multipart_upload_after=Duration.days(7))
            ],
        )

    def table(self, attribute: str) -> dynamodb.Table:
        return self.tables[attribute]

    def _bucket(
        self,
        construct_id: str,
        base_name: str,
        *,
        key: kms.IKey | None,
        access_logs_prefix: str | None = None,
        **options: Any,
    ) -> s3.Bucket:
        """A private bucket (public access blocked, no ACLs, TLS only) named from its base name plus account
        and region: unique worldwide, found by config.bucket_matches. Encrypted with `key` (one KMS data key
        per bucket, not per object: far fewer KMS calls), or S3-managed without one; server access logs to
        `access_logs` under `access_logs_prefix`, if given."""
        encryption: dict[str, Any] = (
            {"encryption": s3.BucketEncryption.KMS, "encryption_key": key, "bucket_key_enabled": True}
            if key is not None
            else {"encryption": s3.BucketEncryption.S3_MANAGED}
        )
        if access_logs_prefix:
            options.update(server_access_logs_bucket=self.access_logs, server_access_logs_prefix=access_logs_prefix)
        return s3.Bucket(
            self,
            construct_id,
            bucket_name=f"{base_name}-{Aws.ACCOUNT_ID}-{Aws.REGION}",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            removal_policy=self._removal,
            **encryption,
            **options,
        )

    def _table(
        self,
        attribute: str,
        name: str,
        spec: TableSpec,
        key: kms.IKey,
        config: EnvironmentConfig,
    ) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            _construct_id(attribute),
            table_name=name,
            partition_key=_attribute(spec.partition_key),
            sort_key=_attribute(spec.sort_key) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=config.environment == "prod",
            time_to_live_attribute=spec.ttl_attribute,
            removal_policy=self._removal,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition_key),
                projection_type=(
                    dynamodb.ProjectionType.INCLUDE if index.projection else dynamodb.ProjectionType.KEYS_ONLY
                ),
                non_key_attributes=list(index.projection) or None,
            )
        return table
