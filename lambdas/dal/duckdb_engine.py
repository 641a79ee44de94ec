"""DuckDB in process over local Parquet files: the engine of the Data Exports source.

`duckdb` is imported inside the methods only: the Cost Explorer worker never pays for it at cold
start (tests/unit/test_lazy_imports.py), and no DuckDB extension is installed or loaded at run time
(the files are fetched with boto3 first; parquet is built into the wheel).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lambdas.logic.export_schema import RELATION, literal
from lambdas.models.exceptions import ExportDataError


class DuckDBEngine:
    """One in-memory database; `query` runs SQL over a view named `export` of the given files."""

    def __init__(
        self, *, memory_limit: str | None = None, threads: int | None = None, temp_directory: str = ""
    ) -> None:
        self.memory_limit = memory_limit
        self.threads = threads
        self.temp_directory = temp_directory
        self._con: Any = None

    def _connection(self) -> Any:
        if self._con is None:
            import duckdb

            config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
            if self.memory_limit:
                config["memory_limit"] = self.memory_limit
            if self.threads:
                config["threads"] = self.threads
            if self.temp_directory:
                config["temp_directory"] = self.temp_directory
            self._con = duckdb.connect(":memory:", config=config)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def columns(self, path: Path) -> dict[str, str]:
        """A Parquet file's columns and their types (from its footer: no data read)."""
        import duckdb

        try:
            sql = f"DESCRIBE SELECT * FROM read_parquet({literal(str(path))}, hive_partitioning = false)"  # noqa: S608 - paths of our own scratch files, quoted
            rows = self._connection().execute(sql).fetchall()
        except duckdb.Error as error:
            raise ExportDataError(f"{path.name}: not a readable Parquet file ({type(error).__name__})") from None
        return {str(name): str(kind) for name, kind, *_ in rows}

    def query(self, sql: str, files: Sequence[Path]) -> list[tuple[Any, ...]]:
        """Rows of `sql`, where the relation `export` is the files (their columns by name)."""
        import duckdb

        if not files:
            raise ExportDataError("no Parquet files to read")
        listed = ", ".join(literal(str(path)) for path in files)
        con = self._connection()
        try:
            # The paths are the scratch directory's own files (quoted): no outside input in the view.
            # The scratch folders are named BILLING_PERIOD=YYYY-MM: not a column of the export's files.
            source = f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"
            view = f"CREATE OR REPLACE TEMP VIEW {RELATION} AS SELECT * FROM {source}"  # noqa: S608 - paths of our own scratch files, quoted
            con.execute(view)
            return [tuple(row) for row in con.execute(sql).fetchall()]
        except duckdb.Error as error:
            raise ExportDataError(f"the export could not be read ({type(error).__name__}: {error})") from None
