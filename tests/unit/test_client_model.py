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


def test_a_record_that_is_not_an_object():
    with pytest.raises(InvalidInputError, match="record: must be a JSON object"):
        parse_client(["acme"])
