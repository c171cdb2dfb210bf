"""Small argument checks shared by the modules; each raises a one-line ValueError."""

from __future__ import annotations

import torch


def check_tensor(name: str, x, ndim: int | tuple[int, ...]) -> torch.Tensor:
    """``x`` must be a floating tensor with ``ndim`` dimensions and only finite values."""
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim not in dims:
        raise ValueError(f"{name}: expected {' or '.join(map(str, dims))} dimensions, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name}: contains NaN or infinite values; clean the input first")
    return x


def check_same_shape(**tensors: torch.Tensor) -> None:
    """All keyword tensors must share one shape; the message names each argument's shape."""
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if len(set(shapes.values())) > 1:
        listing = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"{', '.join(shapes)}: shapes must match, got {listing}")


def check_unit_range(name: str, x: torch.Tensor) -> None:
    """Values of ``x`` must lie in [0, 1]."""
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"{name}: expected values in [0, 1], got [{x.min().item():.4g}, {x.max().item():.4g}]"
        )
