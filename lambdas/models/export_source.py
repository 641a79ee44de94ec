"""Where a client's AWS Data Export lives, and how the platform reads it (docs/data-exports.md).

A Data Export writes Parquet under `s3://<bucket>/<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/`
and its manifest under `.../metadata/BILLING_PERIOD=YYYY-MM/<export-name>-Manifest.json`. The record
names the bucket, the prefix and the export's name (the three parts of that path the payer chose),
the table the export was created from (`focus_1_2`: FOCUS 1.2 with AWS columns; `cur_2_0`: CUR 2.0)
and how the platform reaches it: the client's read-only role (`client_role`, the onboarding template
grants s3:GetObject and s3:ListBucket on the prefix) or a replication into a prefix of the
platform's own bucket (`replicated`).

Each field is checked on its own, so a bad record is refused with one line naming the field.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

ExportFormat = Literal["focus_1_2", "cur_2_0"]
ExportAccess = Literal["client_role", "replicated"]
EXPORT_FORMATS: tuple[str, ...] = ("focus_1_2", "cur_2_0")

# S3 general purpose bucket naming rules: 3-63 characters, lower-case letters, digits, dots and
# hyphens, starting and ending with a letter or digit, no two adjacent dots, not an IP address,
# none of the reserved prefixes and suffixes.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# Data Exports: an export name of letters, digits, hyphens and underscores (up to 128).
_EXPORT_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
# A prefix of plain key segments, no leading or trailing slash, no "." or ".." segment.
_SEGMENT = re.compile(r"[A-Za-z0-9!_.*'()=-]+")


def _bucket_name(value: str) -> str:
    if not _BUCKET.fullmatch(value):
        raise ValueError(
            "must be 3-63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit"
        )
    if ".." in value:
        raise ValueError("must not hold two adjacent dots")
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        pass
    else:
        raise ValueError("must not be formatted as an IP address")
    if value.startswith(_RESERVED_PREFIXES) or value.endswith(_RESERVED_SUFFIXES):
        raise ValueError("uses a prefix or suffix S3 reserves")
    return value


def _key_prefix(value: str) -> str:
    if value.startswith("/") or value.endswith("/"):
        raise ValueError("write it without a leading or trailing slash")
    for segment in value.split("/"):
        if not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
            raise ValueError(f"segment {segment!r} is not a plain S3 key segment")
    return value


def _export_name(value: str) -> str:
    if not _EXPORT_NAME.fullmatch(value):
        raise ValueError("use letters, digits, hyphens and underscores (at most 128)")
    return value


BucketName = Annotated[str, AfterValidator(_bucket_name)]
KeyPrefix = Annotated[str, StringConstraints(min_length=1, max_length=512), AfterValidator(_key_prefix)]
ExportName = Annotated[str, AfterValidator(_export_name)]


class ExportSource(BaseModel):
    """One client's Data Export: bucket, prefix, export name, table and access path."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: BucketName
    prefix: KeyPrefix
    export_name: ExportName
    format: ExportFormat = "focus_1_2"
    access: ExportAccess = "client_role"

    @property
    def root(self) -> str:
        """The key prefix every object of the export is under (`<prefix>/<export-name>/`)."""
        return f"{self.prefix}/{self.export_name}/"

    def data_prefix(self, billing_period: str) -> str:
        """`<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/`."""
        return f"{self.root}data/BILLING_PERIOD={billing_period}/"

    def manifest_key(self, billing_period: str) -> str:
        """`<prefix>/<export-name>/metadata/BILLING_PERIOD=YYYY-MM/<export-name>-Manifest.json`."""
        return f"{self.root}metadata/BILLING_PERIOD={billing_period}/{self.export_name}-Manifest.json"


# Where the payer's replication delivers a client's export in the platform's assets bucket: each
# client's under its own prefix, so that no record can name another client's copy.
REPLICATED_EXPORTS_PREFIX = "exports"


def replicated_prefix(client_id: str) -> str:
    return f"{REPLICATED_EXPORTS_PREFIX}/{client_id}"


def replicated_export_problem(client_id: str, export: ExportSource, platform_bucket: str) -> tuple[str, str] | None:
    """Why a replicated export may not be read for this client (the field and the reason), or None.
    `client add` refuses such a record; the run refuses it again before reading anything."""
    if export.access != "replicated":
        return None
    if export.bucket != platform_bucket:
        return (
            "data_export.bucket",
            f"a replicated export is read from the platform's bucket {platform_bucket}, "
            f"not {export.bucket} (access client_role reads the payer's bucket with the client's role)",
        )
    own = replicated_prefix(client_id)
    if export.prefix != own and not export.prefix.startswith(own + "/"):
        return (
            "data_export.prefix",
            f"a replicated export of client {client_id} is under {own}/ "
            f"in the platform's bucket, not {export.prefix} (the platform reads a client's own prefix only)",
        )
    return None
