"""Finding a secret wherever it may hide: as is, URL-encoded, JSON-escaped, or in base64 at any of
the three alignments it can take inside a longer base64 text (a MIME attachment, a blob)."""

from __future__ import annotations

import base64
import email
import io
import tarfile
from collections.abc import Iterable
from urllib.parse import quote


def forms(secret: str) -> set[str]:
    """Every way `secret` could appear in text."""
    raw = secret.encode()
    found = {secret, quote(secret, safe=""), secret.replace("/", "\\/")}
    for offset in range(3):
        # base64 of the secret preceded by `offset` unknown bytes: drop the characters those bytes
        # touch at the start and the incomplete group at the end; what remains is fixed.
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + raw).decode().rstrip("=")
            start = {0: 0, 1: 2, 2: 3}[offset]
            core = encoded[start : len(encoded) - 3]
            if len(core) >= 12:
                found.add(core)
    return found


def leaks(places: dict[str, str | bytes], secrets: Iterable[str]) -> list[str]:
    """`place: form` for every form of every secret found in any place."""
    needles = {form: secret for secret in secrets for form in forms(secret)}
    found = []
    for place, content in places.items():
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        found.extend(f"{place}: {needle[:8]}…" for needle in needles if needle in text)
    return found


def mime_parts(raw: str | bytes) -> dict[str, bytes]:
    """A MIME message and each of its parts decoded (base64 and quoted-printable undone)."""
    message = email.message_from_bytes(raw.encode() if isinstance(raw, str) else raw)
    parts = {"raw": raw.encode() if isinstance(raw, str) else raw}
    for number, part in enumerate(message.walk()):
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            parts[f"part {number} ({part.get_content_type()})"] = payload
    return parts


def archive_members(data: bytes) -> dict[str, bytes]:
    """The files of a .tar.gz (a backup), decompressed."""
    members = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            handle = archive.extractfile(member)
            if handle is not None:
                members[member.name] = handle.read()
    return members
