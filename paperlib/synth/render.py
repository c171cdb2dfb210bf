"""Soft 2-D drawing primitives for the synthetic face world (batched, differentiable)."""

from __future__ import annotations

import torch


def grid(size: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates ``(X, Y)`` in [-1, 1], each (1, size, size); y points down."""
    t = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(t, t, indexing="ij")
    return x[None], y[None]


def col(v: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, 1, 1) for broadcasting against (B, H, W)."""
    return v[:, None, None]


def ellipse(x, y, cx, cy, a, b, edge: float) -> torch.Tensor:
    """Soft inside-mask of the ellipse centred (cx, cy) with half-axes (a, b): (B, H, W) in [0, 1]."""
    d = torch.sqrt(((x - col(cx)) / col(a)) ** 2 + ((y - col(cy)) / col(b)) ** 2 + 1e-12) - 1
    return torch.sigmoid(-d * torch.minimum(col(a), col(b)) / edge)


def step(v: torch.Tensor, edge: float) -> torch.Tensor:
    """Soft ``v > 0``."""
    return torch.sigmoid(v / edge)


def hash_noise(x: torch.Tensor, y: torch.Tensor, seed: float) -> torch.Tensor:
    """Deterministic pseudo-random texture in [0, 1] from pixel coordinates (no RNG state)."""
    v = torch.sin(x * 127.1 * (1 + seed) + y * 311.7 + seed * 74.7) * 43758.5453
    return v - torch.floor(v)


def paint(img: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, color: torch.Tensor,
          label: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Alpha-composite ``color`` ((B,3) or (B,3,H,W)) over ``img`` with ``mask``; set ``label`` where mask > 0.5."""
    if color.ndim == 2:
        color = color[:, :, None, None]
    m = mask[:, None]
    img = img * (1 - m) + color * m
    if label is not None:
        labels = torch.where(mask > 0.5, torch.full_like(labels, label), labels)
    return img, labels


def hsv(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """HSV (each (B,) in [0, 1]) to RGB (B, 3), smooth in h."""
    k = torch.tensor([5.0, 3.0, 1.0], device=h.device)
    kk = (k[None] + h[:, None] * 6) % 6
    f = torch.clamp(torch.minimum(kk, 4 - kk), 0, 1)
    return v[:, None] - v[:, None] * s[:, None] * f
