"""Are the paper profile's judges right? Their validation on SynthFace, where the exact value is known.

The paper profile has no ground truth: its "edit kept" comes from a label-free judge
(:mod:`paperlib.evaluation.judges`). On SynthFace both that judge and the exact value are computed
for every output, so each judge can be scored against the exact one:

- **method ranking**: Spearman's rank correlation, over the methods, of their mean edit kept by the
  judge and by the exact measure (does the judge order the methods as the truth does?);
- **per image**: Pearson's and Spearman's correlation over every (method, image) output.

Written by the evaluation beside the tables (``judges.csv/.json/.md``) when the profile knows the
exact value. Each correlation has an approximate SE (Fisher: ``(1 - r^2) / sqrt(n - 3)``), stored as
``<key>_se`` for ``reproduce --check``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..infra.markdown import table

#: The reference judge and the judges validated against it.
REFERENCE = "exact"
VALIDATED: tuple[str, ...] = ("strength", "projection", "classifier")
#: The numbers of a row -> its Markdown header.
MD_COLUMNS: dict[str, tuple[str, ...]] = {"methods": ("n_methods",), "method ranking ρ": ("method_rho",),
                                          "per-image r": ("image_r",), "per-image ρ": ("image_rho",),
                                          "outputs": ("n_outputs",)}


def _rank(x: np.ndarray) -> np.ndarray:
    """Ranks (average ranks for ties), as Spearman's correlation uses them."""
    from scipy.stats import rankdata

    return rankdata(x)


def correlation(x: Sequence[float], y: Sequence[float], ranks: bool = False) -> float | None:
    """Pearson's correlation of ``x`` and ``y`` (Spearman's with ``ranks``); None with fewer than 3
    pairs or a constant side."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return None
    if ranks:
        x, y = _rank(x), _rank(y)
    return float(np.corrcoef(x, y)[0, 1])


def correlation_se(r: float | None, n: int) -> float | None:
    """Approximate SE of a correlation over ``n`` pairs: ``(1 - r^2) / sqrt(n - 3)`` (None below 4 pairs)."""
    return None if r is None or n < 4 else (1 - r * r) / math.sqrt(n - 3)


def _pairs(values: dict, methods: Sequence[str], attributes: Sequence[str], judge: str, n_images: int):
    """Per method, the (exact, judge) pairs of its outputs where both are defined."""
    out: dict[str, list[tuple[float, float]]] = {}
    for a in attributes:
        for m in methods:
            rec = values.get((m, a), {})
            ref, got = rec.get(f"kept:{REFERENCE}", {}), rec.get(f"kept:{judge}", {})
            for i in map(str, range(n_images)):
                if ref.get(i) is not None and got.get(i) is not None:
                    out.setdefault(f"{a}/{m}", []).append((ref[i], got[i]))
    return out


def validation_row(values: dict, methods, attributes, judge: str, n_images: int, label: str) -> dict:
    """One row: ``judge`` against the exact value over ``attributes`` (``label`` names them)."""
    pairs = _pairs(values, methods, attributes, judge, n_images)
    means = [(np.mean([p[0] for p in ps]), np.mean([p[1] for p in ps])) for ps in pairs.values()]
    every = [p for ps in pairs.values() for p in ps]
    row = {"attribute": label, "judge": judge, "reference": REFERENCE, "n_methods": len(means),
           "n_outputs": len(every)}
    for key, xs, ranks in (("method_rho", means, True), ("image_r", every, False), ("image_rho", every, True)):
        r = correlation([p[0] for p in xs], [p[1] for p in xs], ranks) if xs else None
        row[key], row[f"{key}_se"] = r, correlation_se(r, len(xs))
    return row


def validation_rows(values: dict, methods: Sequence[str], attributes: Sequence[str], n_images: int,
                    judges: Sequence[str] = VALIDATED) -> list[dict]:
    """Every judge of ``judges`` present in ``values``, over all attributes (``"all"``: the method
    ranking then runs over (attribute, method) cells) and per attribute."""
    present = {k.removeprefix("kept:") for rec in values.values() for k in rec if k.startswith("kept:")}
    rows = []
    for judge in (j for j in judges if j in present):
        rows.append(validation_row(values, methods, attributes, judge, n_images, "all"))
        rows += [validation_row(values, methods, [a], judge, n_images, a) for a in attributes]
    return rows


def markdown(rows: list[dict], n_images: int) -> str:
    """The validation as Markdown: one table, a row per judge and attribute."""
    def f(v):
        return "—" if v is None else f"{v:.2f}"

    body = [[r["attribute"], r["judge"], r["n_methods"], f(r["method_rho"]), f(r["image_r"]), f(r["image_rho"]),
             r["n_outputs"]] for r in rows]
    return "\n".join([
        f"# The edit-kept judges against SynthFace's exact value ({n_images} faces)", "",
        ("Each judge that the paper profile can run (projection, classifier) and SynthFace's strength estimator, "
        "scored against the exact share of the ideal change kept. Method ranking ρ: Spearman's correlation of "
        "the methods' mean edit kept (over (attribute, method) cells in the `all` rows); per image: Pearson's r "
        "and Spearman's ρ over every output."), "",
        *table(("attribute", "judge", *MD_COLUMNS), body), ""])


__all__ = [
    "MD_COLUMNS",
    "REFERENCE",
    "VALIDATED",
    "correlation",
    "correlation_se",
    "markdown",
    "validation_row",
    "validation_rows",
]
