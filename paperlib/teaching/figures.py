"""The paper's figures as matplotlib panels, and saving them with provenance: drawing only.

Every function here takes results already computed: tensors (images (3, H, W) in [-1, 1], maps
(H, W) in [0, 1]), or for Figures 2-4 a :class:`FigureFaces` (the method's
:class:`paperlib.method.pipeline.BatchEdit` per face, as :mod:`paperlib.teaching.edits` computes it
from a profile's ``Setup``). Nothing here runs a network or knows a profile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import torch

Panel = torch.Tensor | None


def to_rgb(image: torch.Tensor):
    """(3, H, W) in [-1, 1] -> a (H, W, 3) numpy array in [0, 1] for imshow."""
    return (image.detach().float().cpu().clamp(-1, 1) * 0.5 + 0.5).permute(1, 2, 0).numpy()


def overlay_cam(image: torch.Tensor, cam: torch.Tensor, weight: float = 0.5) -> torch.Tensor:
    """A CAM (H, W) in [0, 1] as a jet heat map over ``image`` (3, H, W) in [-1, 1]; returns (3, H, W) in [-1, 1]."""
    heat = torch.as_tensor(plt.get_cmap("jet")(cam.detach().float().cpu().numpy())[..., :3]).permute(2, 0, 1).float()
    mixed = (1 - weight) * (image.detach().float().cpu() * 0.5 + 0.5) + weight * heat
    return mixed.clamp(0, 1) * 2 - 1


def panel_grid(rows: Sequence[Sequence[Panel]], col_titles: Sequence[str], row_titles: Sequence[str] = (),
               caption: str = "", size: float = 1.9, labels: Sequence[Sequence[str]] = ()) -> plt.Figure:
    """A grid of image panels; ``None`` draws an "n/a" panel (a method that does not apply).
    ``labels``: per row, a line under each panel (e.g. the output's edit kept and MAE; "" for none)."""
    n_rows, n_cols = len(rows), len(col_titles)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(size * n_cols, size * n_rows + (0.5 if caption else 0)),
                             squeeze=False)
    for r, row in enumerate(rows):
        if len(row) != n_cols:
            raise ValueError(f"rows: row {r} has {len(row)} panels, expected {n_cols} (one per column title)")
        for c, panel in enumerate(row):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if panel is None:
                ax.text(0.5, 0.5, "n/a", ha="center", va="center", fontsize=12, color="0.5")
            else:
                ax.imshow(to_rgb(panel))
            if r == 0:
                ax.set_title(col_titles[c], fontsize=9)
            if c == 0 and r < len(row_titles):
                ax.set_ylabel(row_titles[r], fontsize=9)
            if r < len(labels) and labels[r][c]:
                ax.set_xlabel(labels[r][c], fontsize=7)
    if caption:
        fig.text(0.5, 0.005, caption, ha="center", va="bottom", fontsize=8, wrap=True)
    fig.tight_layout(rect=(0, 0.04 if caption else 0, 1, 1))
    return released(fig)


def released(fig: plt.Figure) -> plt.Figure:
    """``fig`` closed in pyplot: a notebook then shows it once, as the cell's value, and not a
    second time when the inline backend draws the still-open figures at the end of the cell."""
    plt.close(fig)
    return fig


