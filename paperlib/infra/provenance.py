"""Provenance: where a number came from (git commit, versions) and fingerprints of what made it.

One module used by the figures, the tables, training and every JSON sidecar.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


#: Generated outputs: a change there is what a run makes, not a change of the code that made it.
OUTPUTS: tuple[str, ...] = ("figures",)


def git_info(root: str | Path = ROOT) -> dict:
    """The repository's HEAD commit and whether the tracked code differs from it (None outside git).

    Changes under :data:`OUTPUTS` do not count: ``reproduce`` rewrites the committed figures as it
    goes, and the notebooks after the first would otherwise call a clean tree dirty."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip() or None
        excluded = [f":(exclude){folder}" for folder in OUTPUTS]
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *excluded],
                               cwd=root, capture_output=True, text=True,
                               timeout=10).stdout.strip() != "" if sha else None
    except (OSError, subprocess.SubprocessError):
        sha, dirty = None, None
    return {"sha": sha, "dirty": dirty}


def versions() -> dict:
    """Python, paperlib, torch, numpy and the other libraries whose versions change numbers."""
    from importlib import metadata

    from .. import __version__

    out = {"python": platform.python_version(), "paperlib": __version__, "torch": torch.__version__,
           "numpy": np.__version__}
    for pkg in ("torchvision", "lpips", "pytorch-fid", "scipy", "pillow"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def now() -> str:
    """The local time as ISO 8601 with the UTC offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def tensor_sha256(t: torch.Tensor) -> str:
    """sha256 of a tensor's bytes (on the CPU, contiguous)."""
    return hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def state_sha256(module: torch.nn.Module) -> str:
    """A hash of a module's state_dict (names, shapes and values)."""
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def record(**extra) -> dict:
    """The common provenance block: git, versions, date, plus ``extra``."""
    return {"git": git_info(), "versions": versions(), "date": now(), **extra}


__all__ = ["git_info", "versions", "now", "tensor_sha256", "file_sha256", "state_sha256", "record"]
