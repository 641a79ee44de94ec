"""The S3 archive of reports: every client's objects under its own prefix."""

from __future__ import annotations

from typing import Any

from lambdas.dal.aws import platform_client

# SigV4 presigned URLs live at most 7 days. A URL signed with temporary credentials (a Lambda
# role's) stops working when those credentials expire, whatever the expiry asked for.
LINK_EXPIRY_SECONDS = 7 * 24 * 3600


def report_prefix(client_id: str, run_id: str) -> str:
    return f"reports/{client_id}/{run_id}/"


class ReportArchive:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = platform_client("s3")
        return self._client

    def put(self, key: str, body: bytes, content_type: str) -> None:
        # Encryption at rest is the bucket's default (KMS in the stack).
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def get(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    def presigned_url(self, key: str, expires_in: int = LINK_EXPIRY_SECONDS) -> str:
        """A time-limited GET link to one archived object (signed locally: no request is made)."""
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url
