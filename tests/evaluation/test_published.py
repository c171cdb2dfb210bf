"""The published numbers in paperlib equal METHOD.md's tables, cell for cell."""

import re

from paperlib.evaluation.published import METHODS, TABLE_NUMBER, TABLES

NAMES = {"Beard": "Beard", "Bushy eyebrows": "Bushy_Eyebrows", "Old": "Old", "Smiling": "Smiling"}


def _parse_method_md(text):
    tables, current = {}, None
    for line in text.splitlines():
        m = re.match(r"Table (\d), (\w+)", line)
        if m:
            current = tables.setdefault(m.group(2), {})
            assert TABLE_NUMBER[m.group(2)] == int(m.group(1))
            continue
        if current is not None and line.startswith("| ") and not line.startswith("| attribute"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            row = {}
            for method, cell in zip(METHODS, cells[1:]):
                if cell == "-":
                    continue
                mean, _, std = cell.partition("+-")
                row[method] = (float(mean), float(std) if std else None)
            current[NAMES[cells[0]]] = row
        elif current is not None and not line.strip():
            current = None if current else current
    return tables


def test_published_equals_method_md(shared):
    parsed = _parse_method_md((shared / "paper" / "METHOD.md").read_text())
    assert set(parsed) == {"LPIPS", "MAE", "FID"}
    assert parsed == TABLES
