"""`billing track` and `billing report` on the seeded history of tests/integration/test_cli_ops.py:
each client's lines are its records priced, the PDF has one page a client and its totals are
the JSON's to the cent, and a statement that does not add up is refused."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from pypdf import PdfReader
from typer.testing import CliRunner

from cli.main import app
from cli.reviews.pricing import PRICES
from tests.integration.test_cli_ops import NOW, history  # noqa: F401 - the module's seeded history

runner = CliRunner()


def track(tmp_path, frozen_clock) -> tuple[dict, object]:
    frozen_clock(NOW)
    output = tmp_path / "billing.json"
    result = runner.invoke(app, ["billing", "track", "--month", "2026-11", "--output", str(output)])
    assert result.exit_code == 0, result.output
    return json.loads(output.read_text()), output


def test_each_client_is_billed_for_what_its_runs_recorded(history, frozen_clock, tmp_path):  # noqa: F811 - the fixture imported above
    document, _ = track(tmp_path, frozen_clock)

    runs = defaultdict(list)
    for record in history.records:
        runs[record.client_id].append(record)
    assert document["format"] == "cost-reporting-billing" and document["month"] == "2026-11"
    clients = {c["client_id"]: c for c in document["clients"]}
    assert set(clients) == {"acme-retail", "globex-health", "initech-labs", "umbrella-media", "hooli"}
    for client_id, client in clients.items():
        mine = runs.get(client_id, [])
        lines = {line["description"]: line for line in client["lines"]}
        assert client["runs"] == len(mine)
        assert Decimal(lines["API requests"]["amount_usd"]) == sum((r.ce_cost_usd for r in mine), Decimal(0))
        emails = sum(r.recipients for r in mine if r.delivery == "sent")
        assert lines["report emails (one per recipient)"]["quantity"] == emails
        seconds = sum((Decimal(r.duration_ms or 0) for r in mine), Decimal(0)) / 1000
        compute = lines[f"worker compute, {len(mine)} run(s) at 1024 MB"]
        assert Decimal(compute["quantity"]) == seconds.quantize(Decimal("0.001"))  # 1024 MB = 1 GB
        assert Decimal(compute["amount_usd"]) == (seconds * PRICES["lambda_gb_second"].usd).quantize(Decimal("0.0001"))
        total = sum(Decimal(line["amount_usd"]) for line in client["lines"])
        total += sum(Decimal(item["amount_usd"]) for item in client["shared"])
        assert Decimal(client["total_usd"]) == total.quantize(Decimal("0.01"))
    assert Decimal(document["total_usd"]) == sum(Decimal(c["total_usd"]) for c in document["clients"])
    assert clients["umbrella-media"]["runs"] == 0  # monthly: no 1st in the seeded days
    assert clients["hooli"]["runs"] == 1  # weekly, from its Data Export: no Cost Explorer request billed
    assert document["pricing"]["as_of"] == "2025-06"


def test_the_statement_has_one_page_a_client_with_the_json_totals(history, frozen_clock, tmp_path):  # noqa: F811 - the fixture imported above
    document, data = track(tmp_path, frozen_clock)
    pdf = tmp_path / "billing.pdf"

    result = runner.invoke(app, ["billing", "report", "--input", str(data), "--output", str(pdf)])

    assert result.exit_code == 0, result.output
    pages = [page.extract_text() for page in PdfReader(pdf).pages]
    assert len(pages) == 1 + len(document["clients"])
    assert "Platform cost by client: November 2026" in pages[0]
    summary = pages[0].replace("\n", " ")
    assert f"Total {len(history.records)} {Decimal(document['total_usd']):.2f}" in summary
    for page, client in zip(pages[1:], document["clients"], strict=True):
        assert client["name"] in page and f"Client {client['client_id']}" in page
        assert f"USD {Decimal(client['total_usd']):.2f}" in page
        for line in client["lines"]:
            assert f"{Decimal(line['amount_usd']):.4f}" in page


def test_a_statement_that_does_not_add_up_is_refused(history, frozen_clock, tmp_path, capsys):  # noqa: F811 - the fixture imported above
    from cli.main import main

    document, data = track(tmp_path, frozen_clock)
    document["clients"][0]["total_usd"] = str(Decimal(document["clients"][0]["total_usd"]) + Decimal("0.01"))
    data.write_text(json.dumps(document))
    pdf = tmp_path / "billing.pdf"

    assert main(["billing", "report", "--input", str(data), "--output", str(pdf)]) == 2

    error = capsys.readouterr().err
    assert f"clients[{document['clients'][0]['client_id']}].total_usd" in error
    assert not pdf.exists()
    document["clients"][0]["lines"][0]["amount_usd"] = "lots"
    data.write_text(json.dumps(document))
    assert main(["billing", "report", "--input", str(data), "--output", str(pdf)]) == 2
    assert "clients.0.lines.0.amount_usd" in capsys.readouterr().err
