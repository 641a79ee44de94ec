import pytest

from lambdas.models.client import parse_client
from lambdas.models.exceptions import InvalidInputError
from tests.unit.factories import client_record


def test_a_valid_record_parses():
    client = parse_client(client_record(budget="1200.50"))
    assert client.client_id == "acme"
    assert str(client.budget) == "1200.50"
    assert client.credentials.type == "role"


def test_stored_key_credentials_name_a_secret_only():
    client = parse_client(
        client_record(credentials={"type": "stored_keys", "secret_name": "cost-reporting/clients/acme"})
    )
    assert client.credentials.type == "stored_keys"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"recipients": ["not-an-email"]}, "recipients.0"),
        ({"recipients": []}, "recipients"),
        ({"account_ids": ["12345"]}, "account_ids.0"),
        ({"account_ids": ["111111111111", "111111111111"]}, "account_ids"),
        ({"schedule": "hourly"}, "schedule"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "usd"}, "currency"),
        ({"client_id": "Acme Corp"}, "client_id"),
        ({"client_id": "аcme"}, "client_id"),  # Cyrillic a: a look-alike id
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "Acme\u202eevil"}, "name"),  # right-to-left override
        ({"name": "Acme\u2028Bcc: x@evil.example"}, "name"),  # line separator: ends a header line
        ({"name": "Acme\u2029Retail"}, "name"),  # paragraph separator
        ({"name": "Acme\u00a0Retail"}, "name"),  # no-break space: a look-alike of "Acme Retail"
        ({"name": "Acme\u3000Retail"}, "name"),  # ideographic space
        ({"metric": "BlendedCost"}, "metric"),
        ({"budget": "-5"}, "budget"),
        ({"status": "deleted"}, "status"),
        ({"colour": "blue"}, "colour"),
        (
            {"credentials": {"type": "role", "role_arn": "arn:aws:iam::1:user/x", "external_id": "abc"}},
            "credentials.role.role_arn",
        ),
        ({"credentials": {"type": "password"}}, "credentials"),
    ],
)
def test_bad_fields_are_named_in_one_line(overrides, field):
    with pytest.raises(InvalidInputError) as caught:
        parse_client(client_record(**overrides))
    assert caught.value.field == field
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u00a0", "\u2003", "\u3000"])
def test_a_name_holding_a_separator_other_than_a_plain_space_is_refused_naming_the_character(separator):
    with pytest.raises(InvalidInputError, match=f"U\\+{ord(separator):04X}"):
        parse_client(client_record(name=f"Acme{separator}Retail"))
    assert parse_client(client_record(name="Acme Retail")).name == "Acme Retail"


def test_a_record_that_is_not_an_object():
    with pytest.raises(InvalidInputError, match="record: must be a JSON object"):
        parse_client(["acme"])


@pytest.mark.parametrize(
    "secret_name",
    [
        "cost-reporting/clients/globex",  # another client's keys
        "cost-reporting/clients/acme-retail",  # an id that merely starts with this one's
        "cost-reporting/clients/globex/acme",
        "cost-reporting/clients/",
        "cost-reporting/system/link-signer",  # the platform's own
        "acme",
        "clients/acme",  # no environment prefix before clients/
    ],
)
def test_stored_keys_must_be_the_clients_own_secret(secret_name):
    with pytest.raises(InvalidInputError) as caught:
        parse_client(client_record(credentials={"type": "stored_keys", "secret_name": secret_name}))
    assert caught.value.field == "credentials"
    assert secret_name in str(caught.value) and "client's own" in str(caught.value)


@pytest.mark.parametrize(
    "secret_name", ["cost-reporting-dev/clients/globex/slack", "cost-reporting/clients/acmex/slack", "acme/slack"]
)
def test_a_webhook_must_be_the_clients_own_secret(secret_name):
    webhooks = [
        {"kind": "teams", "secret_name": "cost-reporting/clients/acme/teams"},
        {"kind": "slack", "secret_name": secret_name},
    ]
    with pytest.raises(InvalidInputError) as caught:
        parse_client(client_record(webhooks=webhooks))
    assert caught.value.field == "webhooks"
    assert f"entry 1: secret_name {secret_name}" in str(caught.value)


def test_the_clients_own_secrets_are_accepted_in_any_environment():
    client = parse_client(
        client_record(
            credentials={"type": "stored_keys", "secret_name": "cost-reporting-staging/clients/acme"},
            webhooks=[{"kind": "slack", "secret_name": "cost-reporting-staging/clients/acme/slack"}],
        )
    )
    assert client.credentials.secret_name == "cost-reporting-staging/clients/acme"


@pytest.mark.parametrize(
    ("name", "prefix", "owned"),
    [
        ("cost-reporting/clients/acme", "cost-reporting/clients/", True),
        ("cost-reporting/clients/acme/slack", "cost-reporting/clients/", True),
        ("cost-reporting-dev/clients/acme", "cost-reporting/clients/", False),  # another environment's
        ("cost-reporting/clients/acme-2", "cost-reporting/clients/", False),
        ("cost-reporting/clients/acme/", "cost-reporting/clients/", False),
    ],
)
def test_with_the_environments_prefix_the_check_is_exact(name, prefix, owned):
    from lambdas.models.client import secret_belongs_to

    assert secret_belongs_to("acme", name, prefix) is owned


# -- recipients: the full check at onboarding, the address's shape on every run ----------------------

import email_validator  # noqa: E402 - the onboarding check the run-time one is held to
from hypothesis import example, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lambdas.models.client import SPECIAL_USE_DOMAINS  # noqa: E402


def recipients_of(address: str, *, onboarding: bool) -> list[str]:
    return parse_client(client_record(recipients=[address]), onboarding=onboarding).recipients


@given(st.emails())
@example("x" * 65 + "@corpus.example")  # over RFC 5321's 64, yet email_validator accepts it
@example("Ops.Team+costs@Mail.XN--P1AI")
@example("o'neil@a1.example.co")
def test_every_address_onboarding_accepts_passes_every_run_unchanged(address):
    try:
        onboarded = recipients_of(address, onboarding=True)
    except InvalidInputError:
        return  # refused at onboarding: never stored
    assert recipients_of(onboarded[0], onboarding=False) == onboarded
    assert recipients_of(address, onboarding=False) == onboarded


@pytest.mark.parametrize(
    "address",
    [
        "not-an-email",
        "finance@localhost",
        "finance@printer.local",
        "finance@example.invalid",
        "a..b@corpus.example",
        ".a@corpus.example",
        "a@-corpus.example",
        "a@corpus_x.example",
        "a@corpus.123",
        "a@[192.0.2.1]",
        '"a b"@corpus.example',
        "Finance <finance@corpus.example>",
        "a@corpus.example\r\nBcc: x@evil.example",
        "fin\u00e4nce@corpus.example",
    ],
)
def test_what_every_run_refuses_onboarding_refuses_too(address):
    for onboarding in (False, True):
        with pytest.raises(InvalidInputError) as caught:
            recipients_of(address, onboarding=onboarding)
        assert caught.value.field == "recipients.0"


def test_the_special_use_names_are_email_validators():
    assert set(email_validator.SPECIAL_USE_DOMAIN_NAMES) == SPECIAL_USE_DOMAINS


def test_domain_is_lower_cased_as_onboarding_does():
    assert recipients_of("Ops@ACME.Example", onboarding=False) == ["Ops@acme.example"]
    assert recipients_of("Ops@ACME.Example", onboarding=True) == ["Ops@acme.example"]
