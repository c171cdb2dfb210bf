"""Training EOGI's differential classifier (eq 5) on (I', T) pairs, for both profiles.

EOGI's recipe, as the paper restates it: pairs ``I' = G(w)``, ``T = G(w + 20 n_k)`` with a
random attribute ``k`` per sample, cross-entropy over the 7 classes, Adam with betas
(0.9, 0.99), learning rate 1e-4 cosine-annealed to 1e-7 over the run, batch 20 (3500 steps in
the paper). EOGI's trainer uses ``CosineAnnealingWarmRestarts(T_0=max_steps)``, which over one
run equals the ``CosineAnnealingLR(T_max=steps, eta_min=1e-7)`` used here.

Where the pairs come from is a :class:`PairSource`: anything with
``sample_pairs(generator, batch) -> (x (B, 6, H, W) in [-1, 1], labels (B,) long)``. The
synthetic world (``paperlib.synth.pair_source``) and the paper profile
(:class:`LatentEditPairs`: pSp inversion of real faces + StyleGAN2 + EOGI's directions) each
provide one. A source must draw all its randomness from the ``generator`` it is given (or from
torch's global RNG, which checkpoints also save); then training is a pure function of the seed.

Determinism: everything is seeded from ``TrainConfig.seed`` (model init through torch's global
RNG, pair sampling through a dedicated ``torch.Generator``, held-out pairs through another one),
and every checkpoint stores the model, optimizer, scheduler, step and all RNG states, so on CPU
an interrupted run resumed from its last checkpoint ends with bitwise the same weights as an
uninterrupted one. Outputs in ``out_dir``: ``checkpoint.pt`` (the latest checkpoint, replaced
atomically), and at the end ``diffnet.pt`` (a raw state_dict, loadable with
``DiffNet.from_checkpoint(path, n_classes=7, arch=...)``) and ``diffnet.json`` (held-out
accuracy, steps, wall time, config, versions).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Protocol, Sequence, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .attributes import ATTRIBUTES, CLASS_INDEX
from .diffnet import ARCHS, DiffNet

CHECKPOINT_NAME = "checkpoint.pt"
WEIGHTS_NAME = "diffnet.pt"
SIDECAR_NAME = "diffnet.json"
#: Offset added to the seed for the held-out generator, so held-out pairs never repeat training ones.
HELDOUT_SEED_OFFSET = 1_000_003
#: Steps over which the progress bar's running loss / accuracy are averaged.
RUNNING_WINDOW = 50
#: Config fields that change the trained weights; a checkpoint resumes only if they all match.
_RUN_FIELDS = ("steps", "batch", "lr", "lr_min", "betas", "seed", "arch", "n_classes")

#: Per-profile defaults of the ``train`` command (pair image size, architecture, steps).
PROFILE_DEFAULTS: dict[str, dict] = {
    "synthetic": {"size": 128, "arch": "resnet18", "steps": 200},
    "paper": {"size": 256, "arch": "resnet101", "steps": 3500},
}


@runtime_checkable
class PairSource(Protocol):
    """Where training pairs come from (the synthetic world, or pSp + StyleGAN2 for the paper)."""

    def sample_pairs(self, generator: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` pairs: ``x`` (B, 6, H, W) = ``[I', T]`` in [-1, 1] and labels (B,) long.

        All randomness must come from ``generator`` (or torch's global RNG) so that runs are
        reproducible and resumable.
        """
        ...


