"""Running a command on several processes with ``torchrun`` (torch.distributed): who am I, my share
of the work, and the few moments where the processes must agree.

``torchrun`` starts one process per rank and tells each who it is through the environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``).
:func:`init` reads it and initialises ``torch.distributed``: NCCL when the device is CUDA (each
rank on ``cuda:LOCAL_RANK``; the small agreements below go through a gloo group on the CPU),
gloo otherwise. Outside ``torchrun`` it returns a single-process :class:`Dist` and every helper
here is a no-op, so a command is written once for both.

How a command uses it (``evaluate``; the leaderboard's chunk loop the same way)::

    dist = init(device)                            # after the arguments are checked
    try:
        device = dist.device(device)               # "cuda" -> "cuda:LOCAL_RANK"
        with main_lock(dist, out, "evaluate"):     # rank 0 holds the folder; a busy folder stops every rank
            setup = dist.main_first(build_setup)   # one-off work (training, a manifest) once, on rank 0
            mine = shard(chunks, dist)             # chunk k -> rank k % world_size
            ...compute and cache ``mine``...
            per_rank = dist.gather(my_counts)      # also the barrier: every shard is done
            if dist.is_main:
                ...merge the cache, write the tables...
    finally:
        dist.close()

The work is shared by chunks, not by images, so each batch the networks see is the one of a
single-process run and every number is identical. On CPU each rank gets
``max(1, cpus // LOCAL_WORLD_SIZE)`` threads (two ranks with all the cores each slow each other
down several times). A rank waiting at a barrier for slower ones waits up to
``$PAPERLIB_DIST_TIMEOUT_S`` seconds (default one day: a resumed shard may take hours); a rank
that dies makes ``torchrun`` stop the others.
"""

from __future__ import annotations

import os
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence, TypeVar

import torch

T = TypeVar("T")

