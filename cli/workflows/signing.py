"""Backup manifests signed with a KMS HMAC key (the stack's `BackupKey`, alias `backup_key_alias`).

A backup's checksums travel inside it: whoever rewrites a file can rewrite its checksum too, so a
forged archive validated. `backup create` now adds `manifest.sig`: KMS GenerateMac (HMAC_SHA_256)
over the manifest's exact bytes, and the ARN of the key that made it. `backup validate` and
`backup restore` have KMS verify it (VerifyMac): the key never leaves KMS, so only a principal
allowed kms:GenerateMac on it can make a manifest that verifies, and the manifest holds every
file's sha256.

The key recorded must be in the account the operator works in (a key of another account could be
anyone's). A backup whose key no longer exists (the environment's KMS was lost too, as in the local
drill) cannot be verified: `backup restore --accept-unverifiable` restores it anyway, on the
operator's word, and the audit event says so. A signature that KMS checks and refuses is never
restored.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from cli.reviews.checks import Check, Status
from infrastructure.config import EnvironmentConfig
from lambdas.dal.aws import error_code, platform_client

SIGNATURE = "manifest.sig"
ALGORITHM = "HMAC_SHA_256"
_GONE = {"NotFoundException", "KMSInvalidStateException", "DisabledException"}


@dataclass(frozen=True)
class Verdict:
    check: Check
    unverifiable: bool = False  # the key is gone: nothing says the backup is forged, nothing says it is not


def sign(config: EnvironmentConfig, manifest: bytes) -> bytes:
    """`manifest.sig` for these exact manifest bytes."""
    kms = platform_client("kms")
    answer = kms.generate_mac(KeyId=config.backup_key_alias, MacAlgorithm=ALGORITHM, Message=manifest)
    key = str(answer["KeyId"])  # AWS answers the key's ARN; the embedded AWS its id
    if not key.startswith("arn:"):
        key = str(kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"])
    document = {"algorithm": ALGORITHM, "key": key, "mac": base64.b64encode(answer["Mac"]).decode()}
    return (json.dumps(document, sort_keys=True) + "\n").encode()


def verify(manifest: bytes, signature: bytes | None) -> Verdict:
    name = "signature"
    if signature is None:
        return Verdict(Check(name, Status.CRITICAL, f"no {SIGNATURE}: the backup is not signed, it cannot be trusted"))
    try:
        document = json.loads(signature)
        key, mac = str(document["key"]), base64.b64decode(document["mac"], validate=True)
        if document.get("algorithm") != ALGORITHM:
            raise ValueError("algorithm")
    except (ValueError, KeyError, TypeError):
        return Verdict(Check(name, Status.CRITICAL, f"{SIGNATURE} is not a signature of this platform"))
    try:
        account = str(platform_client("sts").get_caller_identity()["Account"])
        if key.split(":")[4:5] != [account]:
            return Verdict(Check(name, Status.CRITICAL, f"signed with {key}, not a key of this account ({account})"))
        answer = platform_client("kms").verify_mac(Message=manifest, KeyId=key, MacAlgorithm=ALGORITHM, Mac=mac)
    except ClientError as error:
        code = error_code(error)
        if code == "KMSInvalidMacException":
            return _forged(key)
        if code in _GONE:
            detail = f"cannot be verified: the key that signed it ({key}) is gone ({code})"
            return Verdict(Check(name, Status.CRITICAL, detail), unverifiable=True)
        return Verdict(Check(name, Status.CRITICAL, f"cannot be verified ({code or 'error'})"))
    except (BotoCoreError, IndexError) as error:
        return Verdict(Check(name, Status.CRITICAL, f"cannot be verified ({type(error).__name__})"))
    if not answer.get("MacValid"):
        return _forged(key)
    return Verdict(Check(name, Status.OK, f"{ALGORITHM} of the manifest verified by KMS with {key}"))


def _forged(key: str) -> Verdict:
    detail = f"does not match the manifest: it was changed or forged (key {key})"
    return Verdict(Check("signature", Status.CRITICAL, detail))
