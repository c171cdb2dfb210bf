"""The ``paper`` profile's photos and training data.

- the source photos: the first ``n`` of CelebA-HQ by numeric index
  (:func:`paperlib.infra.assets.celeba_hq_images`) or of a folder of faces in natural order
  (:func:`photo_paths`), read as (3, 1024, 1024) float tensors in [-1, 1] (:func:`read_image`);
- the differential classifier's training pairs (:class:`LatentEditPairs`, :func:`pair_source`) and
  its training (:func:`train_classifier`, a dry run with random weights only when asked).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_int
from ..infra.images import list_photos, photo_tensor, read_photo
from ..method.attributes import ATTRIBUTES
from .base import DEFAULTS, run_dir
from .dry_run import random_networks
from .paper_assets import NAME, load_directions


def read_image(path: str | Path, size: int = 1024) -> torch.Tensor:
    """A photo (:func:`paperlib.infra.images.read_photo`) as (3, size, size) in [-1, 1], area-resized
    when it is not size x size."""
    img = photo_tensor(read_photo(path))
    if img.shape[-2:] != (size, size):
        img = F.interpolate(img[None], size=(size, size), mode="area")[0]
    return img


def photo_paths(n_images: int, celeba_root: str | Path | None = None, images: str | Path | None = None) -> list[Path]:
    """The first ``n_images`` source photos: from the folder ``images`` (its .png/.jpg files in
    natural order: 2.jpg before 10.jpg) or the CelebA-HQ folder. One-line error when too few."""
    from ..infra.assets import celeba_hq_images

    if not images:
        return celeba_hq_images(n_images, celeba_root)
    folder = Path(images)
    if not folder.is_dir():
        raise FileNotFoundError(f"images: {folder} is not a folder of face photos")
    files = list_photos(folder)
    if len(files) < n_images:
        raise ValueError(f"images: {folder} holds {len(files)} .png/.jpg photos, n_images asks for {n_images}")
    return files[:n_images]


def training_photos(folder: str | Path) -> list[Path]:
    """The face images to invert for training: every .png/.jpg anywhere under ``folder`` (FFHQ's
    ``00000/00000.png`` layout), sorted by path."""
    return list_photos(folder, recursive=True, order="name")


# ---------------------------------------------------------------------------------- training
class LatentEditPairs:
    """The paper's pairs: real faces inverted by pSp, ``I' = G(w)``, ``T = G(w + alpha n_k)``.

    As in EOGI's trainer: an image (read, area-resized to 256, in [-1, 1]) is encoded to
    ``w`` (W+, 18 x 512), the class ``k`` is drawn uniformly, and both images come from the
    StyleGAN2 decoder (fresh noise per call, torch's global RNG) average-pooled to ``size``.

    ``psp``: :class:`paperlib.models.psp.PSP` (``invert(x)`` gives ``E(x) + latent_avg``;
    a module without ``invert`` is used as ``encoder(x) + latent_avg``), whose ``decoder`` is
    the StyleGAN2 generator, called as ``decoder([w], input_is_latent=True)`` (fresh noise).
    ``directions``: (K, 18, 512), row ``k`` the direction of class ``k`` (see :func:`load_directions`).
    ``images``: paths of the face images (FFHQ, as EOGI trains on).
    """

    def __init__(self, psp: nn.Module, directions: torch.Tensor, images: Sequence[str | Path], *,
                 alpha: float = 20.0, size: int = 256, device: str | torch.device = "cpu") -> None:
        if not isinstance(directions, torch.Tensor) or directions.ndim != 3:
            raise ValueError(f"directions: expected a (K, n_latent, 512) tensor, got "
                             f"{tuple(directions.shape) if isinstance(directions, torch.Tensor) else type(directions).__name__}")
        if len(images) == 0:
            raise ValueError("images: expected at least one face image path, got none")
        check_int("size", size, 8)
        self.device = torch.device(device)
        self.psp = psp.to(self.device).eval()
        self.directions = directions.to(self.device, torch.float32)
        self.images = [Path(p) for p in images]
        self.alpha = float(alpha)
        self.size = size

    def _read(self, path: Path) -> torch.Tensor:
        return read_image(path, 256)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self.psp, "invert"):
            return self.psp.invert(x)
        return self.psp.encoder(x) + self.psp.latent_avg

    def _decode(self, w: torch.Tensor) -> torch.Tensor:
        img, _ = self.psp.decoder([w], input_is_latent=True)
        return F.adaptive_avg_pool2d(img, self.size)

    @torch.no_grad()
    def sample_pairs(self, generator: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(len(self.images), (batch,), generator=generator)
        labels = torch.randint(len(self.directions), (batch,), generator=generator)
        x = torch.stack([self._read(self.images[i]) for i in idx.tolist()]).to(self.device)
        w = self._encode(x)
        edited = w + self.alpha * self.directions[labels.to(self.device)]
        pair = torch.cat([self._decode(w), self._decode(edited)], 1).clamp(-1, 1)
        return pair.cpu(), labels


def pair_source(size: int | None = None, seed: int = 0, data: str | Path | None = None,
                directions: str | Path | None = None, device: str = "cpu", **_ignored) -> LatentEditPairs:
    """The paper's training pairs: :class:`LatentEditPairs` from the official pSp FFHQ encoder
    (which bundles the StyleGAN2 FFHQ generator, asset ``psp-ffhq-encode``), EOGI's 7 directions
    (the ``eogi-direction-*`` assets, or the folder ``directions``) and a folder of face images
    to invert (``data``; EOGI trains on FFHQ). Raises one FileNotFoundError listing every missing
    input and how to get it. ``seed`` is unused: sampling draws from the trainer's generator.
    """
    from ..infra.download import load_network

    size = DEFAULTS[NAME]["size"] if size is None else size
    problems, psp, dirs, images = [], None, None, []
    try:
        psp = load_network("psp-ffhq-encode")
    except (FileNotFoundError, ModuleNotFoundError) as err:
        problems.append(f"the pSp/StyleGAN2 weights psp_ffhq_encode.pt (run `python -m paperlib download "
                        f"psp-ffhq-encode`; {err})")
    try:
        dirs = load_directions(directions)
    except (FileNotFoundError, ModuleNotFoundError) as err:
        problems.append(f"EOGI's 7 attribute directions ({err}; or --directions DIR)")
    if data is not None and Path(data).is_dir():
        images = training_photos(data)
    if not images:
        problems.append("face images to invert (--data DIR of FFHQ .png/.jpg files"
                        + (f"; none found in {data}" if data is not None else "") + ")")
    if problems:
        raise FileNotFoundError("profile 'paper': the paper pair source needs " + "; ".join(problems))
    return LatentEditPairs(psp, dirs, images, size=size, device=device)


#: A dry run's training batch on the CPU (the paper's batch 20 is 40 StyleGAN2 1024² images a step;
#: one pair is 2 images, about 14 s on one CPU thread).
DRY_RUN_CPU_BATCH = 1


def train_classifier(steps: int | None = None, seed: int = 0, device: str = "cuda", smoke: bool = False,
                     data: str | Path | None = None, progress: bool = True, random_weights: bool = False,
                     images: str | Path | None = None, **_ignored):
    """Train a differential classifier with the paper's recipe on ``data`` (face images to invert).

    The evaluation uses EOGI's released ``diff_cam_weight.pt``; without ``data`` this returns
    None and says so. ``random_weights``: a dry run of the training path at the official sizes
    (pSp + StyleGAN2 at 1024², ResNet101 at 256²) with random-init pSp and directions on the
    photos of ``images`` (or ``data``): the paper's batch 20 on CUDA, :data:`DRY_RUN_CPU_BATCH`
    on the CPU, one held-out batch; written under ``runs/random-weights/``."""
    from ..method.train import TrainConfig, train

    data = data or (images if random_weights else None)
    if not data:
        print("paper profile: the evaluation uses EOGI's released classifier (asset eogi-diffcam); "
              "pass data=DIR (face images to invert) to train one with the paper's recipe")
        return None
    d = DEFAULTS[NAME]
    steps = d["steps"] if steps is None else steps
    out_dir = str(run_dir("diffnet", NAME, seed, steps, smoke, random_weights))
    if random_weights:
        nets = random_networks(seed, baselines=(), pipeline=("psp",))
        dirs = torch.stack([nets["directions"][a] for a in sorted(ATTRIBUTES)])
        photo_paths(1, images=data)  # a one-line error when the folder holds no photo
        source = LatentEditPairs(nets["psp"], dirs, training_photos(data),
                                 size=d["size"], device=device)
        batch = 20 if torch.device(device).type == "cuda" else DRY_RUN_CPU_BATCH
        config = TrainConfig(steps=steps, seed=seed, arch=d["arch"], device=device, out_dir=out_dir, batch=batch,
                             eval_batches=1, checkpoint_every=steps)
        return dataclasses.replace(train(config, source, progress=progress), random_weights=True)
    config = TrainConfig(steps=steps, seed=seed, arch=d["arch"], device=device, out_dir=out_dir)
    return train(config, pair_source(seed=seed, data=data, device=device), progress=progress)


__all__ = ["read_image", "photo_paths", "training_photos", "LatentEditPairs", "pair_source", "DRY_RUN_CPU_BATCH",
           "train_classifier"]
