"""A registered client: who gets which report, from which AWS accounts, with which credentials.

Recipients are checked twice over. At onboarding (`client add`, `update`, `import`, a restore:
`parse_client(..., onboarding=True)`) with email_validator, the full RFC and deliverability-syntax
check. On every run (dispatcher, worker, and the CLI reading stored records) with `_address_shape`,
the same dot-atom address and host-name domain SES needs, without importing email_validator
(its compiled grammar is a cold-start cost every run would pay for records it already checked).
Every address the full check accepts passes the run-time check unchanged (a property test holds
the two together), so a record onboarded once is never refused later for its recipients.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from lambdas.models.exceptions import InvalidInputError
from lambdas.models.export_source import ExportSource
from lambdas.models.ownership import own_secret_rule, secret_belongs_to

Schedule = Literal["daily", "weekly", "monthly"]
SCHEDULES: tuple[str, ...] = ("daily", "weekly", "monthly")
CostMetric = Literal["UnblendedCost", "AmortizedCost", "NetAmortizedCost"]
ClientStatus = Literal["active", "paused"]
CostSource = Literal["cost_explorer", "data_exports"]

# The validation context key that asks for the onboarding checks (`parse_client(..., onboarding=True)`).
ONBOARDING = "onboarding"
# RFC 5322 dot-atom local part (no quoted strings, as email_validator by default) and a host name
# of LDH labels under a top-level domain that is not all digits (no address literals).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_ADDRESS = re.compile(rf"(?P<local>{_ATEXT}(?:\.{_ATEXT})*)@(?P<domain>(?:{_LABEL}\.)+(?P<tld>{_LABEL}))")
# Special-use names no mail is delivered to (RFC 6761, 6762, 7686), as email_validator refuses them;
# a test keeps the two lists equal.
SPECIAL_USE_DOMAINS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_MAX_DOMAIN = 253


@cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def _plain_text(value: str) -> str:
    """Names are shown in emails, subjects and tables: no control characters, no invisible tricks,
    no separator but the plain space. A line or paragraph separator (U+2028, U+2029) would end a
    mail header line early (every run of the client failing at the Subject); a no-break or ideographic
    space makes two names that look alike."""
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    for char in value:
        category = unicodedata.category(char)
        if category.startswith("C"):
            raise ValueError(f"contains a control or invisible character (U+{ord(char):04X})")
        if category.startswith("Z") and char != " ":
            raise ValueError(f"contains a separator other than a plain space (U+{ord(char):04X})")
    return value


def _identifier(value: str) -> str:
    # ASCII only: a look-alike letter (Cyrillic 'а' for 'a') must not make a second client.
    if not value.isascii() or not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", value):
        raise ValueError("use ASCII lower-case letters, digits and inner hyphens")
    return value


def _recipient(value: str, info: ValidationInfo) -> str:
    """An address SES can deliver to, in the form it needs. SES takes 7-bit ASCII only (no SMTPUTF8),
    an internationalised domain in its xn-- form: a look-alike domain (Cyrillic 'а' in 'аcme') then
    shows as the xn-- name it is, instead of passing for the client's own."""
    value = value.strip()
    if not value.isascii():
        raise ValueError("must be ASCII (write an internationalised domain in its xn-- form)")
    if info.context and info.context.get(ONBOARDING):
        return _validated_address(value)
    return _address_shape(value)


def _validated_address(value: str) -> str:
    """Onboarding: email_validator's full check (imported here: the runs never need it)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"value is not a valid email address: {error}") from None
    return checked.ascii_email or value


def _address_shape(value: str) -> str:
    """Every run: the address's shape, in the normal form the full check gives (domain in lower case)."""
    match = _ADDRESS.fullmatch(value)
    if match is None:
        raise ValueError("value is not a valid email address: write it as name@domain.tld")
    local, domain = match["local"], match["domain"].lower()
    # No limit on the local part here: email_validator accepts one over RFC 5321's 64 characters, and
    # an address onboarding accepted must pass every run (the 254 characters of the whole still hold).
    if len(domain) > _MAX_DOMAIN or match["tld"].isdigit():
        raise ValueError("value is not a valid email address: its domain is too long, or not a name")
    if any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE_DOMAINS):
        raise ValueError("value is not a valid email address: its domain is a special-use name that receives no mail")
    return f"{local}@{domain}"


ClientId = Annotated[str, StringConstraints(min_length=2, max_length=64), AfterValidator(_identifier)]
Recipient = Annotated[str, StringConstraints(max_length=254), AfterValidator(_recipient)]
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=120), AfterValidator(_plain_text)]


class RoleCredentials(BaseModel):
    """A read-only role in the client's (payer) account, assumed with an external id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["role"] = "role"
    role_arn: Annotated[
        str,
        StringConstraints(
            max_length=200,
            pattern=r"^arn:aws(?:-cn|-us-gov)?:iam::[0-9]{12}:role/(?:[A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$",
        ),
    ]
    external_id: Annotated[str, StringConstraints(min_length=2, max_length=1224, pattern=r"^[A-Za-z0-9+=,.@:/_-]+$")]

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]


class StoredKeyCredentials(BaseModel):
    """Access keys kept in Secrets Manager; the record holds only the secret's name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["stored_keys"] = "stored_keys"
    secret_name: Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9/_+=.@-]+$")]
    rotated_at: datetime | None = None


