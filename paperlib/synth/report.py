"""Summaries of the ground-truth localization scores (scored by :class:`paperlib.profiles.synthetic.Localization`)."""

from __future__ import annotations

import torch

from ..infra.markdown import table

METRICS = ("iou", "precision", "recall", "region_share", "mass_inside", "mae_outside", "mae_inside")
#: The Markdown header of each metric of :data:`METRICS`, in the same order.
METRIC_HEADERS = ("IoU ↑", "precision ↑", "recall ↑", "region share", "CAM mass inside ↑", "MAE outside vs I ↓",
                  "MAE inside vs T ↓")
#: The Markdown columns of :func:`markdown_table` that show numbers -> the CSV columns each cell displays
#: (mean ± std; read back by :mod:`paperlib.evaluation.regen_check`).
MD_COLUMNS: dict[str, tuple[str, ...]] = {"n": ("n",), **{h: (k, k + "_std") for h, k in zip(METRIC_HEADERS, METRICS)}}


def summary_rows(scores: dict[str, dict[str, list]], attribute: str | None = None) -> list[dict[str, object]]:
    """One row per variant: mean and std of each metric (over one ``attribute``, or all)."""
    rows = []
    for v, s in scores.items():
        keep = [attribute is None or a == attribute for a in s["attribute"]]
        row: dict[str, object] = {"variant": v, "n": sum(keep)}
        for key in METRICS:
            t = torch.tensor([x for x, k in zip(s[key], keep) if k], dtype=torch.float64)
            row[key] = t.mean().item()
            row[key + "_std"] = t.std(unbiased=False).item()
        rows.append(row)
    return rows


def markdown_table(rows: list[dict[str, object]]) -> str:
    """The rows as a Markdown table (mean ± std)."""
    body = [[r["variant"], r["n"], *(f"{r[k]:.3f} ± {r[k + '_std']:.3f}" for k in METRICS)] for r in rows]
    return "\n".join(table(("variant", *MD_COLUMNS), body))


def looking_table(rows: list[dict[str, object]], variant: str = "Diff-CAM") -> str:
    """Where the classifier looks, per attribute: the share of ``variant``'s CAM mass inside the
    intended region, against the region's share of the image (what a uniform map would score),
    and their ratio (the lift; 1 = no better than uniform)."""
    body = []
    for r in rows:
        if r["variant"] == variant and r["attribute"] != "all":
            lift = r["mass_inside"] / r["region_share"] if r["region_share"] else float("nan")
            body.append([r["attribute"], r["n"], f"{r['region_share']:.3f}",
                         f"{r['mass_inside']:.3f} ± {r['mass_inside_std']:.3f}", f"{lift:.1f}"])
    return "\n".join(table(("attribute", "n", "region share of the image", "CAM mass inside", "lift"), body))
