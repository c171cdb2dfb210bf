"""Small argument checks shared by the modules; each raises a one-line ValueError.

torch is imported only by the checks that need it (a tensor's, a device's), so the command line
validates its other arguments without importing it.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def _is_tensor(x) -> bool:
    """Whether ``x`` is a torch.Tensor, without importing torch (no tensor exists before it is imported)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def check_tensor(name: str, x, ndim: int | tuple[int, ...]) -> torch.Tensor:
    """``x`` must be a floating tensor with ``ndim`` dimensions and only finite values."""
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if not _is_tensor(x):
        raise ValueError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim not in dims:
        raise ValueError(f"{name}: expected {' or '.join(map(str, dims))} dimensions, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {x.dtype}")
    if not x.isfinite().all():
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


def check_alpha(alpha, name: str = "alpha") -> float:
    """``alpha`` (the edit strength of eq 3) as a float: a real number or a one-element floating
    tensor, finite; anything else (a bool, a string, NaN, inf) is a one-line ValueError."""
    numeric = (isinstance(alpha, numbers.Real) and not isinstance(alpha, bool)) or (
        _is_tensor(alpha) and alpha.numel() == 1 and alpha.is_floating_point())
    value = float(alpha) if numeric else float("nan")
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {alpha!r}")
    return value


def check_int(name: str, value, minimum: int) -> int:
    """``value`` must be an integer >= ``minimum`` (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def check_positive_int(name: str, value) -> int:
    """``value`` must be an integer >= 1 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return value


def check_device(device) -> torch.device:
    """A torch device that exists on this machine (``cuda`` only when CUDA is available)."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device: expected a torch device such as 'cpu' or 'cuda', got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available; use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device: {device!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"device: {device!r} requested but MPS is not available; use --device cpu")
    return dev



def device_or_default(requested: str | None, default: str) -> str:
    """The device a command runs on: ``requested`` (checked, :func:`check_device`), else ``default``
    when it is ``cpu`` or CUDA is available, else ``cpu``."""
    if requested is not None:
        check_device(requested)
        return requested
    import torch

    return default if default == "cpu" or torch.cuda.is_available() else "cpu"

def check_readable_folder(name: str, path) -> Path:
    """``path`` must be a folder this process can list."""
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"{name}: {folder} is not a folder")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise ValueError(f"{name}: {folder} is not readable (permissions)")
    return folder


def one_line(err: BaseException) -> str:
    """An exception as one line for an error message: ``"TypeName: its text"`` with every run of white
    space (newlines included) folded to one space; the type name alone when the text is empty."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
