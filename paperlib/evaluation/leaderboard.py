"""The CAM leaderboard: which activation map makes the best edit mask, scored against SynthFace's
ground truth (the region each attribute itself changes), between a uniform map and the best map the
CAM grid allows.

Rows (:func:`combinations`):

- paperlib's own batched CAMs (:data:`CAMS`): Grad-CAM (EOGI's Diff-CAM), Grad-CAM++, HiResCAM,
  XGrad-CAM, LayerCAM, each plain; Grad-CAM++ with TTA + Eigen (Diff-CAM++'s map) and with TTA + the
  authors' Eigen variant (the authors' released code's map, here for every attribute: the leaderboard
  compares maps); each at every CAM layer of :data:`LAYERS` (layer4, the paper's last block, or
  layer4's block before last), segmentation (:data:`SEGMENTATION`) off (the map is the mask) or eq 10,
  and every mask post-processing (:data:`POSTPROCESSING`), applied to the mask that goes into the blend
  (after eq 10 when segmenting): none; threshold 0.5 (a hard mask of exactly the pixels the IoU counts,
  so only the blend changes); threshold 0.2 (Zhou et al.'s CAM localisation convention, 20 % of the
  map's maximum, which is 1 after min-max scaling); Gaussian blur with sigma 4 px at 128² (scaled
  with the image), a quarter of one 16-px CAM cell, the usual feathering of a mask's edge before
  blending. These values were fixed before any result was seen. Every plain one is checked against
  pytorch-grad-cam on the same rows: the first face of every chunk, every attribute and layer; the
  largest difference is in the provenance and under the table.
- pytorch-grad-cam's other methods, run through the library itself (:data:`LIBRARY_CAMS`,
  :func:`paperlib.method.cam_library.library_cam`): Grad-CAM element-wise, Eigen-CAM, EigenGrad-CAM,
  KPCA-CAM, SegEigen-CAM, Shapley-CAM, Finer-CAM and Random-CAM (a sanity baseline: random channel
  weights) by default (:data:`DEFAULT_CAMS`); Score-CAM, Ablation-CAM and the library's TTA variants
  only when named (``--cams``): Score-CAM and Ablation-CAM run one forward pass of the whole DiffNet
  per channel of the layer (512 at layer4), measured at about 50 and 40 s per face on the 2-core CPU,
  hours for 100 faces x 7 attributes; the library's TTA is six separate passes. By default the library
  methods run at layer4 only (:data:`LIBRARY_LAYERS`), with segmentation off and eq 10 and no
  post-processing; ``--layers`` runs every selected method at the selected layers. Left out: FullGrad
  (it hooks every bias layer, including DiffNet's encoder, which runs twice per pair: not a map of a
  feature layer) and RefineCAM (a product of several layers' maps). The library's Eigen projections
  keep LAPACK's sign (:mod:`paperlib.method.cam`'s orientation is paperlib's, not the library's).
- the baselines, at every segmentation setting: **uniform**, the whole image as the mask (a constant
  map is all 0 after min-max scaling; "everything is the edit" is what a map that knows nothing
  claims): its IoU is the region's share of the image, its pointing game and energy too; with eq 10
  it is the segmentation masks alone. **ceiling**, per CAM layer: the ground-truth region
  average-pooled to the layer's grid (:func:`paperlib.method.pipeline.cam_grid`), brought back to the
  image exactly as CAMs are (:func:`paperlib.method.cam.normalize_cam`, then nearest to the image
  size), through eq 10 when segmenting, and thresholded at its best threshold of :data:`THRESHOLDS`
  for each image (the per-image best: the bound for "any map at this grid" that a fixed threshold per
  attribute would understate): the IoU a CAM at this grid can reach. Its other columns are those of
  that same mask, not bounds.

Every row is scored on the first N faces of the synthetic profile (seed 0) for every attribute of
the world (all 7) at alpha 20 (:data:`METRICS`): IoU, precision and recall of ``mask > 0.5``
against the intended region (:func:`paperlib.synth.scores.localization`); the pointing game
(:func:`pointing_game`: whether the mask's maximum lies within 15 px at 224², scaled to the image, of
the region; ties at the maximum count as the share of them that do, so a constant map scores the
share of the image near the region); the energy-based pointing game (the share of the mask's sum
inside the region, :func:`paperlib.synth.scores.mass_inside`; Score-CAM's paper uses the bounding
box, here the region itself); edit kept (:func:`paperlib.evaluation.judges.edit_kept` with the exact
SynthFace judge, ``Setup.ideal_edit``: the share of the ideal change kept in the blended output
inside its region), so a mask that localises well but drops the edit shows; the blended output's
damage outside the region (``mae_outside``) and the edit lost inside it (``mae_inside``)
(:func:`paperlib.synth.scores.blend_errors`); and the time per image of the CAM part. The tables
also give each row's share of the way from uniform to ceiling, ``(IoU - uniform) / (ceiling -
uniform)`` of the mean IoUs, against the uniform row and ceiling row of its segmentation (and layer).
Rows are ranked by any column (``--rank-by``; lower first for the MAEs and the time).

Time per image: the forward/backward pass of the combination's (layer, TTA) setting, counted
whole for each combination that uses it (what the combination costs when run alone), plus its
own weights / Eigen / scaling, its eq 10 fusion and its post-processing; a library method's own
call (its passes included); the ceiling's pooling and threshold search; not the inversion, the
generation, the parsing, the blend or the scoring, which every combination shares. Measured with
``time.perf_counter`` per chunk and divided by the chunk's images.

Like :mod:`paperlib.evaluation.evaluate`: fixed chunks ``[k*batch, (k+1)*batch)``; per chunk one inversion,
one ``G(w)`` and one encoding of ``I'`` (:func:`paperlib.method.pipeline.prepare`) serve every attribute;
per attribute one ``G(w + alpha n)``, and one pass per (layer, TTA) serves every paperlib CAM. One
cache entry per chunk (``cache/chunks/<first>-<last>.json``, written atomically); a chunk whose
entry is complete is skipped (resume); then :func:`merge` reads every entry and writes
``leaderboard.csv/.json/.md``. The cache key holds the list of combinations: another selection is
another cache (``--out`` elsewhere or ``--fresh``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F

from ..checks import check_alpha, check_positive_int
from ..method.attributes import ATTRIBUTES
from ..infra.files import atomic_bytes, read_json, write_json
from ..infra.markdown import table
from .cache import EvalCache, chunks, rank_chunks
from .judges import edit_kept
from ..method.cam import cam_passes, check_configs, normalize_cam, variant_map
from ..method.cam_library import REIMPLEMENTED, library_cam
from ..method.diffnet import CAM_LAYERS, cam_layer
from ..infra.distributed import Dist, main_lock
from ..method.masks import blend, blur_mask, fuse_masks, segmentation_masks, threshold_mask
from ..method.pipeline import cam_grid, classifier_input, deghost, edit, parse_edited, prepare, source_parsing
from ..profiles import Setup
from ..infra.provenance import record
from .tables import write_csv

#: paperlib's batched CAM maps: name -> (method, aug_smooth, eigen_smooth) of :func:`paperlib.method.cam.cam_variants`.
CAMS: dict[str, tuple[str, bool, Union[bool, str]]] = {
    "Grad-CAM (Diff-CAM)": ("gradcam", False, False),
    "Grad-CAM++": ("gradcam++", False, False),
    "HiResCAM": ("hirescam", False, False),
    "XGrad-CAM": ("xgradcam", False, False),
    "LayerCAM": ("layercam", False, False),
    "Grad-CAM++ +TTA+Eigen (Diff-CAM++)": ("gradcam++", True, True),
    "Grad-CAM++ +TTA+authors' Eigen": ("gradcam++", True, "authors"),
}
#: pytorch-grad-cam's other methods, run through the library: name -> (class, aug_smooth, eigen_smooth)
#: of :func:`paperlib.method.cam_library.library_cam`.
LIBRARY_CAMS: dict[str, tuple[str, bool, bool]] = {
    "Grad-CAM element-wise": ("GradCAMElementWise", False, False),
    "Eigen-CAM": ("EigenCAM", False, False),
    "EigenGrad-CAM": ("EigenGradCAM", False, False),
    "KPCA-CAM": ("KPCA_CAM", False, False),
    "SegEigen-CAM": ("SegEigenCAM", False, False),
    "Shapley-CAM": ("ShapleyCAM", False, False),
    "Finer-CAM": ("FinerCAM", False, False),
    "Random-CAM": ("RandomCAM", False, False),
    "Score-CAM": ("ScoreCAM", False, False),
    "Ablation-CAM": ("AblationCAM", False, False),
    "Grad-CAM element-wise +TTA+Eigen": ("GradCAMElementWise", True, True),
    "Eigen-CAM +TTA": ("EigenCAM", True, False),
}
#: The library methods run only when named (module doc: hours on the CPU, or six passes each).
OPT_IN: tuple[str, ...] = ("Score-CAM", "Ablation-CAM", "Grad-CAM element-wise +TTA+Eigen", "Eigen-CAM +TTA")
#: The CAMs of a default run: every paperlib CAM and every library CAM but :data:`OPT_IN`.
DEFAULT_CAMS: tuple[str, ...] = (*CAMS, *(k for k in LIBRARY_CAMS if k not in OPT_IN))
#: The CAM layers of a default run for paperlib's CAMs (:data:`paperlib.method.diffnet.CAM_LAYERS`).
LAYERS: tuple[str, ...] = ("layer4", "layer4, block before last")
#: The CAM layers of a default run for the library's CAMs.
LIBRARY_LAYERS: tuple[str, ...] = ("layer4",)
#: Mask post-processing: name -> (kind, value); blur sigmas are in pixels at 128² (module doc).
POSTPROCESSING: dict[str, tuple[str, float]] = {
    "none": ("none", 0.0),
    "threshold 0.5": ("threshold", 0.5),
    "threshold 0.2": ("threshold", 0.2),
    "blur 4px": ("blur", 4.0),
}
#: Segmentation: off (the map is the mask) or eq 10 (``S_org (.) S_modif (.) map``).
SEGMENTATION: tuple[str, ...] = ("off", "eq 10")
#: The baselines' names (module doc), their layer for the uniform map (it has none) and the ceiling's post-processing.
UNIFORM, CEILING, ANY_LAYER, BEST_THRESHOLD = "uniform (whole image)", "ceiling (ground truth at the grid)", "any", \
    "best threshold"
#: The thresholds the ceiling searches, per image.
THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(20))
#: The pointing game's tolerance: 15 px at 224² (Zhang et al.), scaled to the image.
POINTING_TOLERANCE = 15 / 224
#: The per-image scores, in table order.
METRICS: tuple[str, ...] = ("iou", "pointing", "energy", "edit_kept", "precision", "recall", "mae_outside",
                            "mae_inside", "time_ms")
#: The Markdown header of each metric of :data:`METRICS`, in the same order (cells: mean ± standard error).
METRIC_HEADERS: tuple[str, ...] = ("IoU", "pointing game", "energy in region", "edit kept", "precision", "recall",
                                   "damage outside", "edit lost inside", "ms / image")
#: The share of the way from uniform to ceiling (of the mean IoU), a column of the tables.
SHARE = "iou_share"
#: The columns a table can be ranked by (``--rank-by``) and those ranked lowest first.
RANK_COLUMNS: tuple[str, ...] = (*METRICS, SHARE)
LOWER_IS_BETTER: frozenset[str] = frozenset({"mae_outside", "mae_inside", "time_ms"})
#: The Markdown columns of :func:`markdown` that show numbers -> the CSV columns each cell displays.
MD_COLUMNS: dict[str, tuple[str, ...]] = {**{h: (k, k + "_se") for h, k in zip(METRIC_HEADERS, METRICS)},
                                          "share of the way": (SHARE,)}
#: The profile whose world knows the intended edit regions.
PROFILE = "synthetic"
SEP = " | "
Combo = tuple[str, str, str, str]


def combinations(cams: Sequence[str] | None = None, layers: Sequence[str] | None = None) -> list[Combo]:
    """Every ``(cam, layer, segmentation, post-processing)``, in a fixed order: ``cams`` (default
    :data:`DEFAULT_CAMS`) at ``layers`` (default :data:`LAYERS` for paperlib's CAMs, :data:`LIBRARY_LAYERS`
    for the library's), paperlib's with every post-processing, the library's with none; then the uniform
    rows and the ceiling rows of every layer used, for each segmentation (module doc)."""
    cams = DEFAULT_CAMS if cams is None else [c for c in (*CAMS, *LIBRARY_CAMS) if c in cams]
    out: list[Combo] = []
    for c in cams:
        own = c in CAMS
        at = layers if layers is not None else (LAYERS if own else LIBRARY_LAYERS)
        posts = POSTPROCESSING if own else ("none",)
        out += [(c, layer, s, p) for layer in at for s in SEGMENTATION for p in posts]
    used = [layer for layer in CAM_LAYERS if any(layer == o[1] for o in out)]
    out += [(UNIFORM, ANY_LAYER, s, "none") for s in SEGMENTATION]
    return out + [(CEILING, layer, s, BEST_THRESHOLD) for layer in used for s in SEGMENTATION]


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


def _one_of(what: str, noun: str, name: str, known: Sequence[str]) -> str:
    """``name`` if it is in ``known``, else the one-line ValueError ``"what: unknown noun 'name'; ..."``."""
    if name not in known:
        raise ValueError(f"{what}: unknown {noun} {name!r}; expected one of {', '.join(map(repr, known))}")
    return name


def check_selection(cams: Sequence[str] | None = None, layers: Sequence[str] | None = None,
                    rank_by: str = "iou") -> None:
    """One-line errors for an unknown CAM name, CAM layer or ranking column (before any work)."""
    for c in cams or ():
        _one_of("cams", "CAM", c, (*CAMS, *LIBRARY_CAMS))
    for layer in layers or ():
        _one_of("layers", "CAM layer", layer, CAM_LAYERS)
    _one_of("rank_by", "column", rank_by, RANK_COLUMNS)


def check_arguments(setup: Setup, batch: int, alpha: float = 20.0, cams: Sequence[str] | None = None,
                    layers: Sequence[str] | None = None, rank_by: str = "iou") -> None:
    """One-line errors before any work: the profile must have ground truth and the ideal edit, ``batch``
    positive, the selection known (:func:`check_selection`) and every layer in the classifier."""
    if setup.ground_truth is None or not hasattr(setup.ground_truth, "world") or setup.ideal_edit is None:
        raise ValueError(f"profile: the {setup.profile} profile has no ground-truth edit regions; the leaderboard "
                         f"runs on --profile {PROFILE}")
    check_positive_int("batch", batch)
    check_positive_int("n_images", setup.n_images)
    check_alpha(alpha)
    check_selection(cams, layers, rank_by)
    for layer in layers or LAYERS:
        cam_layer(setup.components.classifier, layer)


# ------------------------------------------------------------------------------------- computing
def timed_maps(net: torch.nn.Module, pair: torch.Tensor, target: int, size: tuple[int, int], combos: Sequence[Combo]
               ) -> tuple[dict[tuple[str, str], torch.Tensor], dict[tuple[str, str], float]]:
    """Every paperlib CAM (:data:`CAMS`) at every layer ``combos`` use it at, on the classifier input
    ``pair``, at ``size``: ``maps[(cam, layer)]`` (B, H, W) and ``seconds[(cam, layer)]``, the time of its
    pass (whole) plus its own map. One pass per (layer, TTA) serves every method."""
    wanted = {(c, layer) for c, layer, _, _ in combos if c in CAMS}
    classes = dict(zip(CAMS, check_configs(list(CAMS.values()))))
    maps, seconds = {}, {}
    for layer in CAM_LAYERS:
        module = cam_layer(net, layer)
        for aug in sorted({CAMS[c][1] for c, at in wanted if at == layer}):
            t = time.perf_counter()
            act, grads = cam_passes(net, module, pair, target, [aug])[aug]
            pass_s = time.perf_counter() - t
            for name, (_, a, eigen) in CAMS.items():
                if a != aug or (name, layer) not in wanted:
                    continue
                t = time.perf_counter()
                m = variant_map(classes[name], aug, eigen, act, grads, len(pair), tuple(pair.shape[-2:]))
                maps[name, layer] = F.interpolate(m[:, None], size=size, mode="nearest")[:, 0]
                seconds[name, layer] = pass_s + time.perf_counter() - t
    return maps, seconds


def library_maps(classifier: torch.nn.Module, pair: torch.Tensor, target: int, size: tuple[int, int],
                 combos: Sequence[Combo], seed: int = 0
                 ) -> tuple[dict[tuple[str, str], torch.Tensor], dict[tuple[str, str], float]]:
    """Every library CAM (:data:`LIBRARY_CAMS`) at every layer ``combos`` use it at, through
    :func:`paperlib.method.cam_library.library_cam`, as :func:`timed_maps`. ``classifier``: the chunk's
    :class:`paperlib.method.diffnet.SourceEncoded` (its cached ``E(I')`` serves the one-pass methods; the
    library's TTA, Score-CAM and Ablation-CAM, whose batches are not the chunk's, get the plain DiffNet)."""
    maps, seconds = {}, {}
    for name, layer in dict.fromkeys((c, layer) for c, layer, _, _ in combos if c in LIBRARY_CAMS):
        cls, aug, eigen = LIBRARY_CAMS[name]
        whole = aug or cls in ("ScoreCAM", "AblationCAM")
        model = getattr(classifier, "net", classifier) if whole else classifier
        t = time.perf_counter()
        m = library_cam(model, cam_layer(model, layer), pair, target, cls, aug_smooth=aug, eigen_smooth=eigen,
                        seed=seed).to(pair.device)
        maps[name, layer] = F.interpolate(m[:, None], size=size, mode="nearest")[:, 0]
        seconds[name, layer] = time.perf_counter() - t
    return maps, seconds


def library_check(net: torch.nn.Module, pair: torch.Tensor, target: int, maps: dict[tuple[str, str], torch.Tensor]
                  ) -> dict[str, float]:
    """paperlib's plain CAMs against pytorch-grad-cam on the first image of ``pair``: ``{"cam | layer":
    largest absolute difference}`` for every plain paperlib map of ``maps`` (at the classifier's size,
    ``maps`` at the images' size: compared where the two sizes agree, else after the same nearest resize)."""
    out = {}
    for (name, layer), m in maps.items():
        method, aug, eigen = CAMS[name]
        if aug or eigen:
            continue
        ref = library_cam(net, cam_layer(net, layer), pair[:1], target, REIMPLEMENTED[method])
        ref = F.interpolate(ref[:, None].to(m), size=tuple(m.shape[-2:]), mode="nearest")[:, 0]
        out[combination_name((name, layer))] = float((m[:1] - ref).abs().max())
    return out


def pointing_game(m: torch.Tensor, region: torch.Tensor, tolerance: float = POINTING_TOLERANCE) -> torch.Tensor:
    """Per image (B,): whether the maximum of ``m`` (B, H, W) lies within ``tolerance`` x the image width
    (a disc) of ``region`` (B, H, W, bool); with several pixels at the maximum, the share of them that
    do (a constant map: the share of the image near the region)."""
    r = max(0, round(tolerance * m.shape[-1]))
    yy, xx = torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="ij")
    disc = ((yy ** 2 + xx ** 2) <= r * r).to(m.dtype)[None, None]
    near = F.conv2d(region[:, None].to(m.dtype), disc.to(m.device), padding=r)[:, 0] > 0
    top = m >= m.amax(dim=(-2, -1), keepdim=True)
    return (top & near).flatten(1).sum(1).to(m.dtype) / top.flatten(1).sum(1).to(m.dtype)


def ceiling_masks(region: torch.Tensor, grid: Sequence[int], cam_size: int, fuse=None) -> torch.Tensor:
    """The ceiling's mask (B, H, W) in {0, 1} (module doc): ``region`` (B, H, W, bool) average-pooled to
    ``grid``, scaled to ``cam_size`` by :func:`paperlib.method.cam.normalize_cam`, nearest back to the
    region's size, through ``fuse`` (eq 10) when given, thresholded per image at the one of
    :data:`THRESHOLDS` with the best IoU against ``region``."""
    from ..synth.scores import localization

    pooled = F.adaptive_avg_pool2d(region[:, None].float(), tuple(grid))[:, 0]
    m = normalize_cam(pooled, (cam_size, cam_size))
    m = F.interpolate(m[:, None], size=tuple(region.shape[-2:]), mode="nearest")[:, 0]
    m = fuse(m) if fuse is not None else m
    ious = torch.stack([localization(m, region, t)["iou"] for t in THRESHOLDS])  # (T, B)
    best = torch.tensor(THRESHOLDS, dtype=m.dtype, device=m.device)[ious.argmax(0)]
    return (m > best[:, None, None]).to(m.dtype)


def score_masks(c, p, edited: torch.Tensor, m: torch.Tensor, region: torch.Tensor, ideal: tuple) -> dict:
    """Every metric of :data:`METRICS` but the time, per image, of mask ``m`` (B, H, W): localisation
    against ``region``, pointing games, and the blended output's edit kept (``ideal``: the change and its
    region of ``Setup.ideal_edit``) and errors."""
    from ..synth.scores import blend_errors, localization, mass_inside

    output = deghost(c, blend(edited, p.source, m))
    change, ideal_region = ideal
    return {**localization(m, region), "pointing": pointing_game(m, region), "energy": mass_inside(m, region),
            "edit_kept": edit_kept(output, p.source, change.to(output), ideal_region.to(output.device)),
            **blend_errors(output, p.source, edited, region)}


def _floats(t: torch.Tensor) -> list[float | None]:
    """Per-image values for the cache: NaN (edit kept without a reference change) as None."""
    return [None if math.isnan(v) else float(v) for v in t.tolist()]


def score_attribute(setup: Setup, p, indices: Sequence[int], attribute: str, alpha: float,
                    combos: Sequence[Combo]) -> tuple[dict[str, dict[str, list]], dict[str, float]]:
    """Per combination of ``combos``, per image of the prepared chunk ``p`` (faces ``indices``): the
    :data:`METRICS` for ``attribute``; and the check of paperlib's plain maps against the library's."""
    from ..synth.scores import intended_region

    c = setup.components
    w_edit, edited = edit(c, p.latents, attribute, alpha)
    parsing_edited = parse_edited(c, w_edit, edited)
    with torch.no_grad():
        region = intended_region(setup.ground_truth.world, p.latents, attribute, alpha)
    ideal = setup.ideal_edit(list(indices), attribute, alpha)
    s_org, s_modif = segmentation_masks(p.parsing_source, parsing_edited, attribute)
    pair = classifier_input(c, p.reconstruction, edited)
    size, target = tuple(edited.shape[-2:]), c.class_index(attribute)
    maps, seconds = timed_maps(p.classifier, pair, target, size, combos)
    more = library_maps(p.classifier, pair, target, size, combos, seed=indices[0])
    check = library_check(getattr(p.classifier, "net", p.classifier), pair, target, maps)
    maps, seconds = {**maps, **more[0]}, {**seconds, **more[1]}
    for layer in dict.fromkeys(layer for cam, layer, _, _ in combos if cam == CEILING):
        t = time.perf_counter()
        grid = cam_grid(c, layer)
        for seg in SEGMENTATION:
            fuse = (lambda x: fuse_masks(s_org, s_modif, x)) if seg == "eq 10" else None
            maps[CEILING, layer, seg] = ceiling_masks(region, grid, c.cam_size, fuse)
        seconds[CEILING, layer] = time.perf_counter() - t
    maps[UNIFORM, ANY_LAYER] = torch.ones_like(edited[:, 0])
    seconds[UNIFORM, ANY_LAYER] = 0.0
    n = len(edited)
    out = {}
    for cam, layer, seg, post in combos:
        t = time.perf_counter()
        if cam == CEILING:
            m = maps[cam, layer, seg]
        else:
            m = fuse_masks(s_org, s_modif, maps[cam, layer]) if seg == "eq 10" else maps[cam, layer]
            m = postprocess(m, post)
        elapsed = seconds[cam, layer] + time.perf_counter() - t
        scores = {k: _floats(v) for k, v in score_masks(c, p, edited, m, region, ideal).items()}
        scores["time_ms"] = [1000 * elapsed / n] * n
        out[combination_name((cam, layer, seg, post))] = scores
    return out, check


def compute_chunk(setup: Setup, indices: Sequence[int], alpha: float = 20.0,
                  combos: Sequence[Combo] | None = None) -> dict[str, dict]:
    """Scores of every combination of ``combos`` (default :func:`combinations`) on the faces ``indices``
    for every attribute: ``{"scores": {attribute: {combination: {metric: [value per image]}}},
    "library_check": {attribute: {"cam | layer": difference}}}``. One inversion and one encoding of ``I'``
    (all 6 TTA views) serve every attribute."""
    combos = combinations() if combos is None else combos
    idx = list(indices)
    source = setup.load_sources(idx)
    parsing = setup.source_parsing(idx, source) if setup.source_parsing is not None else None
    p = prepare(setup.components, source, parsing_source=parsing, tta=True)
    source_parsing(setup.components, p)
    per = {a: score_attribute(setup, p, idx, a, alpha, combos) for a in ATTRIBUTES}
    return {"scores": {a: s for a, (s, _) in per.items()}, "library_check": {a: k for a, (_, k) in per.items()}}


def _complete(rec, idx: list[int], combos: Sequence[Combo]) -> bool:
    """Whether a chunk's cache entry holds every attribute, combination and metric for ``idx``."""
    if not isinstance(rec, dict) or rec.get("indices") != idx:
        return False
    scores = rec.get("scores", {})
    names = [combination_name(c) for c in combos]
    return all(len(scores.get(a, {}).get(n, {}).get(k, [])) == len(idx)
               for a in ATTRIBUTES for n in names for k in METRICS)


def _compute_all(setup: Setup, cache: EvalCache, batch: int, alpha: float, progress: bool,
                 dist: Dist, combos: Sequence[Combo]) -> tuple[int, int]:
    """Compute this rank's chunks (:func:`paperlib.infra.distributed.shard`; all of them in a single
    process) not already complete in the cache; (computed, cached)."""
    computed = cached = 0
    for idx in rank_chunks(setup.n_images, batch, dist, "leaderboard", progress):
        path = cache.chunk_record(idx)
        if _complete(read_json(path, None), idx, combos):
            cached += 1
            continue
        write_json({"indices": idx, **compute_chunk(setup, idx, alpha, combos)}, path)
        computed += 1
    return computed, cached


# ---------------------------------------------------------------------------------------- merging
def _mean_se(values: list) -> tuple[float, float]:
    """Mean and standard error of ``values``, None (edit kept without a reference) left out."""
    a = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if not len(a):
        return float("nan"), float("nan")
    se = float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else float("nan")
    return float(a.mean()), se


def summary_row(attribute: str, combo: Sequence[str], values: dict[str, list]) -> dict:
    """One table row: the combination, n, and mean and standard error of each metric."""
    row = {"attribute": attribute, "cam": combo[0], "layer": combo[1], "segmentation": combo[2],
           "postprocessing": combo[3], "n": len(values["iou"])}
    for k in METRICS:
        row[k], row[f"{k}_se"] = _mean_se(values[k])
    return row


def collect(cache: EvalCache, n_images: int, batch: int, combos: Sequence[Combo] | None = None
            ) -> tuple[dict[str, dict[str, dict[str, list]]], dict[str, float]]:
    """Every cached score: ``{attribute: {combination: {metric: [values over the faces]}}}``, and the largest
    difference to pytorch-grad-cam of each checked map over every chunk and attribute (:func:`library_check`);
    a missing or incomplete chunk is an error (run the computation first)."""
    combos = combinations() if combos is None else combos
    out = {a: {combination_name(c): {k: [] for k in METRICS} for c in combos} for a in ATTRIBUTES}
    check: dict[str, float] = {}
    for idx in chunks(n_images, batch):
        path = cache.chunk_record(idx)
        rec = read_json(path, None)
        if not _complete(rec, idx, combos):
            raise FileNotFoundError(f"out: the leaderboard cache has no complete entry {path}; run the leaderboard "
                                    "again to compute it")
        for a, per_combo in out.items():
            for name, per_metric in per_combo.items():
                for k, vals in per_metric.items():
                    vals += rec["scores"][a][name][k]
        for per_map in rec.get("library_check", {}).values():
            for name, d in per_map.items():
                check[name] = max(check.get(name, 0.0), d)
    return out, check


def add_shares(rows: list[dict]) -> None:
    """Each row's :data:`SHARE` (module doc), from the uniform and ceiling rows of its attribute,
    segmentation and layer among ``rows`` (NaN where there is no room between the two)."""
    base = {(r["attribute"], r["segmentation"]): r["iou"] for r in rows if r["cam"] == UNIFORM}
    top = {(r["attribute"], r["layer"], r["segmentation"]): r["iou"] for r in rows if r["cam"] == CEILING}
    best = {(a, seg): max(v for (b, _, s), v in top.items() if (b, s) == (a, seg)) for a, _, seg in top}
    for r in rows:
        lo = base[r["attribute"], r["segmentation"]]
        hi = top.get((r["attribute"], r["layer"], r["segmentation"]), best[r["attribute"], r["segmentation"]])
        r[SHARE] = (r["iou"] - lo) / (hi - lo) if hi > lo else float("nan")


def rank(rows: list[dict], column: str = "iou") -> list[dict]:
    """``rows`` sorted by ``column`` of :data:`RANK_COLUMNS`, best first (lowest first for
    :data:`LOWER_IS_BETTER`; NaN last); ties keep their order."""
    sign = 1 if column in LOWER_IS_BETTER else -1
    return sorted(rows, key=lambda r: (math.isnan(r[column]), sign * r[column] if not math.isnan(r[column]) else 0))


def _key(r: dict) -> Combo:
    return r["cam"], r["layer"], r["segmentation"], r["postprocessing"]


def table_rows(scores: dict, combos: Sequence[Combo] | None = None, rank_by: str = "iou"
               ) -> tuple[list[dict], list[dict]]:
    """``(overall, per_attribute)``: one row per combination over every (face, attribute) pair, ranked by
    ``rank_by`` (:func:`rank`); then one per attribute and combination, in the same order."""
    combos = combinations() if combos is None else combos
    overall = [summary_row("all", c, {k: [v for a in ATTRIBUTES for v in scores[a][combination_name(c)][k]]
                                      for k in METRICS}) for c in combos]
    add_shares(overall)
    overall = rank(overall, rank_by)
    per_attribute = [summary_row(a, _key(r), scores[a][combination_name(_key(r))]) for a in ATTRIBUTES for r in overall]
    add_shares(per_attribute)
    return overall, per_attribute


def _fmt(row: dict, k: str) -> str:
    digits = 1 if k == "time_ms" else 3
    return f"{row[k]:.{digits}f} ± {row[k + '_se']:.{digits}f}"


def _share(row: dict) -> str:
    return f"{row[SHARE]:.2f}"


def markdown(overall: list[dict], per_attribute: list[dict], n_images: int, rank_by: str = "iou",
             check: dict[str, float] | None = None) -> str:
    """The leaderboard as markdown: the overall table ranked by ``rank_by``; per attribute, uniform,
    ceiling and the best combination; the IoU of each CAM per attribute for each layer and segmentation
    (no post-processing); the check of paperlib's maps against pytorch-grad-cam (``check``)."""
    combo = ("CAM", "layer", "segmentation", "post-processing")
    order = "lowest first" if rank_by in LOWER_IS_BETTER else "best first"
    lines = [f"# CAM leaderboard: {n_images} SynthFace faces x {len(ATTRIBUTES)} attributes, alpha 20", "",
             f"Mean ± standard error over the (face, attribute) pairs, ranked by {rank_by} ({order}). IoU, precision "
             "and recall of mask > 0.5 against the region the attribute itself changes; share of the way: (IoU − "
             "uniform's) / (ceiling's − uniform's), against the uniform and ceiling rows of the same segmentation "
             "(and layer); uniform: the whole image as the mask; ceiling: the region pooled to the CAM grid, "
             "scaled back as CAMs are, at its best threshold per image; pointing game: the mask's maximum within "
             "15 px at 224² (scaled) of the region; energy in region: the share of the mask's sum inside it; edit "
             "kept: the share of the ideal change kept in the blended output inside its region (SynthFace's exact "
             "judge); damage outside: MAE of the blended output against the source outside the region; edit lost "
             "inside: MAE against the edit inside it ([0, 1] scale); ms / image: the CAM part (pass, map, eq 10, "
             "post-processing).", ""]
    lines += table(("#", *combo, "IoU", "share of the way", *METRIC_HEADERS[1:]),
                   ([i, *_key(r), _fmt(r, "iou"), _share(r), *(_fmt(r, k) for k in METRICS[1:])]
                    for i, r in enumerate(overall, 1)))
    methods = [r for r in per_attribute if r["cam"] not in (UNIFORM, CEILING)]
    lines += ["", "## Per attribute: uniform, ceiling and the best combination (by mean IoU, segmentation off "
                  "and eq 10)", ""]
    body = []
    for a in ATTRIBUTES:
        mine = [r for r in per_attribute if r["attribute"] == a]
        uniform = {r["segmentation"]: r for r in mine if r["cam"] == UNIFORM}
        ceiling = {}
        for r in mine:
            if r["cam"] == CEILING and r["iou"] > ceiling.get(r["segmentation"], {"iou": -1.0})["iou"]:
                ceiling[r["segmentation"]] = r
        b = max((r for r in methods if r["attribute"] == a), key=lambda r: r["iou"])
        body.append([a, *(f"{uniform[s]['iou']:.3f}" for s in SEGMENTATION),
                     *(f"{ceiling[s]['iou']:.3f}" for s in SEGMENTATION), ", ".join(_key(b)), _fmt(b, "iou"),
                     _share(b), _fmt(b, "edit_kept")])
    lines += table(("attribute", *(f"uniform IoU ({s})" for s in SEGMENTATION),
                    *(f"ceiling IoU ({s})" for s in SEGMENTATION), "best: CAM, layer, segmentation, post-processing",
                    "IoU", "share of the way", "edit kept"), body)
    cams = list(dict.fromkeys(r["cam"] for r in overall if r["postprocessing"] in ("none", BEST_THRESHOLD)))
    for layer in dict.fromkeys(r["layer"] for r in overall if r["cam"] not in (UNIFORM, CEILING)):
        for seg in SEGMENTATION:
            lines += ["", f"## IoU per CAM and attribute ({layer}, segmentation {seg}, no post-processing)", ""]
            body = []
            for cam in cams:
                at = ANY_LAYER if cam == UNIFORM else layer
                cells = {r["attribute"]: r["iou"] for r in per_attribute if (r["cam"], r["layer"], r["segmentation"])
                         == (cam, at, seg) and r["postprocessing"] in ("none", BEST_THRESHOLD)}
                if cells:
                    body.append([cam, *(f"{cells[a]:.3f}" for a in ATTRIBUTES)])
            lines += table(("CAM", *ATTRIBUTES), body)
    if check:
        worst = max(check, key=check.get)
        lines += ["", f"paperlib's plain CAMs against pytorch-grad-cam on the same rows (the first face of every "
                      f"chunk, every attribute): largest difference {check[worst]:.1e} ({worst})."]
    return "\n".join(lines) + "\n"


def merge(setup: Setup, out_dir: Path, cache: EvalCache, batch: int, alpha: float, provenance_extra: dict,
          combos: Sequence[Combo] | None = None, rank_by: str = "iou") -> tuple[list[dict], list[dict], list[Path]]:
    """Read every cache entry and write ``leaderboard.csv/.json/.md`` (with provenance)."""
    combos = combinations() if combos is None else combos
    scores, check = collect(cache, setup.n_images, batch, combos)
    overall, per_attribute = table_rows(scores, combos, rank_by)
    prov = record(profile=setup.profile, n_images=setup.n_images, attributes=list(ATTRIBUTES), alpha=alpha,
                  batch=batch, params=setup.params, assets=setup.assets,
                  cams={k: list(v) for k, v in CAMS.items()},
                  library_cams={k: list(v) for k, v in LIBRARY_CAMS.items()},
                  combinations=[combination_name(c) for c in combos], rank_by=rank_by,
                  postprocessing={k: list(v) for k, v in POSTPROCESSING.items()},
                  segmentation=list(SEGMENTATION), ceiling_thresholds=list(THRESHOLDS),
                  pointing_tolerance=POINTING_TOLERANCE, library_check=check, **provenance_extra)
    stem = out_dir / "leaderboard"
    write_csv(overall + per_attribute, stem.with_suffix(".csv"))
    write_json({"rows": overall, "per_attribute": per_attribute, "provenance": prov}, stem.with_suffix(".json"))
    atomic_bytes(markdown(overall, per_attribute, setup.n_images, rank_by, check).encode(), stem.with_suffix(".md"))
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
                progress: bool = True, dist: Dist | None = None, cams: Sequence[str] | None = None,
                layers: Sequence[str] | None = None, rank_by: str = "iou") -> LeaderboardResult:
    """Compute (or reuse) every chunk, then merge into ``out_dir/leaderboard.csv/.json/.md``
    (module doc). ``cams``, ``layers``: the selection of :func:`combinations` (None: the default run);
    ``rank_by``: the column the tables are ranked by (:data:`RANK_COLUMNS`). ``fresh``: delete the cache first. The folder is locked while it is written.
    ``dist``: this process's place under ``torchrun`` (as :func:`paperlib.evaluation.evaluate.evaluate`: chunk
    k on rank ``k % world_size``; rank 0 locks, writes the manifest first, merges once every rank is
    done and returns the rows; the other ranks return a result without rows or files)."""
    check_arguments(setup, batch, alpha, cams, layers, rank_by)
    combos = combinations(cams, layers)
    out_dir = Path(out_dir)
    dist = Dist() if dist is None else dist
    t0 = time.perf_counter()
    with main_lock(dist, out_dir, "leaderboard"):
        cache = EvalCache(out_dir / "cache")

        cache.open({**setup.params, "profile": setup.profile, "alpha": float(alpha), "batch": batch,
                    "combinations": [combination_name(c) for c in combos]}, fresh, dist)
        counts = dist.gather(_compute_all(setup, cache, batch, float(alpha), progress and dist.is_main, dist,
                                          combos))
        computed, cached = sum(c for c, _ in counts), sum(c for _, c in counts)
        seconds = time.perf_counter() - t0
        if not dist.is_main:
            return LeaderboardResult([], [], [], computed, cached, seconds)
        rows, per_attribute, files = merge(setup, out_dir, cache, batch, float(alpha),
                                           {"chunks": {"computed": computed, "cached": cached},
                                            "distributed": {"world_size": dist.world_size, "backend": dist.backend,
                                                            "ranks": [{"computed": c, "cached": k} for c, k in counts]},
                                            "timings": {"total_s": seconds, "threads": torch.get_num_threads()}},
                                           combos, rank_by)
    return LeaderboardResult(rows, per_attribute, files, computed, cached, seconds)