Credentials = Annotated[RoleCredentials | StoredKeyCredentials, Field(discriminator="type")]


class Breakdown(BaseModel):
    """An extra section by a cost allocation tag or a cost category the client chose."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["tag", "cost_category"]
    key: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9 _.:/=+@-]+$")]


class Webhook(BaseModel):
    """A Slack or Microsoft Teams incoming webhook. The URL is a secret: the record names the
    Secrets Manager secret that holds it, never the URL itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["slack", "teams"]
    secret_name: Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9/_+=.@-]+$")]


class Client(BaseModel):
    """One client of the platform. Unknown fields are refused so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: ClientId
    name: DisplayName
    account_ids: Annotated[list[AccountId], Field(min_length=1, max_length=1000)]
    credentials: Credentials
    recipients: Annotated[list[Recipient], Field(min_length=1, max_length=50)]
    schedule: Schedule = "daily"
    currency: str = "USD"
    metric: CostMetric = "UnblendedCost"
    budget: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)] | None = None
    locale: str = "en_US"
    include_credits: bool = True
    breakdown: Breakdown | None = None
    forecast_source: Literal["daily_trend", "cost_explorer"] = "daily_trend"
    # Where the costs are read: Cost Explorer (the default), or the payer's Data Export in S3
    # (FOCUS 1.2 or CUR 2.0 Parquet, docs/data-exports.md), which `data_export` then names.
    cost_source: CostSource = "cost_explorer"
    data_export: Annotated[ExportSource | None, Field(validate_default=True)] = None
    # Cost Explorer requests (pages) one run may send. None: a budget that follows the client's size
    # (its plan, from what earlier answers showed), under the environment's cap (CE_REQUEST_CAP).
    max_ce_requests: Annotated[int, Field(ge=1, le=1000)] | None = None
    # True: when the core figures cannot all be read, send the report anyway, marked partial.
    send_partial: bool = False
    attach_xlsx: bool = False
    webhooks: Annotated[list[Webhook], Field(max_length=5)] = []
    status: ClientStatus = "active"
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("credentials")
    @classmethod
    def _own_stored_keys(cls, value: RoleCredentials | StoredKeyCredentials, info: ValidationInfo) -> Any:
        """A record naming another client's keys would read that client's costs (and share its cache
        scope): the secret must be this client's own."""
        client_id = info.data.get("client_id")
        if (
            isinstance(value, StoredKeyCredentials)
            and client_id
            and not secret_belongs_to(client_id, value.secret_name)
        ):
            raise ValueError(f"secret_name {value.secret_name} {own_secret_rule(client_id)}")
        return value

    @field_validator("webhooks")
    @classmethod
    def _own_webhooks(cls, value: list[Webhook], info: ValidationInfo) -> list[Webhook]:
        """A record naming another client's webhook would post its summary into that client's channel."""
        client_id = info.data.get("client_id")
        for number, webhook in enumerate(value):
            if client_id and not secret_belongs_to(client_id, webhook.secret_name):
                raise ValueError(f"entry {number}: secret_name {webhook.secret_name} {own_secret_rule(client_id)}")
        return value

    @field_validator("data_export")
    @classmethod
    def _export_named(cls, value: ExportSource | None, info: ValidationInfo) -> ExportSource | None:
        """A client read from a Data Export must say which one (an export named while the source is
        still Cost Explorer is kept: it can be checked before the switch)."""
        if value is None and info.data.get("cost_source") == "data_exports":
            raise ValueError("cost_source data_exports needs the export: bucket, prefix, export_name, format")
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in _currencies() or not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError("must be an ISO 4217 code such as USD or EUR")
        return value

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            parsed = Locale.parse(value)
        except (ValueError, UnknownLocaleError):
            raise ValueError("must be a locale such as en_US, de_DE or fr_FR") from None
        if str(parsed) != value:
            raise ValueError(f"write it as {parsed}")
        return value

    @field_validator("account_ids")
    @classmethod
    def _unique_accounts(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an account more than once")
        return value

    @field_validator("recipients")
    @classmethod
    def _unique_recipients(cls, value: list[str]) -> list[str]:
        lowered = [v.lower() for v in value]
        if len(set(lowered)) != len(lowered):
            raise ValueError("lists a recipient more than once")
        return value

    @property
    def active(self) -> bool:
        return self.status == "active"


def describe_validation_error(error: ValidationError) -> tuple[str, str]:
    """The first problem of a pydantic error as (field path, problem): one clear line."""
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"] if not str(part).startswith(("function-", "RoleCredentials"))]
    # Discriminated unions add the tag ("role") to the path: keep it readable.
    field = ".".join(loc) or "record"
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return field, message


def parse_client(data: Any, *, onboarding: bool = False) -> Client:
    """Validate a client record from any source; raise InvalidInputError naming the field.
    `onboarding`: a record about to be written (add, update, import, restore) also gets the full
    recipient check (the module docstring)."""
    if not isinstance(data, dict):
        raise InvalidInputError("record", "must be a JSON object")
    try:
        return Client.model_validate(data, context={ONBOARDING: True} if onboarding else None)
    except ValidationError as error:
        field, problem = describe_validation_error(error)
        raise InvalidInputError(field, problem) from None
