"""The paper's figures as matplotlib panels, and saving them with provenance.

The drawing functions take tensors (images (3, H, W) in [-1, 1], maps (H, W) in [0, 1]) and
know nothing about profiles; :mod:`paperlib.teaching.reproduce` computes what they show.
"""

from __future__ import annotations

import json
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
               caption: str = "", size: float = 1.9) -> plt.Figure:
    """A grid of image panels; ``None`` draws an "n/a" panel (a method that does not apply)."""
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
def edit_face(setup, index: int, attribute: str, variants: Sequence = ("Diff-CAM", "Diff-CAM++"),
              alpha: float = 20.0):
    """Run the method on face ``index`` of a :class:`paperlib.profiles.Setup` for ``attribute``
    and keep every intermediate tensor (a :class:`paperlib.method.pipeline.BatchEdit`)."""
    from ..method.pipeline import edit_variants

    source = setup.load_sources([index])
    parsing = setup.source_parsing([index], source) if setup.source_parsing else None
    return edit_variants(setup.components, source, attribute, tuple(variants), alpha=alpha, parsing_source=parsing)


def _mae(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().mean() / 2).item()  # images in [-1, 1] -> MAE on the [0, 1] scale


def _title(setup, text: str) -> str:
    """A caption, stamped when the setup's networks are random-init (a dry run)."""
    return f"RANDOM WEIGHTS (dry run, not the paper's networks). {text}" if getattr(setup, "random_weights", False) \
        else text


def figure2(setup, rows: Sequence[tuple[int, str]], authors_code: bool = False) -> tuple[plt.Figure, dict]:
    """Figure 2: (a) original, (b) manipulated, (c) Diff-CAM activation, (d) Diff-CAM edit,
    (e) Diff-CAM++ activation, (f) Diff-CAM++ edit; one row per ``(face index, attribute)``.
    ``authors_code``: two more columns, the map and edit of the authors' released scripts."""
    from ..method.pipeline import AUTHORS_CODE

    variants = ("Diff-CAM", "Diff-CAM++") + ((AUTHORS_CODE,) if authors_code else ())
    panels, numbers = [], []
    for index, attribute in rows:
        e = edit_face(setup, index, attribute, variants)
        src = e.source[0]
        panels.append([src, e.edited[0]] + [p for v in variants
                                            for p in (overlay_cam(src, e.masks[v][0]), e.outputs[v][0])])
        row = {"index": index, "attribute": attribute}
        for v, key in zip(variants, ("diffcam", "diffcampp", "authors_code")):
            row[f"mae_{key}"] = _mae(e.outputs[v], e.source)
            row[f"mask_area_{key}"] = e.masks[v].mean().item()
        numbers.append(row)
    cols = ["(a) original", "(b) manipulated", "(c) Diff-CAM map", "(d) Diff-CAM edit",
            "(e) Diff-CAM++ map", "(f) Diff-CAM++ edit", "(g) authors' code map", "(h) authors' code edit"]
    fig = panel_grid(panels, cols[:2 + 2 * len(variants)], [a for _, a in rows],
                     caption=_title(setup, f"Figure 2 ({setup.profile} profile): Diff-CAM vs Diff-CAM++."))
    return fig, {"rows": numbers}


def figure3(setup, rows: Sequence[tuple[int, str]]) -> tuple[plt.Figure, dict]:
    """Figure 3, the ablation of the mask module: (a) Diff-CAM, (b) Grad-CAM++, (c) + TTA,
    (d) + PCA (Eigen), (e) + TTA + PCA, (f) Diff-CAM++; per face a row of masks (over the
    original) and a row of edits."""
    from ..method.pipeline import FIGURE3_VARIANTS

    variants = FIGURE3_VARIANTS
    panels, titles, numbers = [], [], []
    for index, attribute in rows:
        e = edit_face(setup, index, attribute, variants)
        src = e.source[0]
        panels.append([overlay_cam(src, e.masks[v][0]) for v in variants])
        panels.append([e.outputs[v][0] for v in variants])
        titles += [f"{attribute}: mask", f"{attribute}: edit"]
        numbers.append({"index": index, "attribute": attribute,
                        "mae": {v: _mae(e.outputs[v], e.source) for v in variants},
                        "mask_area": {v: e.masks[v].mean().item() for v in variants}})
    cols = ["(a) Diff-CAM", "(b) Grad-CAM++", "(c) + TTA", "(d) + PCA", "(e) + TTA + PCA", "(f) Diff-CAM++"]
    fig = panel_grid(panels, cols, titles,
                     caption=_title(setup, f"Figure 3 ({setup.profile} profile): ablation of the mask module."))
    return fig, {"rows": numbers}


def figure4(setup, rows: Sequence[tuple[int, str]], authors_code: bool = False) -> tuple[plt.Figure, dict]:
    """Figure 4: (a) source, (b) pSp, (c) e4e, (d) ReStyle, (e) EOGI, (f) Diff-CAM++, one row per
    ``(face index, attribute)`` (the paper: two Old rows, two Smiling rows). Methods a profile
    does not have are drawn as "n/a" panels. ``authors_code``: a column (g) for the authors'
    released scripts."""
    from ..evaluation.methods import VARIANT_METHODS
    from ..method.pipeline import AUTHORS_CODE

    variants = ("Diff-CAM", "Diff-CAM++") + ((AUTHORS_CODE,) if authors_code else ())
    panels, numbers = [], []
    for index, attribute in rows:
        e = edit_face(setup, index, attribute, variants)
        baselines = {m: (setup.baselines[m](e.source, attribute)[0] if m in setup.baselines else None)
                     for m in ("e4e", "ReStyle")}
        panels.append([e.source[0], e.edited[0], baselines["e4e"], baselines["ReStyle"]]
                      + [e.outputs[v][0] for v in variants])
        numbers.append({"index": index, "attribute": attribute, "mae": {
            "pSp": _mae(e.edited, e.source),
            **{VARIANT_METHODS[v]: _mae(e.outputs[v], e.source) for v in variants},
            **{m: (_mae(b[None], e.source) if b is not None else None) for m, b in baselines.items()}}})
    cols = ["(a) source", "(b) pSp", "(c) e4e", "(d) ReStyle", "(e) EOGI", "(f) Diff-CAM++", "(g) authors' code"]
    note = "" if setup.baselines else " e4e/ReStyle: n/a (not part of this profile)."
    fig = panel_grid(panels, cols[:4 + len(variants)], [a for _, a in rows],
                     caption=_title(setup, f"Figure 4 ({setup.profile} profile): qualitative comparison.{note}"))
    return fig, {"rows": numbers}
