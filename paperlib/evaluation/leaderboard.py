"""The CAM leaderboard: which activation map makes the best edit mask, scored against SynthFace's
ground truth (the region each attribute itself changes).

Every combination of

- CAM (:data:`CAMS`): Grad-CAM (EOGI's Diff-CAM), Grad-CAM++, HiResCAM, XGrad-CAM, LayerCAM, each
  plain; Grad-CAM++ with TTA + Eigen (Diff-CAM++'s map) and with TTA + the authors' Eigen variant
  (the authors' released code's map, here for every attribute: the leaderboard compares maps);
- CAM layer (:data:`LAYERS`): layer4 (the paper's, last block) or layer4's block before last;
- segmentation (:data:`SEGMENTATION`): off (the map is the mask) or eq 10;
- mask post-processing (:data:`POSTPROCESSING`), applied to the mask that goes into the blend
  (after eq 10 when segmenting): none; threshold 0.5 (a hard mask of exactly the pixels the IoU
  counts, so only the blend changes); threshold 0.2 (Zhou et al.'s CAM localisation convention,
  20 % of the map's maximum, which is 1 after min-max scaling); Gaussian blur with sigma 4 px at
  128² (scaled with the image), a quarter of one 16-px CAM cell, the usual feathering of a mask's
  edge before blending. These values were fixed before any result was seen.

is scored on the first N faces of the synthetic profile (seed 0) for every attribute of the world
(all 7) at alpha 20: IoU, precision and recall of ``mask > 0.5`` against the intended region
(:func:`paperlib.synth.scores.localization`), the blended output's damage outside the region
(``mae_outside``) and the edit lost inside it (``mae_inside``) (:func:`paperlib.synth.scores.blend_errors`),
and the time per image of the CAM part.

Time per image: the forward/backward pass of the combination's (layer, TTA) setting, counted
whole for each combination that uses it (what the combination costs when run alone), plus its
own weights / Eigen / scaling, its eq 10 fusion and its post-processing; not the inversion, the
generation, the parsing, the blend or the scoring, which every combination shares. Measured with
``time.perf_counter`` per chunk and divided by the chunk's images.

Like :mod:`paperlib.evaluation.evaluate`: fixed chunks ``[k*batch, (k+1)*batch)``; per chunk one inversion,
one ``G(w)`` and one encoding of ``I'`` (:func:`paperlib.method.pipeline.prepare`) serve every attribute;
per attribute one ``G(w + alpha n)``, and one pass per (layer, TTA) serves every CAM method. One
cache entry per chunk (``cache/chunks/<first>-<last>.json``, written atomically); a chunk whose
entry is complete is skipped (resume); then :func:`merge` reads every entry and writes
``leaderboard.csv/.json/.md``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from ..checks import check_alpha, check_positive_int
from ..method.attributes import ATTRIBUTES
from ..infra.files import atomic_bytes, read_json, write_json
from ..infra.markdown import table
from .cache import EvalCache, chunks, rank_chunks
from ..method.cam import cam_passes, check_configs, variant_map
from ..method.diffnet import cam_layer
from ..infra.distributed import Dist, main_lock
from ..method.masks import blend, blur_mask, fuse_masks, segmentation_masks, threshold_mask
from ..method.pipeline import classifier_input, deghost, edit, parse_edited, prepare, source_parsing
from ..profiles import Setup
from ..infra.provenance import record
from .tables import write_csv

#: The CAM maps compared: name -> (method, aug_smooth, eigen_smooth) of :func:`paperlib.method.cam.cam_variants`.
CAMS: dict[str, tuple[str, bool, Union[bool, str]]] = {
    "Grad-CAM (Diff-CAM)": ("gradcam", False, False),
    "Grad-CAM++": ("gradcam++", False, False),
    "HiResCAM": ("hirescam", False, False),
    "XGrad-CAM": ("xgradcam", False, False),
    "LayerCAM": ("layercam", False, False),
    "Grad-CAM++ +TTA+Eigen (Diff-CAM++)": ("gradcam++", True, True),
    "Grad-CAM++ +TTA+authors' Eigen": ("gradcam++", True, "authors"),
}
#: The CAM layers compared (:data:`paperlib.method.diffnet.CAM_LAYERS`).
LAYERS: tuple[str, ...] = ("layer4", "layer4, block before last")
#: Mask post-processing: name -> (kind, value); blur sigmas are in pixels at 128² (module doc).
POSTPROCESSING: dict[str, tuple[str, float]] = {
    "none": ("none", 0.0),
    "threshold 0.5": ("threshold", 0.5),
    "threshold 0.2": ("threshold", 0.2),
    "blur 4px": ("blur", 4.0),
}
#: Segmentation: off (the map is the mask) or eq 10 (``S_org (.) S_modif (.) map``).
SEGMENTATION: tuple[str, ...] = ("off", "eq 10")
#: The per-image scores, in table order.
METRICS: tuple[str, ...] = ("iou", "precision", "recall", "mae_outside", "mae_inside", "time_ms")
#: The Markdown header of each metric of :data:`METRICS`, in the same order (cells: mean ± standard error).
METRIC_HEADERS: tuple[str, ...] = ("IoU", "precision", "recall", "damage outside", "edit lost inside", "ms / image")
#: The Markdown columns of :func:`markdown` that show numbers -> the CSV columns each cell displays.
MD_COLUMNS: dict[str, tuple[str, ...]] = {h: (k, k + "_se") for h, k in zip(METRIC_HEADERS, METRICS)}
#: The profile whose world knows the intended edit regions.
PROFILE = "synthetic"
SEP = " | "


def combinations() -> list[tuple[str, str, str, str]]:
    """Every ``(cam, layer, segmentation, post-processing)``, in a fixed order."""
    return [(c, layer, s, p) for c in CAMS for layer in LAYERS for s in SEGMENTATION for p in POSTPROCESSING]


def combination_name(combo: Sequence[str]) -> str:
    """``"cam | layer | segmentation | post-processing"``: the key of a combination in the files."""
    return SEP.join(combo)


def postprocess(m: torch.Tensor, name: str) -> torch.Tensor:
    """Mask ``m`` (B, H, W) after the post-processing ``name`` of :data:`POSTPROCESSING`; a blur's
    sigma scales with the image (4 px at 128²)."""
    kind, value = POSTPROCESSING[name]
    if kind == "threshold":
        return threshold_mask(m, value)
    if kind == "blur":
        return blur_mask(m, value * m.shape[-1] / 128)
    return m


def check_arguments(setup: Setup, batch: int, alpha: float = 20.0) -> None:
    """One-line errors before any work: the profile must have ground truth, ``batch`` positive."""
    if setup.ground_truth is None or not hasattr(setup.ground_truth, "world"):
        raise ValueError(f"profile: the {setup.profile} profile has no ground-truth edit regions; the leaderboard "
                         f"runs on --profile {PROFILE}")
    check_positive_int("batch", batch)
    check_positive_int("n_images", setup.n_images)
    check_alpha(alpha)


# ------------------------------------------------------------------------------------- computing
def timed_maps(net: torch.nn.Module, pair: torch.Tensor, target: int, size: tuple[int, int]
               ) -> tuple[dict[tuple[str, str], torch.Tensor], dict[tuple[str, str], float]]:
    """Every CAM of :data:`CAMS` at every layer of :data:`LAYERS` on the classifier input ``pair``,
    at ``size``: ``maps[(cam, layer)]`` (B, H, W) and ``seconds[(cam, layer)]``, the time of its
    pass (whole) plus its own map. One pass per (layer, TTA) serves every method."""
    classes = dict(zip(CAMS, check_configs(list(CAMS.values()))))
    maps, seconds = {}, {}
    for layer in LAYERS:
        module = cam_layer(net, layer)
        for aug in sorted({a for _, a, _ in CAMS.values()}):
            t = time.perf_counter()
            act, grads = cam_passes(net, module, pair, target, [aug])[aug]
            pass_s = time.perf_counter() - t
            for name, (_, a, eigen) in CAMS.items():
                if a != aug:
                    continue
                t = time.perf_counter()
                m = variant_map(classes[name], aug, eigen, act, grads, len(pair), tuple(pair.shape[-2:]))
                maps[name, layer] = F.interpolate(m[:, None], size=size, mode="nearest")[:, 0]
                seconds[name, layer] = pass_s + time.perf_counter() - t
    return maps, seconds


def score_attribute(setup: Setup, p, attribute: str, alpha: float) -> dict[str, dict[str, list[float]]]:
    """Per combination, per image of the prepared chunk ``p``: the :data:`METRICS` for ``attribute``."""
    from ..synth.scores import blend_errors, intended_region, localization

    c = setup.components
    w_edit, edited = edit(c, p.latents, attribute, alpha)
    parsing_edited = parse_edited(c, w_edit, edited)
    with torch.no_grad():
        region = intended_region(setup.ground_truth.world, p.latents, attribute, alpha)
    s_org, s_modif = segmentation_masks(p.parsing_source, parsing_edited, attribute)
    pair = classifier_input(c, p.reconstruction, edited)
    maps, seconds = timed_maps(p.classifier, pair, c.class_index(attribute), tuple(edited.shape[-2:]))
    n = len(edited)
    out = {}
    for cam, layer, seg, post in combinations():
        t = time.perf_counter()
        m = fuse_masks(s_org, s_modif, maps[cam, layer]) if seg == "eq 10" else maps[cam, layer]
        m = postprocess(m, post)
        elapsed = seconds[cam, layer] + time.perf_counter() - t
        output = deghost(c, blend(edited, p.source, m))
        s = {**localization(m, region), **blend_errors(output, p.source, edited, region)}
        scores = {k: [float(v) for v in s[k].tolist()] for k in METRICS[:-1]}
        scores["time_ms"] = [1000 * elapsed / n] * n
        out[combination_name((cam, layer, seg, post))] = scores
    return out


def compute_chunk(setup: Setup, indices: Sequence[int], alpha: float = 20.0) -> dict[str, dict]:
    """Scores of every combination on the faces ``indices`` for every attribute:
    ``{attribute: {combination: {metric: [value per image]}}}``. One inversion and one encoding of
    ``I'`` (all 6 TTA views) serve every attribute."""
    idx = list(indices)
    source = setup.load_sources(idx)
    parsing = setup.source_parsing(idx, source) if setup.source_parsing is not None else None
    p = prepare(setup.components, source, parsing_source=parsing, tta=True)
    source_parsing(setup.components, p)
    return {a: score_attribute(setup, p, a, alpha) for a in ATTRIBUTES}


