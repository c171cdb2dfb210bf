"""Ground-truth scores of a mask method on SynthFace (the world knows where each edit belongs)."""

from __future__ import annotations

import torch

from ..method.attributes import check_attribute
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


def ideal_change(world: SynthWorld, w: torch.Tensor, details: torch.Tensor | None, attribute: str,
                 alpha: float = 20.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The ideal edit of the observed photos ``render(w, details)`` (their true latents ``w``):
    ``(render(w + alpha n_pure, details) - render(w, details), intended region)``, the change
    (B, 3, H, W) in [-1, 1] units that only the attribute makes on these very photos, details
    included, and where it belongs (:func:`intended_region`). The reference of the exact "edit kept"
    judge (:mod:`paperlib.evaluation.judges`)."""
    check_attribute(attribute)
    with torch.no_grad():
        before = world.render(w, details).image
        after = world.render(w + alpha * world.pure_direction(attribute).to(w), details).image
    return after - before, intended_region(world, w, attribute, alpha)


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


def mass_inside(cam: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Per-image share of the map's mass inside ``region``: ``sum(cam * region) / sum(cam)``
    (B,); 1 when the classifier looks only where the attribute changes, the region's share of the
    image for a uniform map. An all-zero map has no mass: its share is 0."""
    total = cam.flatten(1).sum(1)
    inside = (cam * region).flatten(1).sum(1)
    return torch.where(total > 0, inside / total.clamp(min=1e-12), torch.zeros_like(total))


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


def side_effect_ratio(world: SynthWorld, attribute: str, n_faces: int = 64, seed: int = 0,
                      alpha: float = 20.0) -> float:
    """How strong a direction's entangled side effects are against the attribute itself: the mean
    absolute pixel change of ``G(w + alpha n) - G(w + alpha n_pure)`` (the side effects) over that
    of ``G(w + alpha n_pure) - G(w)`` (the attribute), on ``n_faces`` typical faces. Above 1, a
    classifier can tell the attribute by its side effects rather than by the attribute."""
    check_attribute(attribute)
    w = world.sample_latents(n_faces, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        base, pure = world(w), world(w + alpha * world.pure_direction(attribute))
        full = world(w + alpha * world.direction(attribute))
    return ((full - pure).abs().mean() / (pure - base).abs().mean()).item()
