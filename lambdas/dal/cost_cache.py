"""The Cost Explorer cache: DynamoDB, one item per (credential scope, account, metric,
granularity, dataset) and month, holding that month's cells (docs/cost-explorer.md).

Why DynamoDB rather than S3: a run reads all its cells with one BatchGetItem (up to 100 items)
instead of one GET per object, items expire by TTL once Cost Explorer's history no longer
covers them, and the platform already runs its state on DynamoDB. A month of one account is
a few kilobytes (the cells are zlib-compressed JSON), well under the 400 KB item limit; an item
that would not fit is simply not cached (logged), never truncated.

The credential scope (a hash of the role ARN, or of the secret's name) is part
of every key: only runs holding the same credentials ever read the cells those credentials
fetched, so a misconfigured client naming someone else's account can never read it from here.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from lambdas.dal.dynamo import PlatformTable, batch_write
from lambdas.logic.needs import Cell, CellKey, Density, Need, cell_key
from lambdas.observability import logger

MAX_ITEM_BYTES = 350_000  # DynamoDB's limit is 400 KB per item: keep a margin for the keys
RETENTION_DAYS = 430  # Cost Explorer keeps 13 months (plus the current one); nothing older is asked for
_BATCH_GET = 100

ItemKey = tuple[str, str, str, str]  # (account, granularity, dataset, "YYYY-MM")


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _encode(cells: dict[date, Cell]) -> bytes:
    data = {
        day.isoformat(): {
            "e": cell.estimated,
            "t": cell.fetched_at.isoformat() if cell.fetched_at else None,
            "g": {key: str(amount) for key, amount in sorted(cell.groups.items())},
        }
        for day, cell in sorted(cells.items())
    }
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 6)


def _decode(blob: bytes) -> dict[date, Cell]:
    data = json.loads(zlib.decompress(blob))
    return {
        date.fromisoformat(day): Cell(
            groups={key: Decimal(amount) for key, amount in entry["g"].items()},
            estimated=bool(entry["e"]),
            fetched_at=datetime.fromisoformat(entry["t"]) if entry.get("t") else None,
        )
        for day, entry in data.items()
    }


class CostCache(PlatformTable):
    """Reads the cells a run needs in as few calls as possible, and writes back what changed."""

    def __init__(self, table_name: str, client: Any | None = None, *, read_only: bool = False) -> None:
        super().__init__(table_name, client)
        self.read_only = read_only
        self._items: dict[ItemKey, dict[date, Cell]] = {}
        self._names: dict[str, str] = {}
        self._scope = ""
        self._metric = ""
        self.density = Density()
        self._density_read = False

    @property
    def enabled(self) -> bool:
        return bool(self.table_name)

    def _pk(self, account: str, granularity: str, dataset: str) -> str:
        return f"{self._scope}#{account}#{self._metric}#{granularity}#{dataset}"

    def load(self, scope: str, metric: str, needs: list[Need], accounts: Iterable[str]) -> dict[CellKey, Cell]:
        """Every cached cell of these accounts that the needs cover."""
        self._scope, self._metric = scope, metric
        wanted: set[ItemKey] = set()
        for need in needs:
            months = {_month(start) for start in need.periods()}
            for account in accounts:
                wanted.update((account, need.granularity, need.dataset.name, month) for month in months)
        if self.enabled:
            self._read(sorted(wanted))
        cells: dict[CellKey, Cell] = {}
        for need in needs:
            for account in accounts:
                for start in need.periods():
                    cell = self._items.get((account, need.granularity, need.dataset.name, _month(start)), {}).get(start)
                    if cell is not None:
                        cells[cell_key(need, account, start)] = cell
        return cells

    @property
    def account_names(self) -> dict[str, str]:
        return dict(self._names)

    def density_of(self, scope: str) -> Density:
        """What the answers of these credentials showed (page size, groups per cell), for estimates."""
        if not self.enabled:
            return Density()
        key = {"pk": {"S": f"{scope}#density"}, "period": {"S": "-"}}
        item = self.client.get_item(TableName=self.table_name, Key=key).get("Item")
        return Density.from_json(json.loads(item["density"]["S"])) if item else Density()

    def _item_key(self, key: ItemKey) -> dict[str, Any]:
        account, granularity, dataset, month = key
        return {"pk": {"S": self._pk(account, granularity, dataset)}, "period": {"S": month}}

    def _density_key(self) -> dict[str, Any]:
        return {"pk": {"S": f"{self._scope}#density"}, "period": {"S": "-"}}

    def _read(self, keys: list[ItemKey]) -> None:
        """The month items of `keys` not read yet, and the scope's density (one BatchGetItem per
        100 keys)."""
        missing: list[ItemKey | None] = [key for key in keys if key not in self._items]
        if not self._density_read:
            missing.insert(0, None)  # None: the density item
            self._density_read = True
        for index in range(0, len(missing), _BATCH_GET):
            chunk = missing[index : index + _BATCH_GET]
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [self._density_key() if key is None else self._item_key(key) for key in chunk],
                    "ConsistentRead": False,
                }
            }
            for key in chunk:
                if key is not None:
                    self._items[key] = {}
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    if item["pk"]["S"].endswith("#density"):
                        self.density = Density.from_json(json.loads(item["density"]["S"]))
                        continue
                    _, account, _, granularity, dataset = item["pk"]["S"].split("#", 4)
                    self._items[(account, granularity, dataset, item["period"]["S"])] = _decode(item["cells"]["B"])
                    if "account_name" in item:
                        self._names[account] = item["account_name"]["S"]
                request = answer.get("UnprocessedKeys") or {}

    def save(self, cells: dict[CellKey, Cell], account_names: dict[str, str], now: datetime) -> int:
        """Merge fresh cells into their month items and write the changed items; returns items written."""
        self._names.update(account_names)
        changed: set[ItemKey] = set()
        for (granularity, dataset, account, start), cell in cells.items():
            key = (account, granularity, dataset, _month(start))
            self._items.setdefault(key, {})[start] = cell
            changed.add(key)
        if not self.enabled or self.read_only or not changed:
            return 0
        expires = int((now + timedelta(days=RETENTION_DAYS)).timestamp())
        requests: list[dict[str, Any]] = []
        if self.density.learned:
            density = {**self._density_key(), "density": {"S": json.dumps(self.density.to_json())}}
            requests.append({"PutRequest": {"Item": {**density, "expires_at": {"N": str(expires)}}}})
        for account, granularity, dataset, month in sorted(changed):
            blob = _encode(self._items[(account, granularity, dataset, month)])
            if len(blob) > MAX_ITEM_BYTES:
                logger.warning("cost cache item too large: not cached", extra={"dataset": dataset, "month": month})
                continue
            item: dict[str, Any] = {
                "pk": {"S": self._pk(account, granularity, dataset)},
                "period": {"S": month},
                "cells": {"B": blob},
                "expires_at": {"N": str(expires)},
            }
            if account in self._names:
                item["account_name"] = {"S": self._names[account]}
            requests.append({"PutRequest": {"Item": item}})
        batch_write(self.client, self.table_name, requests)
        return len(requests)
