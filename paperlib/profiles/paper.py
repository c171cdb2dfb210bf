"""The ``paper`` profile: the official networks plugged into :mod:`paperlib.method.pipeline`.

- invert: pSp (``PSP.invert``; the 1024² photo is average-pooled to 256² inside);
- generate: pSp's StyleGAN2 decoder at 1024² from W+ codes, as EOGI's code does it
  (``generation="eogi"``, the default): fresh StyleGAN noise for every generation and the
  output left unclamped into the classifier and the blend; or ``generation="fixed"``: the
  decoder's stored noise maps and the output clamped to [-1, 1] (:data:`GENERATIONS`);
- direction: EOGI's ``<attribute>.npy`` (18, 512) normalised to unit Frobenius norm (METHOD.md);
- classifier: EOGI's ``diff_cam_weight.pt`` (``DiffNet``, 17 classes, ResNet101) with
  :data:`paperlib.method.attributes.EOGI17_INDEX` (a 7-way classifier uses the alphabetical indices);
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

import dataclasses
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_device, check_int, check_positive_int
from ..method.attributes import ATTRIBUTES, INTERFACEGAN_ATTRIBUTES, check_attribute
from ..method.attributes import class_index as _class_index
from ..method.pipeline import Components
from ..method.pipeline import reuse_inversion
from .base import DEFAULTS, Setup, run_dir

NAME = "paper"
#: The baselines of Tables 1-3 and Figure 4.
BASELINES: tuple[str, ...] = ("e4e", "ReStyle")

#: Assets of the mask pipeline (pSp + StyleGAN2, Diff-CAM classifier, BiSeNet, deghosting).
PIPELINE_ASSETS: tuple[str, ...] = ("psp-ffhq-encode", "eogi-diffcam", "face-parsing-bisenet", "eogi-deghosting")
#: Baseline -> the encoder asset it inverts with.
BASELINE_ENCODERS: dict[str, str] = {"e4e": "e4e-ffhq-encode", "ReStyle": "restyle-e4e-ffhq-encode"}
#: The step along InterFaceGAN's unit directions for e4e / ReStyle. The paper does not give it;
#: 3 is within the range e4e's editing notebook uses for age and smile.
INTERFACEGAN_FACTOR = 3.0
#: Resolution of EOGI's deghosting input.
DEGHOST_IN = 128
#: How images are generated. ``eogi``: EOGI's settings (``image_process.py``: pSp's decoder with
#: ``randomize_noise=True``, the output unclamped into the classifier and the blend, clamped only
#: when saved); the noise is drawn from a seed derived from each image's own code (a hash of its
#: W+ bytes), so every generation gets fresh noise and runs stay deterministic. ``fixed``: the
#: decoder's stored noise maps, output clamped to [-1, 1]. The default is ``eogi``: the published
#: numbers were made with EOGI's code (the Diff-CAM++ scripts build on it).
GENERATIONS: tuple[str, ...] = ("eogi", "fixed")


def check_generation(generation: str) -> str:
    if generation not in GENERATIONS:
        raise ValueError(f"generation: expected one of {', '.join(GENERATIONS)}, got {generation!r}")
    return generation


def seeded_noise(decoder: nn.Module, w: torch.Tensor) -> list[torch.Tensor]:
    """Fresh N(0, 1) noise maps for each image of ``w`` (B, n_latent, 512), one per decoder layer,
    drawn from a CPU generator seeded with a hash of that image's code: the same code gets the
    same noise on every run and in any batch, another code (I' vs T) other noise."""
    import hashlib

    shapes = [tuple(getattr(decoder.noises, f"noise_{i}").shape) for i in range(decoder.num_layers)]
    per_layer: list[list[torch.Tensor]] = [[] for _ in shapes]
    for code in w.detach():
        digest = hashlib.sha256(code.float().cpu().contiguous().numpy().tobytes()).digest()
        g = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2 ** 63 - 1))
        for maps, shape in zip(per_layer, shapes):
            maps.append(torch.randn(shape, generator=g))
    return [torch.cat(maps).to(w.device) for maps in per_layer]


def generator(decoder: nn.Module, generation: str = "eogi") -> Callable[[torch.Tensor], torch.Tensor]:
    """``w -> G(w)`` with the settings of ``generation`` (:data:`GENERATIONS`)."""
    check_generation(generation)
    dev = next(decoder.parameters()).device

    @torch.no_grad()
    def generate(w: torch.Tensor) -> torch.Tensor:
        w = w.to(dev)
        if generation == "eogi":
            image, _ = decoder([w], input_is_latent=True, noise=seeded_noise(decoder, w))
            return image
        image, _ = decoder([w], input_is_latent=True, randomize_noise=False)
        return image.clamp(-1, 1)

    return generate


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


