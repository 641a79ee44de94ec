"""Settings of the Lambda functions, read once from the environment the stack sets.

A pydantic model validated from `os.environ` (each field's alias is its variable's name): what
pydantic-settings would do here, without its import (about 45 ms of every cold start, with
python-dotenv, for sources this platform does not use).
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_CE_REQUEST_CAP = 200  # USD 2.00 a report at most


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    environment: str = Field(default="local", validation_alias="PLATFORM_ENVIRONMENT")
    clients_table: str = Field(validation_alias="CLIENTS_TABLE")
    executions_table: str = Field(validation_alias="EXECUTIONS_TABLE")
    idempotency_table: str = Field(validation_alias="IDEMPOTENCY_TABLE")
    assets_bucket: str = Field(validation_alias="ASSETS_BUCKET")
    jobs_queue_url: str = Field(default="", validation_alias="JOBS_QUEUE_URL")
    # The export worker's queue: the dispatcher queues there the runs of clients whose cost source is
    # data_exports (DuckDB in that function's own layer). Empty: every run goes to the jobs queue.
    export_jobs_queue_url: str = Field(default="", validation_alias="EXPORT_JOBS_QUEUE_URL")
    sender_email: str = Field(validation_alias="SENDER_EMAIL")
    configuration_set: str = Field(default="", validation_alias="SES_CONFIGURATION_SET")
    execution_ttl_days: int = Field(default=400, validation_alias="EXECUTION_TTL_DAYS")
    # Cost Explorer cache (docs/cost-explorer.md); empty = no cache, every run asks Cost Explorer.
    cost_cache_table: str = Field(default="", validation_alias="COST_CACHE_TABLE")
    # Recipients SES reported as bouncing or complaining (written by the feedback handler).
    suppressions_table: str = Field(default="", validation_alias="SUPPRESSIONS_TABLE")
    # The secret holding the link signer's access key (docs/deploy.md); empty = links are signed with
    # the platform's own credentials, for as long as temporary credentials can honour.
    link_signer_secret: str = Field(default="", validation_alias="LINK_SIGNER_SECRET")
    # Clients' secrets live under this prefix, each under <prefix><client_id> (lambdas/models/ownership.py).
    client_secrets_prefix: str = Field(default="", validation_alias="CLIENT_SECRETS_PREFIX")
    # The role a client's secrets are read through, in a session tagged with the client (the stack's
    # ClientSecrets construct); empty: read with the platform's own credentials.
    secrets_reader_role_arn: str = Field(default="", validation_alias="SECRETS_READER_ROLE_ARN")
    # The most Cost Explorer requests (pages) one run may send, whatever the client's size: the
    # operator's cap on what one report can cost (USD 0.01 a request).
    ce_request_cap: int = Field(default=DEFAULT_CE_REQUEST_CAP, ge=1, le=10_000, validation_alias="CE_REQUEST_CAP")
    # Athena, for a Data Export past what one function reads in process (docs/data-exports.md): the
    # workgroup and the Glue database of the exports' tables; empty = no Athena, such a run fails saying so.
    athena_workgroup: str = Field(default="", validation_alias="ATHENA_WORKGROUP")
    athena_database: str = Field(default="", validation_alias="ATHENA_DATABASE")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
