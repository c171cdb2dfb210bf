"""Markdown tables: the one writer of every table paperlib writes (Tables 1-3, the localization
summary, the leaderboard, the walkthrough's and the alignment report's tables) and the one reader
(the regeneration check, :mod:`paperlib.evaluation.regen_check`).

The format is fixed, so that a regenerated file equals the committed one byte for byte:
``| a | b |`` (one space inside each bar; ``| |`` for an empty cell), then the rule ``|---|---|``, then one line per row.
"""

from __future__ import annotations

from typing import Iterable, Sequence


def table_row(cells: Sequence[object]) -> str:
    """One table line: ``| a | b | c |`` (cells as ``str``; an empty cell is ``| |``)."""
    return "|" + "|".join(f" {c} " if c != "" else " " for c in map(str, cells)) + "|"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A table as lines: the header, the rule (``|---|`` per column), one line per row."""
    return [table_row(header), "|" + "---|" * len(header)] + [table_row(r) for r in rows]


def table_cells(line: str) -> list[str] | None:
    """The cells of a table line, stripped (None for a line that is not part of a table)."""
    if not line.startswith("|"):
        return None
    return [c.strip() for c in line.strip().strip("|").split("|")]


def is_rule(cells: Sequence[str]) -> bool:
    """Whether the cells are a table's rule (``---``, ``:--:``, ...) rather than a row."""
    return set("".join(cells)) <= set("-: ")


__all__ = ["table_row", "table", "table_cells", "is_rule"]
