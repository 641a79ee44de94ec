#!/usr/bin/env python3
"""CDK entry point: one stack per environment (`-c environment=prod|staging|dev`, default all),
every name from infrastructure/config.py. No AWS call happens at synth time.

Run by the pinned CDK CLI (`make synth`, `npx cdk synth`), or on its own where Node.js is not
installed: `python app.py [-c key=value ...]` then reads cdk.json's feature flags itself and
writes cdk.out/ the same way.
"""

from __future__ import annotations

import json
import os
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App

from infrastructure.stack import build_app


def standalone_context(argv: list[str]) -> dict[str, Any]:
    """cdk.json's context plus `-c key=value` arguments, as the CLI would pass them."""
    context: dict[str, Any] = json.loads((Path(__file__).parent / "cdk.json").read_text())["context"]
    for flag, value in pairwise(argv):
        if flag in ("-c", "--context"):
            key, _, setting = value.partition("=")
            context[key] = setting
    return context


# Launched by the CDK CLI (it sets CDK_OUTDIR), the CLI passes cdk.json and -c itself.
app = App() if "CDK_OUTDIR" in os.environ else App(outdir="cdk.out", context=standalone_context(sys.argv[1:]))
build_app(app)
app.synth()
