"""The evaluation loop behind Tables 1-3 (LPIPS, MAE, FID): run every method on the first N
images of a profile, score the outputs, write the tables.

What is evaluated comes from a :class:`paperlib.profiles.Setup` (either profile; this module
knows neither world). The methods are those of :mod:`paperlib.evaluation.methods`; the per-image cache is
:mod:`paperlib.evaluation.cache`; the tables are rendered by :mod:`paperlib.evaluation.tables`; provenance comes from
:mod:`paperlib.infra.provenance`. A profile with a ground-truth hook (``Setup.ground_truth``) also gets
its per-image scores cached and summarised (``<name>.csv/.json/.md``, e.g. ``localization.*``).

Image-major: the images are taken in fixed chunks ``[k*batch, (k+1)*batch)``. Per chunk, one
inversion, one ``G(w)``, one parsing of ``I`` and one encoding of ``I'`` (its 6 TTA views)
serve every attribute and every mask variant (:func:`paperlib.method.pipeline.prepare`); per
attribute come one ``G(w + alpha n)``, one parsing of ``T``, the CAM passes and the blends
(:func:`paperlib.method.pipeline.edit_blends` on the prepared batch); then every variant of every
attribute is deghosted in batched calls (:func:`paperlib.method.pipeline.finish_edits`). The
CPU-side work (Poisson blending, PNG encoding, cache writes) runs in worker threads
(:mod:`paperlib.infra.workers`) with the same outputs. The outputs are quantised to 8 bits in memory (what a saved PNG holds) and scored at once: MAE, LPIPS
and the FID Inception features go to the cache; PNGs are kept only for the first ``keep_images``
images.

Resume: a (chunk, attribute) whose record is complete is skipped; an incomplete one is
recomputed whole (so the batch composition, hence every number, is the same as in an
uninterrupted run). A metric that became available later (LPIPS or FID weights downloaded) is
computed from the kept PNGs when every image of the chunk is kept, else the chunk is
recomputed. The output folder is locked while an evaluation writes it (:mod:`paperlib.infra.locks`):
a second process on it stops with a one-line error naming the holder.

Under ``torchrun`` (:mod:`paperlib.infra.distributed`): chunk k is computed by rank ``k % world_size``
(the same chunks as one process, so the same numbers); rank 0 holds the folder lock, writes the
manifest first, and once every rank has cached its chunks merges the cache and writes the tables
(their provenance gives the world size and each rank's computed/cached chunks). A relaunch after
a rank died computes only the chunks whose records are missing.

Outputs in ``out_dir``: ``table1_lpips.csv/.json``, ``table2_mae.csv/.json``,
``table3_fid.csv/.json`` (one row per attribute and method: n, mean, std, the published value
and the delta; the JSON adds the provenance: git SHA, parameters, asset hashes, versions,
timings) and ``tables.md``. LPIPS and FID are computed only when their pretrained weights are
present (:func:`paperlib.evaluation.metrics.available_metrics`); otherwise their cells say ``unavailable``
and the reason is given once under the table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..checks import check_positive_int
from ..method.attributes import TABLE_ATTRIBUTES
from ..infra.files import atomic_bytes, read_json, write_json
from .cache import CorruptEntry, EvalCache, chunks, load_arrays, rank_chunks, load_png, png_complete, save_arrays, save_png, to_uint8
from ..infra.distributed import Dist, main_lock
from .methods import ALL_METHODS, BASELINES, KEEP_IMAGES, MASK_METHODS, check_arguments
from ..method.pipeline import (DEGHOST_IMAGES, VARIANTS, check_deghost_images, edit, edit_blends, finish_edits,
                               prepare, uses_tta, variant_config)
from ..infra.workers import DEFAULT_WORKERS, check_workers, submit, wait_all, worker_pool
from ..profiles import Setup
from ..infra.provenance import record
from .published import TABLE_NUMBER
from .tables import METRICS, TABLE_FILES, applicable, markdown_tables, table_rows, write_csv

@dataclass
class EvalResult:
    """What :func:`evaluate` returns: the table rows per metric, the ground-truth rows (None when
    the profile has no ground truth), paths, timings, and the per-image values behind the rows:
    ``values[(method, attribute)] = {name: {str(index): value}}`` for the metrics (``MAE``, ``LPIPS``),
    the judges (``kept:<judge>``, :mod:`paperlib.evaluation.judges`) and ``ID``, plus ``FID``'s
    ``{"n", "value"}`` (None values: a judge or dlib gave none)."""

    rows: dict[str, list[dict]]
    ground_truth: list[dict] | None
    out_dir: Path
    files: list[Path]
    timings: dict[str, float]
    batches_computed: int
    batches_cached: int
    world_size: int = 1
    values: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------- generation
Kept = dict[str, dict[str, list]]  # method -> judge's values name ("kept:<judge>") -> per-image values (None: NaN)


def compute_chunk(setup: Setup, indices: Sequence[int], todo: dict[str, Sequence[str]], alpha: float = 20.0,
                  source: torch.Tensor | None = None, reference_alpha: float | None = None,
                  judges: Sequence[str] | None = None, *, pool=None, deghost_images: int = DEGHOST_IMAGES
                  ) -> dict[str, tuple[dict[str, torch.Tensor], dict[str, dict[str, list[float]]], Kept]]:
    """Outputs (in [-1, 1]) of the methods ``todo[attribute]`` for the source images ``indices``,
    the profile's ground-truth scores of each mask variant (empty without ground truth) and each
    method's edit kept by every judge (:func:`paperlib.evaluation.judges.judge_outputs`, against the
    edit of ``reference_alpha``, default ``alpha``; only ``judges`` when given), per attribute. The
    per-image work is done once for all attributes (module doc). ``source``: the photos of ``indices`` when the caller has
    already loaded them. Every attribute's blends are made first (the authors' code's Poisson blending in
    ``pool``'s worker threads, :mod:`paperlib.infra.workers`, while the networks go on), then every
    variant of every attribute is deghosted in batched calls of at most ``deghost_images`` images
    (:func:`paperlib.method.pipeline.finish_edits`); the outputs do not depend on ``pool``."""
    from .judges import judge_outputs

    source = setup.load_sources(list(indices)) if source is None else source
    c = setup.components
    reference = alpha if reference_alpha is None else reference_alpha
    variants = {a: tuple(MASK_METHODS[m] for m in ms if m in MASK_METHODS) for a, ms in todo.items()}
    edits = [a for a, ms in todo.items() if "pSp" in ms or variants[a]]
    every = [v for a in edits for v in variants[a]]
    parsing = None
    if any(variant_config(v)[3] for v in every) and setup.source_parsing is not None:
        parsing = setup.source_parsing(indices, source)
    prepared = prepare(c, source, parsing_source=parsing, tta=uses_tta(every))  # the judges need I' too
    batch_edits = finish_edits(c, {a: edit_blends(c, prepared, a, variants[a], alpha=alpha, pool=pool) for a in edits},
                               deghost_images)
    out = {}
    for attribute, methods in todo.items():
        outputs: dict[str, torch.Tensor] = {}
        scores: dict[str, dict[str, list[float]]] = {}
        edited = None
        if attribute in edits:
            e = batch_edits[attribute]
            edited = e.edited
            if "pSp" in methods:
                outputs["pSp"] = e.edited
            for m in methods:
                if m in MASK_METHODS:
                    outputs[m] = e.outputs[MASK_METHODS[m]]
            if setup.ground_truth is not None and variants[attribute]:
                scores = setup.ground_truth.score(e, attribute, alpha)
        for m in methods:
            if m in BASELINES:
                with torch.no_grad():
                    outputs[m] = setup.baselines[m](source, attribute)
        if edited is None or reference != alpha:
            edited = edit(c, prepared.latents, attribute, reference)[1]
        quantised = {m: (_quantised(o) * 2 - 1).to(o) for m, o in outputs.items()}  # what a saved PNG holds
        kept = judge_outputs(setup, indices, prepared, edited, quantised, attribute, reference, judges)
        out[attribute] = (outputs, scores, kept)
    return out


def compute_batch(setup: Setup, indices: Sequence[int], attribute: str, methods: Sequence[str],
                  alpha: float = 20.0) -> tuple[dict[str, torch.Tensor], dict[str, dict[str, list[float]]]]:
    """:func:`compute_chunk` for one attribute: ``(outputs, ground-truth scores)``."""
    return compute_chunk(setup, indices, {attribute: list(methods)}, alpha)[attribute][:2]


# ------------------------------------------------------------------------- scoring and cache
def _quantised(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] as the metrics see a saved file: 8-bit, back in [0, 1], (B, 3, H, W) on the CPU."""
    return to_uint8(images).permute(0, 3, 1, 2).float() / 255


