"""`optimize dynamodb-queries`'s table for one table."""

from __future__ import annotations

from typing import Any

from cli.render.console import Table, styled
from cli.reviews.dynamodb_queries import PARTITION_READS, PARTITION_WRITES


def dynamodb_table(document: dict[str, Any]) -> Table:
    description, facts = document["description"], document["measured"]
    view = Table("what", "detail", title=f"how {description['table']} is used", title_justify="left")
    keys = description["partition_key"] + (f" / {description['sort_key']}" if description["sort_key"] else "")
    indexes = ", ".join(f"{i['name']} ({i['partition_key']}, {i['projection']})" for i in description["indexes"])
    view.add_row("keys", f"{keys}; indexes: {indexes or 'none'}")
    view.add_row(
        "size",
        f"{description['items']} items, {description['bytes']} bytes (DynamoDB's figures, updated about every 6 "
        f"hours), {description['billing_mode']}",
    )
    for pattern in document["access_patterns"]:
        view.add_row(
            f"code: {pattern['operation']}", f"{pattern['function']} ({pattern['where']}): {pattern['description']}"
        )
    if facts["available"]:
        shares = facts["read_share"]
        listed = ", ".join(
            f"{op} {count}" + (f" ({shares[op] * 100:.1f}% of reads)" if shares.get(op) is not None else "")
            for op, count in sorted(facts["requests"].items(), key=lambda item: -item[1])
        )
        view.add_row("measured requests", listed)
        if facts["busiest_hour"]:
            hour = facts["busiest_hour"]
            view.add_row(
                "busiest hour",
                f"{hour['at']:%Y-%m-%d %H:00} UTC: {hour['requests']} requests ({hour['per_second']}/s; a partition "
                f"serves {PARTITION_READS} reads and {PARTITION_WRITES} writes a second)",
            )
        throttles = [f"{k} {v['value'] if v['available'] else 'none published'}" for k, v in facts["throttles"].items()]
        view.add_row("throttle events", ", ".join(throttles))
    else:
        view.add_row("measured requests", f"not available: {facts['reason']}")
    for key, spread in document["keys"]["by_partition_key"].items():
        top = ", ".join(f"{e['key']} {e['items']} ({e['share'] * 100:.0f}%)" for e in spread["top"] if e["share"])
        view.add_row(f"items per {key}", f"{spread['keys']} key(s); the most: {top or '-'}")
    for change in document["changes"]:
        view.add_row(styled("change", "yellow"), change["detail"])
    for line in document["fine_as_is"]:
        view.add_row("fine as is", line)
    return view