def _complete(rec, idx: list[int]) -> bool:
    """Whether a chunk's cache entry holds every attribute, combination and metric for ``idx``."""
    if not isinstance(rec, dict) or rec.get("indices") != idx:
        return False
    scores = rec.get("scores", {})
    names = [combination_name(c) for c in combinations()]
    return all(len(scores.get(a, {}).get(n, {}).get(k, [])) == len(idx)
               for a in ATTRIBUTES for n in names for k in METRICS)


def _compute_all(setup: Setup, cache: EvalCache, batch: int, alpha: float, progress: bool,
                 dist: Dist) -> tuple[int, int]:
    """Compute this rank's chunks (:func:`paperlib.infra.distributed.shard`; all of them in a single
    process) not already complete in the cache; (computed, cached)."""
    computed = cached = 0
    for idx in rank_chunks(setup.n_images, batch, dist, "leaderboard", progress):
        path = cache.chunk_record(idx)
        if _complete(read_json(path, None), idx):
            cached += 1
            continue
        write_json({"indices": idx, "scores": compute_chunk(setup, idx, alpha)}, path)
        computed += 1
    return computed, cached


# ---------------------------------------------------------------------------------------- merging
def _mean_se(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    se = float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else float("nan")
    return float(a.mean()), se


def summary_row(attribute: str, combo: Sequence[str], values: dict[str, list[float]]) -> dict:
    """One table row: the combination, n, and mean and standard error of each metric."""
    row = {"attribute": attribute, "cam": combo[0], "layer": combo[1], "segmentation": combo[2],
           "postprocessing": combo[3], "n": len(values["iou"])}
    for k in METRICS:
        row[k], row[f"{k}_se"] = _mean_se(values[k])
    return row


def collect(cache: EvalCache, n_images: int, batch: int) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Every cached score: ``{attribute: {combination: {metric: [values over the faces]}}}``; a
    missing or incomplete chunk is an error (run the computation first)."""
    out = {a: {combination_name(c): {k: [] for k in METRICS} for c in combinations()} for a in ATTRIBUTES}
    for idx in chunks(n_images, batch):
        path = cache.chunk_record(idx)
        rec = read_json(path, None)
        if not _complete(rec, idx):
            raise FileNotFoundError(f"out: the leaderboard cache has no complete entry {path}; run the leaderboard "
                                    "again to compute it")
        for a, per_combo in out.items():
            for name, per_metric in per_combo.items():
                for k, vals in per_metric.items():
                    vals += rec["scores"][a][name][k]
    return out


def table_rows(scores: dict) -> tuple[list[dict], list[dict]]:
    """``(overall, per_attribute)``: one row per combination over every (face, attribute) pair,
    sorted by mean IoU (best first); then one per attribute and combination, in the same order."""
    overall = []
    for combo in combinations():
        name = combination_name(combo)
        pooled = {k: [v for a in ATTRIBUTES for v in scores[a][name][k]] for k in METRICS}
        overall.append(summary_row("all", combo, pooled))
    overall.sort(key=lambda r: -r["iou"])
    per_attribute = [summary_row(a, (r["cam"], r["layer"], r["segmentation"], r["postprocessing"]),
                                 scores[a][combination_name((r["cam"], r["layer"], r["segmentation"],
                                                             r["postprocessing"]))])
                     for a in ATTRIBUTES for r in overall]
    return overall, per_attribute


def _fmt(row: dict, k: str) -> str:
    digits = 1 if k == "time_ms" else 3
    return f"{row[k]:.{digits}f} ± {row[k + '_se']:.{digits}f}"


def markdown(overall: list[dict], per_attribute: list[dict], n_images: int) -> str:
    """The leaderboard as markdown: the overall table, the best combination per attribute, and the
    IoU of each CAM per attribute (layer4, no post-processing, without and with eq 10)."""
    combo = ("CAM", "layer", "segmentation", "post-processing")
    lines = [f"# CAM leaderboard: {n_images} SynthFace faces x {len(ATTRIBUTES)} attributes, alpha 20", "",
             "Mean ± standard error over the (face, attribute) pairs, sorted by IoU. IoU, precision and recall of "
             "mask > 0.5 against the region the attribute itself changes; damage outside: MAE of the blended "
             "output against the source outside the region; edit lost inside: MAE against the edit inside it "
             "([0, 1] scale); ms / image: the CAM part (pass, map, eq 10, post-processing).", ""]
    lines += table(("#", *combo, *MD_COLUMNS),
                   ([i, r["cam"], r["layer"], r["segmentation"], r["postprocessing"], *(_fmt(r, k) for k in METRICS)]
                    for i, r in enumerate(overall, 1)))
    lines += ["", "## Best combination per attribute (by mean IoU)", ""]
    best = {a: max((r for r in per_attribute if r["attribute"] == a), key=lambda r: r["iou"]) for a in ATTRIBUTES}
    shown = ("iou", "mae_outside", "mae_inside")
    lines += table(("attribute", *combo, *(METRIC_HEADERS[METRICS.index(k)] for k in shown)),
                   ([a, b["cam"], b["layer"], b["segmentation"], b["postprocessing"], *(_fmt(b, k) for k in shown)]
                    for a, b in best.items()))
    for layer in LAYERS:
        for seg in SEGMENTATION:
            lines += ["", f"## IoU per CAM and attribute ({layer}, segmentation {seg}, no post-processing)", ""]
            body = []
            for cam in CAMS:
                cells = {r["attribute"]: r["iou"] for r in per_attribute if r["cam"] == cam and r["layer"] == layer
                         and r["segmentation"] == seg and r["postprocessing"] == "none"}
                body.append([cam, *(f"{cells[a]:.3f}" for a in ATTRIBUTES)])
            lines += table(("CAM", *ATTRIBUTES), body)
    return "\n".join(lines) + "\n"


def merge(setup: Setup, out_dir: Path, cache: EvalCache, batch: int, alpha: float, provenance_extra: dict
          ) -> tuple[list[dict], list[dict], list[Path]]:
    """Read every cache entry and write ``leaderboard.csv/.json/.md`` (with provenance)."""
    overall, per_attribute = table_rows(collect(cache, setup.n_images, batch))
    prov = record(profile=setup.profile, n_images=setup.n_images, attributes=list(ATTRIBUTES), alpha=alpha,
                  batch=batch, params=setup.params, assets=setup.assets,
                  cams={k: list(v) for k, v in CAMS.items()}, layers=list(LAYERS),
                  postprocessing={k: list(v) for k, v in POSTPROCESSING.items()},
                  segmentation=list(SEGMENTATION), **provenance_extra)
    stem = out_dir / "leaderboard"
    write_csv(overall + per_attribute, stem.with_suffix(".csv"))
    write_json({"rows": overall, "per_attribute": per_attribute, "provenance": prov}, stem.with_suffix(".json"))
    atomic_bytes(markdown(overall, per_attribute, setup.n_images).encode(), stem.with_suffix(".md"))
    return overall, per_attribute, [stem.with_suffix(s) for s in (".csv", ".json", ".md")]


@dataclass
class LeaderboardResult:
    """What :func:`leaderboard` returns: sorted overall rows, per-attribute rows, files, counts, seconds."""

    rows: list[dict]
    per_attribute: list[dict]
    files: list[Path]
    chunks_computed: int
    chunks_cached: int
    seconds: float


def leaderboard(setup: Setup, out_dir: str | Path, *, batch: int = 10, alpha: float = 20.0, fresh: bool = False,
                progress: bool = True, dist: Dist | None = None) -> LeaderboardResult:
    """Compute (or reuse) every chunk, then merge into ``out_dir/leaderboard.csv/.json/.md``
    (module doc). ``fresh``: delete the cache first. The folder is locked while it is written.
    ``dist``: this process's place under ``torchrun`` (as :func:`paperlib.evaluation.evaluate.evaluate`: chunk
    k on rank ``k % world_size``; rank 0 locks, writes the manifest first, merges once every rank is
    done and returns the rows; the other ranks return a result without rows or files)."""
    check_arguments(setup, batch, alpha)
    out_dir = Path(out_dir)
    dist = Dist() if dist is None else dist
    t0 = time.perf_counter()
    with main_lock(dist, out_dir, "leaderboard"):
        cache = EvalCache(out_dir / "cache")

        cache.open({**setup.params, "profile": setup.profile, "alpha": float(alpha), "batch": batch,
                    "combinations": [combination_name(c) for c in combinations()]}, fresh, dist)
        counts = dist.gather(_compute_all(setup, cache, batch, float(alpha), progress and dist.is_main, dist))
        computed, cached = sum(c for c, _ in counts), sum(c for _, c in counts)
        seconds = time.perf_counter() - t0
        if not dist.is_main:
            return LeaderboardResult([], [], [], computed, cached, seconds)
        rows, per_attribute, files = merge(setup, out_dir, cache, batch, float(alpha),
                                           {"chunks": {"computed": computed, "cached": cached},
                                            "distributed": {"world_size": dist.world_size, "backend": dist.backend,
                                                            "ranks": [{"computed": c, "cached": k} for c, k in counts]},
                                            "timings": {"total_s": seconds, "threads": torch.get_num_threads()}})
    return LeaderboardResult(rows, per_attribute, files, computed, cached, seconds)


def leaderboard_command(profile: str = PROFILE, *, n_images: int | None = None, out: str | None = None,
                        batch: int | None = None, classifier: str | None = None, fresh: bool = False,
                        quiet: bool = False) -> int:
    """The ``leaderboard`` command: the arguments checked (one line, status 2, nothing written), then
    :func:`leaderboard` in the frame of :func:`paperlib.infra.distributed.on_ranks` (under torchrun
    too; rank 0 prints the summary). ``None`` means the synthetic profile's default."""
    from .. import profiles
    from ..infra.distributed import on_ranks
    from ..infra.paths import out_folder, under_root

    d = profiles.DEFAULTS[PROFILE]

    def check() -> tuple[str, Path, dict]:
        if profile != PROFILE:
            raise ValueError(f"profile: the {profile} profile has no ground-truth edit regions; the leaderboard "
                             f"runs on --profile {PROFILE}")
        folder = out_folder(out, under_root("runs", f"leaderboard-{profile}"))
        options = {"n_images": n_images or d["n_images"], "progress": not quiet}
        if classifier is not None:
            options["classifier_path"] = classifier
        profiles.check(profile, **options)
        return "cpu", folder, options

    def work(setup, folder: Path, dist, progress: bool):
        return leaderboard(setup, folder, batch=batch or d["batch"], fresh=fresh, progress=progress, dist=dist)

    rc, dist, (setup, result) = on_ranks("leaderboard", check, lambda options: profiles.get(profile, **options),
                                         work)
    if rc or not dist.is_main:
        return rc
    ranks = f" on {dist.world_size} processes" if dist.world_size > 1 else ""
    print(f"leaderboard {profile}: {setup.n_images} faces{ranks}; {result.chunks_computed} chunks computed, "
          f"{result.chunks_cached} from the cache; {result.seconds:.1f} s")
    print(f"wrote {', '.join(str(p) for p in result.files)}")
    return 0


__all__ = ["CAMS", "LAYERS", "POSTPROCESSING", "SEGMENTATION", "METRICS", "combinations", "combination_name",
           "postprocess", "compute_chunk", "collect", "table_rows", "merge", "leaderboard", "LeaderboardResult",
           "leaderboard_command"]
