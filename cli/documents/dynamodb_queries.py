"""`optimize dynamodb-queries`'s document for one table: its layout, the code's access patterns, what
CloudWatch measured, how its items spread over its keys, and the changes to make."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cli.aws_errors import problem
from cli.context import fail
from cli.probes.table_metrics import measured
from cli.readers import tables
from cli.reviews import query_patterns
from cli.reviews.dynamodb_queries import changes, key_spread, layout, spread_keys
from infrastructure.config import EnvironmentConfig


def review(config: EnvironmentConfig, attribute: str, start: datetime, end: datetime) -> dict[str, Any]:
    name = getattr(config, attribute)
    patterns = [p for p in query_patterns.access_patterns() if p.table == attribute]
    try:
        description = layout(name, tables.table(config, attribute).describe())
    except Exception as error:
        fail(f"--table-name: {name} cannot be read in {config.environment} ({problem(error)})", 1)
    # CloudWatch stamps a minute with its start: the minute in progress is read too.
    facts = {"description": description, "measured": measured(name, start, end + timedelta(minutes=1))}
    facts["keys"] = key_spread(tables.key_counts(config, attribute, spread_keys(description)), description)
    found, noted = changes(config, attribute, patterns, facts)
    return {
        **facts,
        "access_patterns": [p.as_dict() for p in patterns],
        "changes": found,
        "fine_as_is": noted,
    }
