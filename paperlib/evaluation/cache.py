"""The evaluation's per-image cache: values on disk, images only for the first few, checked when read.

Layout of ``<out_dir>/cache`` (``<chunk>`` = ``<first>-<last>`` image indices of one batch):

- ``chunks/<attribute>/<chunk>.json``: per method the per-image metric values (MAE, LPIPS) of
  the chunk's images, and the profile's per-image ground-truth scores; written last, so a
  record present means the chunk is done;
- ``chunks/<attribute>/<chunk>.npz``: per method the FID Inception features of the outputs
  (float32, 8 KB per image at 2048-d); ``chunks/sources/<chunk>.npz``: those of the photos;
- ``images/<method>/<attribute>/<index>.png``: the outputs as 8-bit PNGs for the first
  ``keep_images`` indices only (figures, inspection); every metric is computed in memory from
  the same 8-bit quantisation a saved PNG holds, so the numbers equal those of saved files;
- ``fid.json``: FID per method and attribute once every image is scored;
- ``manifest.json``: the settings that determine the images; a cache made with other
  settings is refused.

Every file is written to a temporary name and renamed, so a crash never leaves half a file
under its real name. A file damaged anyway (a power cut before the data reached the disk, a
copy gone wrong) is detected when read: a JSON file that does not parse, an ``.npz`` that does
not load, a PNG without its end chunk or that does not decode. It is reported on stderr, moved
aside (``<name>.corrupt``) and recomputed, never read as data.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from ..infra.distributed import Dist, shard
from ..infra.files import atomic_bytes, quarantine, read_json, write_json
from .methods import SLUG

#: The cache's layout version (1: every output as a PNG and per-method metric files; 2: chunk records).
FORMAT = 2
#: The last 12 bytes of every complete PNG file (the IEND chunk).
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


class CorruptEntry(ValueError):
    """A cache file that exists but cannot be read; it has been moved aside (``.corrupt``)."""


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images (B, 3, H, W) in [-1, 1] -> uint8 (B, H, W, 3) on the CPU (clamped, rounded)."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()


def save_png(image: torch.Tensor, path: Path) -> None:
    """One uint8 (H, W, 3) image as a PNG, atomically."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image.numpy()).save(buf, format="PNG", compress_level=1)
    atomic_bytes(buf.getvalue(), path)


def png_complete(path: Path) -> bool:
    """Whether ``path`` exists and ends with a PNG's end chunk; a truncated file is reported and moved aside."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - len(PNG_END)))
            tail = f.read()
    except FileNotFoundError:
        return False
    if tail != PNG_END:
        quarantine(path, f"truncated PNG, {size} bytes without an end chunk")
        return False
    return True


def load_png(path: Path) -> torch.Tensor:
    """A PNG as (3, H, W) float in [0, 1]; a file that does not decode raises a one-line ValueError."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        quarantine(path, f"does not decode: {err}")
        raise CorruptEntry(f"cache: {path} is corrupt ({err}); run the command again to recompute it") from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255


def save_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Arrays as an uncompressed ``.npz``, atomically."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_bytes(buf.getvalue(), path)


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of an ``.npz``; None when missing or damaged (then reported and moved aside)."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except Exception as err:  # zipfile.BadZipFile, EOFError, ValueError, OSError
        quarantine(path, f"not a readable .npz: {type(err).__name__}")
        return None


def chunks(n: int, batch: int) -> list[list[int]]:
    """The fixed chunks ``[k*batch, (k+1)*batch)`` of the image indices ``0..n-1``: the unit that is
    computed (so every number depends on ``batch``, never on what was cached), cached (one record
    per chunk) and shared out under ``torchrun``."""
    return [list(range(s, min(s + batch, n))) for s in range(0, n, batch)]


def rank_chunks(n: int, batch: int, dist: Dist, desc: str, progress: bool):
    """This rank's :func:`chunks` (chunk k on rank ``k % world_size``,
    :func:`paperlib.infra.distributed.shard`; all of them in a single process), behind a progress bar."""
    from tqdm.auto import tqdm

    return tqdm(shard(chunks(n, batch), dist), desc=desc, disable=not progress, unit="batch")


class EvalCache:
    """Paths and settings of one evaluation cache folder (see the module doc)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def image(self, method: str, attribute: str, index: int) -> Path:
        return self.root / "images" / SLUG[method] / attribute / f"{index:05d}.png"

    @staticmethod
    def _chunk_name(indices) -> str:
        return f"{indices[0]:05d}-{indices[-1]:05d}"

    def record(self, attribute: str, indices) -> Path:
        """The values of one chunk of images for one attribute (JSON)."""
        return self.root / "chunks" / attribute / f"{self._chunk_name(indices)}.json"

    def chunk_record(self, indices) -> Path:
        """The record of one chunk of images for every attribute at once (the leaderboard's; JSON)."""
        return self.root / "chunks" / f"{self._chunk_name(indices)}.json"

    def features(self, attribute: str, indices) -> Path:
        """The FID features of one chunk's outputs for one attribute (``attribute="sources"``: the photos')."""
        return self.root / "chunks" / attribute / f"{self._chunk_name(indices)}.npz"

    @property
    def fid_path(self) -> Path:
        return self.root / "fid.json"

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def open(self, params: dict, fresh: bool = False, dist=None) -> dict:
        """:meth:`check_manifest` after deleting the cache when ``fresh``; under ``torchrun`` (``dist``, a
        :class:`paperlib.infra.distributed.Dist`) rank 0 does both first, then the others check the manifest."""
        def open_it() -> dict:
            if fresh and (dist is None or dist.is_main) and self.root.exists():
                shutil.rmtree(self.root)
            return self.check_manifest(params)

        return open_it() if dist is None else dist.main_first(open_it)

    def check_manifest(self, params: dict) -> dict:
        """The manifest; written with ``params`` when new, else refused when its settings differ.
        A cache in an older layout (:data:`FORMAT`) is moved aside (``cache.format<N>``) with a
        one-line message, and a new one is started."""
        manifest = read_json(self.manifest_path, None)
        if manifest is not None and manifest.get("format") != FORMAT:
            old = manifest.get("format", 1)
            target = self.root.with_name(f"{self.root.name}.format{old}")
            if target.exists():
                shutil.rmtree(target)
            os.replace(self.root, target)
            print(f"cache: {self.root} has an older layout (format {old}); moved to {target.name}, starting a new "
                  "cache", file=sys.stderr)
            manifest = None
        if manifest is None:
            manifest = {"format": FORMAT, "params": params, "generate_s_total": 0.0}
            write_json(manifest, self.manifest_path)
            return manifest
        saved = manifest.get("params", {})
        diff = [k for k in sorted(set(saved) | set(params)) if saved.get(k) != params.get(k)]
        if diff:
            listing = ", ".join(f"{k} {saved.get(k)!r} != {params.get(k)!r}" for k in diff)
            raise ValueError(f"out_dir: the cache {self.root} was made with other settings ({listing}); "
                             "use another --out or --fresh")
        return manifest


__all__ = ["EvalCache", "CorruptEntry", "chunks", "rank_chunks", "save_arrays", "load_arrays", "to_uint8", "atomic_bytes", "write_json", "read_json", "save_png", "load_png", "png_complete",
           "quarantine"]
