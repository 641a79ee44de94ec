"""The worker's settings for an environment, from its names (infrastructure/config.py): what the
stack puts in the worker's environment, for the CLI and the embedded AWS to run the same code."""

from __future__ import annotations

from infrastructure.config import TABLES, EnvironmentConfig
from lambdas.models.settings import Settings


def secrets_reader_arn(config: EnvironmentConfig, account: str) -> str:
    return f"arn:aws:iam::{account}:role/{config.secrets_reader_role}"


def worker_settings(
    config: EnvironmentConfig, *, account: str, queue_url: str = "", export_queue_url: str = ""
) -> Settings:
    """Every table of TABLES under its own name, the link signer's secret and the secrets reader
    role (which the stack creates, and `local up` provisions the same way)."""
    return Settings(
        client_secrets_prefix=config.secrets_prefix,
        secrets_reader_role_arn=secrets_reader_arn(config, account),
        environment=config.environment,
        assets_bucket=config.assets_bucket,
        jobs_queue_url=queue_url,
        export_jobs_queue_url=export_queue_url,
        sender_email=config.sender_email,
        configuration_set=config.configuration_set,
        link_signer_secret=config.link_signer_secret,
        **{attribute: getattr(config, attribute) for attribute in TABLES},
    )