def _chunk_status(setup: Setup, cache: EvalCache, attribute: str, idx: list[int], methods: list[str],
                  per_image: dict, fid, ids: dict, keep: int) -> tuple[str, dict | None]:
    """``("done" | "refill" | "compute", record)`` of one (chunk, attribute): done; only metrics missing
    and every image kept as a PNG (score them from the files); or to be computed."""
    rec = read_json(cache.record(attribute, idx), None)
    if not isinstance(rec, dict) or rec.get("indices") != idx:
        return "compute", None
    if not all(png_complete(cache.image(m, attribute, i)) for m in methods for i in idx if i < keep):
        return "compute", None
    gt = setup.ground_truth is not None and any(m in MASK_METHODS for m in methods)
    if gt and not rec.get("scores"):
        return "compute", None
    values, made_with = rec.get("values", {}), rec.get("ids", {})
    have = all(len(values.get(m, {}).get(name, [])) == len(idx) and made_with.get(name) == ids[name]
               for m in methods for name in (*per_image, *judged_names(ids)))
    if have and fid is not None:
        feats = load_arrays(cache.features(attribute, idx))
        have = made_with.get("FID") == ids["FID"] and feats is not None and all(m in feats for m in methods)
    if have:
        return "done", rec
    judged = all(k in values.get(m, {}) for m in methods for k in judged_names(ids) if k.startswith("kept:"))
    return ("refill" if judged and all(i < keep for i in idx) else "compute"), rec


