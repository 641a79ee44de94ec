"""A client's AWS Data Export in S3: its partitions, manifests and the Parquet files they list.

Layout (AWS Data Exports):

    <prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/*.parquet
    <prefix>/<export-name>/metadata/BILLING_PERIOD=YYYY-MM/<export-name>-Manifest.json

The manifest is written after the data files, so a partition is read only through its manifest:
the files it lists, nothing else in the prefix (a refresh may be writing the next set). A partition
without a manifest is still being written: not read. The boto3 client is the client's (its
read-only role, `access: client_role`) or the platform's (`replicated`): the caller picks it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import error_code
from lambdas.logic.export_schema import FORMAT_NAMES, TABLE_FORMATS
from lambdas.models.exceptions import DependencyError, ExportAccessError, ExportDataError, ExportTooLargeError
from lambdas.models.export_source import ExportSource

_DENIED = {"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
_MISSING = {"NoSuchKey", "404", "NotFound"}
# One function reads this much Parquet in process at most (docs/data-exports.md, measured by
# bench/exports.py): past it, the client's report runs its SQL on Athena.
MAX_IN_PROCESS_BYTES = 1024**3


@dataclass
class Partition:
    """One billing period of the export, as its manifest lists it."""

    period: str
    keys: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)  # local copies, once fetched

    @property
    def bytes(self) -> int:
        return sum(self.sizes.values())


class DataExports:
    """Reads one export's partitions into a scratch directory (under /tmp in Lambda)."""

    def __init__(self, s3: Any, export: ExportSource) -> None:
        self.s3 = s3
        self.export = export
        self.bytes_read = 0
        self.requests = 0  # S3 requests made (LIST, GET, HEAD): what the reading costs
        # Billing period -> when its manifest was written: the data is as new as that delivery.
        self.delivered: dict[str, datetime] = {}

    def _call(self, operation: str, **kwargs: Any) -> Any:
        self.requests += 1
        try:
            return getattr(self.s3, operation)(**kwargs)
        except ClientError as error:
            code = error_code(error)
            where = f"s3://{self.export.bucket}/{kwargs.get('Key') or kwargs.get('Prefix', '')}"
            if code in _DENIED:
                raise ExportAccessError(f"data_export: S3 refused {operation} on {where} ({code})") from None
            if code in _MISSING:
                raise FileNotFoundError(where) from None
            if code == "NoSuchBucket":
                raise ExportDataError(f"data_export.bucket: no bucket {self.export.bucket}") from None
            raise DependencyError(f"S3 {operation} failed on {where} ({code})") from None
        except BotoCoreError as error:
            raise DependencyError(f"S3 unreachable ({type(error).__name__})") from None

    def partitions(self) -> set[str]:
        """The billing periods the export has data for (`BILLING_PERIOD=YYYY-MM/` under data/)."""
        found: set[str] = set()
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "Bucket": self.export.bucket,
                "Prefix": f"{self.export.root}data/",
                "Delimiter": "/",
            }
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list_objects_v2", **kwargs)
            for common in page.get("CommonPrefixes") or []:
                name = str(common.get("Prefix", "")).rstrip("/").rsplit("/", 1)[-1]
                if name.startswith("BILLING_PERIOD="):
                    found.add(name.split("=", 1)[1])
            token = page.get("NextContinuationToken")
            if not token:
                return found

    def manifest(self, period: str) -> dict[str, Any] | None:
        """The period's manifest, or None while the export is still being written."""
        key = self.export.manifest_key(period)
        try:
            answer = self._call("get_object", Bucket=self.export.bucket, Key=key)
            body = answer["Body"].read()
        except FileNotFoundError:
            return None
        if isinstance(answer.get("LastModified"), datetime):
            self.delivered[period] = answer["LastModified"]
        try:
            manifest = json.loads(body)
        except ValueError:
            raise ExportDataError(f"{key}: the manifest is not JSON") from None
        if not isinstance(manifest, dict):
            raise ExportDataError(f"{key}: the manifest is not a JSON object")
        return manifest

    def partition(self, period: str, manifest: dict[str, Any]) -> Partition:
        """The files the manifest lists (their sizes from S3), checked against the export's format."""
        where = self.export.manifest_key(period)
        table = manifest.get("tableName")
        if table is not None and TABLE_FORMATS.get(str(table)) != self.export.format:
            found = FORMAT_NAMES.get(TABLE_FORMATS.get(str(table), ""), str(table))
            raise ExportDataError(f"{where}: the export delivers {found}, the client's export is {self.export.format}")
        files = manifest.get("dataFiles")
        if not isinstance(files, list) or not files:
            raise ExportDataError(f"{where}: the manifest lists no dataFiles")
        partition = Partition(period, manifest=manifest)
        prefix = self.export.data_prefix(period)
        for entry in files:
            key = _key_of(str(entry), self.export.bucket)
            if not key.startswith(prefix):
                raise ExportDataError(f"{where}: lists {entry}, outside the partition {prefix}")
            partition.keys.append(key)
        listed = self._sizes(prefix)
        for key in partition.keys:
            if key not in listed:
                raise ExportDataError(f"{where}: lists {key}, which is not in the bucket (a refresh under way?)")
            partition.sizes[key] = listed[key]
        return partition

    def _sizes(self, prefix: str) -> dict[str, int]:
        sizes: dict[str, int] = {}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.export.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list_objects_v2", **kwargs)
            for item in page.get("Contents") or []:
                sizes[str(item["Key"])] = int(item.get("Size", 0))
            token = page.get("NextContinuationToken")
            if not token:
                return sizes

    def fetch(self, partitions: list[Partition], scratch: Path, *, max_bytes: int = MAX_IN_PROCESS_BYTES) -> None:
        """Download the partitions' files into `scratch`, after checking they fit one function."""
        total = sum(partition.bytes for partition in partitions)
        if total > max_bytes:
            raise ExportTooLargeError(
                f"the report's billing periods hold {total:,} bytes of Parquet, over the {max_bytes:,} one "
                "function reads in process: run it on Athena"
            )
        for partition in partitions:
            folder = scratch / f"BILLING_PERIOD={partition.period}"
            folder.mkdir(parents=True, exist_ok=True)
            for number, key in enumerate(partition.keys):
                path = folder / f"{number:05d}.parquet"
                try:
                    body = self._call("get_object", Bucket=self.export.bucket, Key=key)["Body"]
                except FileNotFoundError:
                    raise ExportDataError(f"{key}: listed by the manifest, gone from the bucket") from None
                with path.open("wb") as handle:
                    shutil.copyfileobj(body, handle, 1024 * 1024)
                self.bytes_read += path.stat().st_size
                partition.files.append(path)


def _key_of(entry: str, bucket: str) -> str:
    """A manifest's data file entry (`s3://bucket/key` or a key) as a key of the export's bucket."""
    if entry.startswith("s3://"):
        named, _, key = entry[len("s3://") :].partition("/")
        if named != bucket:
            raise ExportDataError(f"the manifest lists {entry}, in another bucket than {bucket}")
        return key
    return entry.lstrip("/")
