"""A GAN-inversion stand-in for SynthFace: a linear (ridge) encoder trained on generator samples.

Like pSp, it is trained on images the generator can produce and then applied to observed
photos; like pSp, it misses what the generator cannot draw (the out-of-domain details) and
is only approximately right on the rest, so ``G(invert(I)) != I``.
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from .world import SynthWorld

FEATURE_SIZE = 16


def _features(images: torch.Tensor) -> torch.Tensor:
    pooled = F.adaptive_avg_pool2d(images, FEATURE_SIZE).flatten(1)
    return torch.cat([pooled, torch.ones(len(images), 1)], dim=1)


def check_images(images) -> torch.Tensor:
    """``images`` must be a (B, 3, H, W) tensor (what every SynthFace encoder inverts)."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images: expected (B, 3, H, W), got {getattr(images, 'shape', type(images).__name__)}")
    return images


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run the block with one torch CPU thread, then restore the previous count: fitted weights
    then do not depend on the machine's core count, and the renderer's small tensors run faster
    on one thread than on two contended ones (measured under load: 0.42 s vs 8.8 s for 100 faces)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


#: A folder where the deterministic fits below are kept on disk as well (opt-in; unset: memory only), so
#: that several processes of one run share them: the tests' torchrun ranks and notebook kernels load what
#: the first process fitted instead of fitting again (~5 s a process). The key is the function and its
#: arguments, not the code: use a fresh folder per run (a folder kept across a code change holds stale fits).
FIT_CACHE_ENV = "PAPERLIB_FIT_CACHE"


def fitted(maxsize: int) -> Callable[[Callable], Callable]:
    """``functools.lru_cache(maxsize)`` for a seeded fit (tensors out, hashable arguments in), plus a
    copy under ``$PAPERLIB_FIT_CACHE`` when it is set: read back when present, else written atomically."""
    def wrap(fn: Callable) -> Callable:
        @functools.lru_cache(maxsize=maxsize)
        @functools.wraps(fn)
        def cached(*args):
            folder = os.environ.get(FIT_CACHE_ENV)
            if not folder:
                return fn(*args)
            path = Path(folder) / f"{fn.__module__}.{fn.__qualname__}{args!r}.pt"
            if path.is_file():
                return torch.load(path)
            out = fn(*args)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            torch.save(out, tmp)
            os.replace(tmp, path)
            return out
        return cached
    return wrap


@fitted(maxsize=4)
def _fit(size: int, n_train: int, seed: int, ridge: float) -> torch.Tensor:
    world = SynthWorld(size)
    gen = torch.Generator().manual_seed(seed)
    ws, feats = [], []
    with torch.no_grad(), single_threaded():
        for _ in range(0, n_train, 100):
            w = world.sample_latents(100, gen)
            feats.append(_features(world(w)))
            ws.append(w)
        x, y = torch.cat(feats).double(), torch.cat(ws).double()
        gram = x.T @ x
        gram += ridge * gram.diagonal().mean() * torch.eye(len(gram), dtype=gram.dtype)
        return torch.linalg.solve(gram, x.T @ y).float()


class SynthInverter:
    """``invert(images) -> w``: eq 1's stand-in for SynthFace (a ridge-regression encoder)."""

    def __init__(self, world: SynthWorld, n_train: int = 2000, seed: int = 12345, ridge: float = 1e-3) -> None:
        self.world = world
        self.weights = _fit(min(world.size, 64), n_train, seed, ridge)

    def invert(self, images: torch.Tensor) -> torch.Tensor:
        """Latents (B, D) for images (B, 3, H, W) in [-1, 1]."""
        return _features(check_images(images).float().cpu()) @ self.weights

    __call__ = invert
