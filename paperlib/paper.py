"""The ``paper`` profile: the official networks plugged into :mod:`paperlib.pipeline`.

- invert: pSp (``PSP.invert``; the 1024² photo is average-pooled to 256² inside);
- generate: pSp's StyleGAN2 decoder at 1024² from W+ codes (fixed noise unless
  ``randomize_noise``; EOGI draws fresh noise per call), clamped to [-1, 1];
- direction: EOGI's ``<attribute>.npy`` (18, 512) normalised to unit Frobenius norm (METHOD.md);
- classifier: EOGI's ``diff_cam_weight.pt`` (``DiffNet``, 17 classes, ResNet101) with
  :data:`paperlib.attributes.EOGI17_INDEX` (a 7-way classifier uses the alphabetical indices);
- parse: BiSeNet (``79999_iter.pth``) on the images mapped to [0, 1];
- deghost: area-downsample to 128², EOGI's deghosting network, out at 1024²;
- ``cam_size`` 256 (the pair is area-pooled from 1024 to 256 before the classifier).

The e4e and ReStyle baselines (:func:`baseline_editor`) invert with their own encoder, move the
code along the InterFaceGAN ``age`` / ``smile`` direction (``Old`` / ``Smiling`` only) and output
the edited reconstruction.

Nothing is downloaded: a missing asset raises one FileNotFoundError that lists every
``python -m paperlib download ...`` command needed (:func:`require_assets`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .attributes import ATTRIBUTES, INTERFACEGAN_ATTRIBUTES, TABLE_ATTRIBUTES, check_attribute
from .attributes import class_index as _class_index
from .pipeline import Components

#: Assets of the mask pipeline (pSp + StyleGAN2, Diff-CAM classifier, BiSeNet, deghosting).
PIPELINE_ASSETS: tuple[str, ...] = ("psp-ffhq-encode", "eogi-diffcam", "face-parsing-bisenet", "eogi-deghosting")
#: Baseline -> the encoder asset it inverts with.
BASELINE_ENCODERS: dict[str, str] = {"e4e": "e4e-ffhq-encode", "ReStyle": "restyle-e4e-ffhq-encode"}
#: The step along InterFaceGAN's unit directions for e4e / ReStyle. The paper does not give it;
#: 3 is within the range e4e's editing notebook uses for age and smile.
INTERFACEGAN_FACTOR = 3.0
#: Resolution of EOGI's deghosting input.
DEGHOST_IN = 128


def direction_assets(attributes: Sequence[str] = ATTRIBUTES) -> list[str]:
    from .train import direction_asset

    return [direction_asset(a) for a in attributes]


def interfacegan_assets() -> list[str]:
    return [f"interfacegan-{d}" for d in INTERFACEGAN_ATTRIBUTES.values()]


def missing_assets(names: Sequence[str]) -> list[str]:
    """The assets of ``names`` whose file is not in the paperlib cache (not verified here)."""
    from . import assets

    return [n for n in names if not assets.cache_path(n).is_file()]


def require_assets(names: Sequence[str], celeba_root: str | Path | None = None, need_celeba: bool = False) -> None:
    """Raise one FileNotFoundError listing what is missing and the commands that fetch it."""
    from . import assets

    missing = missing_assets(names)
    problems = []
    if missing:
        problems.append(f"missing assets {', '.join(missing)}: run `python -m paperlib download {' '.join(missing)}`")
    if need_celeba:
        try:
            assets.celeba_hq_root(celeba_root)
        except FileNotFoundError as err:
            problems.append(str(err))
    if problems:
        raise FileNotFoundError("profile 'paper': " + "; ".join(problems)
                                + " (check with `python -m paperlib doctor`)")


def asset_hashes(names: Sequence[str]) -> dict[str, str | None]:
    """Asset name -> the sha256 recorded when its file was verified (None when unknown)."""
    from . import assets

    records = assets.read_records()
    return {n: records.get(assets.resolve(n).name, {}).get("sha256") for n in names}


def load_directions_dict(attributes: Sequence[str] = ATTRIBUTES) -> dict[str, torch.Tensor]:
    """EOGI's directions of ``attributes`` from the cache, each (18, 512) with unit Frobenius norm."""
    from .assets import asset_path

    out = {}
    for a, name in zip(attributes, direction_assets(attributes)):
        d = torch.from_numpy(np.load(asset_path(name))).float().reshape(-1, 512)
        out[a] = d / d.norm()
    return out