# ------------------------------------------------------------------------------------- config
@dataclass
class TrainConfig:
    """Settings of one training run; the defaults are the paper's (3500 steps, batch 20, ...).

    ``checkpoint_every``: steps between checkpoints; ``eval_batches``: batches of held-out
    pairs for the final accuracy; ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    Bad values raise a one-line ValueError on construction.
    """

    steps: int = 3500
    batch: int = 20
    lr: float = 1e-4
    lr_min: float = 1e-7
    betas: tuple[float, float] = (0.9, 0.99)
    seed: int = 0
    arch: str = "resnet101"
    n_classes: int = 7
    checkpoint_every: int = 100
    eval_batches: int = 10
    device: str = "cpu"
    out_dir: str | Path = "runs/diffnet"

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "checkpoint_every", "eval_batches"):
            _check_int(name, getattr(self, name), 1)
        _check_int("seed", self.seed, 0)
        _check_int("n_classes", self.n_classes, 2)
        for name in ("lr", "lr_min"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name}: expected a finite number >= 0, got {v!r}")
        if self.lr <= 0:
            raise ValueError(f"lr: expected a learning rate > 0, got {self.lr!r}")
        if self.lr_min > self.lr:
            raise ValueError(f"lr_min: expected at most lr ({self.lr!r}), got {self.lr_min!r}")
        betas = tuple(self.betas) if isinstance(self.betas, (tuple, list)) else None
        if betas is None or len(betas) != 2 or not all(
                isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in betas):
            raise ValueError(f"betas: expected two numbers in [0, 1), got {self.betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        if self.arch not in ARCHS:
            raise ValueError(f"arch: unknown architecture {self.arch!r}; expected one of {', '.join(ARCHS)}")
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"device: expected a torch device such as 'cpu' or 'cuda', got {self.device!r}") from err
        if not isinstance(self.out_dir, (str, os.PathLike)) or str(self.out_dir) == "":
            raise ValueError(f"out_dir: expected a directory path, got {self.out_dir!r}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        d["out_dir"] = str(self.out_dir)
        return d


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")


@dataclass
class TrainResult:
    """What :func:`train` returns; ``losses``, ``accuracies``, ``lrs`` have one entry per step."""

    model: DiffNet
    heldout_accuracy: float
    steps: int
    wall_time_s: float
    weights_path: Path
    sidecar_path: Path
    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    resumed_from: int | None = None


# ------------------------------------------------------------------------------ small helpers
@contextmanager
def _deterministic(device: torch.device) -> Iterator[None]:
    """Deterministic algorithms for the duration of training; the previous settings come back."""
    prev = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    prev_bench = torch.backends.cudnn.benchmark
    if device.type == "cuda":  # cuBLAS is deterministic only with a fixed workspace (before its first use)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # On CUDA some kernels have no deterministic version: warn instead of failing there.
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev[0], warn_only=prev[1])
        torch.backends.cudnn.benchmark = prev_bench


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _atomic_write_text(text: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _rng_states(generator: torch.Generator, device: torch.device) -> dict:
    np_state = np.random.get_state()
    states = {
        "sampler": generator.get_state(),
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
    }
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict, generator: torch.Generator, device: torch.device) -> None:
    generator.set_state(states["sampler"])
    torch.set_rng_state(states["torch"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    n = states["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state_all(states["cuda"])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _check_batch(x, y, batch: int, n_classes: int, source) -> tuple[torch.Tensor, torch.Tensor]:
    name = type(source).__name__
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[0] != batch or x.shape[1] != 6 \
            or not x.is_floating_point():
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"source: {name}.sample_pairs must return x as a float (B={batch}, 6, H, W) tensor, got {got}")
    if not isinstance(y, torch.Tensor) or y.shape != (batch,) or y.dtype != torch.long:
        got = (tuple(y.shape), y.dtype) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"source: {name}.sample_pairs must return labels as a long ({batch},) tensor, got {got}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"source: {name}.sample_pairs returned labels outside [0, {n_classes}): "
                         f"[{int(y.min())}, {int(y.max())}]")
    return x, y


def _resolve_device(device: str) -> torch.device:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available; use --device cpu")
    return dev


# ---------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate_accuracy(model: nn.Module, source: PairSource, generator: torch.Generator, n_batches: int,
                      batch: int) -> float:
    """Fraction of ``n_batches * batch`` pairs from ``source`` (drawn with ``generator``) classified right.

    The model is evaluated in eval mode (batch-norm running statistics) and put back in the
    mode it was in.
    """
    _check_int("n_batches", n_batches, 1)
    _check_int("batch", batch, 1)
    device = next(model.parameters()).device
    n_classes = model.fc.out_features if hasattr(model, "fc") else None
    was_training = model.training
    model.eval()
    correct = total = 0
    try:
        for _ in range(n_batches):
            x, y = source.sample_pairs(generator, batch)
            if n_classes is not None:
                _check_batch(x, y, batch, n_classes, source)
            pred = model(x.to(device)).argmax(1).cpu()
            correct += int((pred == y.cpu()).sum())
            total += y.numel()
    finally:
        model.train(was_training)
    return correct / total


