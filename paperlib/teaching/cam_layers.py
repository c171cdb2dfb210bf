"""Grad-CAM vs Grad-CAM++ at a chosen layer of the DiffNet: why they agree at layer4, where they differ.

The paper's CAM layer (layer4) feeds global average pooling and then a linear layer, so the
gradient of the class score w.r.t. ``A_ij^k`` is ``fc_weight[c, k] / (h w)``: the same at every
position of a channel. Grad-CAM++'s eq 6-7 then reduce to Grad-CAM's weight times a positive
per-channel factor (channels with a negative gradient are dropped). At an earlier layer the
gradient goes through 3x3 convolutions and ReLUs first and varies over space, and Grad-CAM++'s
per-position alphas change the map. These functions measure both facts on any DiffNet.
"""

from __future__ import annotations

import torch
from torch import nn

from ..method.cam import (
    activations_and_grads,
    cam_map,
    gradcam_plus_plus_weights,
    gradcam_weights,
    normalize_cam,
    weighted_activations,
)
from ..method.diffnet import CAM_LAYERS, cam_layer


class AtLayer(nn.Module):
    """``model`` with another CAM target layer: the same forward, ``target_layer`` = ``layer``.
    Plugged into :class:`paperlib.method.pipeline.Components` it makes the whole method use that layer."""

    in_channels = 6

    def __init__(self, model: nn.Module, layer: nn.Module) -> None:
        super().__init__()
        if not any(m is layer for m in model.modules()):
            raise ValueError("layer: not a submodule of model; pick it with cam_layer(model, name)")
        self.model = model
        self._layer = [layer]  # a list: not registered twice as a child

    @property
    def target_layer(self) -> nn.Module:
        return self._layer[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _grads(model: nn.Module, layer: str, pairs: torch.Tensor, target: int) -> tuple[torch.Tensor, torch.Tensor]:
    targets = torch.full((len(pairs),), int(target), dtype=torch.long)
    return activations_and_grads(model, cam_layer(model, layer), pairs, targets)


def spatial_variation(grads: torch.Tensor) -> torch.Tensor:
    """Per image and channel, the spatial standard deviation of the gradient over its spatial mean
    absolute value, (N, K); a channel whose gradient is zero everywhere gives 0."""
    scale = grads.abs().mean(dim=(2, 3))
    return torch.where(scale > 0, grads.std(dim=(2, 3)) / scale.clamp(min=torch.finfo(grads.dtype).tiny),
                       torch.zeros_like(scale))


def plusplus_factor(grads: torch.Tensor, activations: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++'s channel weight over Grad-CAM's, (N, K), NaN where Grad-CAM's weight is <= 0
    (there Grad-CAM++ drops the channel or keeps only its positive part). With a gradient
    constant per channel it is ``h w g^2 / (2 g^2 + sum_ab A_ab g^3 + eps)``, positive."""
    w_gc, w_pp = gradcam_weights(grads), gradcam_plus_plus_weights(grads, activations)
    return torch.where(w_gc > 0, w_pp / w_gc.clamp(min=torch.finfo(grads.dtype).tiny),
                       torch.full_like(w_gc, float("nan")))


def _both_maps(grads: torch.Tensor, activations: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    return tuple(normalize_cam(cam_map(weighted_activations(w, activations)), size)
                 for w in (gradcam_weights(grads), gradcam_plus_plus_weights(grads, activations)))


def gradient_spatial_variation(model: nn.Module, layer: str, pairs: torch.Tensor, target: int) -> torch.Tensor:
    """:func:`spatial_variation` of ``dS^c/dA`` at ``layer`` (one of :data:`CAM_LAYERS`) for class
    ``target`` on 6-channel ``pairs``, (N, K). At layer4 (before global average pooling) it is 0
    up to float error; at the earlier layers it is of order 1."""
    return spatial_variation(_grads(model, layer, pairs, target)[1])


def gradcam_and_plusplus_maps(model: nn.Module, layer: str, pairs: torch.Tensor,
                              target: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The Grad-CAM and Grad-CAM++ maps (eq 8, no TTA or Eigen) at ``layer``, each (N, H, W) in [0, 1]
    at the pairs' size (one forward and one backward pass for both)."""
    act, g = _grads(model, layer, pairs, target)
    return _both_maps(g, act, tuple(pairs.shape[-2:]))


def layer_comparison(model: nn.Module, pairs: torch.Tensor, target: int,
                     layers: tuple[str, ...] = CAM_LAYERS) -> list[dict]:
    """One row per layer: its grid, how much the gradient varies in space (max and median over
    channels of :func:`spatial_variation`), how much Grad-CAM++'s factor varies over the channels
    Grad-CAM weights positively (std / mean), the share of Grad-CAM's weight mass on negative
    channels (Grad-CAM++ drops them at layer4), and the mean absolute difference of the two maps (each min-max normalised)."""
    rows = []
    for layer in layers:
        act, g = _grads(model, layer, pairs, target)
        variation = spatial_variation(g)
        factor = plusplus_factor(g, act)
        factor = factor[~factor.isnan()]
        w_gc = gradcam_weights(g)
        gc, pp = _both_maps(g, act, tuple(pairs.shape[-2:]))
        rows.append({"layer": layer, "grid": "x".join(map(str, act.shape[-2:])),
                     "gradient std/mean, max over channels": variation.max().item(),
                     "gradient std/mean, median": variation.median().item(),
                     "++ factor, std/mean over channels": (factor.std() / factor.mean()).item()
                     if factor.numel() > 1 else 0.0,
                     "Grad-CAM weight on negative channels": (w_gc.clamp(max=0).abs().sum()
                                                              / w_gc.abs().sum().clamp(min=1e-30)).item(),
                     "mean abs(map++ - map)": (pp - gc).abs().mean().item()})
    return rows
