"""Networks of the paper profile, reachable by asset name.

``build(name)`` returns a random-init module with the official parameter names (no download);
``load(name, path)`` loads an official file through the network's ``from_checkpoint``, which
raises one error listing missing / unexpected / wrongly shaped keys when the file does not
match. This package knows nothing of the asset cache: :func:`paperlib.infra.download.load_network`
resolves the verified cached file and calls :func:`load`.
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
    "eogi-diffcam": ("paperlib.method.diffnet", "DiffNet", {"n_classes": 17, "arch": "resnet101"}),
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


def load(name: str, path: str | Path) -> nn.Module:
    """Network ``name`` with its official weights from the file ``path`` (checked strictly).
    For the verified file of the asset cache use :func:`paperlib.infra.download.load_network`."""
    cls, kwargs = _class(name)
    if path is None:
        raise ValueError(f"path: load({name!r}, path) needs the checkpoint file; for the cached asset use "
                         f"paperlib.infra.download.load_network({name!r})")
    return cls.from_checkpoint(path, **kwargs)


__all__ = ["REGISTRY", "CheckpointMismatch", "build", "load"]