def heldout_generator(seed: int) -> torch.Generator:
    """The generator of held-out pairs for a run seeded ``seed`` (disjoint from the training stream)."""
    return torch.Generator().manual_seed(seed + HELDOUT_SEED_OFFSET)


# ------------------------------------------------------------------------------------ training
def _load_checkpoint(path: Path, config: TrainConfig) -> dict:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"checkpoint: {path} is unreadable ({type(err).__name__}); delete it or pass resume=False") from err
    saved = ckpt.get("config", {})
    now = config.to_json()
    diff = [k for k in _RUN_FIELDS if saved.get(k) != now[k]]
    if diff:
        listing = ", ".join(f"{k} {saved.get(k)!r} != {now[k]!r}" for k in diff)
        raise ValueError(f"checkpoint: {path} belongs to a different run ({listing}); "
                         "use another out_dir or resume=False")
    return ckpt


def train(config: TrainConfig, source: PairSource, *, heldout_source: PairSource | None = None,
          resume: bool = True, progress: bool = True) -> TrainResult:
    """Train a 7-way :class:`DiffNet` on pairs from ``source`` with EOGI's recipe; see the module doc.

    ``heldout_source``: where the held-out pairs of the final accuracy come from (default:
    ``source`` itself with a separate seeded generator, i.e. unseen samples of the same world).
    ``resume``: continue from ``out_dir/checkpoint.pt`` when it exists (its run settings must
    match ``config``); ``False`` starts afresh and overwrites it. ``progress``: a tqdm bar with
    the running loss and accuracy.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config: expected a TrainConfig, got {type(config).__name__}")
    if not callable(getattr(source, "sample_pairs", None)):
        raise ValueError(f"source: expected a PairSource with a sample_pairs(generator, batch) method, "
                         f"got {type(source).__name__}")
    if heldout_source is not None and not callable(getattr(heldout_source, "sample_pairs", None)):
        raise ValueError(f"heldout_source: expected a PairSource, got {type(heldout_source).__name__}")
    device = _resolve_device(config.device)
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / CHECKPOINT_NAME

    from tqdm.auto import tqdm

    ckpt = _load_checkpoint(ckpt_path, config) if resume and ckpt_path.is_file() else None
    with _deterministic(device):
        _seed_everything(config.seed)
        model = DiffNet(config.n_classes, config.arch).to(device).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.steps, eta_min=config.lr_min)
        sampler = torch.Generator().manual_seed(config.seed)
        losses: list[float] = []
        accuracies: list[float] = []
        lrs: list[float] = []
        step, elapsed, resumed_from = 0, 0.0, None

        if ckpt is not None:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            step, elapsed, resumed_from = int(ckpt["step"]), float(ckpt["wall_time_s"]), int(ckpt["step"])
            losses, accuracies, lrs = list(ckpt["losses"]), list(ckpt["accuracies"]), list(ckpt["lrs"])
            _set_rng_states(ckpt["rng"], sampler, device)
            if progress:
                tqdm.write(f"train: resuming from step {step}/{config.steps} ({ckpt_path})", file=sys.stderr)

        def save_checkpoint() -> None:
            _atomic_save({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "step": step, "config": config.to_json(),
                "wall_time_s": elapsed + (time.perf_counter() - start), "losses": losses,
                "accuracies": accuracies, "lrs": lrs, "rng": _rng_states(sampler, device),
            }, ckpt_path)

        start = time.perf_counter()
        bar = tqdm(total=config.steps, initial=step, disable=not progress, desc="train diffnet", unit="step",
                   dynamic_ncols=True)
        try:
            while step < config.steps:
                x, y = _check_batch(*source.sample_pairs(sampler, config.batch), config.batch, config.n_classes,
                                    source)
                x, y = x.to(device), y.to(device)
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                lrs.append(optimizer.param_groups[0]["lr"])
                optimizer.step()
                scheduler.step()
                step += 1
                losses.append(float(loss.detach()))
                accuracies.append(float((logits.detach().argmax(1) == y).float().mean()))
                if progress:
                    window = slice(-RUNNING_WINDOW, None)
                    bar.set_postfix(loss=f"{np.mean(losses[window]):.3f}", acc=f"{np.mean(accuracies[window]):.2f}",
                                    lr=f"{lrs[-1]:.1e}")
                    bar.update(1)
                if step % config.checkpoint_every == 0 or step == config.steps:
                    save_checkpoint()
        finally:
            bar.close()

        heldout = heldout_source if heldout_source is not None else source
        accuracy = evaluate_accuracy(model, heldout, heldout_generator(config.seed), config.eval_batches, config.batch)
    wall = elapsed + (time.perf_counter() - start)

    weights_path = out_dir / WEIGHTS_NAME
    sidecar_path = out_dir / SIDECAR_NAME
    _atomic_save({k: v.detach().cpu() for k, v in model.state_dict().items()}, weights_path)
    from . import __version__
    sidecar = {
        "heldout_accuracy": accuracy,
        "heldout_pairs": config.eval_batches * config.batch,
        "heldout_source": type(heldout).__name__,
        "steps": config.steps,
        "final_loss": losses[-1] if losses else None,
        "wall_time_s": wall,
        "resumed_from": resumed_from,
        "arch": config.arch,
        "n_classes": config.n_classes,
        "classes": sorted(CLASS_INDEX, key=CLASS_INDEX.get) if config.n_classes == len(ATTRIBUTES) else None,
        "config": config.to_json(),
        "source": type(source).__name__,
        "device": str(device),
        "torch": torch.__version__,
        "paperlib": __version__,
        "weights": WEIGHTS_NAME,
    }
    _atomic_write_text(json.dumps(sidecar, indent=2) + "\n", sidecar_path)
    return TrainResult(model=model.eval(), heldout_accuracy=accuracy, steps=config.steps, wall_time_s=wall,
                       weights_path=weights_path, sidecar_path=sidecar_path, losses=losses,
                       accuracies=accuracies, lrs=lrs, resumed_from=resumed_from)


# --------------------------------------------------------------------------- the paper profile
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
        _check_int("size", size, 8)
        self.device = torch.device(device)
        self.psp = psp.to(self.device).eval()
        self.directions = directions.to(self.device, torch.float32)
        self.images = [Path(p) for p in images]
        self.alpha = float(alpha)
        self.size = size

    def _read(self, path: Path) -> torch.Tensor:
        from PIL import Image

        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.float32)
        img = torch.from_numpy(arr).permute(2, 0, 1).div(127.5).sub(1)
        return F.interpolate(img[None], size=(256, 256), mode="area")[0]

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
        from .assets import asset_path

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


def pair_source_for(profile: str, *, size: int | None = None, seed: int = 0, data: str | Path | None = None,
                    directions: str | Path | None = None, device: str = "cpu") -> PairSource:
    """The :class:`PairSource` of a profile.

    ``"synthetic"``: ``paperlib.synth.pair_source(size=..., seed=...)`` (imported lazily).
    ``"paper"``: :class:`LatentEditPairs` from the official pSp FFHQ encoder (which bundles the
    StyleGAN2 FFHQ generator, asset ``psp-ffhq-encode``), EOGI's 7 directions (the
    ``eogi-direction-*`` assets, or the folder ``directions``) and a folder of face images to
    invert (``data``; EOGI trains on FFHQ). Raises one FileNotFoundError listing every missing
    input and how to get it.
    """
    if profile not in PROFILE_DEFAULTS:
        raise ValueError(f"profile: unknown profile {profile!r}; expected one of {', '.join(PROFILE_DEFAULTS)}")
    size = PROFILE_DEFAULTS[profile]["size"] if size is None else size
    if profile == "synthetic":
        from . import synth

        return synth.pair_source(size=size, seed=seed)

    problems, psp, dirs, images = [], None, None, []
    try:
        from .models import load

        psp = load("psp-ffhq-encode")
    except (FileNotFoundError, ModuleNotFoundError) as err:
        problems.append(f"the pSp/StyleGAN2 weights psp_ffhq_encode.pt (run `python -m paperlib download "
                        f"psp-ffhq-encode`; {err})")
    try:
        dirs = load_directions(directions)
    except (FileNotFoundError, ModuleNotFoundError) as err:
        problems.append(f"EOGI's 7 attribute directions ({err}; or --directions DIR)")
    if data is not None and Path(data).is_dir():
        images = sorted(p for p in Path(data).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        problems.append("face images to invert (--data DIR of FFHQ .png/.jpg files"
                        + (f"; none found in {data}" if data is not None else "") + ")")
    if problems:
        raise FileNotFoundError("profile 'paper': the paper pair source needs " + "; ".join(problems))
    return LatentEditPairs(psp, dirs, images, size=size, device=device)


# ------------------------------------------------------------------------------------------ CLI
def add_train_cli(subparsers) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser("train", help="train the differential classifier (DiffNet) of a profile",
                              description="Train EOGI's differential classifier with the paper's recipe "
                                          "(Adam 1e-4 cosine to 1e-7, batch 20); resumes from out/checkpoint.pt.")
    p.add_argument("--profile", choices=tuple(PROFILE_DEFAULTS), default="synthetic")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: synthetic "
                   f"{PROFILE_DEFAULTS['synthetic']['steps']}, paper {PROFILE_DEFAULTS['paper']['steps']})")
    p.add_argument("--out", default=None, help="output directory (default: runs/diffnet-PROFILE)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--arch", choices=tuple(ARCHS), default=None,
                   help="ResNet depth (default: synthetic resnet18, paper resnet101)")
    p.add_argument("--size", type=int, default=None, help="pair image size (default: synthetic 128, paper 256)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    p.add_argument("--data", default=None, help="paper profile: folder of face images to invert")
    p.add_argument("--directions", default=None,
                   help="paper profile: folder of EOGI's <attribute>.npy directions (default: the cached assets)")
    p.set_defaults(func=_train_command)
    return p


def _train_command(args: argparse.Namespace) -> int:
    defaults = PROFILE_DEFAULTS[args.profile]
    # the synthetic profile is a CPU world (deterministic there); the paper profile wants CUDA
    device = args.device or ("cuda" if args.profile == "paper" and torch.cuda.is_available() else "cpu")
    try:
        config = TrainConfig(steps=defaults["steps"] if args.steps is None else args.steps, seed=args.seed,
                             arch=args.arch or defaults["arch"], device=device,
                             out_dir=args.out or f"runs/diffnet-{args.profile}")
        source = pair_source_for(args.profile, size=args.size, seed=args.seed, data=args.data,
                                 directions=args.directions, device=device)
        result = train(config, source, resume=not args.fresh)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"trained {config.arch} for {result.steps} steps in {result.wall_time_s:.0f} s; held-out accuracy "
          f"{result.heldout_accuracy:.3f}; weights {result.weights_path}, summary {result.sidecar_path}")
    return 0


__all__ = ["PairSource", "TrainConfig", "TrainResult", "train", "evaluate_accuracy", "heldout_generator",
           "LatentEditPairs", "load_directions", "direction_asset", "pair_source_for", "add_train_cli", "PROFILE_DEFAULTS"]
