"""The client side of the embedded AWS's own endpoints (emulator/server.py), on loopback only:
its admin API under `/_emulator/` and moto's reset. The CLI's local commands, the demo, the
bench and the tests call these; nothing here imports moto, so calling is cheap."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def admin(endpoint_url: str, path: str, payload: dict[str, Any] | None = None, *, timeout: float = 10.0) -> Any:
    """GET `/_emulator/<path>`, or POST `payload` to it as JSON; the JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(  # noqa: S310 - the embedded AWS on loopback
        f"{endpoint_url}/_emulator/{path}",
        data=data,
        method="GET" if data is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - the embedded AWS on loopback
        return json.loads(answer.read())


def reset(endpoint_url: str, *, timeout: float = 10.0) -> None:
    """Empty every moto backend (moto's own `/moto-api/reset`): a fresh AWS, same server."""
    request = urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - the embedded AWS on loopback
        answer.read()
