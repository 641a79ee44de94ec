"""SES v2 sender of raw MIME messages (HTML + text + attachments in one message)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import ACCESS_DENIED_CODES, PlatformAdapter, error_code
from lambdas.models.exceptions import AccessDeniedError, DeliveryRejectedError, DependencyError

_REJECTED = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
    "NotFoundException",
}


class Mailer(PlatformAdapter):
    SERVICE = "sesv2"

    def __init__(self, sender: str, configuration_set: str = "", client: Any | None = None) -> None:
        super().__init__(client)
        self.sender = sender
        self.configuration_set = configuration_set

    def send_raw(self, message: bytes, recipients: list[str], *, tags: dict[str, str] | None = None) -> str:
        """Send one message to its recipients; return SES's message id. `tags` become SES message
        tags, which SES copies into bounce and complaint events (see models/ses_events.py)."""
        kwargs: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": recipients},
            "Content": {"Raw": {"Data": message}},
        }
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        if tags:
            kwargs["EmailTags"] = [{"Name": name, "Value": value} for name, value in tags.items()]
        try:
            return str(self.client.send_email(**kwargs)["MessageId"])
        except ClientError as error:
            code = error_code(error)
            if code in _REJECTED:
                raise DeliveryRejectedError(f"SES refused the message ({code})") from None
            if code in ACCESS_DENIED_CODES:  # the platform's role may not send from this identity
                raise AccessDeniedError(f"SES refused the sender ({code})") from None
            raise DependencyError(f"SES failed after retries ({code})") from None
        except BotoCoreError as error:
            raise DependencyError(f"SES unreachable ({type(error).__name__})") from None
