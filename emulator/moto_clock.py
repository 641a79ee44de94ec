"""moto on the platform's one clock (lambdas/clock.py).

moto reads the system clock for the times it records and the windows it enforces: CloudWatch Logs
refuses events older than 14 days, Secrets Manager dates each secret version at request time. The
demo and the tests pin the platform's clock to a fixed day, so against a moto on the system clock
a history seeded for 27 November 2026 would be "too old" from mid-December on, and a key stored
"34 days ago" would be younger than that. The embedded AWS therefore reads the same clock as the
code it serves: moto's `utcnow` (every service's source of "now") and the `time.time()` of Secrets
Manager answer `lambdas.clock.now()`. Unpinned, that is the system clock, as before.

Installed once per process by `EmbeddedAWS`; nothing of moto's package files is changed.
"""

from __future__ import annotations

import sys
import time as system_time
from datetime import datetime
from types import SimpleNamespace

from lambdas import clock

_installed = False


def utcnow() -> datetime:
    """moto's naive-UTC "now", from the one clock."""
    return clock.now().replace(tzinfo=None)


def install() -> None:
    """Point moto's clocks at `lambdas.clock` (idempotent)."""
    global _installed
    if _installed:
        return
    import moto.core.utils as moto_utils
    import moto.secretsmanager.models as secrets_models

    original = moto_utils.utcnow
    moto_utils.utcnow = utcnow  # unix_time() and every later `from moto.core.utils import utcnow`
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.") and getattr(module, "utcnow", None) is original:
            module.utcnow = utcnow  # type: ignore[attr-defined]  # modules that imported it by name already
    # Secrets Manager dates versions with time.time(): the same clock, everything else of `time` as is.
    functions = {key: getattr(system_time, key) for key in dir(system_time) if not key.startswith("__")}
    functions["time"] = lambda: clock.now().timestamp()
    secrets_models.time = SimpleNamespace(**functions)  # type: ignore[assignment]
    _installed = True
