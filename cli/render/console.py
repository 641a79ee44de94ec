"""The CLI's consoles (stdout for results, stderr for errors and progress) and its tables: text shown
exactly as written, whole words never cut."""

from __future__ import annotations

import sys
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table as RichTable
from rich.text import Text


class WholeWordsConsole(Console):
    """A console whose tables never cut a word: identifiers (run ids, table names, ARNs, amounts)
    stay whole and copyable, and text columns wrap between words. A table that cannot fit the
    width that way is printed wider (the terminal wraps the long lines, nothing is lost)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        needed = max((whole_words_width(self, o) for o in objects if isinstance(o, RichTable)), default=0)
        if needed <= self.width:
            super().print(*objects, **kwargs)
            return
        previous = self._width
        self._width = needed
        try:
            super().print(*objects, **kwargs)
        finally:
            self._width = previous


def _plain(cell: Any) -> str | None:
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return None  # another renderable: measured, never marked


def whole_words_width(console: Console, table: RichTable) -> int:
    """Mark the table's one-word columns (every cell a single word: ids, names, amounts) never to
    wrap and its other columns never to go below their longest word; the width it then needs."""
    wide = console.options.update_width(100_000)
    for column in table.columns:
        texts = [_plain(cell) for cell in column.cells]
        words = [word for text in texts if text for word in text.split()]
        if not words or None in texts:
            continue
        single = all(text is not None and len(text.split()) <= 1 for text in texts)
        cells = [Measurement.get(console, wide, cell) for cell in column.cells]
        column.no_wrap = column.no_wrap or single
        longest = max(m.maximum for m in cells) if single else max(cell_len(word) for word in words)
        column.min_width = max(column.min_width or 0, longest)
    width = Measurement.get(console, wide, table).minimum
    # Rich shrinks the wrapping columns first and applies the minimums again afterwards: at a given
    # width the table may take more. Widen until it fits what it takes (rich's private column
    # arithmetic, pinned in requirements.txt; a handful of rounds at most).
    extra = table._extra_width
    for _ in range(8):
        taken = sum(table._calculate_column_widths(console, console.options.update_width(width - extra))) + extra
        if taken <= width:
            break
        width = taken
    return width


# Piped output (CI logs, files) gets 120 columns rather than rich's default of 80.
# No emoji codes: a key condition's `:end` placeholder is not an emoji.
console = WholeWordsConsole(width=None if sys.stdout.isatty() else 120, emoji=False)


errors = WholeWordsConsole(stderr=True, width=None if sys.stderr.isatty() else 200, emoji=False)


class Table(RichTable):
    """A rich table whose text cells are shown exactly as written.

    Rich reads every string cell as markup: a client name such as `[link=https://...]Acme[/link]`
    would print a terminal hyperlink, and `[/]` in an error would break the table. Here a `str`
    cell (and a `str` title) is plain text, whatever it holds; a cell meant to be styled is passed
    as `styled(text, style)`."""

    def __init__(self, *headers: Any, title: str | Text | None = None, **kwargs: Any) -> None:
        super().__init__(*headers, title=Text(title) if isinstance(title, str) else title, **kwargs)

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in renderables), **kwargs)


def styled(text: object, style: str) -> Text:
    """A table cell in a style (`styled("CRITICAL", "bold red")`); its text is never read as markup."""
    return Text(str(text), style=style)
