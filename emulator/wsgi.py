"""What the embedded AWS's WSGI layers share: reading a request's body without taking it from moto."""

from __future__ import annotations

import io
from typing import Any


def peek_body(environ: dict[str, Any]) -> bytes:
    """The request body as sent, put back for whoever reads it next (moto)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body