#: Seconds a rank waits in a collective (barrier, gather) before giving up, unless $PAPERLIB_DIST_TIMEOUT_S.
DEFAULT_TIMEOUT_S = 24 * 3600
#: The environment variables ``torchrun`` sets and :func:`init` needs.
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def under_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` (its rank variables are set)."""
    return all(k in os.environ for k in TORCHRUN_ENV)


def _env_int(name: str, default: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None and default is not None:
        return default
    if value is None or not value.isdigit():
        raise ValueError(f"{name}: expected a number >= 0 in the environment (set by torchrun), got {value!r}")
    return int(value)


@dataclass
class Dist:
    """This process's place in the run: ``rank`` of ``world_size`` (``local_rank`` on its node of
    ``local_world_size``), the ``backend`` (None for a single process)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    backend: str | None = None
    _group: object = field(default=None, repr=False)  # the gloo group of the agreements (None: default group)

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that takes locks, does one-off work, merges and writes."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """Whether torch.distributed is initialised for this run."""
        return self.backend is not None

    def device(self, device: str) -> str:
        """The device of this rank: ``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun; others unchanged.
        An explicit CUDA index under torchrun is refused (every rank would use the same GPU)."""
        dev = torch.device(device)
        if not self.active or dev.type != "cuda":
            return device
        if dev.index is not None:
            raise ValueError(f"device: under torchrun each rank uses cuda:LOCAL_RANK; pass --device cuda, not "
                             f"{device!r}")
        return f"cuda:{self.local_rank}"

    def barrier(self) -> None:
        """Wait until every rank gets here."""
        if self.active:
            torch.distributed.barrier(group=self._group)

    def broadcast(self, obj: T) -> T:
        """Rank 0's ``obj`` on every rank (a picklable object)."""
        if not self.active:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0, group=self._group)
        return box[0]

    def gather(self, obj: T) -> list[T]:
        """Every rank's ``obj`` (picklable), in rank order, on every rank; also a barrier."""
        if not self.active:
            return [obj]
        out: list = [None] * self.world_size
        torch.distributed.all_gather_object(out, obj, group=self._group)
        return out

    def main_first(self, fn: Callable[[], T], errors: tuple[type[BaseException], ...] = (ValueError,
                                                                                           FileNotFoundError)) -> T:
        """``fn()`` on rank 0, then on the other ranks: one-off work (training a missing classifier,
        writing a manifest) is done once and the others find it done. When rank 0's ``fn`` raises
        one of ``errors``, every rank raises it (the others with ``from_main = True`` set on it, so
        only rank 0 prints it) without running ``fn``."""
        failure = None
        if self.is_main:
            try:
                result = fn()
            except errors as err:
                failure = (type(err), str(err))
                if not self.active:
                    raise
                self.broadcast(failure)
                raise
        failure = self.broadcast(failure)
        if failure is not None:
            err = failure[0](failure[1])
            err.from_main = True
            raise err
        return result if self.is_main else fn()

    def close(self) -> None:
        """Leave the process group (idempotent)."""
        if self.active and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        self.backend = None


def init(device: str = "cpu") -> Dist:
    """The :class:`Dist` of this process: under ``torchrun``, torch.distributed initialised (NCCL
    for a CUDA ``device``, gloo otherwise; CPU threads shared out on CPU); else a single process."""
    if not under_torchrun():
        return Dist()
    from datetime import timedelta

    rank, world = _env_int("RANK"), _env_int("WORLD_SIZE")
    local_rank = _env_int("LOCAL_RANK")
    local_world = _env_int("LOCAL_WORLD_SIZE", world)
    timeout = timedelta(seconds=_env_int("PAPERLIB_DIST_TIMEOUT_S", DEFAULT_TIMEOUT_S))
    cuda = torch.device(device).type == "cuda"
    if cuda:
        if local_rank >= torch.cuda.device_count():
            raise ValueError(f"device: rank {rank} needs cuda:{local_rank} but this node has "
                             f"{torch.cuda.device_count()} CUDA device(s); start at most that many processes per "
                             "node (--nproc_per_node)")
        torch.cuda.set_device(local_rank)
    else:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        torch.set_num_threads(max(1, cpus // local_world))
    backend = "nccl" if cuda else "gloo"
    torch.distributed.init_process_group(backend, rank=rank, world_size=world, timeout=timeout)
    group = torch.distributed.new_group(backend="gloo", timeout=timeout) if cuda else None
    return Dist(rank, world, local_rank, local_world, backend, group)


def shard(items: Sequence[T], dist: Dist) -> list[T]:
    """This rank's share of ``items``: item k goes to rank ``k % world_size`` (the same on every
    launch, so a relaunch finds its cache entries where it left them)."""
    return [item for k, item in enumerate(items) if k % dist.world_size == dist.rank]


@contextmanager
def main_lock(dist: Dist, folder, purpose: str) -> Iterator[None]:
    """Rank 0 holds ``folder``'s lock (:func:`paperlib.infra.locks.folder_lock`) for the block; when the
    folder is busy every rank raises the same one-line :class:`paperlib.infra.locks.FolderBusy`."""
    from .locks import FolderBusy, folder_lock

    with ExitStack() as stack:
        dist.main_first(lambda: stack.enter_context(folder_lock(folder, purpose)) if dist.is_main else None,
                        errors=(FolderBusy,))
        yield


def on_ranks(purpose: str, check: Callable[[], tuple], setup: Callable[[dict], T], work: Callable):
    """The frame of a command that runs under ``torchrun`` too (``evaluate``, ``leaderboard``):
    ``check()`` -> ``(device, out, options)`` with every argument checked, every rank the same, before
    torch.distributed starts; then torch.distributed (a single process outside torchrun), rank 0 holding
    OUT's lock (for ``purpose``) and building ``setup(options)`` first (it may train the synthetic
    classifier), and ``work(setup, out, dist, progress)`` on every rank. ``options["progress"]`` stays
    on rank 0 only; ``options["device"]``, where given, becomes this rank's device. Returns
    ``(status, dist, (setup, result))``: status 2 after the one-line error (printed by the rank that
    should, :func:`prints_error`)."""
    import sys

    from .locks import FolderBusy

    dist, checked = Dist(), False
    try:
        device, out, options = check()
        checked = True
        dist = init(device)
        options["progress"] = options["progress"] and dist.is_main
        if "device" in options:
            options["device"] = dist.device(device)
        with main_lock(dist, out, purpose):  # before the setup, which may train a classifier for minutes
            built = dist.main_first(lambda: setup(options))
            result = work(built, out, dist, options["progress"])
            dist.barrier()  # leave together: no rank tears down its connections while rank 0 still writes
            return 0, dist, (built, result)
    except (ValueError, FileNotFoundError, FolderBusy) as err:
        if prints_error(dist, err, checked):
            print(f"error: {err}", file=sys.stderr)
        return 2, dist, (None, None)
    finally:
        dist.close()


def prints_error(dist: Dist, err: Exception, checked: bool) -> bool:
    """Whether this process prints ``err``: rank 0 always; another rank only an error of its own,
    not one every rank raised (a bad argument, found before torch.distributed starts: ``checked``
    False; rank 0's error shared with the others)."""
    if not checked:
        return os.environ.get("RANK", "0") == "0"
    return dist.is_main or not getattr(err, "from_main", False)


__all__ = ["Dist", "init", "shard", "main_lock", "under_torchrun", "on_ranks", "prints_error", "DEFAULT_TIMEOUT_S"]
