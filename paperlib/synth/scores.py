"""Ground-truth scores of a mask method on SynthFace (the world knows where each edit belongs)."""

from __future__ import annotations

import torch

from ..attributes import check_attribute
from .world import SynthWorld


def intended_region(world: SynthWorld, w: torch.Tensor, attribute: str, alpha: float = 20.0,
                    tol: float = 2e-2) -> torch.Tensor:
    """Pixels (B, H, W, bool) that the attribute itself changes between ``G(w)`` and
    ``G(w + alpha n)``: moving only the attribute's own coordinate (no entangled side effects),
    where any channel changes by more than ``tol`` (in [-1, 1] units) or the label changes."""
    check_attribute(attribute)
    before = world.render(w)
    after = world.render(w + alpha * world.pure_direction(attribute).to(w))
    changed = (after.image - before.image).abs().amax(dim=1) > tol
    return changed | (after.parsing != before.parsing)


def localization(mask: torch.Tensor, region: torch.Tensor, threshold: float = 0.5) -> dict[str, torch.Tensor]:
    """Per-image IoU, precision and recall of ``mask > threshold`` against ``region`` (B, H, W).

    Empty predictions get precision 1 (nothing wrongly claimed); empty regions recall 1."""
    pred = mask > threshold
    inter = (pred & region).flatten(1).sum(1).float()
    p, r = pred.flatten(1).sum(1).float(), region.flatten(1).sum(1).float()
    union = (pred | region).flatten(1).sum(1).float()
    one = torch.ones_like(inter)
    return {
        "iou": torch.where(union > 0, inter / union.clamp(min=1), one),
        "precision": torch.where(p > 0, inter / p.clamp(min=1), one),
        "recall": torch.where(r > 0, inter / r.clamp(min=1), one),
    }


def blend_errors(output: torch.Tensor, source: torch.Tensor, edited: torch.Tensor,
                 region: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image MAE (images in [-1, 1], reported on the [0, 1] scale) of the result against
    the source ``I`` outside the intended region (what was wrongly changed) and against the
    edit ``T`` inside it (how much of the edit was lost)."""
    err_src = (output - source).abs().mean(1) / 2
    err_edit = (output - edited).abs().mean(1) / 2
    out = (~region).float()
    inside = region.float()
    return {
        "mae_outside": (err_src * out).flatten(1).sum(1) / out.flatten(1).sum(1).clamp(min=1),
        "mae_inside": (err_edit * inside).flatten(1).sum(1) / inside.flatten(1).sum(1).clamp(min=1),
    }