def judged_names(ids: dict) -> list[str]:
    """The value names of the judges (``kept:<judge>``) and of the identity distance (``ID``) in ``ids``:
    computed with the outputs, not from the saved PNGs (a refill keeps them from the record)."""
    return [k for k in ids if k.startswith("kept:") or k == "ID"]


def _identity(out01: dict[str, torch.Tensor], source01: torch.Tensor) -> dict[str, list]:
    """The identity distance of every method's output to its source (one dlib detection per source;
    None where dlib finds no face in the source)."""
    from ..photo.identity import identity_distances

    def u8(x):
        return (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    d = identity_distances(u8(source01), {m: u8(o) for m, o in out01.items()})
    return {m: [None if np.isnan(v) else float(v) for v in vals] for m, vals in d.items()}


def _score(out01: dict[str, torch.Tensor], source01: torch.Tensor, per_image: dict, fid) -> tuple[dict, dict]:
    """Per-image metric values and FID features of each method's quantised outputs."""
    values = {m: {name: [float(v) for v in fn(o, source01).tolist()] for name, fn in per_image.items()}
              for m, o in out01.items()}
    feats = {m: fid.activations(o).astype(np.float32) for m, o in out01.items()} if fid is not None else {}
    return values, feats


def _write_chunk(pool, cache: EvalCache, attribute: str, idx: list[int], out01: dict, source01: torch.Tensor,
                 scores: dict, per_image: dict, fid, ids: dict, judged: dict, keep: int):
    """Score a chunk's outputs (the metrics' networks, here), then hand the CPU-side rest to ``pool``
    (:func:`_store_chunk`: the kept PNGs, the features, the record last); returns its future.
    ``ids`` names the network behind each metric (real or stand-in), so values of one are never
    reused for the other. ``judged``: method -> the values computed with the outputs (the judges'
    edit kept, :func:`compute_chunk`; the identity distance is computed here when ``ids`` has ``ID``:
    dlib's models are not shared between threads). ``keep``: PNGs are written for indices below it."""
    values, feats = _score(out01, source01, per_image, fid)
    if "ID" in ids and not all("ID" in judged.get(m, {}) for m in out01):
        for m, d in _identity(out01, source01).items():
            judged.setdefault(m, {})["ID"] = d
    for m, v in judged.items():
        values.setdefault(m, {}).update(v)
    return submit(pool, _store_chunk, cache, attribute, idx, out01, keep, feats,
                  {"indices": idx, "ids": ids, "values": values, "scores": scores})


def _store_chunk(cache: EvalCache, attribute: str, idx: list[int], out01: dict, keep: int, feats: dict,
                 record: dict) -> None:
    """The CPU side of one (chunk, attribute), in a worker thread: PNG-encode and write the outputs of
    the images below ``keep``, write the FID features, then the record (last: the chunk is done)."""
    for m, o in out01.items():
        for i, img in zip(idx, o):
            if i < keep:
                save_png((img * 255).round().to(torch.uint8).permute(1, 2, 0), cache.image(m, attribute, i))
    if feats:
        save_arrays(feats, cache.features(attribute, idx))
    write_json(record, cache.record(attribute, idx))


def _generate(setup: Setup, cache: EvalCache, my_chunks, attributes, methods, alpha, keep, per_image,
              fid, ids, reference_alpha: float, workers: int = 1, deghost_images: int = DEGHOST_IMAGES
              ) -> tuple[int, int]:
    """Compute (or reuse) every (chunk, attribute) of ``my_chunks`` (this rank's,
    :func:`paperlib.evaluation.cache.rank_chunks`), image-major (module doc); returns (computed, cached) chunks.
    With ``workers > 1`` the CPU-side work (Poisson blending, PNG encoding, cache writes) runs in that
    many threads (:mod:`paperlib.infra.workers`) while the networks compute the next chunk; a chunk's
    writes are waited for once the next chunk is computed (at most two chunks in flight), and all of
    them before returning (also on an error)."""
    computed = cached = 0
    todo_of = {a: [m for m in methods if applicable(m, a, setup)] for a in attributes}
    with worker_pool(workers) as pool:
        writes: list = []
        for idx in my_chunks:
            status = {a: _chunk_status(setup, cache, a, idx, todo_of[a], per_image, fid, ids, keep) for a in attributes}
            todo = {a: todo_of[a] for a in attributes if status[a][0] == "compute" and todo_of[a]}
            refill = [a for a in attributes if status[a][0] == "refill"]
            src = load_arrays(cache.features("sources", idx)) if fid is not None else None
            need_sources = fid is not None and (src is None or str(src.get("id")) != ids["FID"])
            if not (todo or refill or need_sources):
                cached += 1
                continue
            source = setup.load_sources(list(idx))  # read once: scored here, edited in compute_chunk
            source01 = _quantised(source)
            pending = []
            if need_sources:
                pending.append(submit(pool, save_arrays, {"sources": fid.activations(source01).astype(np.float32),
                                                          "id": np.array(ids["FID"])}, cache.features("sources", idx)))
            judges = [k.removeprefix("kept:") for k in ids if k.startswith("kept:")]
            results = compute_chunk(setup, idx, todo, alpha, source, reference_alpha, judges, pool=pool,
                                    deghost_images=deghost_images) if todo else {}
            for attribute, (outputs, scores, kept) in results.items():
                out01 = {m: _quantised(o) for m, o in outputs.items()}
                pending.append(_write_chunk(pool, cache, attribute, idx, out01, source01, scores, per_image, fid,
                                            ids, kept, keep))
            for attribute in refill:
                rec = status[attribute][1]
                out01 = {m: torch.stack([load_png(cache.image(m, attribute, i)) for i in idx])
                         for m in todo_of[attribute]}
                judged = {m: {k: rec["values"][m][k] for k in judged_names(ids)
                              if k in rec.get("values", {}).get(m, {})} for m in todo_of[attribute]}
                pending.append(_write_chunk(pool, cache, attribute, idx, out01, source01, rec.get("scores", {}),
                                            per_image, fid, ids, judged, 0))
            wait_all(writes)  # the previous chunk's: at most two chunks' outputs wait for the CPU
            writes = pending
            computed += 1 if todo else 0
            cached += 0 if todo else 1
        wait_all(writes)
    return computed, cached


def _collect(setup: Setup, cache: EvalCache, attributes, methods, batch: int, ids: dict, fid) -> tuple[dict, dict]:
    """From the cache: ``values[(method, attribute)] = {metric: {index: value}, "FID": {n, value}}`` and
    the ground-truth scores ``{attribute: {index: {variant: {metric: value}}}}``."""
    values: dict = {}
    scores: dict = {}
    fids = read_json(cache.fid_path, {})
    n = setup.n_images
    for attribute in attributes:
        ms = [m for m in methods if applicable(m, attribute, setup)]
        feats: dict[str, list] = {m: [] for m in ms}
        sources: list = []
        for idx in chunks(n, batch):
            rec = read_json(cache.record(attribute, idx), None)
            if not isinstance(rec, dict) or rec.get("indices") != idx:
                continue
            made_with = rec.get("ids", {})
            for m in ms:
                for name, vals in rec.get("values", {}).get(m, {}).items():
                    if made_with.get(name) == ids.get(name):
                        values.setdefault((m, attribute), {}).setdefault(name, {}).update(
                            {str(i): v for i, v in zip(idx, vals)})
            for v, per_metric in rec.get("scores", {}).items():
                for j, i in enumerate(idx):
                    scores.setdefault(attribute, {}).setdefault(str(i), {})[v] = {
                        k: vals[j] for k, vals in per_metric.items()}
            if fid is not None:
                f, s = load_arrays(cache.features(attribute, idx)), load_arrays(cache.features("sources", idx))
                if f is not None and s is not None and rec.get("ids", {}).get("FID") == ids["FID"]:
                    for m in ms:
                        if m in f:
                            feats[m].append(f[m])
                    sources.append(s["sources"])
        for m in ms:
            key = f"{m}/{attribute}/{ids['FID']}"
            if fid is not None and key not in fids and sum(len(f) for f in feats[m]) == n \
                    and sum(len(s) for s in sources) == n:
                from .metrics import activation_statistics, fid_from_stats

                fids[key] = {"n": n, "value": fid_from_stats(
                    *activation_statistics(np.concatenate(feats[m]).astype(np.float64)),
                    *activation_statistics(np.concatenate(sources).astype(np.float64)))}
                write_json(fids, cache.fid_path)
            if fids.get(key, {}).get("n") == n:
                values.setdefault((m, attribute), {})["FID"] = fids[key]
    return values, scores



def _metric_objects(device: str, lpips, fid, n_images: int, fetch: bool = True, quiet: bool = True,
                    dist: Dist | None = None, skip: tuple[str, ...] = ()) -> tuple[dict, object, dict[str, str], dict[str, bool]]:
    """Per-image metric callables, the FID object, unavailable metric -> reason, stand-in flags.
    The real metrics' missing weights are fetched first when ``fetch`` (by rank 0 alone, whose
    verdict every rank takes: :func:`paperlib.evaluation.metrics.require_weights`). ``skip``: metrics
    not asked for (neither fetched nor built)."""
    from .metrics import FIDMetric, LPIPSMetric, MetricUnavailable, require_weights

    dist = Dist() if dist is None else dist
    given = {"LPIPS": lpips, "FID": fid}
    build = {"LPIPS": lambda: LPIPSMetric(device, fetch=False),
             "FID": lambda: FIDMetric(device, progress=False, fetch=False)}

    def missing() -> dict[str, str]:
        out = {m: f"{m.lower()}: not computed in this run" for m in skip}
        for metric in (m for m, obj in given.items() if obj is None and m not in skip):
            try:
                require_weights(metric.lower(), fetch, quiet)
            except MetricUnavailable as err:
                out[metric] = str(err)
        return out

    reasons: dict[str, str] = dist.broadcast(missing() if dist.is_main else None)
    given |= {m: None for m in skip}  # a stand-in passed in (a dry run's) too
    for metric, obj in given.items():
        if obj is None and metric not in reasons:
            try:
                given[metric] = build[metric]()
            except MetricUnavailable as err:
                reasons[metric] = str(err)
    stand_in = {"MAE": False, **{m: obj is not None and bool(getattr(obj, "stand_in", True)) for m, obj in given.items()}}
    fns = {"LPIPS": given["LPIPS"]} if given["LPIPS"] is not None else {}
    fid = given["FID"]
    if fid is not None and n_images < 2:
        reasons["FID"] = f"fid: needs at least 2 images for a covariance, got {n_images}"
        fid = None
    return fns, fid, reasons, stand_in


def _identity_unavailable() -> str | None:
    """Why the identity distance cannot be computed here (dlib or its model missing), or None."""
    from ..checks import one_line

    try:
        from ..photo.identity import recognizer

        recognizer()
    except Exception as err:  # noqa: BLE001 - any failure to load the model makes the column unavailable
        return f"identity: {one_line(err)}"
    return None


# -------------------------------------------------------------------------------- evaluate
def evaluate(setup: Setup, out_dir: str | Path, *, attributes: Sequence[str] = TABLE_ATTRIBUTES,
             methods: Sequence[str] = ALL_METHODS, alpha: float = 20.0, batch: int | None = None,
             keep_images: int = KEEP_IMAGES, lpips=None, fid=None, render_only: bool = False, fresh: bool = False,
             progress: bool = True, dist: Dist | None = None, reference_alpha: float | None = None,
             fetch: bool = True, metrics: Sequence[str] = METRICS, judges: Sequence[str] | None = None,
             workers: int = DEFAULT_WORKERS, deghost_images: int = DEGHOST_IMAGES) -> EvalResult:
    """Generate (or reuse) every output, score it, write the tables.

    ``batch``: images per chunk (default: the profile's; part of the cache's settings, as it
    decides the batches the networks see). ``keep_images``: outputs of the first that many images
    are kept as PNGs. ``lpips`` / ``fid``: metric objects to use instead of the real ones
    (stand-ins for tests; their cells are marked ``stand-in``); by default the real metrics run
    when their weights are present and are reported ``unavailable`` with the reason otherwise.
    ``render_only``: compute nothing, render what the cache holds. ``fresh``: delete the cache
    first. ``dist``: this process's place under ``torchrun`` (:func:`paperlib.infra.distributed.init`;
    default a single process): every rank must call this with the same arguments; rank 0 returns
    the tables, the others an :class:`EvalResult` without rows or files. ``reference_alpha``: the
    edit the judges' "edit kept" is a share of (default ``alpha``; the strength sweep fixes it at 20
    for every alpha). ``fetch``: download the real metrics' missing weights first (verified; not
    under ``PAPERLIB_OFFLINE=1``); False: use only what is already here. ``metrics``: those of LPIPS and
    FID to compute (the strength sweep leaves FID out; the others' cells say ``unavailable``). ``judges``: the
    judges of the edit kept to compute (default every one the profile runs; the sweep: its one). ``workers``:
    threads for the CPU-side work (Poisson blending, PNG encoding, cache writes; 1: inline, sequential), which
    changes no output (:mod:`paperlib.infra.workers`). ``deghost_images``: images per deghosting call (every
    variant of every attribute of a chunk goes through the network together, split by this budget). Not
    part of the cache's settings: the outputs agree within float32 noise whatever the budget (a
    convolution's result may depend on its batch by ~1e-6, far below the 8-bit outputs' step of 1/255),
    so a cache made with another budget, or before batching, is reused. See the module doc.
    """
    from ..checks import check_alpha
    from ..profiles import DEFAULTS

    batch = DEFAULTS.get(getattr(setup, "profile", None), {}).get("batch", 8) if batch is None else batch
    methods = check_arguments(attributes, methods, alpha, batch, keep_images)
    check_positive_int("n_images", setup.n_images)
    check_workers(workers)
    check_deghost_images(deghost_images)
    reference = float(alpha if reference_alpha is None else check_alpha(reference_alpha, "reference_alpha"))
    out_dir = Path(out_dir)
    dist = Dist() if dist is None else dist
    with main_lock(dist, out_dir, "evaluate"):
        return _evaluate(setup, out_dir, list(attributes), methods, float(alpha), batch, keep_images, lpips, fid,
                         render_only, fresh, progress, dist, reference=reference, fetch=fetch,
                         skip=tuple(m for m in ("LPIPS", "FID") if m not in metrics), judges=judges,
                         workers=workers, deghost_images=deghost_images)


def _evaluate(setup: Setup, out_dir: Path, attributes: list[str], methods: list[str], alpha: float, batch: int,
              keep: int, lpips, fid, render_only: bool, fresh: bool, progress: bool, dist: Dist, *,
              reference: float, fetch: bool = True, skip: tuple[str, ...] = (),
              judges: Sequence[str] | None = None, workers: int = 1, deghost_images: int = DEGHOST_IMAGES
              ) -> EvalResult:
    """The body of :func:`evaluate`, run while rank 0 holds the output folder's lock."""
    from .judges import judge_names
    from .metrics import mae

    t0 = time.perf_counter()
    cache = EvalCache(out_dir / "cache")
    params = {**setup.params, "profile": setup.profile, "alpha": alpha, "batch": batch, "kept_reference_alpha": reference}
    manifest = cache.open(params, fresh, dist)

    if setup.random_weights and (lpips is None or fid is None):
        from .metrics import random_init_metrics

        stand_ins = random_init_metrics(setup.device)
        lpips = stand_ins["LPIPS"] if lpips is None else lpips
        fid = stand_ins["FID"] if fid is None else fid
    fns, fid_obj, reasons, stand_in = _metric_objects(setup.device, lpips, fid, setup.n_images, fetch,
                                                      not (progress and dist.is_main), dist, skip)
    per_image = {"MAE": mae, **fns}
    ids = {"MAE": "mae", "LPIPS": "stand-in" if stand_in["LPIPS"] else "lpips-alex-0.1",
           "FID": "stand-in" if stand_in["FID"] else "pytorch-fid-inception-2048",
           **{f"kept:{j}": f"{j}-v1" for j in judge_names(setup) if judges is None or j in judges}}
    if setup.identity:
        reason = _identity_unavailable()
        if reason:
            reasons["ID"] = reason
        else:
            ids["ID"] = "dlib-face-recognition-resnet-v1"
    timings = {"generate_s": 0.0}
    computed = cached = 0
    desc = f"evaluate {setup.profile}" + (f" (rank {dist.rank} of {dist.world_size})" if dist.active else "")
    if not render_only:
        for attempt in (1, 2):  # a kept PNG found corrupt while scoring is moved aside and regenerated once
            t = time.perf_counter()
            try:
                computed, cached = _generate(setup, cache,
                                             rank_chunks(setup.n_images, batch, dist, desc, progress and dist.is_main),
                                             attributes, methods, alpha, keep, per_image, fid_obj, ids, reference,
                                             workers, deghost_images)
            except CorruptEntry:
                if attempt == 2:
                    raise
                continue
            finally:
                timings["generate_s"] += time.perf_counter() - t
            break
    ranks = dist.gather({"computed": computed, "cached": cached, "generate_s": timings["generate_s"]})
    computed, cached = sum(r["computed"] for r in ranks), sum(r["cached"] for r in ranks)
    if not dist.is_main:  # every shard is cached: rank 0 merges and writes
        return EvalResult({}, None, out_dir, [], timings, computed, cached, dist.world_size)
    if not render_only:
        timings["generate_s"] = max(r["generate_s"] for r in ranks)  # wall time of the slowest rank
        manifest["generate_s_total"] = manifest.get("generate_s_total", 0.0) + timings["generate_s"]
        write_json(manifest, cache.manifest_path)

    t = time.perf_counter()
    values, scores = _collect(setup, cache, attributes, methods, batch, ids, fid_obj)
    rows = {m: table_rows(setup, values, m, attributes, methods, reasons, stand_in) for m in METRICS}
    timings["render_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    timings["generate_s_all_runs"] = manifest.get("generate_s_total", 0.0)
    provenance = record(
        profile=setup.profile, n_images=setup.n_images, attributes=attributes, methods=methods, alpha=alpha,
        batch=batch, keep_images=keep, device=setup.device, params=params, assets=setup.assets, timings=timings,
        metrics={m: {"available": m not in reasons, "reason": reasons.get(m), "stand_in": stand_in[m]}
                 for m in METRICS},
        batches={"computed": computed, "cached": cached},
        distributed={"world_size": dist.world_size, "backend": dist.backend, "ranks": ranks})
    files = []
    for metric in METRICS:
        stem = out_dir / TABLE_FILES[metric]
        write_csv(rows[metric], stem.with_suffix(".csv"))
        write_json({"table": TABLE_NUMBER[metric], "metric": metric, "rows": rows[metric],
                    "provenance": provenance}, stem.with_suffix(".json"))
        files += [stem.with_suffix(".csv"), stem.with_suffix(".json")]
    md = out_dir / "tables.md"
    atomic_bytes(markdown_tables(rows, setup, reasons).encode(), md)
    files.append(md)
    gt_rows = None
    if setup.ground_truth is not None:
        gt_rows = _ground_truth_files(setup, scores, out_dir, attributes, methods, provenance)
        files += [out_dir / f"{setup.ground_truth.name}.{ext}" for ext in ("csv", "json", "md")]
    if setup.ideal_edit is not None:
        files += _judge_files(setup, values, out_dir, attributes, methods, provenance)
    return EvalResult(rows, gt_rows, out_dir, files, timings, computed, cached, dist.world_size, values)


def _ground_truth_files(setup: Setup, per_attribute: dict, out_dir: Path, attributes, methods,
                        provenance) -> list[dict]:
    """Summarise the cached ground-truth scores and write the profile's files (``<name>.csv/.json/.md``)."""
    gt = setup.ground_truth
    variants = [v for v in VARIANTS if any(MASK_METHODS.get(m) == v for m in methods)]
    scores = {v: {k: [] for k in (*gt.metrics, "attribute")} for v in variants}
    for attribute in attributes:
        per_image = per_attribute.get(attribute, {})
        for i in range(setup.n_images):
            for v in variants:
                if v in per_image.get(str(i), {}):
                    for k in gt.metrics:
                        scores[v][k].append(per_image[str(i)][v][k])
                    scores[v]["attribute"].append(attribute)
    scores = {v: s for v, s in scores.items() if s["attribute"]}
    rows = gt.rows(scores, attributes)
    stem = out_dir / gt.name
    write_csv(rows, stem.with_suffix(".csv"))
    write_json({"rows": rows, "provenance": provenance}, stem.with_suffix(".json"))
    atomic_bytes(gt.markdown(rows, setup.n_images, len(attributes)).encode(), stem.with_suffix(".md"))
    return rows


def _judge_files(setup: Setup, values: dict, out_dir: Path, attributes, methods, provenance) -> list[Path]:
    """The judges' validation against the exact edit kept (:mod:`paperlib.evaluation.judge_validation`):
    ``judges.csv/.json/.md``."""
    from . import judge_validation

    rows = judge_validation.validation_rows(values, methods, attributes, setup.n_images)
    stem = out_dir / "judges"
    write_csv(rows, stem.with_suffix(".csv"))
    write_json({"rows": rows, "provenance": provenance}, stem.with_suffix(".json"))
    atomic_bytes(judge_validation.markdown(rows, setup.n_images).encode(), stem.with_suffix(".md"))
    return [stem.with_suffix(ext) for ext in (".csv", ".json", ".md")]


def evaluate_command(profile: str, *, n_images: int | None = None, device: str | None = None, out: str | None = None,
                     batch: int | None = None, attributes: Sequence[str] = TABLE_ATTRIBUTES,
                     methods: Sequence[str] = ALL_METHODS, alpha: float = 20.0, seed: int = 0,
                     classifier: str | None = None, celeba_hq: str | None = None,
                     interfacegan_factor: float | None = None, generation: str | None = None,
                     keep_images: int | None = None, render_only: bool = False, fresh: bool = False,
                     quiet: bool = False, workers: int = DEFAULT_WORKERS, deghost_images: int = DEGHOST_IMAGES) -> int:
    """The ``evaluate`` command: every argument and the profile's options checked (one line, status
    2, nothing written), then :func:`evaluate` in the frame of :func:`paperlib.infra.distributed.on_ranks`
    (under torchrun too; rank 0 prints the summary). ``None`` means the profile's default."""
    from .. import profiles
    from ..checks import device_or_default
    from ..infra.distributed import on_ranks
    from ..infra.paths import out_folder, under_root

    d = profiles.DEFAULTS[profile]
    n_images = n_images or d["n_images"]
    batch = batch or d["batch"]
    keep = KEEP_IMAGES if keep_images is None else keep_images

    def check() -> tuple[str, Path, dict]:
        check_arguments(attributes, methods, alpha, batch, keep)
        check_workers(workers)
        check_deghost_images(deghost_images)
        dev = device_or_default(device, d["device"])
        folder = out_folder(out, under_root("runs", f"eval-{profile}"))
        options = {"n_images": n_images, "device": dev, "seed": seed, "progress": not quiet}
        for key, value in (("classifier_path", classifier), ("celeba_root", celeba_hq),
                           ("interfacegan_factor", interfacegan_factor), ("generation", generation)):
            if value is not None:
                options[key] = value
        profiles.check(profile, **options)
        return dev, folder, options

    def work(setup, folder: Path, dist, progress: bool):
        return evaluate(setup, folder, attributes=attributes, methods=methods, alpha=alpha, batch=batch,
                        keep_images=keep, render_only=render_only, fresh=fresh, progress=progress, dist=dist,
                        workers=workers, deghost_images=deghost_images)

    rc, dist, (_, result) = on_ranks("evaluate", check, lambda options: profiles.get(profile, **options), work)
    if rc or not dist.is_main:
        return rc
    t = result.timings
    ranks = f" on {result.world_size} processes" if result.world_size > 1 else ""
    print(f"evaluate {profile}: {n_images} images{ranks}; {result.batches_computed} batches computed, "
          f"{result.batches_cached} from the cache; {t['total_s']:.1f} s (images and metrics {t['generate_s']:.1f} s, "
          f"tables {t['render_s']:.1f} s)")
    print(f"wrote {', '.join(str(p) for p in result.files)}")
    return 0


__all__ = ["EvalResult", "evaluate", "compute_chunk", "compute_batch", "check_arguments", "evaluate_command",
           "KEEP_IMAGES"]
