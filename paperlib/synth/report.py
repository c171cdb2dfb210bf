"""The ground-truth localization table: every mask variant on N synthetic faces."""

from __future__ import annotations

from collections import defaultdict

import torch
from tqdm.auto import tqdm

from ..attributes import TABLE_ATTRIBUTES
from ..masks import blend
from ..pipeline import VARIANTS, Components, differential_cams, edited_latents, mask
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
        source = observed.image[i:i + batch]
        w = c.invert(source)
        w_edit = edited_latents(c, w, attribute, alpha)
        recon, edited = c.generate(w), c.generate(w_edit)
        region = intended_region(world, w, attribute, alpha)
        parsing_edited = c.exact_parsing(w_edit)
        cams = differential_cams(c, recon, edited, attribute, tuple(variants))
        for v in variants:
            m = mask(cams[v], attribute, v, observed.parsing[i:i + batch], parsing_edited)
            out = c.deghost(blend(edited, source, m))
            for key, val in {**localization(m, region, threshold), **blend_errors(out, source, edited, region)}.items():
                scores[v][key].extend(val.tolist())
            scores[v]["attribute"].extend([attribute] * len(source))
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
