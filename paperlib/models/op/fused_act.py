"""Bias + leaky ReLU + gain, as StyleGAN2's fused op (slope 0.2, gain sqrt(2))."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor | None = None,
                     negative_slope: float = 0.2, scale: float = math.sqrt(2)) -> torch.Tensor:
    """``leaky_relu(x + bias) * scale`` with ``bias`` broadcast over dim 1."""
    if bias is not None:
        x = x + bias.view(1, -1, *([1] * (x.ndim - 2)))
    return F.leaky_relu(x, negative_slope) * scale


class FusedLeakyReLU(nn.Module):
    """Module form with a learnable ``bias`` parameter (the name official checkpoints use)."""

    def __init__(self, channels: int, bias: bool = True, negative_slope: float = 0.2,
                 scale: float = math.sqrt(2)) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels)) if bias else None
        self.negative_slope = negative_slope
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias, self.negative_slope, self.scale)
