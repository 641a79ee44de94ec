"""Settings of the Lambda functions, read once from the environment the stack sets."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    environment: str = Field(default="local", validation_alias="PLATFORM_ENVIRONMENT")
    clients_table: str = Field(validation_alias="CLIENTS_TABLE")
    executions_table: str = Field(validation_alias="EXECUTIONS_TABLE")
    idempotency_table: str = Field(validation_alias="IDEMPOTENCY_TABLE")
    assets_bucket: str = Field(validation_alias="ASSETS_BUCKET")
    jobs_queue_url: str = Field(default="", validation_alias="JOBS_QUEUE_URL")
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # values come from the environment
