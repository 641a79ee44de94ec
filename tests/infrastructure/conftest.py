"""The CDK app, synthesized once per session for every environment and shared by all
infrastructure tests (jsii costs seconds per process; one synth of the three stacks takes ~10 s).

The synth runs exactly as `make synth` does (cdk.json's feature flags, cdk-nag's AwsSolutions
plugin), with an alert e-mail in the context so the optional subscription is exercised.
A synth that cdk-nag fails still writes the templates: the fixture keeps the error, and
test_nag reports every finding while the other tests still look at the templates.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[2]
ALERT_EMAIL = "ops-alerts@example.com"
ENVIRONMENTS = ("prod", "staging", "dev")


@dataclass
class Synthesized:
    outdir: Path
    templates: dict[str, dict[str, Any]]
    metadata: dict[str, dict[str, Any]]
    validation_report: dict[str, Any]
    synth_error: str | None
    seconds: float
    _assertions: dict[str, Any] = field(default_factory=dict)

    def resources(self, environment: str, resource_type: str) -> dict[str, dict[str, Any]]:
        resources = self.templates[environment]["Resources"]
        return {name: r for name, r in resources.items() if r["Type"] == resource_type}

    def only(self, environment: str, resource_type: str) -> dict[str, Any]:
        [resource] = self.resources(environment, resource_type).values()
        return resource

    def assertions(self, environment: str) -> Any:
        """aws_cdk.assertions.Template of the environment's stack (Match-based assertions)."""
        from aws_cdk.assertions import Template

        if environment not in self._assertions:
            self._assertions[environment] = Template.from_json(self.templates[environment])
        return self._assertions[environment]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    import time

    from aws_cdk import App

    from infrastructure.stack import build_app

    started = time.perf_counter()
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(outdir=str(outdir), context={**context, "alert_email": ALERT_EMAIL})
    build_app(app)
    error = None
    try:
        app.synth()
    except RuntimeError as failure:  # cdk-nag's validation failed; the templates are still written
        error = str(failure)
    templates, metadata = {}, {}
    for environment in ENVIRONMENTS:
        stack = f"CostReporting-{environment}"
        templates[environment] = json.loads((outdir / f"{stack}.template.json").read_text())
        metadata[environment] = json.loads((outdir / f"{stack}.metadata.json").read_text())
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []}
    return Synthesized(outdir, templates, metadata, report, error, time.perf_counter() - started)
