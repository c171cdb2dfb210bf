"""Exclusive locks on run folders and caches, so two processes never write one folder at once.

A training run folder (``checkpoint.pt``, ``diffnet.pt``) or an evaluation cache is locked with
:func:`folder_lock` (an OS-level lock through the ``filelock`` library, released when the
process ends, even when it is killed). The holder writes who it is (pid, host, command, start
time) into ``.paperlib-lock.json`` beside the lock file, so a second process can say who holds
the folder. By default the second process stops at once with a one-line :class:`FolderBusy`;
``wait`` seconds > 0 make it wait (printing one message) before giving up.

Locks are re-entrant within one process: code that already holds a folder (e.g. ``reproduce``
running a notebook that trains) may take it again.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .files import atomic_text

LOCK_NAME = ".paperlib.lock"
OWNER_NAME = ".paperlib-lock.json"

_held: dict[Path, int] = {}  # folder -> depth, for re-entrance within this process


class FolderBusy(RuntimeError):
    """Another process holds the folder; the message names the folder and the holder."""


def owner(folder: str | Path) -> dict | None:
    """Who holds (or last held) ``folder``'s lock: pid, host, command, since; None when unknown."""
    try:
        return json.loads((Path(folder) / OWNER_NAME).read_text())
    except (OSError, ValueError):
        return None


def _describe(info: dict | None) -> str:
    if not info:
        return "another process"
    return f"process {info.get('pid')} on {info.get('host')} ({info.get('command')}, since {info.get('since')})"


@contextmanager
def folder_lock(folder: str | Path, purpose: str, *, wait: float = 0.0) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (created if needed) for the duration of the block.

    ``purpose`` names the work in messages (``"training"``, ``"evaluation cache"``). Raises
    :class:`FolderBusy` when another process holds the folder after ``wait`` seconds.
    """
    import filelock

    folder = Path(folder).resolve()
    if folder in _held:
        _held[folder] += 1
        try:
            yield folder
        finally:
            _held[folder] -= 1
        return
    folder.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(folder / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        holder = owner(folder)
        if wait <= 0:
            raise FolderBusy(f"{purpose}: {folder} is in use by {_describe(holder)}; wait for it to finish or "
                             "use another folder") from None
        print(f"{purpose}: {folder} is in use by {_describe(holder)}; waiting up to {wait:.0f} s", file=sys.stderr)
        try:
            lock.acquire(timeout=wait)
        except filelock.Timeout:
            raise FolderBusy(f"{purpose}: {folder} still in use by {_describe(owner(folder))} after {wait:.0f} s; "
                             "use another folder") from None
    _held[folder] = 1
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv) or sys.executable,
                "purpose": purpose, "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_text(json.dumps(info) + "\n", folder / OWNER_NAME)
        yield folder
    finally:
        del _held[folder]
        lock.release()


__all__ = ["folder_lock", "FolderBusy", "owner", "LOCK_NAME", "OWNER_NAME"]