def _deghoster(net: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    in_size = getattr(net, "in_size", DEGHOST_IN)

    @torch.no_grad()
    def deghost(x: torch.Tensor) -> torch.Tensor:
        y = net(F.interpolate(x, size=(in_size, in_size), mode="area"))
        if y.shape[-2:] != x.shape[-2:]:
            y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return y.clamp(-1, 1)

    return deghost


def components(device: str = "cuda", randomize_noise: bool = False, *, psp: nn.Module | None = None,
               classifier: nn.Module | None = None, parser: nn.Module | None = None,
               deghoster: nn.Module | None = None, directions: dict[str, torch.Tensor] | None = None,
               cam_size: int = 256) -> Components:
    """The paper profile's plug-ins for :mod:`paperlib.pipeline`, from the cached official files.

    Any network may be passed in instead (``psp``: a :class:`paperlib.models.psp.PSP`;
    ``classifier``: a DiffNet; ``parser``: a BiSeNet; ``deghoster``: a Deghosting;
    ``directions``: attribute -> (n_styles, 512)); only the missing ones are loaded, and when
    any of their files is absent one FileNotFoundError lists the download commands.
    """
    from .models import load

    need = []
    if psp is None:
        need.append("psp-ffhq-encode")
    if classifier is None:
        need.append("eogi-diffcam")
    if parser is None:
        need.append("face-parsing-bisenet")
    if deghoster is None:
        need.append("eogi-deghosting")
    if directions is None:
        need += direction_assets()
    require_assets(need)
    dev = torch.device(device)
    psp = (psp if psp is not None else load("psp-ffhq-encode")).to(dev).eval()
    classifier = (classifier if classifier is not None else load("eogi-diffcam")).to(dev).eval()
    parser = (parser if parser is not None else load("face-parsing-bisenet")).to(dev).eval()
    deghoster = (deghoster if deghoster is not None else load("eogi-deghosting")).to(dev).eval()
    directions = directions if directions is not None else load_directions_dict()
    n_classes = classifier.fc.out_features if hasattr(classifier, "fc") else 17

    @torch.no_grad()
    def invert(x: torch.Tensor) -> torch.Tensor:
        return psp.invert(x.to(dev))

    @torch.no_grad()
    def generate(w: torch.Tensor) -> torch.Tensor:
        image, _ = psp.decoder([w.to(dev)], input_is_latent=True, randomize_noise=randomize_noise)
        return image.clamp(-1, 1)

    def direction(attribute: str) -> torch.Tensor:
        check_attribute(attribute)
        if attribute not in directions:
            raise ValueError(f"attribute: no direction for {attribute!r}; have {', '.join(directions)}")
        return directions[attribute].to(dev)

    @torch.no_grad()
    def parse(x: torch.Tensor) -> torch.Tensor:
        return parser.parse(((x + 1) / 2).clamp(0, 1))

    return Components(invert=invert, generate=generate, direction=direction, classifier=classifier,
                      class_index=lambda a: _class_index(a, n_classes), parse=parse,
                      deghost=_deghoster(deghoster), cam_size=cam_size)


def load_interfacegan(path: str | Path) -> torch.Tensor:
    """An InterFaceGAN direction file of e4e (a (1, 512) tensor) as a unit vector (1, 512)."""
    from .models._checkpoint import read_checkpoint

    d = read_checkpoint(path)
    if not isinstance(d, torch.Tensor) or d.numel() != 512:
        got = tuple(d.shape) if isinstance(d, torch.Tensor) else type(d).__name__
        raise ValueError(f"path: {path} is not an InterFaceGAN direction (expected a (1, 512) tensor, got {got})")
    d = d.float().reshape(1, 512)
    return d / d.norm()


def baseline_editor(encoder: nn.Module, directions: dict[str, torch.Tensor], factor: float = INTERFACEGAN_FACTOR,
                    device: str = "cuda", randomize_noise: bool = False) -> Callable[[torch.Tensor, str], torch.Tensor]:
    """``(images, attribute) -> G(E(images) + factor * d_attribute)`` for an e4e / ReStyle wrapper.

    ``directions``: attribute (``Old`` / ``Smiling``) -> (1, 512) InterFaceGAN direction,
    broadcast over the W+ layers as e4e's editor does.
    """
    dev = torch.device(device)
    encoder = encoder.to(dev).eval()

    @torch.no_grad()
    def edit(images: torch.Tensor, attribute: str) -> torch.Tensor:
        if attribute not in directions:
            raise ValueError(f"attribute: the baselines only have {', '.join(directions)}, got {attribute!r}")
        w = encoder.invert(images.to(dev))
        w = w + factor * directions[attribute].to(w)
        image, _ = encoder.decoder([w], input_is_latent=True, randomize_noise=randomize_noise)
        return image.clamp(-1, 1)

    return edit


def read_image(path: str | Path, size: int = 1024) -> torch.Tensor:
    """An RGB photo as (3, size, size) in [-1, 1] (area-resized when it is not size x size)."""
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.float32)
    img = torch.from_numpy(arr).permute(2, 0, 1).div(127.5).sub(1)
    if img.shape[-2:] != (size, size):
        img = F.interpolate(img[None], size=(size, size), mode="area")[0]
    return img


