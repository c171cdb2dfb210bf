"""CPU work off the critical path and batched deghosting (issue 24): the overlapped run (worker
threads for the Poisson blending, PNG encoding and cache writes) writes the sequential run's tables
and cache byte for byte; the batched deghosting equals one call per variant within float32 noise,
in calls no larger than the budget, the CPU-blended variants last; bad values answer in one line
before any work."""

from __future__ import annotations

import dataclasses
import json
import threading
from types import SimpleNamespace

import pytest
import torch
from helpers import small_paper_components, small_synthetic_setup

from paperlib.evaluation.evaluate import evaluate
from paperlib.infra.workers import check_workers, submit, worker_pool
from paperlib.method.authors import Pending
from paperlib.method.names import AUTHORS_CODE
from paperlib.method.pipeline import VARIANTS, deghost, deghost_batched, edit_variants

N, ATTRS, BATCH = 5, ("Smiling", "Old"), 2  # 3 chunks, the last one short; Smiling and Old take the mouth path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same evaluation sequentially (1 worker) and overlapped (3 workers), Poisson threads counted."""
    setup = small_synthetic_setup(N)
    threads: set = set()
    from paperlib.method import authors

    clone = authors._clone

    def counted(*args):
        threads.add(threading.current_thread().name)
        return clone(*args)

    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(authors, "_clone", counted)
        for workers in (1, 3):
            threads.clear()
            out[workers] = (evaluate(setup, tmp_path_factory.mktemp(f"w{workers}"), attributes=ATTRS, batch=BATCH,
                                     progress=False, workers=workers, **stand_ins()), set(threads))
    return out


def stand_ins() -> dict:
    """Cheap LPIPS and FID stand-ins, so that the FID features (.npz) are written too."""
    from paperlib.evaluation.metrics import FIDMetric, LPIPSMetric

    return {"lpips": LPIPSMetric(net=lambda x, y: (x - y).abs().flatten(1).mean(1)),
            "fid": FIDMetric(features=lambda x: x.mean(dim=(2, 3)), progress=False)}


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_overlapped_run_writes_the_sequential_cache_and_tables(runs):
    (seq, seq_threads), (ovl, ovl_threads) = runs[1], runs[3]
    assert seq_threads == {"MainThread"}                       # inline
    assert ovl_threads and "MainThread" not in ovl_threads      # every Poisson clone in a worker
    a, b = _files(seq.out_dir / "cache"), _files(ovl.out_dir / "cache")
    assert set(a) == set(b) and any(p.suffix == ".png" for p in a) and any(p.suffix == ".npz" for p in a)
    manifest = [p for p in a if p.name == "manifest.json"]
    for p in set(a) - set(manifest):
        assert a[p] == b[p], p
    for p in manifest:  # the same settings; only the measured time differs
        assert json.loads(a[p])["params"] == json.loads(b[p])["params"]
    for name in ("table1_lpips.csv", "table2_mae.csv", "table3_fid.csv", "localization.csv", "tables.md"):
        assert (seq.out_dir / name).read_bytes() == (ovl.out_dir / name).read_bytes(), name
    assert seq.rows == ovl.rows and seq.values == ovl.values


def test_a_failing_write_is_raised_and_earlier_chunks_are_written(tmp_path, monkeypatch):
    """A job's exception reaches the caller; the chunks written before it stay complete."""
    import paperlib.evaluation.evaluate as ev

    store = ev._store_chunk
    calls = {"n": 0}

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 3:  # the second chunk's first attribute
            raise OSError("disk full")
        return store(*args)

    monkeypatch.setattr(ev, "_store_chunk", failing)
    with pytest.raises(OSError, match="disk full"):
        evaluate(small_synthetic_setup(N), tmp_path, attributes=ATTRS, batch=BATCH, progress=False, workers=2)
    records = {p.relative_to(tmp_path / "cache" / "chunks").as_posix() for p in (tmp_path / "cache" / "chunks").rglob("*.json")}
    assert {"Smiling/00000-00001.json", "Old/00000-00001.json"} <= records
    assert "Smiling/00002-00003.json" not in records


