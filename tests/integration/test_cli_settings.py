"""The CLI takes a deployed environment's settings from the worker function itself."""

from __future__ import annotations

import io
import json
import zipfile

from cli.context import settings
from infrastructure.config import for_environment
from lambdas.dal.aws import platform_client


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def test_a_deployed_environment_is_read_from_the_worker_functions_environment(platform):
    config = for_environment("dev")
    role = platform_client("iam").create_role(
        RoleName=config.worker_role,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    variables = {
        "CLIENTS_TABLE": config.clients_table,
        "EXECUTIONS_TABLE": config.executions_table,
        "IDEMPOTENCY_TABLE": config.idempotency_table,
        "ASSETS_BUCKET": config.assets_bucket + "-a1b2c3",
        "SENDER_EMAIL": "reports@billing.acme.example",
        "PLATFORM_ENVIRONMENT": "dev",
    }
    platform_client("lambda").create_function(
        FunctionName=config.worker_function,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": variables},
    )

    resolved = settings(config)

    assert resolved.sender_email == "reports@billing.acme.example"
    assert resolved.assets_bucket == config.assets_bucket + "-a1b2c3"


def test_without_a_deployed_function_the_configured_names_are_used(platform):
    config = for_environment("staging")
    resolved = settings(config)
    assert resolved.clients_table == config.clients_table
    assert resolved.sender_email == config.sender_email
