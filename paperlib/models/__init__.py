"""Networks of the paper profile, reachable by asset name.

``build(name)`` returns a random-init module with the official parameter names (no download);
``load(name, path=None)`` loads the official file (from the asset cache when ``path`` is None)
through the network's ``from_checkpoint``, which raises one error listing missing / unexpected /
wrongly shaped keys when the file does not match.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from torch import nn

from ._checkpoint import CheckpointMismatch

#: asset name -> (module, class, constructor keyword arguments for the official configuration)
REGISTRY: dict[str, tuple[str, str, dict]] = {
    "stylegan2-ffhq": ("paperlib.models.stylegan2", "Generator", {}),
    "psp-ffhq-encode": ("paperlib.models.psp", "PSP", {}),
    "e4e-ffhq-encode": ("paperlib.models.e4e", "E4E", {}),
    "restyle-psp-ffhq-encode": ("paperlib.models.restyle", "ReStyle", {"variant": "psp"}),
    "restyle-e4e-ffhq-encode": ("paperlib.models.restyle", "ReStyle", {"variant": "e4e"}),
    "face-parsing-bisenet": ("paperlib.models.bisenet", "BiSeNet", {}),
    "eogi-diffcam": ("paperlib.diffnet", "DiffNet", {"n_classes": 17, "arch": "resnet101"}),
    "eogi-deghosting": ("paperlib.models.deghosting", "Deghosting", {}),
}


def _class(name: str):
    if name not in REGISTRY:
        raise ValueError(f"name: unknown network {name!r}; expected one of {', '.join(REGISTRY)}")
    module, cls, kwargs = REGISTRY[name]
    return getattr(importlib.import_module(module), cls), kwargs


def build(name: str, **overrides) -> nn.Module:
    """A random-init network ``name`` in its official configuration (``overrides`` change it)."""
    cls, kwargs = _class(name)
    return cls(**{**kwargs, **overrides})


def load(name: str, path: str | Path | None = None) -> nn.Module:
    """Network ``name`` with its official weights from ``path`` (default: the asset cache)."""
    cls, kwargs = _class(name)
    if path is None:
        from ..assets import asset_path  # the cache; raises with the download command if missing
        path = asset_path(name)
    return cls.from_checkpoint(path, **kwargs)


__all__ = ["REGISTRY", "CheckpointMismatch", "build", "load"]
