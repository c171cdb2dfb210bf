"""The evaluation loop behind Tables 1-3 (LPIPS, MAE, FID): run every method on the first N
images of a profile, score the outputs, write the tables.

What is evaluated comes from a :class:`paperlib.profiles.Setup` (either profile; this module
knows neither world). The methods are those of :mod:`paperlib.methods`; the per-image cache is
:mod:`paperlib.cache`; the tables are rendered by :mod:`paperlib.tables`; provenance comes from
:mod:`paperlib.provenance`. A profile with a ground-truth hook (``Setup.ground_truth``) also gets
its per-image scores cached and summarised (``<name>.csv/.json/.md``, e.g. ``localization.*``).

Resume: images are produced in fixed chunks ``[k*batch, (k+1)*batch)``; a chunk whose files are
all present is skipped, an incomplete one is recomputed whole (so the batch composition, hence
every number, is the same as in an uninterrupted run). Metrics are always computed from the PNG
files, so tables re-render from the cache without any network. The cache folder is locked while
an evaluation writes it (:mod:`paperlib.locks`): a second process on the same folder stops with
a one-line error naming the holder.

Outputs in ``out_dir``: ``table1_lpips.csv/.json``, ``table2_mae.csv/.json``,
``table3_fid.csv/.json`` (one row per attribute and method: n, mean, std, the published value
and the delta; the JSON adds the provenance: git SHA, parameters, asset hashes, versions,
timings) and ``tables.md``. LPIPS and FID are computed only when their pretrained weights are
present (:func:`paperlib.metrics.available_metrics`); otherwise their cells say ``unavailable``
and the reason is given once under the table.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from ._checks import check_positive_int
from .attributes import TABLE_ATTRIBUTES, check_attribute
from .cache import CorruptEntry, EvalCache, atomic_bytes, load_png, png_complete, read_json, save_png, to_uint8, write_json
from .locks import folder_lock
from .methods import ALL_METHODS, BASELINES, MASK_METHODS, check_methods
from .pipeline import VARIANTS, edit_variants, variant_config
from .profiles import Setup
from .provenance import record
from .published import TABLE_NUMBER
from .tables import METRICS, TABLE_FILES, applicable, markdown_tables, table_rows, write_csv


@dataclass
class EvalResult:
    """What :func:`evaluate` returns: the table rows per metric, the ground-truth rows (None when
    the profile has no ground truth), paths, timings."""

    rows: dict[str, list[dict]]
    ground_truth: list[dict] | None
    out_dir: Path
    files: list[Path]
    timings: dict[str, float]
    batches_computed: int
    batches_cached: int


def check_arguments(attributes: Sequence[str], methods: Sequence[str], alpha: float = 20.0, batch: int = 8) -> list[str]:
    """One-line errors for bad evaluation arguments (before any work); returns the methods in table order."""
    if not attributes:
        raise ValueError("attributes: expected at least one attribute")
    for a in attributes:
        check_attribute(a)
    methods = check_methods(methods)
    check_positive_int("batch", batch)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha != alpha or abs(alpha) == float("inf"):
        raise ValueError(f"alpha: expected a finite number, got {alpha!r}")
    return methods


def _chunks(n: int, batch: int) -> list[list[int]]:
    return [list(range(s, min(s + batch, n))) for s in range(0, n, batch)]


# ------------------------------------------------------------------------------- generation
def compute_batch(setup: Setup, indices: Sequence[int], attribute: str, methods: Sequence[str],
                  alpha: float = 20.0) -> tuple[dict[str, torch.Tensor], dict[str, dict[str, list[float]]]]:
    """Outputs (in [-1, 1]) of every method in ``methods`` for the source images ``indices``,
    and the profile's ground-truth scores of each mask variant (empty without ground truth).

    Inversion, edit and the CAM passes are shared between the methods.
    """
    source = setup.load_sources(list(indices))
    outputs: dict[str, torch.Tensor] = {}
    scores: dict[str, dict[str, list[float]]] = {}
    masked = [m for m in methods if m in MASK_METHODS]
    if "pSp" in methods or masked:
        variants = tuple(MASK_METHODS[m] for m in masked)
        parsing = None
        if any(variant_config(v)[3] for v in variants) and setup.source_parsing is not None:
            parsing = setup.source_parsing(indices, source)
        e = edit_variants(setup.components, source, attribute, variants, alpha=alpha, parsing_source=parsing)
        if "pSp" in methods:
            outputs["pSp"] = e.edited
        for m in masked:
            outputs[m] = e.outputs[MASK_METHODS[m]]
        if setup.ground_truth is not None and variants:
            scores = setup.ground_truth.score(e, attribute, alpha)
    for m in methods:
        if m in BASELINES:
            with torch.no_grad():
                outputs[m] = setup.baselines[m](source, attribute)
    return outputs, scores


def _generate(setup: Setup, cache: EvalCache, attributes, methods, alpha, batch, progress) -> tuple[int, int]:
    from tqdm.auto import tqdm

    steps = [(a, idx) for a in attributes for idx in _chunks(setup.n_images, batch)]
    computed = cached = 0
    for attribute, idx in tqdm(steps, desc=f"evaluate {setup.profile}: images", disable=not progress, unit="batch"):
        todo = [m for m in methods if applicable(m, attribute, setup)]
        scores_file = cache.scores(attribute)
        scores = read_json(scores_file, {}) if setup.ground_truth is not None else None
        have_imgs = all(png_complete(cache.image(m, attribute, i)) for m in todo for i in idx)
        have_scores = scores is None or all(str(i) in scores for i in idx)
        if have_imgs and have_scores:
            cached += 1
            continue
        outputs, batch_scores = compute_batch(setup, idx, attribute, todo, alpha)
        for m in todo:
            for i, img in zip(idx, to_uint8(outputs[m])):
                save_png(img, cache.image(m, attribute, i))
        if scores is not None:
            for j, i in enumerate(idx):
                scores[str(i)] = {v: {k: vals[j] for k, vals in s.items()} for v, s in batch_scores.items()}
            write_json(scores, scores_file)
        computed += 1
    return computed, cached


# ---------------------------------------------------------------------------------- metrics
def _sources01(setup: Setup, idx: Sequence[int]) -> torch.Tensor:
    """The sources as the metrics see them: quantised to 8 bits, in [0, 1], on the CPU."""
    return to_uint8(setup.load_sources(list(idx))).permute(0, 3, 1, 2).float() / 255


def _metric_values(setup, cache: EvalCache, attributes, methods, batch, metric_fns, fid, progress) -> None:
    from tqdm.auto import tqdm

    from .metrics import mae

    n = setup.n_images
    jobs = [(m, a) for a in attributes for m in methods if applicable(m, a, setup)]
    for method, attribute in tqdm(jobs, desc=f"evaluate {setup.profile}: metrics", disable=not progress):
        path = cache.metrics(method, attribute)
        values_of = read_json(path, {})
        per_image = {"MAE": mae, **metric_fns}
        for name, fn in per_image.items():
            values = values_of.setdefault(name, {})
            missing = [i for i in range(n) if str(i) not in values]
            for idx in _chunks(len(missing), batch):
                chunk = [missing[j] for j in idx]
                paths = [cache.image(method, attribute, i) for i in chunk]
                if not all(p.is_file() for p in paths):
                    break  # images not generated (render-only); cells report the n they have
                out = torch.stack([load_png(p) for p in paths])
                for i, v in zip(chunk, fn(out, _sources01(setup, chunk)).tolist()):
                    values[str(i)] = float(v)
                write_json(values_of, path)
        if fid is not None:
            have = all(cache.image(method, attribute, i).is_file() for i in range(n))
            if have and values_of.get("FID", {}).get("n") != n:
                mu, sigma = _fid_source_stats(setup, cache, fid, batch)
                images = (torch.stack([load_png(cache.image(method, attribute, i)) for i in idx])
                          for idx in _chunks(n, batch))
                values_of["FID"] = {"n": n, "value": fid.fid_to_stats(images, mu, sigma)}
                write_json(values_of, path)


def _fid_source_stats(setup: Setup, cache: EvalCache, fid, batch: int):
    from .metrics import load_stats, save_stats

    path = cache.fid_sources(setup.n_images)
    if path.is_file():
        try:
            return load_stats(path)
        except Exception as err:  # a truncated .npz raises zipfile.BadZipFile
            from .cache import quarantine
            quarantine(path, f"unreadable FID statistics: {err}")
    images = (_sources01(setup, idx) for idx in _chunks(setup.n_images, batch))
    mu, sigma = fid.statistics(images, "FID features (sources)")
    save_stats(path, mu, sigma)
    return mu, sigma


def _metric_objects(device: str, lpips, fid, n_images: int) -> tuple[dict, object, dict[str, str], dict[str, bool]]:
    """Per-image metric callables, the FID object, unavailable metric -> reason, stand-in flags."""
    from .metrics import FIDMetric, LPIPSMetric, MetricUnavailable, available_metrics

    avail = None
    reasons: dict[str, str] = {}
    stand_in = {"MAE": False, "LPIPS": False, "FID": False}
    fns = {}
    if lpips is None:
        avail = available_metrics()
        if avail["lpips"] is None:
            try:
                lpips = LPIPSMetric(device)
            except MetricUnavailable as err:
                reasons["LPIPS"] = str(err)
        else:
            reasons["LPIPS"] = avail["lpips"]
    if lpips is not None:
        fns["LPIPS"] = lpips
        stand_in["LPIPS"] = bool(getattr(lpips, "stand_in", True))
    if fid is None:
        avail = avail or available_metrics()
        if avail["fid"] is None:
            try:
                fid = FIDMetric(device, progress=False)
            except MetricUnavailable as err:
                reasons["FID"] = str(err)
        else:
            reasons["FID"] = avail["fid"]
    if fid is not None:
        stand_in["FID"] = bool(getattr(fid, "stand_in", True))
        if n_images < 2:
            reasons["FID"] = f"fid: needs at least 2 images for a covariance, got {n_images}"
            fid = None
    return fns, fid, reasons, stand_in


# -------------------------------------------------------------------------------- evaluate
def evaluate(setup: Setup, out_dir: str | Path, *, attributes: Sequence[str] = TABLE_ATTRIBUTES,
             methods: Sequence[str] = ALL_METHODS, alpha: float = 20.0, batch: int = 8, lpips=None, fid=None,
             render_only: bool = False, fresh: bool = False, progress: bool = True) -> EvalResult:
    """Generate (or reuse) every output image, compute (or reuse) the metrics, write the tables.

    ``lpips`` / ``fid``: metric objects to use instead of the real ones (stand-ins for tests;
    their cells are marked ``stand-in``); by default the real metrics run when their weights are
    present and are reported ``unavailable`` with the reason otherwise. ``render_only``: compute
    nothing, render what the cache holds. ``fresh``: delete the cache first. See the module doc.
    """
    methods = check_arguments(attributes, methods, alpha, batch)
    check_positive_int("n_images", setup.n_images)
    out_dir = Path(out_dir)
    with folder_lock(out_dir, "evaluate"):
        return _evaluate(setup, out_dir, list(attributes), methods, float(alpha), batch, lpips, fid, render_only,
                         fresh, progress)


def _evaluate(setup: Setup, out_dir: Path, attributes: list[str], methods: list[str], alpha: float, batch: int,
              lpips, fid, render_only: bool, fresh: bool, progress: bool) -> EvalResult:
    """The body of :func:`evaluate`, run while holding the output folder's lock."""
    t0 = time.perf_counter()
    cache = EvalCache(out_dir / "cache")
    if fresh and cache.root.exists():
        shutil.rmtree(cache.root)
    params = {**setup.params, "profile": setup.profile, "alpha": alpha}
    manifest = cache.check_manifest(params)

    fns, fid_obj, reasons, stand_in = _metric_objects(setup.device, lpips, fid, setup.n_images)
    timings = {"generate_s": 0.0, "metrics_s": 0.0}
    computed = cached = 0
    if not render_only:
        for attempt in (1, 2):  # a PNG found corrupt while scoring is moved aside and regenerated once
            t = time.perf_counter()
            computed, cached = _generate(setup, cache, attributes, methods, alpha, batch, progress)
            timings["generate_s"] += time.perf_counter() - t
            manifest["generate_s_total"] = manifest.get("generate_s_total", 0.0) + time.perf_counter() - t
            write_json(manifest, cache.manifest_path)
            t = time.perf_counter()
            try:
                _metric_values(setup, cache, attributes, methods, batch, fns, fid_obj, progress)
            except CorruptEntry:
                if attempt == 2:
                    raise
                continue
            finally:
                timings["metrics_s"] += time.perf_counter() - t
            break

    t = time.perf_counter()
    rows = {m: table_rows(setup, cache, m, attributes, methods, reasons, stand_in) for m in METRICS}
    timings["render_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    timings["generate_s_all_runs"] = manifest.get("generate_s_total", 0.0)
    provenance = record(
        profile=setup.profile, n_images=setup.n_images, attributes=attributes, methods=methods, alpha=alpha,
        batch=batch, device=setup.device, params=params, assets=setup.assets, timings=timings,
        metrics={m: {"available": m not in reasons, "reason": reasons.get(m), "stand_in": stand_in[m]}
                 for m in METRICS},
        batches={"computed": computed, "cached": cached})
    files = []
    for metric in METRICS:
        stem = out_dir / TABLE_FILES[metric]
        write_csv(rows[metric], stem.with_suffix(".csv"))
        write_json({"table": TABLE_NUMBER[metric], "metric": metric, "rows": rows[metric],
                    "provenance": provenance}, stem.with_suffix(".json"))
        files += [stem.with_suffix(".csv"), stem.with_suffix(".json")]
    md = out_dir / "tables.md"
    atomic_bytes(markdown_tables(rows, setup).encode(), md)
    files.append(md)
    gt_rows = None
    if setup.ground_truth is not None:
        gt_rows = _ground_truth_files(setup, cache, out_dir, attributes, methods, provenance)
        files += [out_dir / f"{setup.ground_truth.name}.{ext}" for ext in ("csv", "json", "md")]
    return EvalResult(rows, gt_rows, out_dir, files, timings, computed, cached)


def _ground_truth_files(setup: Setup, cache: EvalCache, out_dir: Path, attributes, methods, provenance) -> list[dict]:
    """Collect the cached ground-truth scores and write the profile's summary (``<name>.csv/.json/.md``)."""
    gt = setup.ground_truth
    variants = [v for v in VARIANTS if any(MASK_METHODS.get(m) == v for m in methods)]
    scores = {v: {k: [] for k in (*gt.metrics, "attribute")} for v in variants}
    for attribute in attributes:
        per_image = read_json(cache.scores(attribute), {})
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


__all__ = ["EvalResult", "evaluate", "compute_batch", "check_arguments"]