def evaluation_assets(baselines: Sequence[str] = ("e4e", "ReStyle")) -> list[str]:
    """Every asset the paper profile's evaluation (and so ``reproduce --profile paper``) needs."""
    names = list(PIPELINE_ASSETS) + direction_assets()
    return names + [BASELINE_ENCODERS[b] for b in baselines] + (interfacegan_assets() if baselines else [])


def evaluation_setup(n_images: int = 1000, *, device: str = "cuda", celeba_root: str | Path | None = None,
                     baselines: Sequence[str] = ("e4e", "ReStyle"), interfacegan_factor: float = INTERFACEGAN_FACTOR,
                     randomize_noise: bool = False):
    """The paper profile's :class:`paperlib.evaluate.Setup`: the first ``n_images`` CelebA-HQ photos at 1024²."""
    from .assets import celeba_hq_images
    from .evaluate import Setup
    from .models import load

    if isinstance(n_images, bool) or not isinstance(n_images, int) or n_images < 1:
        raise ValueError(f"n_images: expected a positive integer, got {n_images!r}")
    names = evaluation_assets(baselines)
    require_assets(names, celeba_root, need_celeba=True)
    paths = celeba_hq_images(n_images, celeba_root)
    dev = torch.device(device)
    c = components(device, randomize_noise)
    editors = {}
    if baselines:
        from .assets import asset_path

        dirs = {a: load_interfacegan(asset_path(f"interfacegan-{d}")) for a, d in INTERFACEGAN_ATTRIBUTES.items()}
        for b in baselines:
            editors[b] = baseline_editor(load(BASELINE_ENCODERS[b]), dirs, interfacegan_factor, device,
                                         randomize_noise)

    def load_sources(idx):
        return torch.stack([read_image(paths[i]) for i in idx]).to(dev)

    params = {"dataset": "celeba-hq", "first_image": paths[0].name, "randomize_noise": randomize_noise,
              "interfacegan_factor": interfacegan_factor, "baselines": list(baselines),
              "restyle": BASELINE_ENCODERS.get("ReStyle"), "assets": asset_hashes(names)}
    return Setup(profile="paper", components=c, n_images=n_images, load_sources=load_sources, baselines=editors,
                 params=params, assets=asset_hashes(names), device=str(dev))


__all__ = ["components", "evaluation_setup", "baseline_editor", "require_assets", "missing_assets",
           "load_interfacegan", "load_directions_dict", "read_image", "PIPELINE_ASSETS", "BASELINE_ENCODERS",
           "INTERFACEGAN_FACTOR", "TABLE_ATTRIBUTES"]
