"""What one run is wired to: the Protocols of ports.py, filled with the real adapters of
lambdas/dal by `dependencies_from` (Lambda env or CLI config), or with fakes by a test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lambdas import clock
from lambdas.dal.archive import ReportArchive
from lambdas.dal.aws import AwsCredentials, client_with, platform_client
from lambdas.dal.client_secrets import ClientSecrets
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.cost_cache import CostCache
from lambdas.dal.cost_explorer import CostExplorer
from lambdas.dal.credentials import CredentialProvider
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.mailer import Mailer
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.dal.webhooks import WebhookSender
from lambdas.models.settings import DEFAULT_CE_REQUEST_CAP, Settings
from lambdas.orchestration.ports import (
    Archive,
    CellCache,
    ChatChannels,
    ClientRecords,
    CostSource,
    CredentialSource,
    ExportQueries,
    RunRecords,
    Sender,
    SuppressionList,
)


def export_s3(credentials: AwsCredentials | None) -> Any:
    """The S3 client a Data Export is read with: on the client's credentials (its role), or the
    platform's own for an export replicated into the platform's bucket (None)."""
    return platform_client("s3") if credentials is None else client_with("s3", credentials)


@dataclass
class Dependencies:
    clients: ClientRecords
    executions: RunRecords
    credentials: CredentialSource
    archive: Archive
    mailer: Sender
    cost_explorer: Callable[[AwsCredentials], CostSource] = field(
        default=lambda credentials: CostExplorer(client_with("ce", credentials))
    )
    clock: Callable[[], datetime] = clock.now
    cost_cache: Callable[[], CellCache] = lambda: CostCache("")  # a fresh one per run: it holds the run's cells
    suppressions: SuppressionList | None = None
    webhooks: ChatChannels | None = None
    link_signer_secret: str = ""  # where the link signer's key is kept; empty: sign with the platform's own
    # A client's own view of Secrets Manager (stored keys, webhook URLs): under the environment's prefix,
    # through a session tagged with the client where the stack provides the secrets reader role.
    client_secrets: Callable[[str], ClientSecrets] = ClientSecrets
    ce_request_cap: int = DEFAULT_CE_REQUEST_CAP  # the most Cost Explorer requests one run may send
    export_s3: Callable[[AwsCredentials | None], Any] = export_s3
    # Athena for a Data Export past the in-process threshold; None: no workgroup, such a run fails saying so.
    export_athena: Callable[[], ExportQueries] | None = None


def dependencies_from(settings: Settings) -> Dependencies:
    """The adapters of the real pipeline, named by the settings (Lambda env or CLI config)."""
    return Dependencies(
        clients=ClientsTable(settings.clients_table),
        executions=ExecutionsTable(settings.executions_table, ttl_days=settings.execution_ttl_days),
        credentials=CredentialProvider(),
        archive=ReportArchive(settings.assets_bucket),
        mailer=Mailer(settings.sender_email, settings.configuration_set),
        cost_cache=lambda: CostCache(settings.cost_cache_table),
        suppressions=SuppressionsTable(settings.suppressions_table) if settings.suppressions_table else None,
        webhooks=WebhookSender(allow_loopback=settings.environment == "local"),
        link_signer_secret=settings.link_signer_secret,
        client_secrets=lambda client_id: ClientSecrets(
            client_id, prefix=settings.client_secrets_prefix, reader_role_arn=settings.secrets_reader_role_arn
        ),
        ce_request_cap=settings.ce_request_cap,
        export_athena=_athena(settings) if settings.athena_workgroup else None,
    )


def _athena(settings: Settings) -> Callable[[], ExportQueries]:
    def athena() -> ExportQueries:
        from lambdas.dal.athena import Athena  # only for an export past the in-process threshold

        return Athena(platform_client("athena"), workgroup=settings.athena_workgroup, database=settings.athena_database)

    return athena
