"""Where the differential classifier looks, per attribute, and where each direction's side effects act.

:func:`diffcam_lift`: the Diff-CAM map (Grad-CAM on the differential classifier, eq 4-9 through
:func:`paperlib.method.pipeline.differential_cams`) of the world's own pairs ``[G(w), G(w + alpha n)]``
(true latents, no inversion: the classifier alone), its share of mass inside the intended region
(:func:`paperlib.synth.scores.intended_region`), and the lift = that share / the region's share of the
image (1: no better than a uniform map), for every attribute. Works on any world variant
(``SynthWorld(size, leaks=...)``) and classifier.

:func:`side_effect_cells`: where a direction's side effects act, on the CAM's grid: per cell, the mean
absolute change of the side effects ``G(w + alpha n) - G(w + alpha n_pure)`` against the attribute's own
change ``G(w + alpha n_pure) - G(w)``; :func:`side_effect_cell_ratio`: the strongest cell of the first over
the strongest cell of the second (a per-region bound on the side effects, tested for every attribute).
:func:`no_change_answer`: what the classifier says when nothing changed (a default class shows there).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..method.attributes import ATTRIBUTES, CLASS_INDEX, check_attribute
from ..method.pipeline import Components, differential_cams
from .scores import intended_region, mass_inside
from .world import SynthWorld


def world_components(world: SynthWorld, classifier: nn.Module) -> Components:
    """The pipeline's components for the world's own pairs: generator and directions of ``world``, no
    inverter (the latents are known), the classifier at the world's size."""
    def generate(w: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return world(w)

    def no_inverter(images: torch.Tensor) -> torch.Tensor:
        raise ValueError("world_components: no inverter; give latents")

    return Components(invert=no_inverter, generate=generate, direction=world.direction, classifier=classifier,
                      class_index=lambda a: CLASS_INDEX[a], parse=None, cam_size=world.size)


def diffcam_lift(world: SynthWorld, classifier: nn.Module, attributes: Sequence[str] = ATTRIBUTES,
                 n_faces: int = 50, seed: int = 0, alpha: float = 20.0, batch: int = 10
                 ) -> dict[str, dict[str, float]]:
    """Per attribute: ``region_share`` (mean share of the image the attribute itself changes),
    ``mass_inside`` (mean share of the Diff-CAM map's mass inside that region, and ``mass_inside_std``)
    and ``lift`` (their ratio, as :func:`paperlib.synth.report.looking_table` computes it), on
    ``n_faces`` typical faces of ``world`` drawn from ``seed`` (the same faces for every attribute)."""
    for a in attributes:
        check_attribute(a)
    if n_faces < 1 or batch < 1:
        raise ValueError(f"n_faces, batch: expected positive integers, got {n_faces!r}, {batch!r}")
    classifier = classifier.eval()
    c = world_components(world, classifier)
    w_all = world.sample_latents(n_faces, torch.Generator().manual_seed(seed))
    out = {}
    for a in attributes:
        shares, masses = [], []
        for w in w_all.split(batch):
            before = c.generate(w)
            after = c.generate(w + alpha * world.direction(a))
            cam = differential_cams(c, before, after, a, ("Diff-CAM",))["Diff-CAM"].detach()
            region = intended_region(world, w, a, alpha)
            shares.append(region.float().flatten(1).mean(1))
            masses.append(mass_inside(cam, region))
        share, mass = torch.cat(shares), torch.cat(masses)
        out[a] = {"region_share": share.mean().item(), "mass_inside": mass.mean().item(),
                  "mass_inside_std": mass.std(unbiased=False).item(),
                  "lift": (mass.mean() / share.mean()).item() if share.mean() > 0 else float("nan")}
    return out


def no_change_answer(world: SynthWorld, classifier: nn.Module, n_faces: int = 10, seed: int = 5) -> dict[str, float]:
    """The classifier's mean softmax per attribute on no-change pairs ``[G(w), G(w)]``: near 1 for one class,
    that class is its default (the answer when nothing changed), and its CAM reads the whole image rather
    than its own change; spread over the classes, none is."""
    w = world.sample_latents(n_faces, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        image = world(w)
        p = classifier.eval()(torch.cat([image, image], 1)).softmax(1).mean(0)
    return {a: p[CLASS_INDEX[a]].item() for a in ATTRIBUTES}


def side_effect_cells(world: SynthWorld, attribute: str, grid: int = 8, n_faces: int = 64, seed: int = 0,
                      alpha: float = 20.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(side, own)``: (grid, grid) maps of the mean absolute pixel change, averaged over ``n_faces``
    faces and over each cell of a ``grid`` × ``grid`` partition of the image, of the direction's side
    effects and of the attribute itself (the CAM's grid: 8 × 8 for SynthFace's classifier)."""
    check_attribute(attribute)
    if world.size % grid:
        raise ValueError(f"grid: expected a divisor of the image size {world.size}, got {grid!r}")
    w = world.sample_latents(n_faces, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        base, pure = world(w), world(w + alpha * world.pure_direction(attribute))
        full = world(w + alpha * world.direction(attribute))
    cell = world.size // grid

    def pooled(d: torch.Tensor) -> torch.Tensor:
        return nn.functional.avg_pool2d(d.abs().mean(1, keepdim=True), cell)[:, 0].mean(0)

    return pooled(full - pure), pooled(pure - base)


def side_effect_cell_ratio(world: SynthWorld, attribute: str, grid: int = 8, n_faces: int = 16, seed: int = 0,
                           alpha: float = 20.0) -> float:
    """The side effects' strongest cell over the attribute's own strongest cell (:func:`side_effect_cells`):
    below 1, no region of the CAM's grid is changed by the side effects as much as the attribute changes
    its own; a per-region complement of the image-wide :func:`paperlib.synth.scores.side_effect_ratio`."""
    side, own = side_effect_cells(world, attribute, grid, n_faces, seed, alpha)
    return (side.amax() / own.amax()).item()


__all__ = ["diffcam_lift", "no_change_answer", "side_effect_cell_ratio", "side_effect_cells", "world_components"]
