"""The ground-truth localization table: every mask variant on N synthetic faces."""

from __future__ import annotations

from collections import defaultdict

import torch
from tqdm.auto import tqdm

from ..attributes import TABLE_ATTRIBUTES
from ..pipeline import VARIANTS, Components, edit_variants
from .scores import blend_errors, intended_region, localization
from .world import SynthWorld

METRICS = ("iou", "precision", "recall", "mae_outside", "mae_inside")


def localization_report(world: SynthWorld, c: Components, observed, *, attributes=TABLE_ATTRIBUTES,
                        variants=tuple(VARIANTS), alpha: float = 20.0, batch: int = 20,
                        threshold: float = 0.5, progress: bool = True) -> dict[str, dict[str, list[float]]]:
    """Per-variant lists of per-(face, attribute) scores against the ground-truth edit region.

    ``observed`` is a :class:`paperlib.synth.Observed`. Inversion and edit are computed once
    per face and attribute; only the mask differs between variants.
    """
    scores: dict[str, dict[str, list[float]]] = {v: defaultdict(list) for v in variants}
    n = len(observed.image)
    steps = [(i, a) for i in range(0, n, batch) for a in attributes]
    for i, attribute in tqdm(steps, desc="localization", disable=not progress):
        e = edit_variants(c, observed.image[i:i + batch], attribute, tuple(variants), alpha=alpha,
                          parsing_source=observed.parsing[i:i + batch])
        region = intended_region(world, e.latents, attribute, alpha)
        for v in variants:
            found = {**localization(e.masks[v], region, threshold),
                     **blend_errors(e.outputs[v], e.source, e.edited, region)}
            for key, val in found.items():
                scores[v][key].extend(val.tolist())
            scores[v]["attribute"].extend([attribute] * len(e.source))
    return {v: dict(s) for v, s in scores.items()}


def summary_rows(scores: dict[str, dict[str, list]], attribute: str | None = None) -> list[dict[str, object]]:
    """One row per variant: mean and std of each metric (over one ``attribute``, or all)."""
    rows = []
    for v, s in scores.items():
        keep = [attribute is None or a == attribute for a in s["attribute"]]
        row: dict[str, object] = {"variant": v, "n": sum(keep)}
        for key in METRICS:
            t = torch.tensor([x for x, k in zip(s[key], keep) if k])
            row[key] = t.mean().item()
            row[key + "_std"] = t.std(unbiased=False).item()
        rows.append(row)
    return rows


def markdown_table(rows: list[dict[str, object]]) -> str:
    """The rows as a Markdown table (mean ± std)."""
    head = "| variant | n | IoU ↑ | precision ↑ | recall ↑ | MAE outside vs I ↓ | MAE inside vs T ↓ |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [f"{r[k]:.3f} ± {r[k + '_std']:.3f}" for k in METRICS]
        lines.append(f"| {r['variant']} | {r['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
