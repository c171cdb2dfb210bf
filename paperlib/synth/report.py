"""Summaries of the ground-truth localization scores (scored by :class:`paperlib.profiles.synthetic.Localization`)."""

from __future__ import annotations

import torch

METRICS = ("iou", "precision", "recall", "region_share", "mass_inside", "mae_outside", "mae_inside")


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
    head = ("| variant | n | IoU ↑ | precision ↑ | recall ↑ | region share | CAM mass inside ↑ | MAE outside vs I ↓ "
            "| MAE inside vs T ↓ |")
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [f"{r[k]:.3f} ± {r[k + '_std']:.3f}" for k in METRICS]
        lines.append(f"| {r['variant']} | {r['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def looking_table(rows: list[dict[str, object]], variant: str = "Diff-CAM") -> str:
    """Where the classifier looks, per attribute: the share of ``variant``'s CAM mass inside the
    intended region, against the region's share of the image (what a uniform map would score),
    and their ratio (the lift; 1 = no better than uniform)."""
    lines = ["| attribute | n | region share of the image | CAM mass inside | lift |", "|---|---|---|---|---|"]
    for r in rows:
        if r["variant"] == variant and r["attribute"] != "all":
            lift = r["mass_inside"] / r["region_share"] if r["region_share"] else float("nan")
            lines.append(f"| {r['attribute']} | {r['n']} | {r['region_share']:.3f} | {r['mass_inside']:.3f} ± "
                         f"{r['mass_inside_std']:.3f} | {lift:.1f} |")
    return "\n".join(lines)
