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
``python -m paperlib download ...`` command needed. Random-init networks (a dry run) only where
asked for with ``random_weights=True`` (:func:`networks`).

This module wires the networks into the pipeline and builds the profile's :class:`Setup`; the
rest of the profile: ``paper_assets`` (asset names, checks, hashes, direction files),
``paper_data`` (the photos, the training pairs and the classifier's training), ``dry_run``
(random-init networks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_device, check_positive_int
from ..method.attributes import INTERFACEGAN_ATTRIBUTES, check_attribute
from ..method.attributes import class_index as _class_index
from ..method.pipeline import Components
from ..method.pipeline import reuse_inversion
from .base import DEFAULTS, Setup
from .dry_run import random_networks
from .paper_assets import (BASELINE_ENCODERS, BASELINES, NAME, PIPELINE_ASSETS, asset_hashes, direction_assets,
                           evaluation_assets, interfacegan_assets, load_directions_dict, load_interfacegan,
                           require_assets)
from .paper_data import photo_paths, read_image

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


@dataclass
class Networks:
    """What :func:`networks` wires: the pipeline's plug-ins, each baseline's encoder and the
    InterFaceGAN directions the baselines move along (attribute -> (1, 512))."""

    components: Components
    encoders: dict[str, nn.Module]
    interfacegan: dict[str, torch.Tensor]


def networks(device: str = "cuda", generation: str = "eogi", baselines: Sequence[str] = (), *,
             random_weights: bool = False, seed: int = 0) -> Networks:
    """The profile's networks, the one place that chooses between official and random weights.

    By default the official files: when any is missing (the pipeline's, and with ``baselines``
    their encoders and the InterFaceGAN directions), one FileNotFoundError lists every download
    command before anything is loaded. Only with ``random_weights=True``: every network random-init
    at its official size, seeded by ``seed`` (:func:`paperlib.profiles.dry_run.random_networks`), a
    dry run. Nothing falls back from one to the other."""
    if random_weights:
        nets = random_networks(seed, baselines)
        c = components(device, generation, psp=nets["psp"], classifier=nets["classifier"], parser=nets["parser"],
                       deghoster=nets["deghoster"], directions=nets["directions"])
        return Networks(c, {b: nets[b] for b in baselines}, nets["interfacegan"])
    from ..infra.download import asset_path, load_network

    check_generation(generation)
    require_assets(list(PIPELINE_ASSETS) + direction_assets() + [BASELINE_ENCODERS[b] for b in baselines]
                   + (interfacegan_assets() if baselines else []))
    c = components(device, generation)
    encoders = {b: load_network(BASELINE_ENCODERS[b]) for b in baselines}
    dirs = ({a: load_interfacegan(asset_path(f"interfacegan-{d}")) for a, d in INTERFACEGAN_ATTRIBUTES.items()}
            if baselines else {})
    return Networks(c, encoders, dirs)


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


def setup(n_images: int = DEFAULTS[NAME]["n_images"], *, device: str = "cuda", celeba_root: str | Path | None = None,
          images: str | Path | None = None, baselines: Sequence[str] = BASELINES,
          interfacegan_factor: float = INTERFACEGAN_FACTOR, generation: str = "eogi", random_weights: bool = False,
          seed: int = 0, **_ignored) -> Setup:
    """The paper profile's :class:`paperlib.profiles.Setup`: the first ``n_images`` CelebA-HQ photos
    (or of the folder ``images``) at 1024². ``random_weights``: a dry run, every network
    random-init (:func:`networks`, seeded by ``seed``) and the metrics' networks too."""
    check(n_images=n_images, device=device, celeba_root=celeba_root, baselines=baselines, generation=generation,
          images=images, random_weights=random_weights)
    paths = photo_paths(n_images, celeba_root, images)
    dev = torch.device(device)
    nets = networks(device, generation, baselines, random_weights=random_weights, seed=seed)
    c, encoders, dirs = nets.components, nets.encoders, nets.interfacegan
    hashes = {} if random_weights else asset_hashes(evaluation_assets(baselines))
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
                 params=params, assets=hashes, device=str(dev), note=note, random_weights=random_weights, identity=True)


__all__ = ["NAME", "BASELINES", "GENERATIONS", "INTERFACEGAN_FACTOR", "check_generation", "seeded_noise", "generator",
           "full_float32", "components", "baseline_editor", "Networks", "networks", "check", "setup"]
