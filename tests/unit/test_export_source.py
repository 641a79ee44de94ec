"""A client's Data Export: each bad field refused with one line naming it."""

from __future__ import annotations

import pytest

from lambdas.models.client import parse_client
from lambdas.models.exceptions import InvalidInputError
from lambdas.models.export_source import ExportSource
from tests.unit.factories import client_record

EXPORT = {"bucket": "acme-billing-exports", "prefix": "exports/cur", "export_name": "acme-focus", "format": "focus_1_2"}


def test_a_client_reads_cost_explorer_unless_it_names_an_export():
    client = parse_client(client_record())
    assert (client.cost_source, client.data_export) == ("cost_explorer", None)

    client = parse_client(client_record(cost_source="data_exports", data_export=EXPORT))
    assert client.cost_source == "data_exports"
    assert client.data_export == ExportSource(**EXPORT)
    assert client.data_export.access == "client_role"


def test_the_export_layout_follows_data_exports():
    export = ExportSource(**EXPORT)
    assert export.data_prefix("2026-11") == "exports/cur/acme-focus/data/BILLING_PERIOD=2026-11/"
    assert export.manifest_key("2026-11") == (
        "exports/cur/acme-focus/metadata/BILLING_PERIOD=2026-11/acme-focus-Manifest.json"
    )


def test_data_exports_without_an_export_is_refused_naming_the_field():
    with pytest.raises(InvalidInputError) as error:
        parse_client(client_record(cost_source="data_exports"))
    assert error.value.field == "data_export"
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bucket": "Acme-Exports"}, "data_export.bucket"),
        ({"bucket": "ab"}, "data_export.bucket"),
        ({"bucket": "acme..exports"}, "data_export.bucket"),
        ({"bucket": "192.168.1.10"}, "data_export.bucket"),
        ({"bucket": "xn--acme-exports"}, "data_export.bucket"),
        ({"bucket": "acme-exports-s3alias"}, "data_export.bucket"),
        ({"bucket": "-acme-exports"}, "data_export.bucket"),
        ({"prefix": "/exports"}, "data_export.prefix"),
        ({"prefix": "exports/"}, "data_export.prefix"),
        ({"prefix": "exports//cur"}, "data_export.prefix"),
        ({"prefix": "exports/../other"}, "data_export.prefix"),
        ({"prefix": ""}, "data_export.prefix"),
        ({"export_name": "acme focus"}, "data_export.export_name"),
        ({"format": "focus_1_0"}, "data_export.format"),
        ({"access": "public"}, "data_export.access"),
        ({"extra": 1}, "data_export.extra"),
    ],
)
def test_a_bad_export_field_is_refused_with_one_line_naming_it(change, field):
    with pytest.raises(InvalidInputError) as error:
        parse_client(client_record(cost_source="data_exports", data_export={**EXPORT, **change}))
    assert error.value.field == field
    assert "\n" not in str(error.value)


def test_a_bad_cost_source_is_refused():
    with pytest.raises(InvalidInputError) as error:
        parse_client(client_record(cost_source="cur"))
    assert error.value.field == "cost_source"