@pytest.fixture(scope="module")
def paper_c():
    c, _, _ = small_paper_components(("Smiling", "Beard"))
    return c


def test_batched_deghosting_equals_one_call_per_variant(paper_c):
    torch.manual_seed(1)
    blended = {(a, v): torch.rand(2, 3, 64, 64) * 2 - 1 for a in ("Smiling", "Beard") for v in VARIANTS}
    single = {k: deghost(paper_c, f) for k, f in blended.items()}
    for budget in (1, 3, 16, 1000):
        sizes, inputs = [], []

        def recorded(x, sizes=sizes, inputs=inputs):
            sizes.append(x.shape[0])
            inputs.append(x)
            return paper_c.deghost(x)

        c = dataclasses.replace(paper_c, deghost=recorded)
        out = deghost_batched(c, blended, budget)
        assert list(out) == list(blended)
        for k in blended:
            assert out[k].shape == single[k].shape and torch.allclose(out[k], single[k], atol=1e-5), (budget, k)
        assert sum(sizes) == 2 * len(blended) and max(sizes) <= budget
        assert len(sizes) == -(-2 * len(blended) // budget)     # full calls but the last
        last = torch.cat(inputs)[-4:]                           # the authors' code's blends come last
        assert torch.equal(last, torch.cat([blended[(a, AUTHORS_CODE)] for a in ("Smiling", "Beard")]))


def test_pooled_poisson_gives_the_inline_edit(paper_c):
    src = torch.rand(2, 3, 64, 64) * 2 - 1
    variants = ("Diff-CAM", AUTHORS_CODE)
    inline = edit_variants(paper_c, src, "Smiling", variants)
    with worker_pool(2) as pool:
        pooled = edit_variants(paper_c, src, "Smiling", variants, pool=pool)
    for v in variants:
        assert not isinstance(pooled.blended[v], Pending)
        assert torch.equal(pooled.blended[v], inline.blended[v]) and torch.equal(pooled.outputs[v], inline.outputs[v])


def test_worker_pool_inline_and_threaded():
    with worker_pool(1) as pool:
        assert pool is None and submit(pool, lambda: threading.current_thread().name).result() == "MainThread"
    with worker_pool(2) as pool:
        assert submit(pool, lambda: threading.current_thread().name).result() != "MainThread"
    with pytest.raises(ZeroDivisionError):  # inline: raised at once, as in a sequential run
        submit(None, lambda: 1 / 0)


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "workers: expected at least 1 worker thread"),
    ({"workers": 1.5}, "workers: expected at least 1 worker thread"),
    ({"deghost_images": 0}, "deghost_images: the deghosting budget must hold at least one image, got 0"),
])
def test_bad_values_fail_before_any_work(tmp_path, kwargs, message):
    setup = SimpleNamespace(profile="synthetic", n_images=2)  # refused before the setup is used
    with pytest.raises(ValueError, match=message) as err:
        evaluate(setup, tmp_path / "out", attributes=("Smiling",), batch=2, progress=False, **kwargs)
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag, value, message", [
    ("--workers", "0", "error: workers: expected at least 1 worker thread (1 runs the CPU-side work inline), got 0"),
    ("--deghost-images", "0", "error: deghost_images: the deghosting budget must hold at least one image, got 0"),
])
def test_cli_rejects_bad_values_in_one_line(tmp_path, capsys, flag, value, message):
    from paperlib.__main__ import main

    assert main(["evaluate", "--profile", "synthetic", "--out", str(tmp_path / "o"), flag, value]) == 2
    assert capsys.readouterr().err.strip() == message and not (tmp_path / "o").exists()
    with pytest.raises(ValueError):
        check_workers(True)
