"""Atomic file writes and tolerant JSON reads: the one place a file is written through a
temporary name and a rename, so a reader never sees half a file (caches, checkpoints, the asset
registry's ``hashes.json``, lock owners, tables)."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from pathlib import Path


def atomic_bytes(data: bytes, path: Path) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and a rename (the temporary name
    is the process's and the thread's own: safe from the worker threads, :mod:`paperlib.infra.workers`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_text(text: str, path: Path) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_bytes(text.encode(), path)


def write_json(obj, path: Path, sort_keys: bool = False) -> None:
    """``obj`` as indented JSON with a final newline, atomically."""
    atomic_text(json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n", path)


def atomic_torch_save(obj, path: Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_bytes(buf.getvalue(), path)


def quarantine(path: Path, what: str) -> None:
    """Report a damaged file and move it aside (``<name>.corrupt``) so it is recomputed."""
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


__all__ = ["atomic_bytes", "atomic_text", "write_json", "atomic_torch_save", "quarantine", "read_json"]
