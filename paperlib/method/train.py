"""Training EOGI's differential classifier (eq 5) on (I', T) pairs, for both profiles.

EOGI's recipe, as the paper restates it: pairs ``I' = G(w)``, ``T = G(w + 20 n_k)`` with a
random attribute ``k`` per sample, cross-entropy over the 7 classes, Adam with betas
(0.9, 0.99), learning rate 1e-4 cosine-annealed to 1e-7 over the run, batch 20 (3500 steps in
the paper). EOGI's trainer uses ``CosineAnnealingWarmRestarts(T_0=max_steps)``, which over one
run equals the ``CosineAnnealingLR(T_max=steps, eta_min=1e-7)`` used here.

Where the pairs come from is a :class:`PairSource`: anything with
``sample_pairs(generator, batch) -> (x (B, 6, H, W) in [-1, 1], labels (B,) long)``. Each
profile provides one (:func:`paperlib.profiles.pair_source`: the synthetic world, or for the
paper pSp inversion of real faces + StyleGAN2 + EOGI's directions); this module knows none. A source must draw all its randomness from the ``generator`` it is given (or from
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

import json
import math
import os
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Iterator, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_device, check_int
from ..infra.files import atomic_text, atomic_torch_save
from .attributes import ATTRIBUTES, CLASS_INDEX
from .diffnet import ARCHS, DiffNet
from ..infra.locks import folder_lock
from ..infra.paths import under_root
from ..infra.provenance import record

CHECKPOINT_NAME = "checkpoint.pt"
WEIGHTS_NAME = "diffnet.pt"
SIDECAR_NAME = "diffnet.json"
#: Offset added to the seed for the held-out generator, so held-out pairs never repeat training ones.
HELDOUT_SEED_OFFSET = 1_000_003
#: Steps over which the progress bar's running loss / accuracy are averaged.
RUNNING_WINDOW = 50
#: The label of a **no-change pair** ``[G(w), G(w)]`` (a source may mix some in): its target is the uniform
#: distribution over the classes (no attribute changed, so no class), and it counts in no accuracy. Without
#: such pairs a 7-way classifier trained only on one-attribute pairs learns one class as its default, the
#: answer when nothing else changed, and that class's CAM reads the whole image instead of its own change
#: (SynthFace's Smiling: docs/synthface.md, "Where the classifier looks").
NO_CHANGE = -1
#: Config fields that change the trained weights; a checkpoint resumes only if they all match.
_RUN_FIELDS = ("steps", "batch", "lr", "lr_min", "betas", "seed", "arch", "n_classes")

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
    out_dir: str | Path = field(default_factory=partial(under_root, "runs", "diffnet"))  # under the project root

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "checkpoint_every", "eval_batches"):
            check_int(name, getattr(self, name), 1)
        check_int("seed", self.seed, 0)
        check_int("n_classes", self.n_classes, 2)
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
    #: the pairs came from random-init networks (a dry run of the paper profile)
    random_weights: bool = False


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
    if y.numel() and (int(y.min()) < NO_CHANGE or int(y.max()) >= n_classes):
        raise ValueError(f"source: {name}.sample_pairs returned labels outside [0, {n_classes}) "
                         f"(or {NO_CHANGE}, no change): [{int(y.min())}, {int(y.max())}]")
    return x, y


def pair_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the classes; a no-change pair (label :data:`NO_CHANGE`) against the uniform
    distribution. Without no-change pairs it is exactly ``F.cross_entropy(logits, y)``."""
    known = y != NO_CHANGE
    if bool(known.all()):
        return F.cross_entropy(logits, y)
    target = torch.full_like(logits, 1.0 / logits.shape[1])
    target[known] = F.one_hot(y[known], logits.shape[1]).to(logits.dtype)
    return F.cross_entropy(logits, target)


def labelled_accuracy(logits: torch.Tensor, y: torch.Tensor) -> tuple[int, int]:
    """``(correct, counted)`` over the pairs with an attribute label (no-change pairs have no right class)."""
    known = y != NO_CHANGE
    return int((logits.argmax(1)[known] == y[known]).sum()), int(known.sum())


