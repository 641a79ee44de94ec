"""Secrets Manager as one client's run may read it: only that client's own secrets (stored access
keys, chat webhook URLs), checked by name before any read, and read through a session of the
secrets reader role tagged with the client (the stack's ClientSecrets construct), whose policy
lets IAM serve only secrets carrying the same `client_id` tag. A record naming another client's
secret is refused twice: here, and by IAM.

Without a reader role (the CLI, with the operator's own credentials) the name check still applies.
Secret values never reach a message.
"""

from __future__ import annotations

from typing import Any

from lambdas.dal.aws import AwsCredentials, client_with, platform_client
from lambdas.models.exceptions import UnauthorizedError
from lambdas.models.ownership import SECRET_OWNER_TAG, own_secret_rule, secret_belongs_to

SESSION_SECONDS = 900  # STS's minimum: one run reads its client's few secrets at its start and after the send


class ClientSecrets:
    def __init__(
        self,
        client_id: str,
        *,
        prefix: str = "",
        reader_role_arn: str = "",
        sts: Any | None = None,
        secrets: Any | None = None,
    ) -> None:
        self.client_id = client_id
        self.prefix = prefix
        self.reader_role_arn = reader_role_arn
        self._sts = sts
        self._secrets = secrets

    def owns(self, secret_name: str) -> bool:
        return secret_belongs_to(self.client_id, secret_name, self.prefix)

    def check(self, secret_name: str) -> None:
        """Refuse, before anything is read, a secret that is not this client's own."""
        if not self.owns(secret_name):
            rule = own_secret_rule(self.client_id).replace("<prefix>", self.prefix or "<prefix>")
            raise UnauthorizedError(f"secret {secret_name} is not client {self.client_id}'s: it {rule}")

    def get(self, secret_name: str) -> str:
        """The secret's value (botocore errors are the caller's to map: refused, missing, unreachable)."""
        self.check(secret_name)
        return str(self.client.get_secret_value(SecretId=secret_name)["SecretString"])

    @property
    def client(self) -> Any:
        """Secrets Manager in a session tagged with the client (assumed on first use), or on the
        platform's credentials when no reader role is configured."""
        if self._secrets is None:
            if self.reader_role_arn:
                sts = self._sts or platform_client("sts")
                answer = sts.assume_role(
                    RoleArn=self.reader_role_arn,
                    RoleSessionName=f"cost-reporting-secrets-{self.client_id}"[:64],
                    DurationSeconds=SESSION_SECONDS,
                    Tags=[{"Key": SECRET_OWNER_TAG, "Value": self.client_id}],
                )["Credentials"]
                credentials = AwsCredentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"])
                self._secrets = client_with("secretsmanager", credentials)
            else:
                self._secrets = platform_client("secretsmanager")
        return self._secrets
