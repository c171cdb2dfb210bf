"""The paper's figures as matplotlib panels, and saving them with provenance.

The drawing functions take tensors (images (3, H, W) in [-1, 1], maps (H, W) in [0, 1]) and
know nothing about profiles; :mod:`paperlib.reproduce` computes what they show.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # no display needed; notebooks still show the returned figures inline
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

Panel = torch.Tensor | None


def to_rgb(image: torch.Tensor) -> torch.Tensor:
    """(3, H, W) in [-1, 1] -> (H, W, 3) in [0, 1] for imshow."""
    return (image.detach().float().cpu().clamp(-1, 1) * 0.5 + 0.5).permute(1, 2, 0)


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
