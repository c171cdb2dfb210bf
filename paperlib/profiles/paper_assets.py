"""The ``paper`` profile's assets: their names, whether they are in the cache (one FileNotFoundError
listing every download command), their recorded hashes, and reading EOGI's and InterFaceGAN's
direction files. Nothing is downloaded here (``python -m paperlib download``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..method.attributes import ATTRIBUTES, INTERFACEGAN_ATTRIBUTES

#: The profile's name (:data:`paperlib.profiles.base.NAMES`).
NAME = "paper"
#: The baselines of Tables 1-3 and Figure 4.
BASELINES: tuple[str, ...] = ("e4e", "ReStyle")
#: Assets of the mask pipeline (pSp + StyleGAN2, Diff-CAM classifier, BiSeNet, deghosting).
PIPELINE_ASSETS: tuple[str, ...] = ("psp-ffhq-encode", "eogi-diffcam", "face-parsing-bisenet", "eogi-deghosting")
#: Baseline -> the encoder asset it inverts with.
BASELINE_ENCODERS: dict[str, str] = {"e4e": "e4e-ffhq-encode", "ReStyle": "restyle-e4e-ffhq-encode"}


def direction_asset(name: str) -> str:
    """The asset name of EOGI's direction for attribute ``name`` (``Bushy_Eyebrows`` -> ``eogi-direction-bushy-eyebrows``)."""
    return "eogi-direction-" + name.lower().replace("_", "-")



def direction_assets(attributes: Sequence[str] = ATTRIBUTES) -> list[str]:
    return [direction_asset(a) for a in attributes]


def interfacegan_assets() -> list[str]:
    return [f"interfacegan-{d}" for d in INTERFACEGAN_ATTRIBUTES.values()]


def missing_assets(names: Sequence[str]) -> list[str]:
    """The assets of ``names`` whose file is not in the paperlib cache (not verified here)."""
    from ..infra import assets

    return [n for n in names if not assets.cache_path(n).is_file()]


def require_assets(names: Sequence[str], celeba_root: str | Path | None = None, need_celeba: bool = False,
                   n_images: int | None = None) -> None:
    """Raise one FileNotFoundError listing everything missing and the commands that fetch it:
    the assets ``names``, and with ``need_celeba`` the CelebA-HQ folder (readable, holding the
    first ``n_images`` numbered images when ``n_images`` is given)."""
    from ..infra import assets

    missing = missing_assets(names)
    problems = []
    if missing:
        problems.append(f"missing assets {', '.join(missing)}: run `python -m paperlib download {' '.join(missing)}`")
    if need_celeba:
        try:
            root = assets.celeba_hq_root(celeba_root)
            if not os.access(root, os.R_OK | os.X_OK):
                raise FileNotFoundError(f"celeba-hq: {root} is not readable (permissions)")
            if n_images is not None:
                assets.celeba_hq_images(n_images, celeba_root)
        except FileNotFoundError as err:
            problems.append(str(err))
    if problems:
        raise FileNotFoundError("profile 'paper': " + "; ".join(problems)
                                + " (check with `python -m paperlib doctor`)")


def asset_hashes(names: Sequence[str]) -> dict[str, str | None]:
    """Asset name -> the sha256 recorded when its file was verified (None when unknown)."""
    from ..infra import assets

    records = assets.read_records()
    return {n: records.get(assets.resolve(n).name, {}).get("sha256") for n in names}


def load_directions_dict(attributes: Sequence[str] = ATTRIBUTES) -> dict[str, torch.Tensor]:
    """EOGI's directions of ``attributes`` from the cache, each (18, 512) with unit Frobenius norm."""
    ordered = sorted(attributes)
    return dict(zip(ordered, load_directions(None, ordered)))


def evaluation_assets(baselines: Sequence[str] = BASELINES) -> list[str]:
    """Every asset the paper profile's evaluation (and so ``reproduce --profile paper``) needs."""
    names = list(PIPELINE_ASSETS) + direction_assets()
    return names + [BASELINE_ENCODERS[b] for b in baselines] + (interfacegan_assets() if baselines else [])


def load_directions(folder: str | Path | None = None, names: Sequence[str] = ATTRIBUTES) -> torch.Tensor:
    """EOGI's direction files ``<name>.npy`` as a (K, 18, 512) tensor in class-index order.

    ``folder``: a folder holding ``<name>.npy`` for every name (EOGI's ``directions/``); None
    reads the verified files of the ``eogi-direction-*`` assets from the paperlib cache. Each
    direction is normalised to unit Frobenius norm over the whole array, as EOGI's trainer does
    before ``w + 20 n``. Row ``k`` is the class of index ``k`` (alphabetical order).
    """
    ordered = sorted(names)
    if folder is None:
        from ..infra.download import asset_path

        paths, missing = {}, []
        for n in ordered:
            try:
                paths[n] = asset_path(direction_asset(n))
            except FileNotFoundError:
                missing.append(direction_asset(n))
        if missing:
            raise FileNotFoundError(f"directions: not in the paperlib cache; run `python -m paperlib download "
                                    f"{' '.join(missing)}` or pass a folder of EOGI's <attribute>.npy files")
    else:
        folder = Path(folder)
        paths = {n: folder / f"{n}.npy" for n in ordered}
        missing = [f"{n}.npy" for n in ordered if not paths[n].is_file()]
        if missing:
            raise FileNotFoundError(f"directions: {folder} lacks {', '.join(missing)} (EOGI's directions/ folder)")
    out = []
    for n in ordered:
        d = torch.from_numpy(np.load(paths[n])).float().reshape(-1, 512)
        out.append(d / d.norm())
    return torch.stack(out)


def load_interfacegan(path: str | Path) -> torch.Tensor:
    """An InterFaceGAN direction file of e4e (a (1, 512) tensor) as a unit vector (1, 512)."""
    from ..models._checkpoint import read_checkpoint

    d = read_checkpoint(path)
    if not isinstance(d, torch.Tensor) or d.numel() != 512:
        got = tuple(d.shape) if isinstance(d, torch.Tensor) else type(d).__name__
        raise ValueError(f"path: {path} is not an InterFaceGAN direction (expected a (1, 512) tensor, got {got})")
    d = d.float().reshape(1, 512)
    return d / d.norm()


__all__ = ["NAME", "BASELINES", "PIPELINE_ASSETS", "BASELINE_ENCODERS", "direction_asset", "direction_assets",
           "interfacegan_assets", "evaluation_assets", "missing_assets", "require_assets", "asset_hashes",
           "load_directions", "load_directions_dict", "load_interfacegan"]