# ---------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate_accuracy(model: nn.Module, source: PairSource, generator: torch.Generator, n_batches: int,
                      batch: int) -> float:
    """Fraction of ``n_batches * batch`` pairs from ``source`` (drawn with ``generator``) classified right
    (no-change pairs, label :data:`NO_CHANGE`, are not counted).

    The model is evaluated in eval mode (batch-norm running statistics) and put back in the
    mode it was in.
    """
    check_int("n_batches", n_batches, 1)
    check_int("batch", batch, 1)
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
            right, counted = labelled_accuracy(model(x.to(device)).cpu(), y.cpu())
            correct += right
            total += counted
    finally:
        model.train(was_training)
    return correct / max(total, 1)


def heldout_generator(seed: int) -> torch.Generator:
    """The generator of held-out pairs for a run seeded ``seed`` (disjoint from the training stream)."""
    return torch.Generator().manual_seed(seed + HELDOUT_SEED_OFFSET)


# ------------------------------------------------------------------------------------ training
def source_settings(source: PairSource) -> dict:
    """What a source says sets its pairs beyond the config (``source.settings``: a JSON-able dict, e.g. the
    share of no-change pairs); a checkpoint resumes only on a source with the same settings."""
    return dict(getattr(source, "settings", None) or {})


def _load_checkpoint(path: Path, config: TrainConfig, settings: dict | None = None) -> dict:
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
    saved_settings = ckpt.get("source_settings", {})
    if settings is not None and saved_settings != settings:
        raise ValueError(f"checkpoint: {path} was trained on other pairs (source settings {saved_settings!r} != "
                         f"{settings!r}); use another out_dir or resume=False")
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
    device = check_device(config.device)
    with folder_lock(config.out_dir, "training"):
        return _train(config, source, heldout_source, resume, progress, device)


def _train(config: TrainConfig, source: PairSource, heldout_source: PairSource | None, resume: bool, progress: bool,
           device: torch.device) -> TrainResult:
    """The body of :func:`train`, run while holding the run folder's lock."""
    from tqdm.auto import tqdm

    out_dir = Path(config.out_dir)
    ckpt_path = out_dir / CHECKPOINT_NAME

    settings = source_settings(source)
    ckpt = _load_checkpoint(ckpt_path, config, settings) if resume and ckpt_path.is_file() else None
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
                done = "already trained, reusing it" if step >= config.steps else "resuming"
                tqdm.write(f"train: {done} at step {step}/{config.steps} ({ckpt_path.name} in {ckpt_path.parent.name}/)",
                           file=sys.stdout)

        def save_checkpoint() -> None:
            atomic_torch_save({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "step": step, "config": config.to_json(), "source_settings": settings,
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
                loss = pair_loss(logits, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                lrs.append(optimizer.param_groups[0]["lr"])
                optimizer.step()
                scheduler.step()
                step += 1
                losses.append(float(loss.detach()))
                right, counted = labelled_accuracy(logits.detach(), y)
                accuracies.append(right / counted if counted else float("nan"))
                if progress:
                    window = slice(-RUNNING_WINDOW, None)
                    bar.set_postfix(loss=f"{np.mean(losses[window]):.3f}", acc=f"{np.nanmean(accuracies[window]):.2f}",
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
    atomic_torch_save({k: v.detach().cpu() for k, v in model.state_dict().items()}, weights_path)
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
        "source_settings": settings,
        "device": str(device),
        "torch": torch.__version__,
        "weights": WEIGHTS_NAME,
        "provenance": record(),
    }
    atomic_text(json.dumps(sidecar, indent=2) + "\n", sidecar_path)
    return TrainResult(model=model.eval(), heldout_accuracy=accuracy, steps=config.steps, wall_time_s=wall,
                       weights_path=weights_path, sidecar_path=sidecar_path, losses=losses,
                       accuracies=accuracies, lrs=lrs, resumed_from=resumed_from)


__all__ = ["NO_CHANGE", "pair_loss", "labelled_accuracy", "source_settings", "PairSource", "TrainConfig", "TrainResult", "train", "evaluate_accuracy", "heldout_generator",
           "CHECKPOINT_NAME", "WEIGHTS_NAME", "SIDECAR_NAME"]
