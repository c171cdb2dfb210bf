"""The evaluation's per-image cache: PNG and JSON files on disk, written atomically, checked when read.

Layout of ``<out_dir>/cache``:

- ``images/<method>/<attribute>/<index>.png``: each output as an 8-bit PNG (the authors score
  saved files, so the metrics are computed from these);
- ``metrics/<method>/<attribute>.json``: per-image metric values (and FID once all are done);
- ``scores/<attribute>.json``: per-image ground-truth scores, for profiles that have them;
- ``manifest.json``: the settings that determine the images; a cache made with other settings
  is refused.

Every file is written to a temporary name and renamed, so a crash never leaves half a file
under its real name. A file damaged anyway (a power cut before the data reached the disk, a
copy gone wrong) is detected when read: a JSON file that does not parse, a PNG without its end
chunk or that does not decode. It is reported on stderr, moved aside (``<name>.corrupt``) and
recomputed, never read as data.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

from .methods import SLUG

#: The last 12 bytes of every complete PNG file (the IEND chunk).
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


class CorruptEntry(ValueError):
    """A cache file that exists but cannot be read; it has been moved aside (``.corrupt``)."""


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images (B, 3, H, W) in [-1, 1] -> uint8 (B, H, W, 3) on the CPU (clamped, rounded)."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()


def atomic_bytes(data: bytes, path: Path) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(obj, path: Path) -> None:
    """``obj`` as indented JSON, atomically."""
    atomic_bytes((json.dumps(obj, indent=2, sort_keys=False) + "\n").encode(), path)


def quarantine(path: Path, what: str) -> None:
    """Report a damaged cache file and move it aside (``<name>.corrupt``) so it is recomputed."""
    target = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, target)
    except OSError:
        target = None
    print(f"cache: {path} is corrupt ({what}); moved to {target.name if target else '(could not move)'} and "
          "recomputing", file=sys.stderr)


def read_json(path: Path, default):
    """The JSON content of ``path``; ``default`` when it is missing or damaged (then reported, moved aside)."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return default
    try:
        return json.loads(text)
    except ValueError as err:
        quarantine(path, f"not valid JSON: {str(err).splitlines()[0]}")
        return default


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


class EvalCache:
    """Paths and settings of one evaluation cache folder (see the module doc)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def image(self, method: str, attribute: str, index: int) -> Path:
        return self.root / "images" / SLUG[method] / attribute / f"{index:05d}.png"

    def metrics(self, method: str, attribute: str) -> Path:
        return self.root / "metrics" / SLUG[method] / f"{attribute}.json"

    def scores(self, attribute: str) -> Path:
        return self.root / "scores" / f"{attribute}.json"

    def fid_sources(self, n_images: int) -> Path:
        return self.root / f"fid_sources_{n_images}.npz"

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def check_manifest(self, params: dict) -> dict:
        """The manifest; written with ``params`` when new, else refused when its settings differ."""
        manifest = read_json(self.manifest_path, None)
        if manifest is None:
            manifest = {"params": params, "generate_s_total": 0.0}
            write_json(manifest, self.manifest_path)
            return manifest
        saved = manifest.get("params", {})
        diff = [k for k in sorted(set(saved) | set(params)) if saved.get(k) != params.get(k)]
        if diff:
            listing = ", ".join(f"{k} {saved.get(k)!r} != {params.get(k)!r}" for k in diff)
            raise ValueError(f"out_dir: the cache {self.root} was made with other settings ({listing}); "
                             "use another --out or --fresh")
        return manifest


__all__ = ["EvalCache", "CorruptEntry", "to_uint8", "atomic_bytes", "write_json", "read_json", "save_png", "load_png", "png_complete",
           "quarantine"]
