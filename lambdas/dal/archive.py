"""The S3 archive of reports: every client's objects under its own prefix."""

from __future__ import annotations

from typing import Any

from lambdas.dal.aws import AwsCredentials, PlatformAdapter, signing_client

# A SigV4 presigned URL lives at most 7 days, and never longer than the credentials that signed it:
# only an IAM user's access key (the link signer, docs/deploy.md) lasts the 7 days.
LINK_EXPIRY_SECONDS = 7 * 24 * 3600
# Signed with the platform's own credentials instead (a Lambda role's are temporary, their end not
# known in advance), a link is given a lifetime those credentials honour.
PLATFORM_LINK_EXPIRY_SECONDS = 3600


def report_prefix(client_id: str, run_id: str) -> str:
    return f"reports/{client_id}/{run_id}/"


class ReportArchive(PlatformAdapter):
    SERVICE = "s3"

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        super().__init__(client)
        self.bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        # Encryption at rest is the bucket's default (KMS in the stack).
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def get(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    def presigned_url(self, key: str, signer: AwsCredentials | None = None, expires_in: int | None = None) -> str:
        """A time-limited GET link to one archived object, signed locally (no request is made): with
        the link signer's key for LINK_EXPIRY_SECONDS, or without one with the platform's own
        credentials for PLATFORM_LINK_EXPIRY_SECONDS. The link says its lifetime (X-Amz-Expires)."""
        if expires_in is None:
            expires_in = LINK_EXPIRY_SECONDS if signer is not None else PLATFORM_LINK_EXPIRY_SECONDS
        s3 = signing_client("s3", signer) if signer is not None else self.client
        url: str = s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url
