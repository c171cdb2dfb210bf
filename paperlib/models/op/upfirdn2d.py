"""Upsample, FIR-filter, downsample (StyleGAN2's ``upfirdn2d``) in pure PyTorch."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def make_kernel(k: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """A normalised 2-D FIR kernel from 1-D taps (outer product) or a 2-D array."""
    k = torch.as_tensor(k, dtype=torch.float32)
    if k.ndim == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int | Sequence[int] = 1,
              down: int | Sequence[int] = 1, pad: Sequence[int] = (0, 0)) -> torch.Tensor:
    """Zero-insertion upsampling by ``up``, padding, 2-D FIR filter ``kernel``, keep every ``down``-th pixel.

    ``x`` is (N, C, H, W); ``pad`` is ``(pad0, pad1)`` for both axes or ``(x0, x1, y0, y1)``;
    negative pads crop. Same semantics as the original CUDA op (the kernel is flipped, i.e. a
    true convolution).
    """
    upx, upy = _pair(up)
    downx, downy = _pair(down)
    px0, px1, py0, py1 = (pad[0], pad[1], pad[0], pad[1]) if len(pad) == 2 else tuple(pad)
    n, c, h, w = x.shape
    if upx > 1 or upy > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, (0, upx - 1, 0, 0, 0, upy - 1))
        x = x.reshape(n, c, h * upy, w * upx)
    x = F.pad(x, (max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)))
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    k = torch.flip(kernel, (0, 1)).to(x)
    weight = k[None, None].repeat(c, 1, 1, 1)
    x = F.conv2d(x, weight, groups=c)
    return x[:, :, ::downy, ::downx]