def leaderboard_command(profile: str = PROFILE, *, n_images: int | None = None, out: str | None = None,
                        batch: int | None = None, classifier: str | None = None, fresh: bool = False,
                        quiet: bool = False, cams: Sequence[str] | None = None,
                        layers: Sequence[str] | None = None, rank_by: str = "iou") -> int:
    """The ``leaderboard`` command: the arguments checked (one line, status 2, nothing written), then
    :func:`leaderboard` in the frame of :func:`paperlib.infra.distributed.on_ranks` (under torchrun
    too; rank 0 prints the summary). ``None`` means the synthetic profile's default (for ``cams`` and
    ``layers``: the default run's selection, :func:`combinations`)."""
    from .. import profiles
    from ..infra.distributed import on_ranks
    from ..infra.paths import out_folder, under_root

    d = profiles.DEFAULTS[PROFILE]

    def check() -> tuple[str, Path, dict]:
        if profile != PROFILE:
            raise ValueError(f"profile: the {profile} profile has no ground-truth edit regions; the leaderboard "
                             f"runs on --profile {PROFILE}")
        check_selection(cams, layers, rank_by)
        folder = out_folder(out, under_root("runs", f"leaderboard-{profile}"))
        options = {"n_images": n_images or d["n_images"], "progress": not quiet}
        if classifier is not None:
            options["classifier_path"] = classifier
        profiles.check(profile, **options)
        return "cpu", folder, options

    def work(setup, folder: Path, dist, progress: bool):
        return leaderboard(setup, folder, batch=batch or d["batch"], fresh=fresh, progress=progress, dist=dist,
                           cams=cams, layers=layers, rank_by=rank_by)

    rc, dist, (setup, result) = on_ranks("leaderboard", check, lambda options: profiles.get(profile, **options),
                                         work)
    if rc or not dist.is_main:
        return rc
    ranks = f" on {dist.world_size} processes" if dist.world_size > 1 else ""
    print(f"leaderboard {profile}: {setup.n_images} faces{ranks}; {result.chunks_computed} chunks computed, "
          f"{result.chunks_cached} from the cache; {result.seconds:.1f} s")
    print(f"wrote {', '.join(str(p) for p in result.files)}")
    return 0


__all__ = ["CAMS", "LIBRARY_CAMS", "DEFAULT_CAMS", "OPT_IN", "LAYERS", "LIBRARY_LAYERS", "POSTPROCESSING",
           "SEGMENTATION", "METRICS", "RANK_COLUMNS", "UNIFORM", "CEILING", "THRESHOLDS", "combinations",
           "combination_name", "check_selection", "postprocess", "pointing_game", "ceiling_masks", "library_maps",
           "library_check", "compute_chunk", "collect", "add_shares", "rank", "table_rows", "merge", "leaderboard",
           "LeaderboardResult", "leaderboard_command"]
