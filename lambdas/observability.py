"""Logger, Metrics and Tracer, created once and imported everywhere.

Service name, namespace and log level come from the standard Powertools environment
variables the stack sets (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE,
POWERTOOLS_LOG_LEVEL); the defaults below serve local runs.

Every log line passes through `RedactingFormatter`: whatever a caller puts in `extra`, a
credential field's value (a secret access key, a session token, a webhook URL...) and anything
that looks like a presigned link or a chat webhook in any text are replaced before the line is
written. The code never logs those on purpose; this is the net under that rule.

botocore and urllib3 never log below INFO, whatever the root level: at DEBUG botocore writes
whole request and response bodies (a GetSecretValue answer, AssumeRole's credentials), and
Lambda's log level controls can turn the root logger to DEBUG.

The X-Ray Tracer is built only where tracing is on (`tracing_enabled`): importing the X-Ray SDK
costs about 0.2 s of every cold start (bench/results.json), so with tracing off the handlers get
`Untraced`, the Tracer's two decorators doing nothing, and the SDK is never imported. Where it is
on, it patches botocore only: the AWS calls become subsegments, while http.client and urllib stay
unpatched, so a webhook URL never reaches a trace.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

REDACTED = "[REDACTED]"
# Field names (lower-cased, without "_" and "-") whose values are credentials.
_CREDENTIAL_FIELDS = re.compile(
    r"secret|password|passwd|token|credential|authorization|apikey|privatekey|signature|externalid|webhookurl|hookurl"
)
# Credentials inside any text: SigV4 query signatures (presigned links), Slack / Teams webhook paths,
# Authorization headers, AWS secret keys in key=value form.
_CREDENTIAL_TEXT = re.compile(
    r"(?i)(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"']+"
    r"|(hooks\.slack\.com/services/)[^\s\"']+"
    r"|(\.webhook\.office\.com/)[^\s\"']+"
    r"|(/webhookb2/)[^\s\"']+"
    r"|([?&]sig=)[^&\s\"']+"
    r"|((?:aws_)?secret_?access_?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{20,}"
    r"|(Authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\n]+"
)


def _redact_text(text: str) -> str:
    return _CREDENTIAL_TEXT.sub(lambda match: next(group for group in match.groups() if group) + REDACTED, text)


def redact(value: Any, key: str = "") -> Any:
    """`value` with every credential in it replaced by [REDACTED] (see the module docstring)."""
    if key and _CREDENTIAL_FIELDS.search(key.lower().replace("_", "").replace("-", "")):
        return REDACTED if value not in (None, "", [], {}) else value
    if isinstance(value, dict):
        return {name: redact(item, str(name)) for name, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact(item) for item in value]
    if isinstance(value, bool | int | float | None):
        return value
    return _redact_text(str(value))  # text, and objects the JSON encoder would write as str() (exceptions)


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, redacting credentials from the whole line before it is written."""

    def serialize(self, log: Any) -> str:
        return super().serialize(redact(log))


# The stack sets these per environment, so two environments never mix their metrics.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "cost-reporting")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CostReporting")

logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())
for _name in ("botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(_name).setLevel(logging.INFO)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# The AWS calls a trace shows as subsegments; nothing else is patched (see the module docstring).
TRACED_MODULES = ("botocore",)
_Function = TypeVar("_Function", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    """Powertools' own rule: on in Lambda unless POWERTOOLS_TRACE_DISABLED says otherwise (the stack
    sets it per function and environment); off outside Lambda (tests, the CLI, the demo)."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not disabled and not os.environ.get("AWS_SAM_LOCAL")


class Untraced:
    """The Tracer's decorators where tracing is off: the function itself, unchanged."""

    def capture_lambda_handler(self, handler: _Function) -> _Function:
        return handler

    def capture_method(self, method: _Function) -> _Function:
        return method


def _tracer() -> Tracer | Untraced:
    if not tracing_enabled():
        return Untraced()
    from aws_lambda_powertools import Tracer  # imports the X-Ray SDK: only where tracing is on

    return Tracer(service=SERVICE, patch_modules=list(TRACED_MODULES))


tracer = _tracer()


@contextlib.contextmanager
def logs_to(stream: IO[str]) -> Iterator[None]:
    """Write the logger's lines to `stream` meanwhile (the CLI, the demo, the emulator, tests); in
    Lambda they go to stdout, which is CloudWatch Logs."""
    handler = cast("logging.StreamHandler[IO[str]]", logger.registered_handler)
    previous = handler.stream
    handler.setStream(stream)
    try:
        yield
    finally:
        handler.setStream(previous)


# Audit markers the runbook's log filters search for (DESIGN.md).
UNAUTHORIZED = "UNAUTHORIZED"
ACCESS = "ACCESS"


def audit(marker: str, message: str, *, client_id: str, requester: str, **fields: Any) -> None:
    """One audit line, as the runbook's filters find it: `ACCESS` for a read of a client's cost
    data (INFO), `UNAUTHORIZED` for a refused credential or access (WARNING); the message starts
    with the marker, and the JSON carries it as `audit` with the client and who asked."""
    log = logger.warning if marker == UNAUTHORIZED else logger.info
    log(f"{marker} {message}", extra={"audit": marker, "client_id": client_id, "requester": requester, **fields})
