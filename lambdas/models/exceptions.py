"""The platform's exception hierarchy. Handlers map outcomes by these types, never by message text.

Two families matter to the worker:
- `PermanentError`: retrying cannot help (bad client record, access denied, a Cost Explorer
  answer of an unexpected shape). The run is recorded as failed and the message is not retried.
- `TransientError`: a dependency failed in a way a later attempt may not (throttling that
  outlived the retries, a 5xx). The message returns to the queue.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base of every error the platform raises on purpose."""

    kind = "error"


class PermanentError(PlatformError):
    kind = "permanent"


class TransientError(PlatformError):
    kind = "transient"


class InvalidInputError(PermanentError):
    """Bad input: a client record, a file or a flag. The message names the field."""

    kind = "invalid_input"

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class ClientNotFoundError(PermanentError):
    kind = "client_not_found"

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        super().__init__(f"client_id: no client {client_id!r}")


class UnauthorizedError(PermanentError):
    """A credential or an access was refused. Logged with the UNAUTHORIZED marker."""

    kind = "unauthorized"


class CostDataError(PermanentError):
    """Cost Explorer answered with a shape the report cannot be built from."""

    kind = "cost_data"


class ExportDataError(CostDataError):
    """A Data Export the report cannot be built from: a file of another format or FOCUS version, a
    column of the wrong type, an account that is not the client's. The message names the file or
    column."""

    kind = "export_data"


class ExportTooLargeError(PermanentError):
    """The billing periods a report needs hold more Parquet than one function reads in process
    (docs/data-exports.md, the threshold): the client's report runs on Athena instead."""

    kind = "export_too_large"


class ExportAccessError(UnauthorizedError):
    """S3 refused the platform's read of a client's Data Export (role or bucket policy)."""

    kind = "export_access"


class WrongFunctionError(PermanentError):
    """A run reached a function that cannot do it (a Data Exports client's on the Cost Explorer
    worker, which has no DuckDB): retrying it there cannot help."""

    kind = "wrong_function"


class DeliveryRejectedError(PermanentError):
    """SES refused the message (unverified identity, rejected content)."""

    kind = "delivery_rejected"


class DependencyError(TransientError):
    """An AWS dependency failed after its retries."""

    kind = "dependency"


class AccessDeniedError(DependencyError):
    """One of the platform's own resources refused the platform's own role (an IAM or KMS policy
    gone wrong). Retried like any dependency failure, then kept in the dead-letter queue until an
    operator fixes the policy and redrives it: nothing is lost. Logged with the UNAUTHORIZED marker."""

    kind = "access_denied"


class OutOfTimeError(TransientError):
    """Too little of the invocation is left to finish a send before Lambda stops it: the run stops
    before claiming the delivery (its report is archived) and the message is retried."""

    kind = "out_of_time"


class DeliveryInProgressError(TransientError):
    """Another attempt of the same run holds the delivery and may still be sending: retried later,
    when that attempt has recorded its message id or can no longer be alive."""

    kind = "delivery_in_progress"
