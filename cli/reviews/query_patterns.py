"""How the code reads and writes each DynamoDB table: its access patterns, found in the source.

Every DynamoDB call of `lambdas/` and `cli/` is read from the syntax tree (nothing is run):
`get_item`, `put_item`, `update_item`, `delete_item`, `query`, `scan`, the batch and transaction
calls, the `query` and `scan` paginators and the `batch_write` helper. Each is attributed to its
table by the `TableName` it passes (an attribute of the environment's names, `clients_table`,
...) or, inside a table's adapter (`self.table_name`), by the adapter's class. What it asks is
kept: the index, a key condition, a filter (a filtered scan reads the whole table to return part
of it), a projection, a count.

A table found nowhere in the code is still listed by `optimize dynamodb-queries`, with the
metrics it has; a call whose table cannot be told (a helper given any table) is listed as such.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infrastructure.config import TABLES

OPERATIONS = {
    "get_item": "GetItem",
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "query": "Query",
    "scan": "Scan",
    "batch_get_item": "BatchGetItem",
    "batch_write_item": "BatchWriteItem",
    "transact_write_items": "TransactWriteItems",
    "transact_get_items": "TransactGetItems",
}
READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
# Adapters of one table (lambdas/dal): their `self.table_name` is that table.
ADAPTERS = {
    "ClientsTable": "clients_table",
    "ExecutionsTable": "executions_table",
    "SuppressionsTable": "suppressions_table",
    "CostCache": "cost_cache_table",
    "IdempotencyTable": "idempotency_table",
}
# Their shared base (lambdas/dal/dynamo.py): each of its calls is a call every adapter above can make.
SHARED_BASE = "PlatformTable"
SCANNED = ("lambdas", "cli")
REPOSITORY = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"#(\w+)|(?<![:#\w])([A-Za-z_]\w*)")  # a #placeholder, or a name (not a :value)
_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN", "attribute_exists", "attribute_not_exists", "begins_with"})
_KEYWORDS |= frozenset({"contains", "size", "attribute_type"})


@dataclass(frozen=True)
class Pattern:
    table: str | None  # an attribute of TABLES (clients_table, ...); None: any table, given by the caller
    operation: str
    where: str  # path:line
    function: str
    index: str | None = None
    key_condition: str | None = None
    filter: str | None = None
    count_only: bool = False
    names: dict[str, str] = field(default_factory=dict)  # ExpressionAttributeNames, when written out

    @property
    def filtered_scan(self) -> bool:
        return self.operation == "Scan" and self.filter is not None

    def filter_attributes(self) -> list[str]:
        """The attribute names a filter compares (the key an index would need); `#n` placeholders
        resolved through the call's ExpressionAttributeNames when it is written out."""
        names = []
        for placeholder, name in _NAME.findall(self.filter or ""):
            attribute = self.names.get(f"#{placeholder}", placeholder) if placeholder else name
            if attribute not in _KEYWORDS and attribute not in names:
                names.append(attribute)
        return names

    def describe(self) -> str:
        parts = [self.operation]
        if self.index:
            parts.append(f"index {self.index}")
        if self.key_condition:
            parts.append(f"key {self.key_condition}")
        if self.filter and self.operation == "Scan":
            parts.append(f"filter {self.filter}: reads the whole table, returns part")
        elif self.filter:
            parts.append(f"filter {self.filter}: reads every item of the key, returns part")
        elif self.operation == "Scan":
            parts.append("the whole table" + (" (count)" if self.count_only else ""))
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "where": self.where,
            "function": self.function,
            "index": self.index,
            "key_condition": self.key_condition,
            "filter": self.filter,
            "reads": self.operation in READS,
            "description": self.describe(),
        }


class _Finder(ast.NodeVisitor):
    def __init__(self, path: str, constants: dict[str, str]) -> None:
        self.path, self.constants = path, constants
        self.classes: list[str] = []
        self.functions: list[str] = []
        self.paginators: dict[str, str] = {}  # variable -> "Query" / "Scan"
        self.found: list[Pattern] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        outer, self.paginators = self.paginators, {}
        self.generic_visit(node)
        self.paginators = outer
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        kind = _paginator_kind(node.value)
        if kind:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.paginators[target.id] = kind
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in OPERATIONS and self._dynamodb(func.value):
            self._record(node, OPERATIONS[func.attr])
        elif isinstance(func, ast.Attribute) and func.attr == "paginate":
            kind = _paginator_kind(func.value)
            if kind is None and isinstance(func.value, ast.Name):
                kind = self.paginators.get(func.value.id)
            if kind:
                self._record(node, kind)
        elif isinstance(func, ast.Name) and func.id == "batch_write" and len(node.args) >= 2:
            self._record(node, "BatchWriteItem", table_expression=node.args[1])
        self.generic_visit(node)

    def _dynamodb(self, receiver: ast.expr) -> bool:
        text = ast.unparse(receiver)
        adapters = (*ADAPTERS, SHARED_BASE)
        return "dynamodb" in text or (text == "self.client" and bool(self.classes) and self.classes[-1] in adapters)

    def _record(self, node: ast.Call, operation: str, table_expression: ast.expr | None = None) -> None:
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        expression = table_expression or keywords.get("TableName")
        inherited = bool(self.classes) and self.classes[-1] == SHARED_BASE
        # A call of the shared base is one pattern per adapter, as each adapter inherits it.
        for adapter in ADAPTERS if inherited else [None]:
            self.found.append(
                Pattern(
                    table=ADAPTERS[adapter] if adapter else self._table(expression),
                    operation=operation,
                    where=f"{self.path}:{node.lineno}",
                    function=".".join([*([adapter] if adapter else self.classes[-1:]), *self.functions[-1:]])
                    or "<module>",
                    index=self._text(keywords.get("IndexName")),
                    key_condition=self._text(keywords.get("KeyConditionExpression")),
                    filter=self._text(keywords.get("FilterExpression")),
                    count_only=self._text(keywords.get("Select")) == "COUNT",
                    names=_literal_names(keywords.get("ExpressionAttributeNames")),
                )
            )

    def _table(self, expression: ast.expr | None) -> str | None:
        text = ast.unparse(expression) if expression is not None else ""
        for attribute in TABLES:
            if attribute in text:
                return attribute
        if (not text or "table_name" in text) and self.classes and self.classes[-1] in ADAPTERS:
            return ADAPTERS[self.classes[-1]]
        return None

    def _text(self, value: ast.expr | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        if isinstance(value, ast.Name) and value.id in self.constants:
            return self.constants[value.id]
        return ast.unparse(value)


def _literal_names(value: ast.expr | None) -> dict[str, str]:
    try:
        names = ast.literal_eval(value) if value is not None else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}


def _paginator_kind(value: ast.expr) -> str | None:
    """'Query' or 'Scan' for `x.get_paginator("query" | "scan")`."""
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "get_paginator"
        and value.args
        and isinstance(value.args[0], ast.Constant)
        and value.args[0].value in ("query", "scan")
    ):
        return "Query" if value.args[0].value == "query" else "Scan"
    return None


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level string constants (an index name kept in one place)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return found


def access_patterns(root: Path = REPOSITORY) -> list[Pattern]:
    """Every DynamoDB call of the platform's code, in file and line order."""
    found: list[Pattern] = []
    for package in SCANNED:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            finder = _Finder(str(path.relative_to(root)), _constants(tree))
            finder.visit(tree)
            found.extend(finder.found)
    return found