def save_figure(fig: plt.Figure, out_dir: str | Path, name: str, provenance: dict) -> list[Path]:
    """Write ``name.png`` and ``name.pdf`` with ``provenance`` in their metadata; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(provenance, sort_keys=True, default=str)
    png, pdf = out / f"{name}.png", out / f"{name}.pdf"
    fig.savefig(png, dpi=110, metadata={"Software": "paperlib", "Description": text})
    fig.savefig(pdf, metadata={"Creator": "paperlib", "Subject": text})
    return [png, pdf]


# ------------------------------------------------------------------ the paper's figures
def mae(a: torch.Tensor, b: torch.Tensor) -> float:
    """The mean absolute difference of two images in [-1, 1], on the [0, 1] scale."""
    return ((a - b).abs().mean() / 2).item()


def panel_label(kept: float | None, damage: float | None) -> str:
    """The line under an output panel: how much of the edit it kept and how far it moved from the source."""
    k = "—" if kept is None else f"{kept:.2f}"
    return f"kept {k} · MAE {damage:.3f}" if damage is not None else ""


#: The caption's sentence on the panel labels.
LABELS_NOTE = (" Under each output: edit kept ({judge}; 0 = the source, 1 = the whole edit) and MAE against the "
               "source; a low MAE with little edit kept is no edit.")


def stamped(text: str, random_weights: bool = False) -> str:
    """A caption, stamped when the networks are random-init (a dry run)."""
    return f"RANDOM WEIGHTS (dry run, not the paper's networks). {text}" if random_weights else text


@dataclass
class FaceRow:
    """One row of Figures 2-4: face ``index`` edited for ``attribute`` (``edit``: the method's
    :class:`paperlib.method.pipeline.BatchEdit` with the figure's variants) and, for Figure 4, each
    baseline's output (3, H, W), None where the profile has no such baseline."""

    index: int
    attribute: str
    edit: object
    baselines: dict[str, torch.Tensor | None] = field(default_factory=dict)
    #: method or variant ("pSp", a mask variant, a baseline) -> the output's edit kept (None: no value)
    kept: dict[str, float | None] = field(default_factory=dict)


@dataclass
class FigureFaces:
    """What one of Figures 2-4 shows: its rows, the mask variants computed for them (the columns),
    the profile's name and whether its networks are random-init (both for the caption)."""

    rows: list[FaceRow]
    variants: tuple
    profile: str
    random_weights: bool = False
    judge: str = "exact"  # the judge of the rows' ``kept`` (:mod:`paperlib.evaluation.judges`)


def figure2(faces: FigureFaces) -> tuple[plt.Figure, dict]:
    """Figure 2: (a) original, (b) manipulated, (c) Diff-CAM activation, (d) Diff-CAM edit,
    (e) Diff-CAM++ activation, (f) Diff-CAM++ edit; one row per face. With the authors' code among
    ``faces.variants`` two more columns, the map and edit of the authors' released scripts."""
    variants = faces.variants
    panels, labels, numbers = [], [], []
    for r in faces.rows:
        e = r.edit
        src = e.source[0]
        panels.append([src, e.edited[0]] + [p for v in variants
                                            for p in (overlay_cam(src, e.masks[v][0]), e.outputs[v][0])])
        labels.append(["", panel_label(r.kept.get("pSp"), mae(e.edited, e.source))]
                      + [t for v in variants for t in ("", panel_label(r.kept.get(v), mae(e.outputs[v], e.source)))])
        row = {"index": r.index, "attribute": r.attribute}
        for v, key in zip(variants, ("diffcam", "diffcampp", "authors_code")):
            row[f"mae_{key}"] = mae(e.outputs[v], e.source)
            row[f"mask_area_{key}"] = e.masks[v].mean().item()
            row[f"kept_{key}"] = r.kept.get(v)
        numbers.append(row)
    cols = ["(a) original", "(b) manipulated", "(c) Diff-CAM map", "(d) Diff-CAM edit",
            "(e) Diff-CAM++ map", "(f) Diff-CAM++ edit", "(g) authors' code map", "(h) authors' code edit"]
    fig = panel_grid(panels, cols[:2 + 2 * len(variants)], [r.attribute for r in faces.rows], labels=labels,
                     caption=stamped(f"Figure 2 ({faces.profile} profile): Diff-CAM vs Diff-CAM++."
                                     + LABELS_NOTE.format(judge=faces.judge), faces.random_weights))
    return fig, {"rows": numbers}


def figure3(faces: FigureFaces) -> tuple[plt.Figure, dict]:
    """Figure 3, the ablation of the mask module: (a) Diff-CAM, (b) Grad-CAM++, (c) + TTA,
    (d) + PCA (Eigen), (e) + TTA + PCA, (f) Diff-CAM++ (``faces.variants``); per face a row of
    masks (over the original) and a row of edits."""
    variants = faces.variants
    panels, titles, labels, numbers = [], [], [], []
    for r in faces.rows:
        e = r.edit
        src = e.source[0]
        panels.append([overlay_cam(src, e.masks[v][0]) for v in variants])
        panels.append([e.outputs[v][0] for v in variants])
        titles += [f"{r.attribute}: mask", f"{r.attribute}: edit"]
        labels += [[""] * len(variants), [panel_label(r.kept.get(v), mae(e.outputs[v], e.source)) for v in variants]]
        numbers.append({"index": r.index, "attribute": r.attribute,
                        "mae": {v: mae(e.outputs[v], e.source) for v in variants},
                        "mask_area": {v: e.masks[v].mean().item() for v in variants},
                        "kept": {v: r.kept.get(v) for v in variants}})
    cols = ["(a) Diff-CAM", "(b) Grad-CAM++", "(c) + TTA", "(d) + PCA", "(e) + TTA + PCA", "(f) Diff-CAM++"]
    fig = panel_grid(panels, cols, titles, labels=labels,
                     caption=stamped(f"Figure 3 ({faces.profile} profile): ablation of the mask module."
                                     + LABELS_NOTE.format(judge=faces.judge), faces.random_weights))
    return fig, {"rows": numbers}


def figure4(faces: FigureFaces) -> tuple[plt.Figure, dict]:
    """Figure 4: (a) source, (b) pSp, (c) e4e, (d) ReStyle, (e) EOGI, (f) Diff-CAM++, one row per
    face (the paper: two Old rows, two Smiling rows). Baselines a profile does not have (None) are
    drawn as "n/a" panels. With the authors' code among ``faces.variants`` a column (g) for the
    authors' released scripts."""
    from ..evaluation.methods import VARIANT_METHODS

    variants = faces.variants
    panels, labels, numbers = [], [], []
    for r in faces.rows:
        e, baselines = r.edit, {m: r.baselines.get(m) for m in ("e4e", "ReStyle")}
        panels.append([e.source[0], e.edited[0], baselines["e4e"], baselines["ReStyle"]]
                      + [e.outputs[v][0] for v in variants])
        damage = {"pSp": mae(e.edited, e.source),
                  **{m: (mae(b[None], e.source) if b is not None else None) for m, b in baselines.items()},
                  **{v: mae(e.outputs[v], e.source) for v in variants}}
        labels.append([""] + [panel_label(r.kept.get(k), d) for k, d in damage.items()])
        numbers.append({"index": r.index, "attribute": r.attribute,
                        "mae": {VARIANT_METHODS.get(k, k): d for k, d in damage.items()},
                        "kept": {VARIANT_METHODS.get(k, k): r.kept.get(k) for k in damage}})
    cols = ["(a) source", "(b) pSp", "(c) e4e", "(d) ReStyle", "(e) EOGI", "(f) Diff-CAM++", "(g) authors' code"]
    has_baselines = any(b is not None for r in faces.rows for b in r.baselines.values())
    note = "" if has_baselines else " e4e/ReStyle: n/a (not part of this profile)."
    fig = panel_grid(panels, cols[:4 + len(variants)], [r.attribute for r in faces.rows], labels=labels,
                     caption=stamped(f"Figure 4 ({faces.profile} profile): qualitative comparison.{note}"
                                     + LABELS_NOTE.format(judge=faces.judge), faces.random_weights))
    return fig, {"rows": numbers}
