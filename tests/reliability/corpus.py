"""The bad input corpus: malformed client records and files, one entry each, with the field the
refusal must name. Three consumers read it (tests/reliability/test_bad_input.py): `client add`,
`client import`, and the dispatcher and worker reading the records straight from the table.

Every record is a valid one (`VALID`) with one thing wrong. `consumers` says where a case can
occur: a record DynamoDB cannot hold (no string `client_id`, more than 400 KB) never reaches the
table, and a file-level fault (bad JSON, bad encoding) exists only as a file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ADD, IMPORT, TABLE = "add", "import", "table"
EVERYWHERE = (ADD, IMPORT, TABLE)
FILES = (ADD, IMPORT)
MISSING = object()  # the field is absent from the record

# A role the embedded AWS does not hold (assumed as moto does): the demo payer's role wants its clients' own ids.
ROLE = {
    "type": "role",
    "role_arn": "arn:aws:iam::111111111110:role/CostReportingReadOnlyCorpus",
    "external_id": "acme-7f3a",
}
VALID: dict[str, Any] = {
    "client_id": "corpus-client",
    "name": "Corpus Client",
    "account_ids": ["111111111111", "111111111112"],
    "credentials": ROLE,
    "recipients": ["finance@corpus.example", "cto@corpus.example"],
    "schedule": "daily",
}


@dataclass(frozen=True)
class Case:
    id: str
    field: str  # what the one-line refusal must name
    changes: dict[str, Any] = field(default_factory=dict)
    consumers: tuple[str, ...] = EVERYWHERE

    def record(self, client_id: str | None = None) -> dict[str, Any]:
        """The malformed record; `client_id` renames it (the table holds every case at once)."""
        record = {**VALID, **({"client_id": client_id} if client_id else {})}
        for key, value in self.changes.items():
            if value is MISSING:
                record.pop(key, None)
            else:
                record[key] = value
        return record


def _role(**changes: Any) -> dict[str, Any]:
    return {**ROLE, **changes}


def _export(**changes: Any) -> dict[str, Any]:
    return {"bucket": "corpus-billing-exports", "prefix": "exports", "export_name": "corpus-focus", **changes}


RECORDS: list[Case] = [
    # client_id: the table's key, so only files can carry the ones DynamoDB cannot store
    Case("client_id-wrong-type", "client_id", {"client_id": 42}, FILES),
    Case("client_id-empty", "client_id", {"client_id": ""}, FILES),
    Case("client_id-missing", "client_id", {"client_id": MISSING}, FILES),
    Case("client_id-too-long", "client_id", {"client_id": "c" * 65}),
    Case("client_id-upper-case", "client_id", {"client_id": "Corpus-Client"}),
    Case("client_id-cyrillic-confusable", "client_id", {"client_id": "\u0441orpus-client"}),  # Cyrillic 'с'
    Case("client_id-path", "client_id", {"client_id": "../corpus"}),
    Case("client_id-trailing-hyphen", "client_id", {"client_id": "corpus-"}),
    # name
    Case("name-empty", "name", {"name": ""}),
    Case("name-blank", "name", {"name": "   "}),
    Case("name-too-long", "name", {"name": "N" * 121}),
    Case("name-wrong-type", "name", {"name": ["Corpus"]}),
    Case("name-right-to-left-override", "name", {"name": "Corpus \u202eeciovni"}),
    Case("name-zero-width-space", "name", {"name": "Corpus\u200bClient"}),
    Case("name-control-character", "name", {"name": "Corpus\x07Client"}),
    Case("name-line-separator", "name", {"name": "Corpus\u2028Client"}),  # would end the Subject header
    Case("name-paragraph-separator", "name", {"name": "Corpus\u2029Client"}),
    Case("name-no-break-space", "name", {"name": "Corpus\u00a0Client"}),
    # account_ids
    Case("account_ids-empty", "account_ids", {"account_ids": []}),
    Case("account_ids-not-a-list", "account_ids", {"account_ids": "111111111111"}),
    Case("account_ids-eleven-digits", "account_ids.0", {"account_ids": ["11111111111"]}),
    Case("account_ids-letters", "account_ids.0", {"account_ids": ["11111111111a"]}),
    Case("account_ids-number", "account_ids.0", {"account_ids": [111111111111]}),
    Case("account_ids-fullwidth-digits", "account_ids.0", {"account_ids": ["\uff11" * 12]}),
    Case("account_ids-duplicate", "account_ids", {"account_ids": ["111111111111", "111111111111"]}),
    Case("account_ids-too-many", "account_ids", {"account_ids": [f"{n:012d}" for n in range(1001)]}),
    # recipients
    Case("recipients-empty", "recipients", {"recipients": []}),
    Case("recipients-not-a-list", "recipients", {"recipients": "finance@corpus.example"}),
    Case("recipients-bad-email", "recipients.0", {"recipients": ["not-an-email"]}),
    Case("recipients-no-domain-dot", "recipients.0", {"recipients": ["finance@localhost"]}),
    Case("recipients-homograph-domain", "recipients.0", {"recipients": ["finance@\u0441orpus.example"]}),
    Case("recipients-non-ascii-local-part", "recipients.0", {"recipients": ["fin\u00e4nce@corpus.example"]}),
    Case("recipients-header-injection", "recipients.0", {"recipients": ["a@corpus.example\r\nBcc: x@evil.example"]}),
    Case("recipients-display-name", "recipients.0", {"recipients": ["Finance <finance@corpus.example>"]}),
    Case("recipients-duplicate-by-case", "recipients", {"recipients": ["a@corpus.example", "A@corpus.example"]}),
    Case("recipients-too-many", "recipients", {"recipients": [f"r{n}@corpus.example" for n in range(51)]}),
    # credentials
    Case("credentials-missing", "credentials", {"credentials": MISSING}),
    Case("credentials-unknown-type", "credentials", {"credentials": {"type": "password", "password": "hunter2"}}),
    Case("role_arn-short-account", "role_arn", {"credentials": _role(role_arn="arn:aws:iam::1:role/x")}),
    Case("role_arn-user-not-role", "role_arn", {"credentials": _role(role_arn="arn:aws:iam::111111111110:user/bob")}),
    Case("role_arn-other-service", "role_arn", {"credentials": _role(role_arn="arn:aws:s3:::corpus-bucket")}),
    Case("role_arn-wildcard", "role_arn", {"credentials": _role(role_arn="arn:aws:iam::111111111110:role/*")}),
    Case("external_id-empty", "external_id", {"credentials": _role(external_id="")}),
    Case("external_id-spaces", "external_id", {"credentials": _role(external_id="acme 7f3a")}),
    Case(
        "credentials-inline-secret-key",
        "secret_access_key",
        {"credentials": {"type": "stored_keys", "secret_name": "corpus", "secret_access_key": "wJalrXUtnFEMI"}},
    ),
    Case(
        "secret_name-spaces",
        "secret_name",
        {"credentials": {"type": "stored_keys", "secret_name": "cost reporting/keys"}},
    ),
    Case(
        "secret_name-another-clients-keys",
        "credentials",
        {"credentials": {"type": "stored_keys", "secret_name": "cost-reporting-local/clients/other-client"}},
    ),
    Case(
        "secret_name-a-client-id-that-extends-this-one",
        "credentials",
        {"credentials": {"type": "stored_keys", "secret_name": "cost-reporting-local/clients/corpus-client-2"}},
    ),
    # the other fields
    Case("schedule-unknown", "schedule", {"schedule": "hourly"}),
    Case("schedule-wrong-type", "schedule", {"schedule": 1}),
    Case("currency-lower-case", "currency", {"currency": "usd"}),
    Case("currency-unknown", "currency", {"currency": "XYZ"}),
    Case("metric-unknown", "metric", {"metric": "BlendedCost"}),
    Case("budget-negative", "budget", {"budget": "-5"}),
    Case("budget-not-a-number", "budget", {"budget": "a lot"}),
    Case("budget-fractions-of-a-cent", "budget", {"budget": "10.001"}),
    Case("locale-unknown", "locale", {"locale": "xx_YY"}),
    Case("max_ce_requests-zero", "max_ce_requests", {"max_ce_requests": 0}),
    Case("include_credits-not-a-boolean", "include_credits", {"include_credits": "maybe"}),
    Case("webhooks-unknown-kind", "webhooks.0.kind", {"webhooks": [{"kind": "discord", "secret_name": "corpus"}]}),
    Case("webhooks-url-in-the-record", "webhooks.0", {"webhooks": [{"kind": "slack", "url": "https://x"}]}),
    Case(
        "webhooks-another-clients-secret",
        "webhooks",
        {"webhooks": [{"kind": "slack", "secret_name": "cost-reporting-local/clients/other-client/slack"}]},
    ),
    # data_export (docs/data-exports.md): each field refused on its own
    Case("cost_source-unknown", "cost_source", {"cost_source": "s3"}),
    Case("cost_source-data_exports-without-export", "data_export", {"cost_source": "data_exports"}),
    Case("data_export-bucket-upper-case", "data_export.bucket", {"data_export": _export(bucket="Corpus_Exports")}),
    Case("data_export-bucket-ip-address", "data_export.bucket", {"data_export": _export(bucket="10.0.0.1")}),
    Case("data_export-prefix-leading-slash", "data_export.prefix", {"data_export": _export(prefix="/exports")}),
    Case("data_export-prefix-dot-dot", "data_export.prefix", {"data_export": _export(prefix="exports/../x")}),
    Case("data_export-export_name-space", "data_export.export_name", {"data_export": _export(export_name="a b")}),
    Case("data_export-format-unknown", "data_export.format", {"data_export": _export(format="focus_1_0")}),
    Case("data_export-access-unknown", "data_export.access", {"data_export": _export(access="public")}),
    Case("data_export-unknown-field", "data_export.region", {"data_export": _export(region="us-east-1")}),
    Case("status-unknown", "status", {"status": "deleted"}),
    Case("created_at-not-a-date", "created_at", {"created_at": "yesterday"}),
    Case("unknown-field", "budgett", {"budgett": "100"}),
]


@dataclass(frozen=True)
class FileCase:
    id: str
    message: str  # what the one-line refusal must say
    content: Callable[[], bytes]
    consumers: tuple[str, ...] = FILES


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


def _ten_megabytes() -> bytes:
    """10 MB: one record whose name alone is 10 MB."""
    return _json([dict(VALID, name="N" * 10 * 1024**2)])


FILE_CASES: list[FileCase] = [
    FileCase("invalid-json", "is not valid JSON", lambda: b'{"client_id": "corpus-client",'),
    FileCase("empty-file", "is not valid JSON", lambda: b""),
    FileCase("not-utf8", "is not UTF-8 text", lambda: '{"name": "Soci\u00e9t\u00e9"}'.encode("latin-1")),
    FileCase("nan-literal", "NaN is not a JSON number", lambda: b'[{"client_id": "corpus-client", "budget": NaN}]'),
    FileCase("duplicate-json-key", "appears twice in one object", lambda: b'[{"client_id": "a1", "client_id": "b2"}]'),
    FileCase("nested-too-deeply", "nested too deeply", lambda: b"[" * 100_000 + b"]" * 100_000),
    FileCase("ten-megabytes-one-record", "larger than the 1 MB limit", _ten_megabytes, (ADD,)),
    FileCase("ten-megabytes-import", "name: String should have at most 120 characters", _ten_megabytes, (IMPORT,)),
    FileCase("not-a-record", "expected one client record", lambda: b"[1, 2]", (ADD,)),
    FileCase("not-a-list", "expected a list of client records", lambda: b'{"clients": 3}', (IMPORT,)),
    FileCase(
        "duplicate-client-id",
        "client_id appears more than once in the file",
        lambda: _json([VALID, dict(VALID, name="Corpus Client Again")]),
        (IMPORT,),
    ),
]