def _deghoster(net: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    in_size = getattr(net, "in_size", DEGHOST_IN)

    @torch.no_grad()
    def deghost(x: torch.Tensor) -> torch.Tensor:
        y = net(F.interpolate(x, size=(in_size, in_size), mode="area"))
        if y.shape[-2:] != x.shape[-2:]:
            y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return y.clamp(-1, 1)

    return deghost


def full_float32(device: torch.device) -> None:
    """On CUDA, turn TF32 off for convolutions and matrix products (PyTorch allows it for cuDNN
    convolutions by default). Measured on an H100 with the paper profile's networks at official
    sizes (``benchmarks/bench_pipeline.py``): TF32 moves the CAM maps by up to 2.6e-3-3.3e-3 and the
    outputs by 4e-2 from float32, bf16 autocast by 4e-2 and 0.2; the project's bound is 1e-3, so
    the pipeline runs in float32 (about 1.6x slower than TF32). A process-wide setting."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def components(device: str = "cuda", generation: str = "eogi", *, psp: nn.Module | None = None,
               classifier: nn.Module | None = None, parser: nn.Module | None = None,
               deghoster: nn.Module | None = None, directions: dict[str, torch.Tensor] | None = None,
               cam_size: int = 256) -> Components:
    """The paper profile's plug-ins for :mod:`paperlib.method.pipeline`, from the cached official files.

    Any network may be passed in instead (``psp``: a :class:`paperlib.models.psp.PSP`;
    ``classifier``: a DiffNet; ``parser``: a BiSeNet; ``deghoster``: a Deghosting;
    ``directions``: attribute -> (n_styles, 512)); only the missing ones are loaded, and when
    any of their files is absent one FileNotFoundError lists the download commands.
    """
    from ..infra.download import load_network as load

    check_generation(generation)
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
    full_float32(dev)
    psp = (psp if psp is not None else load("psp-ffhq-encode")).to(dev).eval()
    classifier = (classifier if classifier is not None else load("eogi-diffcam")).to(dev).eval()
    parser = (parser if parser is not None else load("face-parsing-bisenet")).to(dev).eval()
    deghoster = (deghoster if deghoster is not None else load("eogi-deghosting")).to(dev).eval()
    directions = directions if directions is not None else load_directions_dict()
    n_classes = classifier.fc.out_features if hasattr(classifier, "fc") else 17

    @torch.no_grad()
    def invert(x: torch.Tensor) -> torch.Tensor:
        return psp.invert(x.to(dev))

    generate = generator(psp.decoder, generation)

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
    from ..models._checkpoint import read_checkpoint

    d = read_checkpoint(path)
    if not isinstance(d, torch.Tensor) or d.numel() != 512:
        got = tuple(d.shape) if isinstance(d, torch.Tensor) else type(d).__name__
        raise ValueError(f"path: {path} is not an InterFaceGAN direction (expected a (1, 512) tensor, got {got})")
    d = d.float().reshape(1, 512)
    return d / d.norm()


def baseline_editor(encoder: nn.Module, directions: dict[str, torch.Tensor], factor: float = INTERFACEGAN_FACTOR,
                    device: str = "cuda", generation: str = "eogi") -> Callable[[torch.Tensor, str], torch.Tensor]:
    """``(images, attribute) -> G(E(images) + factor * d_attribute)`` for an e4e / ReStyle wrapper,
    clamped to [-1, 1] (the baselines' output is their edited reconstruction, a final image).

    ``directions``: attribute (``Old`` / ``Smiling``) -> (1, 512) InterFaceGAN direction,
    broadcast over the W+ layers as e4e's editor does. ``generation``: as the pipeline's.
    Called again with the same, unmodified images tensor (the evaluation's Old, then Smiling), it
    reuses the inversion (ReStyle's is 5 encoder passes and 5 decodes at 1024²).
    """
    dev = torch.device(device)
    encoder = encoder.to(dev).eval()
    generate = generator(encoder.decoder, generation)
    invert = reuse_inversion(lambda images: encoder.invert(images.to(dev)))

    @torch.no_grad()
    def edit(images: torch.Tensor, attribute: str) -> torch.Tensor:
        if attribute not in directions:
            raise ValueError(f"attribute: the baselines only have {', '.join(directions)}, got {attribute!r}")
        w = invert(images)
        return generate(w + factor * directions[attribute].to(w)).clamp(-1, 1)

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


def direction_asset(name: str) -> str:
    """The asset name of EOGI's direction for attribute ``name`` (``Bushy_Eyebrows`` -> ``eogi-direction-bushy-eyebrows``)."""
    return "eogi-direction-" + name.lower().replace("_", "-")


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


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


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
        images = _photos(data)
    if not images:
        problems.append("face images to invert (--data DIR of FFHQ .png/.jpg files"
                        + (f"; none found in {data}" if data is not None else "") + ")")
    if problems:
        raise FileNotFoundError("profile 'paper': the paper pair source needs " + "; ".join(problems))
    return LatentEditPairs(psp, dirs, images, size=size, device=device)


#: A dry run's training batch on the CPU (the paper's batch 20 needs 60 StyleGAN2 1024² calls a step).
DRY_RUN_CPU_BATCH = 2


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
        nets = random_networks(seed, baselines=())
        dirs = torch.stack([nets["directions"][a] for a in sorted(ATTRIBUTES)])
        photo_paths(1, images=data)  # a one-line error when the folder holds no photo
        source = LatentEditPairs(nets["psp"], dirs, _photos(data),
                                 size=d["size"], device=device)
        batch = 20 if torch.device(device).type == "cuda" else DRY_RUN_CPU_BATCH
        config = TrainConfig(steps=steps, seed=seed, arch=d["arch"], device=device, out_dir=out_dir, batch=batch,
                             eval_batches=1, checkpoint_every=steps)
        return dataclasses.replace(train(config, source, progress=progress), random_weights=True)
    config = TrainConfig(steps=steps, seed=seed, arch=d["arch"], device=device, out_dir=out_dir)
    return train(config, pair_source(seed=seed, data=data, device=device), progress=progress)


def _photos(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def evaluation_assets(baselines: Sequence[str] = ("e4e", "ReStyle")) -> list[str]:
    """Every asset the paper profile's evaluation (and so ``reproduce --profile paper``) needs."""
    names = list(PIPELINE_ASSETS) + direction_assets()
    return names + [BASELINE_ENCODERS[b] for b in baselines] + (interfacegan_assets() if baselines else [])


def check(n_images: int | None = None, device: str | None = None, celeba_root: str | Path | None = None,
          baselines: Sequence[str] = BASELINES, need_assets: bool = True, generation: str = "eogi",
          images: str | Path | None = None, random_weights: bool = False, **_ignored) -> None:
    """One-line errors for bad options, before any work: ``n_images``, ``device`` (CUDA present),
    the photos (``images``: a folder holding at least ``n_images`` photos; else the CelebA-HQ
    folder: readable, at least ``n_images`` numbered images) and, unless ``random_weights``
    (a dry run with random-init networks, which needs ``images``), every asset."""
    if n_images is not None:
        check_positive_int("n_images", n_images)
    if device is not None:
        check_device(device)
    check_generation(generation)
    if random_weights and not images:
        raise ValueError("images: a dry run with random weights needs a folder of face photos "
                         "(--images DIR, e.g. ../shared/data/sample_faces)")
    if images:
        photo_paths(n_images or 1, images=images)
    if need_assets and not random_weights:
        require_assets(evaluation_assets(baselines), celeba_root, need_celeba=not images, n_images=n_images)


def photo_paths(n_images: int, celeba_root: str | Path | None = None, images: str | Path | None = None) -> list[Path]:
    """The first ``n_images`` source photos: from the folder ``images`` (its .png/.jpg files in
    natural order: 2.jpg before 10.jpg) or the CelebA-HQ folder. One-line error when too few."""
    from ..infra.assets import celeba_hq_images

    if not images:
        return celeba_hq_images(n_images, celeba_root)
    folder = Path(images)
    if not folder.is_dir():
        raise FileNotFoundError(f"images: {folder} is not a folder of face photos")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                   key=lambda p: (len(p.stem), p.stem) if p.stem.isdigit() else (float("inf"), p.stem))
    if len(files) < n_images:
        raise ValueError(f"images: {folder} holds {len(files)} .png/.jpg photos, n_images asks for {n_images}")
    return files[:n_images]


def random_networks(seed: int = 0, baselines: Sequence[str] = BASELINES) -> dict:
    """Every network of the profile at its official configuration with random init, built by
    :func:`paperlib.models.build` (nothing is loaded), seeded: ``psp``, ``classifier``,
    ``parser``, ``deghoster``, each baseline's encoder, EOGI-shaped ``directions`` (18, 512) and
    InterFaceGAN-shaped ``interfacegan`` (1, 512) directions, random unit vectors. For dry runs:
    shapes, devices, memory and time are the real ones; no image is a result."""
    from ..models import build

    torch.manual_seed(seed)
    nets = {"psp": build("psp-ffhq-encode"), "classifier": build("eogi-diffcam"),
            "parser": build("face-parsing-bisenet"), "deghoster": build("eogi-deghosting")}
    nets.update({b: build(BASELINE_ENCODERS[b]) for b in baselines})
    g = torch.Generator().manual_seed(seed)
    n_styles = nets["psp"].n_styles

    def unit(*shape):
        d = torch.randn(*shape, generator=g)
        return d / d.norm()

    nets["directions"] = {a: unit(n_styles, 512) for a in ATTRIBUTES}
    nets["interfacegan"] = {a: unit(1, 512) for a in INTERFACEGAN_ATTRIBUTES}
    return nets


def setup(n_images: int = DEFAULTS[NAME]["n_images"], *, device: str = "cuda", celeba_root: str | Path | None = None,
          images: str | Path | None = None, baselines: Sequence[str] = BASELINES,
          interfacegan_factor: float = INTERFACEGAN_FACTOR, generation: str = "eogi", random_weights: bool = False,
          seed: int = 0, **_ignored) -> Setup:
    """The paper profile's :class:`paperlib.profiles.Setup`: the first ``n_images`` CelebA-HQ photos
    (or of the folder ``images``) at 1024². ``random_weights``: a dry run, every network
    random-init (:func:`random_networks`, seeded by ``seed``) and the metrics' networks too."""
    from ..infra.download import asset_path, load_network

    check(n_images=n_images, device=device, celeba_root=celeba_root, baselines=baselines, generation=generation,
          images=images, random_weights=random_weights)
    paths = photo_paths(n_images, celeba_root, images)
    dev = torch.device(device)
    if random_weights:
        nets = random_networks(seed, baselines)
        c = components(device, generation, psp=nets["psp"], classifier=nets["classifier"], parser=nets["parser"],
                       deghoster=nets["deghoster"], directions=nets["directions"])
        encoders, dirs, hashes = {b: nets[b] for b in baselines}, nets["interfacegan"], {}
    else:
        names = evaluation_assets(baselines)
        c = components(device, generation)
        encoders = {b: load_network(BASELINE_ENCODERS[b]) for b in baselines}
        dirs = {a: load_interfacegan(asset_path(f"interfacegan-{d}")) for a, d in INTERFACEGAN_ATTRIBUTES.items()}
        hashes = asset_hashes(names)
    editors = {b: baseline_editor(encoders[b], dirs, interfacegan_factor, device, generation) for b in baselines}

    def load_sources(idx):
        return torch.stack([read_image(paths[i]) for i in idx]).to(dev)

    params = {"dataset": str(images) if images else "celeba-hq", "first_image": paths[0].name,
              "generation": generation, "interfacegan_factor": interfacegan_factor, "baselines": list(baselines),
              "restyle": BASELINE_ENCODERS.get("ReStyle"), "assets": hashes}
    note = ""
    if random_weights:
        params |= {"weights": f"RANDOM (dry run, models.build, seed {seed})"}
        note = ("**RANDOM WEIGHTS**: a dry run at the official sizes with random-init networks (and random-init "
                "LPIPS / FID networks); the numbers prove the path runs, they are not results.")
    return Setup(profile=NAME, components=c, n_images=n_images, load_sources=load_sources, baselines=editors,
                 params=params, assets=hashes, device=str(dev), note=note, random_weights=random_weights)


__all__ = ["setup", "check", "photo_paths", "random_networks", "pair_source", "train_classifier", "components", "baseline_editor", "require_assets",
           "missing_assets", "evaluation_assets", "load_interfacegan", "load_directions", "load_directions_dict",
           "direction_asset", "read_image", "LatentEditPairs", "GENERATIONS", "generator", "seeded_noise", "PIPELINE_ASSETS", "BASELINE_ENCODERS",
           "INTERFACEGAN_FACTOR"]
