"""CPU work off the networks' critical path: a pool of worker threads for the evaluation's CPU-side
steps (the authors' code's Poisson blending, PNG encoding, cache writes) while the main thread keeps
the networks busy.

``workers == 1`` runs every job inline, at once, in the main thread (the sequential order); ``workers
> 1`` hands the jobs to that many threads. Threads, not processes: OpenCV's ``seamlessClone``, zlib
(PNG) and file writes release the GIL, and the tensors need no pickling. A job never waits for
another job, so the pool cannot deadlock; the main thread waits (:meth:`Future.result`) where it
needs a result. What a job computes does not depend on the number of workers, so the outputs, the
tables and the cache bytes are those of the sequential run (``tests/evaluation/test_overlap.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from ..checks import check_positive_int

#: Worker threads by default: the machine's cores, at most 8 (a chunk's Poisson jobs are batch x attributes).
DEFAULT_WORKERS = max(1, min(8, os.cpu_count() or 1))


def check_workers(workers) -> int:
    """``workers`` must be an integer >= 1 (1: the CPU-side work runs inline, sequentially)."""
    try:
        return check_positive_int("workers", workers)
    except ValueError:
        raise ValueError(f"workers: expected at least 1 worker thread (1 runs the CPU-side work inline), "
                         f"got {workers!r}") from None


@contextmanager
def worker_pool(workers: int = DEFAULT_WORKERS) -> Iterator[ThreadPoolExecutor | None]:
    """A thread pool of ``workers`` threads, or None for ``workers == 1`` (inline). On leaving, even
    through an exception, every submitted job is finished first (a chunk already computed is written)."""
    workers = check_workers(workers)
    if workers == 1:
        yield None
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="paperlib-cpu") as pool:
        yield pool


def submit(pool: ThreadPoolExecutor | None, fn: Callable, *args, **kwargs) -> Future:
    """``fn(*args, **kwargs)`` on ``pool``, or run now when ``pool`` is None (its exception is
    raised here, at once, as in a sequential run); a :class:`Future` either way."""
    if pool is not None:
        return pool.submit(fn, *args, **kwargs)
    done: Future = Future()
    done.set_result(fn(*args, **kwargs))
    return done


def wait_all(futures) -> list:
    """The results of ``futures``, in order (the first job's exception is raised)."""
    return [f.result() for f in futures]


__all__ = ["DEFAULT_WORKERS", "check_workers", "submit", "wait_all", "worker_pool"]
