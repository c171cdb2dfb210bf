"""Reading official checkpoint files and loading them strictly, with one readable error.

Official files come in a few layouts: a raw state_dict (face-parsing, EOGI), a dict with
``state_dict`` (pSp, e4e, ReStyle: ``encoder.*``, ``decoder.*``, ``latent_avg``, ``opts``) or
with ``g_ema`` (rosinality's StyleGAN2 training checkpoints).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

MAX_LISTED = 5


class CheckpointMismatch(ValueError):
    """The checkpoint's keys or shapes do not match the module (strict loading failed)."""


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint file to CPU with ``torch.load(weights_only=True)``.

    A file that pickles more than tensors and plain containers is refused (unpickling runs
    code) unless ``PAPERLIB_TRUST_CHECKPOINTS=1`` is set, for files from a source you trust.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint: {path} does not exist; run `python -m paperlib download` or pass the right path")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # not a zip/pickle, or pickles non-allow-listed objects
        if os.environ.get("PAPERLIB_TRUST_CHECKPOINTS") == "1":
            warnings.warn(f"{path}: not loadable with weights_only=True; unpickling fully "
                          "because PAPERLIB_TRUST_CHECKPOINTS=1", stacklevel=2)
            return torch.load(path, map_location="cpu", weights_only=False)
        reason = str(err).strip().splitlines()[0][:200]
        raise CheckpointMismatch(
            f"checkpoint: {path} is not loadable with weights_only=True ({type(err).__name__}: {reason}); "
            "delete it and download again, or set PAPERLIB_TRUST_CHECKPOINTS=1 if you trust the file") from err


def extract_state_dict(ckpt: Mapping, prefix: str = "", key: str | None = None) -> dict[str, torch.Tensor]:
    """Pick the state_dict out of an official file and strip ``prefix`` (e.g. ``"decoder."``).

    ``key`` names the entry holding the weights (``"state_dict"``, ``"g_ema"``); when None the
    first of those present is used, else the file itself is taken as the state_dict.
    """
    if key is None:
        key = next((k for k in ("state_dict", "g_ema") if k in ckpt), None)
    sd = ckpt[key] if key is not None else ckpt
    if not prefix:
        return dict(sd)
    out = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    if not out:
        raise CheckpointMismatch(f"checkpoint: no keys start with {prefix!r}; is this the right file?")
    return out


def _listing(label: str, items: list[str]) -> str:
    more = f" (+{len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else ""
    return f"{label} {len(items)}: {', '.join(items[:MAX_LISTED])}{more}"


def state_dict_mismatch(expected: Mapping[str, tuple], found: Mapping[str, tuple]) -> str | None:
    """A one-line description of how two key->shape maps differ, or None when they agree."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shapes = sorted(f"{k} {tuple(found[k])} vs {tuple(expected[k])}"
                    for k in set(expected) & set(found) if tuple(found[k]) != tuple(expected[k]))
    parts = [_listing(label, items) for label, items in
             (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)) if items]
    return "; ".join(parts) or None


def shapes_of(state_dict: Mapping[str, torch.Tensor]) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in state_dict.items()}


def load_strict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "checkpoint") -> nn.Module:
    """``load_state_dict(strict=True)`` that reports missing / unexpected / wrongly shaped keys in one line."""
    problem = state_dict_mismatch(shapes_of(module.state_dict()), shapes_of(state_dict))
    if problem:
        raise CheckpointMismatch(f"{source}: does not match {type(module).__name__}: {problem}")
    module.load_state_dict(state_dict, strict=True)
    return module


def manifest_shapes(path: str | Path) -> dict[str, tuple]:
    """Key -> shape map of a manifest JSON (``../shared/manifests/*.json``)."""
    return {k: tuple(v) for k, v in json.loads(Path(path).read_text())["state_dict"].items()}
