"""The evaluation behind Tables 1-3 (LPIPS, MAE, FID) and the synthetic localization table.

Methods (columns of the tables):

- ``pSp``: the edited reconstruction ``T = G(w + alpha n)`` itself (no mask, no blend);
- ``e4e`` / ``ReStyle``: invert with their own encoder, move along the InterFaceGAN direction
  (only ``Old`` and ``Smiling`` exist), output the edited reconstruction (paper profile only);
- ``EOGI``: the ``Diff-CAM`` mask (Grad-CAM on the differential features) + blend + deghosting;
- ``Diff-CAM++``: Grad-CAM++ + TTA + Eigen smoothing + face-parsing fusion + blend + deghosting;
- the Figure-3 ablation variants ``Grad-CAM++``, ``+TTA``, ``+Eigen``, ``+TTA+Eigen`` (no
  published numbers; rendered below the paper's columns).

What a profile plugs in is a :class:`Setup` (:func:`synthetic_setup` here,
:func:`paperlib.paper.evaluation_setup` for the official networks on CelebA-HQ).

Cache and resume (``out_dir/cache``): every output image is written as an 8-bit PNG
(``images/<method>/<attribute>/<index>.png``, as the authors' evaluation reads saved files),
per-image metric values go to ``metrics/<method>/<attribute>.json`` and the synthetic profile's
ground-truth localization scores to ``localization/<attribute>.json``. Images are produced in
fixed chunks ``[k*batch, (k+1)*batch)``; a chunk whose files are all present is skipped, an
incomplete one is recomputed whole (so the batch composition, hence every number, is the same
as in an uninterrupted run). Metrics are always computed from the PNG files, so tables
re-render from the cache without any network. ``manifest.json`` records the settings that
determine the images (profile, seed, alpha, classifier hash, ...); a cache made with other
settings is refused (use another ``--out`` or ``--fresh``).

Outputs in ``out_dir``: ``table1_lpips.csv/.json``, ``table2_mae.csv/.json``,
``table3_fid.csv/.json`` (one row per attribute and method: n, mean, std, the published value
and the delta; the JSON adds the provenance: git SHA, parameters, asset hashes, versions,
timings), ``tables.md``, and for the synthetic profile ``localization.csv/.json/.md``.
LPIPS and FID are computed only when their pretrained weights are present
(:func:`paperlib.metrics.available_metrics`); otherwise their cells say ``unavailable`` and the
reason is given once under the table.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from .attributes import INTERFACEGAN_ATTRIBUTES, TABLE_ATTRIBUTES, check_attribute
from .pipeline import VARIANTS, Components, edit_variants, variant_config
from .published import METHODS as PUBLISHED_METHODS, TABLE_NUMBER, TABLES

#: method -> mask variant of :data:`paperlib.pipeline.VARIANTS` (methods that blend and deghost).
MASK_METHODS: dict[str, str] = {
    "EOGI": "Diff-CAM", "Grad-CAM++": "Grad-CAM++", "+TTA": "+TTA", "+Eigen": "+Eigen",
    "+TTA+Eigen": "+TTA+Eigen", "Diff-CAM++": "Diff-CAM++",
}
#: The Figure-3 ablation variants that are not columns of the paper's tables.
ABLATION: tuple[str, ...] = ("Grad-CAM++", "+TTA", "+Eigen", "+TTA+Eigen")
#: Methods that invert with their own encoder and edit with InterFaceGAN directions.
BASELINES: tuple[str, ...] = ("e4e", "ReStyle")
#: Every method, in the order of the tables (the paper's columns first).
ALL_METHODS: tuple[str, ...] = PUBLISHED_METHODS + ABLATION
#: metric -> output file stem.
TABLE_FILES: dict[str, str] = {"LPIPS": "table1_lpips", "MAE": "table2_mae", "FID": "table3_fid"}
METRICS: tuple[str, ...] = ("LPIPS", "MAE", "FID")
from .synth.report import METRICS as LOCALIZATION_METRICS  # noqa: E402
SYNTHETIC_CLASSIFIER = Path("runs/diffnet-synthetic/diffnet.pt")
SYNTHETIC_NA = "n/a in the synthetic profile (no e4e/ReStyle encoders in SynthFace)"
NOT_IN_PAPER = "not evaluated in the paper (no InterFaceGAN direction for this attribute)"

_SLUG = {"pSp": "psp", "e4e": "e4e", "ReStyle": "restyle", "EOGI": "eogi", "Diff-CAM++": "diff-cam-pp",
         "Grad-CAM++": "grad-cam-pp", "+TTA": "tta", "+Eigen": "eigen", "+TTA+Eigen": "tta-eigen"}


@dataclass
class Setup:
    """What an evaluation profile plugs in.

    ``load_sources(indices)``: the source photos ``I`` (B, 3, H, W) in [-1, 1] at the evaluation
    resolution (on the components' device). ``source_parsing(indices, images)``: their parsing
    maps, or None to use ``components.parse``. ``baselines``: method -> ``(images, attribute) ->
    outputs`` in [-1, 1] (e4e / ReStyle), defined for ``baseline_attributes`` only.
    ``unavailable``: method -> reason (cells say n/a). ``params``: the settings that determine
    the images (stored in the cache manifest). ``assets``: name -> sha256 of the files used.
    ``world``: the SynthFace world when ground-truth localization can be scored.
    """

    profile: str
    components: Components
    n_images: int
    load_sources: Callable[[Sequence[int]], torch.Tensor]
    source_parsing: Optional[Callable[[Sequence[int], torch.Tensor], torch.Tensor]] = None
    baselines: dict[str, Callable[[torch.Tensor, str], torch.Tensor]] = field(default_factory=dict)
    baseline_attributes: tuple[str, ...] = tuple(INTERFACEGAN_ATTRIBUTES)
    unavailable: dict[str, str] = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    assets: dict = field(default_factory=dict)
    world: object = None
    device: str = "cpu"


@dataclass
class EvalResult:
    """What :func:`evaluate` returns: the table rows per metric, the localization rows, paths, timings."""

    rows: dict[str, list[dict]]
    localization: list[dict] | None
    out_dir: Path
    files: list[Path]
    timings: dict[str, float]
    batches_computed: int
    batches_cached: int


# ------------------------------------------------------------------------------------ helpers
def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images (B, 3, H, W) in [-1, 1] -> uint8 (B, H, W, 3) on the CPU (clamped, rounded)."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()


def _atomic_bytes(data: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_json(obj, path: Path) -> None:
    _atomic_bytes((json.dumps(obj, indent=2, sort_keys=False) + "\n").encode(), path)


def _read_json(path: Path, default):
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def save_png(image: torch.Tensor, path: Path) -> None:
    """One uint8 (H, W, 3) image as a PNG, atomically."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image.numpy()).save(buf, format="PNG", compress_level=1)
    _atomic_bytes(buf.getvalue(), path)


def load_png(path: Path) -> torch.Tensor:
    """A PNG as (3, H, W) float in [0, 1]."""
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255


def tensor_sha256(t: torch.Tensor) -> str:
    return hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def state_sha256(module: torch.nn.Module) -> str:
    """A hash of a module's state_dict (names, shapes and values)."""
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def git_info() -> dict:
    """The repository's HEAD commit and whether the work tree has changes (None outside git)."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip() or None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip() != "" if sha else None
    except (OSError, subprocess.SubprocessError):
        sha, dirty = None, None
    return {"sha": sha, "dirty": dirty}


def versions() -> dict:
    from importlib import metadata

    from . import __version__

    out = {"python": platform.python_version(), "paperlib": __version__, "torch": torch.__version__,
           "numpy": np.__version__}
    for pkg in ("torchvision", "lpips", "pytorch-fid", "scipy", "pillow"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def applicable(method: str, attribute: str, setup: Setup) -> bool:
    """Whether ``method`` produces images for ``attribute`` in this setup."""
    if method in setup.unavailable:
        return False
    if method in BASELINES:
        return method in setup.baselines and attribute in setup.baseline_attributes
    return True


def _chunks(n: int, batch: int) -> list[list[int]]:
    return [list(range(s, min(s + batch, n))) for s in range(0, n, batch)]


def _img_path(cache: Path, method: str, attribute: str, index: int) -> Path:
    return cache / "images" / _SLUG[method] / attribute / f"{index:05d}.png"


def _metrics_path(cache: Path, method: str, attribute: str) -> Path:
    return cache / "metrics" / _SLUG[method] / f"{attribute}.json"


def _loc_path(cache: Path, attribute: str) -> Path:
    return cache / "localization" / f"{attribute}.json"


def _check_manifest(cache: Path, params: dict) -> dict:
    path = cache / "manifest.json"
    manifest = _read_json(path, None)
    if manifest is None:
        manifest = {"params": params, "generate_s_total": 0.0}
        _write_json(manifest, path)
        return manifest
    saved = manifest.get("params", {})
    diff = [k for k in sorted(set(saved) | set(params)) if saved.get(k) != params.get(k)]
    if diff:
        listing = ", ".join(f"{k} {saved.get(k)!r} != {params.get(k)!r}" for k in diff)
        raise ValueError(f"out_dir: the cache {cache} was made with other settings ({listing}); "
                         "use another --out or --fresh")
    return manifest


# ------------------------------------------------------------------------------- generation
def compute_batch(setup: Setup, indices: Sequence[int], attribute: str, methods: Sequence[str],
                  alpha: float = 20.0) -> tuple[dict[str, torch.Tensor], dict[str, dict[str, list[float]]]]:
    """Outputs (in [-1, 1]) of every method in ``methods`` for the source images ``indices``,
    and (synthetic profile) the ground-truth localization scores of each mask variant.

    Inversion, edit and the CAM passes are shared between the methods.
    """
    source = setup.load_sources(list(indices))
    outputs: dict[str, torch.Tensor] = {}
    loc: dict[str, dict[str, list[float]]] = {}
    masked = [m for m in methods if m in MASK_METHODS]
    if "pSp" in methods or masked:
        variants = tuple(MASK_METHODS[m] for m in masked)
        parsing = None
        if any(variant_config(v)[3] for v in variants) and setup.source_parsing is not None:
            parsing = setup.source_parsing(indices, source)
        e = edit_variants(setup.components, source, attribute, variants, alpha=alpha, parsing_source=parsing)
        if "pSp" in methods:
            outputs["pSp"] = e.edited
        region = None
        if setup.world is not None and variants:
            from .synth.scores import intended_region
            region = intended_region(setup.world, e.latents, attribute, alpha)
        for m in masked:
            v = MASK_METHODS[m]
            outputs[m] = e.outputs[v]
            if region is not None:
                from .synth.scores import blend_errors, localization
                scores = {**localization(e.masks[v], region), **blend_errors(e.outputs[v], source, e.edited, region)}
                loc[v] = {k: t.tolist() for k, t in scores.items()}
    for m in methods:
        if m in BASELINES:
            with torch.no_grad():
                outputs[m] = setup.baselines[m](source, attribute)
    return outputs, loc


def _generate(setup: Setup, cache: Path, attributes, methods, alpha, batch, progress) -> tuple[int, int]:
    from tqdm.auto import tqdm

    n = setup.n_images
    steps = [(a, idx) for a in attributes for idx in _chunks(n, batch)]
    computed = cached = 0
    for attribute, idx in tqdm(steps, desc=f"evaluate {setup.profile}: images", disable=not progress, unit="batch"):
        todo = [m for m in methods if applicable(m, attribute, setup)]
        loc_file = _loc_path(cache, attribute)
        loc = _read_json(loc_file, {}) if setup.world is not None else None
        have_imgs = all(_img_path(cache, m, attribute, i).is_file() for m in todo for i in idx)
        have_loc = loc is None or all(str(i) in loc for i in idx)
        if have_imgs and have_loc:
            cached += 1
            continue
        outputs, scores = compute_batch(setup, idx, attribute, todo, alpha)
        for m in todo:
            for i, img in zip(idx, to_uint8(outputs[m])):
                save_png(img, _img_path(cache, m, attribute, i))
        if loc is not None:
            for j, i in enumerate(idx):
                loc[str(i)] = {v: {k: vals[j] for k, vals in s.items()} for v, s in scores.items()}
            _write_json(loc, loc_file)
        computed += 1
    return computed, cached


# ---------------------------------------------------------------------------------- metrics
def _sources01(setup: Setup, idx: Sequence[int]) -> torch.Tensor:
    """The sources as the metrics see them: quantised to 8 bits, in [0, 1], on the CPU."""
    return to_uint8(setup.load_sources(list(idx))).permute(0, 3, 1, 2).float() / 255


def _metric_values(setup, cache, attributes, methods, batch, metric_fns, fid, progress) -> None:
    from tqdm.auto import tqdm

    from .metrics import mae

    n = setup.n_images
    jobs = [(m, a) for a in attributes for m in methods if applicable(m, a, setup)]
    for method, attribute in tqdm(jobs, desc=f"evaluate {setup.profile}: metrics", disable=not progress):
        path = _metrics_path(cache, method, attribute)
        record = _read_json(path, {})
        per_image = {"MAE": mae, **metric_fns}
        for name, fn in per_image.items():
            values = record.setdefault(name, {})
            missing = [i for i in range(n) if str(i) not in values]
            for idx in _chunks(len(missing), batch):
                chunk = [missing[j] for j in idx]
                paths = [_img_path(cache, method, attribute, i) for i in chunk]
                if not all(p.is_file() for p in paths):
                    break  # images not generated (render-only); cells report the n they have
                out = torch.stack([load_png(p) for p in paths])
                for i, v in zip(chunk, fn(out, _sources01(setup, chunk)).tolist()):
                    values[str(i)] = float(v)
                _write_json(record, path)
        if fid is not None:
            have = all(_img_path(cache, method, attribute, i).is_file() for i in range(n))
            if have and record.get("FID", {}).get("n") != n:
                mu, sigma = _fid_source_stats(setup, cache, fid, batch)
                images = (torch.stack([load_png(_img_path(cache, method, attribute, i)) for i in idx])
                          for idx in _chunks(n, batch))
                record["FID"] = {"n": n, "value": fid.fid_to_stats(images, mu, sigma)}
                _write_json(record, path)


def _fid_source_stats(setup: Setup, cache: Path, fid, batch: int):
    from .metrics import load_stats, save_stats

    path = cache / f"fid_sources_{setup.n_images}.npz"
    if path.is_file():
        return load_stats(path)
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


# ----------------------------------------------------------------------------------- tables
def _fmt(v: float | None, std: float | None = None) -> str:
    if v is None:
        return "—"
    digits = 2 if abs(v) >= 10 else 4
    return f"{v:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def table_rows(setup: Setup, cache: Path, metric: str, attributes, methods, reasons: dict[str, str],
               stand_in: dict[str, bool]) -> list[dict]:
    """One row per (attribute, method) with a published value or one of ours (cached values only)."""
    from .metrics import summarize

    rows = []
    n = setup.n_images
    for attribute in attributes:
        for method in methods:
            pub = TABLES[metric].get(attribute, {}).get(method)
            row = {"table": TABLE_NUMBER[metric], "metric": metric, "attribute": attribute, "method": method,
                   "n": 0, "mean": None, "std": None, "published_mean": pub[0] if pub else None,
                   "published_std": pub[1] if pub else None, "delta": None, "status": "ok", "note": ""}
            if method in setup.unavailable:
                if pub is None and method in BASELINES and attribute not in setup.baseline_attributes:
                    continue
                row.update(status="n/a", note=setup.unavailable[method])
            elif method in BASELINES and not applicable(method, attribute, setup):
                if pub is None:
                    continue
                row.update(status="n/a", note=f"{method} was not run")
            elif metric in reasons:
                row.update(status="unavailable", note=reasons[metric])
            else:
                record = _read_json(_metrics_path(cache, method, attribute), {})
                if metric == "FID":
                    fid = record.get("FID", {})
                    if fid.get("n") == n:
                        row.update(n=n, mean=fid["value"])
                else:
                    vals = [record.get(metric, {}).get(str(i)) for i in range(n)]
                    vals = [v for v in vals if v is not None]
                    if vals:
                        row["n"] = len(vals)
                        row["mean"], row["std"] = summarize(vals)
                if row["mean"] is None:
                    row.update(status="not computed", note="no cached values; run without --render-only")
                elif row["n"] < n:
                    row.update(status="partial", note=f"{row['n']} of {n} images cached")
                elif stand_in.get(metric):
                    row.update(status="stand-in", note=f"{metric} computed with a stand-in network, not the paper's")
                if row["mean"] is not None and pub is not None:
                    row["delta"] = row["mean"] - pub[0]
            if method in ABLATION and not row["note"]:
                row["note"] = "Figure-3 ablation variant; no published number"
            rows.append(row)
    return rows


def markdown_tables(rows: dict[str, list[dict]], setup: Setup) -> str:
    """Tables 1-3 as Markdown: published | ours | delta per (attribute, method), notes under each table."""
    lines = [f"# Tables 1-3 regenerated: profile `{setup.profile}`, {setup.n_images} images", ""]
    if setup.profile == "synthetic":
        lines += ["SynthFace numbers are not comparable in absolute value with the paper's (another world, "
                  "128 px, no deghosting network); compare the ordering of the methods.", ""]
    for metric in METRICS:
        lines += [f"## Table {TABLE_NUMBER[metric]}: {metric} (lower is better)", "",
                  "| attribute | method | published | ours | Δ (ours − published) |", "|---|---|---|---|---|"]
        notes: list[str] = []

        def mark(note: str) -> str:
            if note not in notes:
                notes.append(note)
            return f"[{notes.index(note) + 1}]"

        for r in rows[metric]:
            pub = _fmt(r["published_mean"], r["published_std"])
            if r["status"] in ("n/a", "unavailable", "not computed"):
                ours = f"{r['status']} {mark(r['note'])}"
            else:
                ours = _fmt(r["mean"], r["std"])
                if r["status"] in ("partial", "stand-in"):
                    ours += f" {mark(r['note'])}"
            delta = "—" if r["delta"] is None else f"{r['delta']:+.{2 if abs(r['mean']) >= 10 else 4}f}"
            lines.append(f"| {r['attribute']} | {r['method']} | {pub} | {ours} | {delta} |")
        lines.append("")
        lines += [f"[{i + 1}] {note}" for i, note in enumerate(notes)]
        ablation = [m for m in ABLATION if any(r["method"] == m for r in rows[metric])]
        if ablation:
            lines.append(f"Rows {', '.join(ablation)}: Figure-3 ablation variants (no published numbers).")
        lines.append("")
    return "\n".join(lines)


def _write_csv(rows: list[dict], path: Path) -> None:
    if not rows:
        _atomic_bytes(b"", path)
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _atomic_bytes(buf.getvalue().encode(), path)


def localization_rows(setup: Setup, cache: Path, attributes, methods) -> list[dict]:
    """The ground-truth localization table from the cache: one row per mask variant over all
    attributes (``attribute`` "all"), then per attribute (:func:`paperlib.synth.report.summary_rows`)."""
    from .synth.report import summary_rows

    variants = [v for v in VARIANTS if any(MASK_METHODS.get(m) == v for m in methods)]
    scores = {v: {k: [] for k in (*LOCALIZATION_METRICS, "attribute")} for v in variants}
    for attribute in attributes:
        loc = _read_json(_loc_path(cache, attribute), {})
        for i in range(setup.n_images):
            for v in variants:
                if str(i) in loc and v in loc[str(i)]:
                    for k in LOCALIZATION_METRICS:
                        scores[v][k].append(loc[str(i)][v][k])
                    scores[v]["attribute"].append(attribute)
    scores = {v: s for v, s in scores.items() if s["iou"]}
    rows = []
    for a in (None, *attributes):
        for r in summary_rows(scores, a) if scores else []:
            if r["n"]:
                rows.append({"attribute": a or "all", **r})
    return rows


def localization_markdown(rows: list[dict], setup: Setup, n_attributes: int) -> str:
    from .synth.report import markdown_table

    text = [f"# Ground-truth localization: {setup.n_images} SynthFace faces x {n_attributes} attributes", "",
            "Each mask variant against the region the attribute itself changes (threshold 0.5); the MAEs are "
            "of the final (blended) image, on the [0, 1] scale.", ""]
    for a in dict.fromkeys(r["attribute"] for r in rows):
        text += [f"## {'all attributes' if a == 'all' else a}", "",
                 markdown_table([r for r in rows if r["attribute"] == a]), ""]
    return "\n".join(text)


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
    t0 = time.perf_counter()
    for a in attributes:
        check_attribute(a)
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise ValueError(f"methods: unknown {', '.join(map(repr, unknown))}; expected some of {', '.join(ALL_METHODS)}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch: expected a positive integer, got {batch!r}")
    if isinstance(setup.n_images, bool) or not isinstance(setup.n_images, int) or setup.n_images < 1:
        raise ValueError(f"n_images: expected a positive integer, got {setup.n_images!r}")
    methods = [m for m in ALL_METHODS if m in methods]
    out_dir = Path(out_dir)
    cache = out_dir / "cache"
    if fresh and cache.exists():
        shutil.rmtree(cache)
    params = {**setup.params, "profile": setup.profile, "alpha": float(alpha)}
    manifest = _check_manifest(cache, params)

    fns, fid_obj, reasons, stand_in = _metric_objects(setup.device, lpips, fid, setup.n_images)
    timings = {"generate_s": 0.0, "metrics_s": 0.0}
    computed = cached = 0
    if not render_only:
        t = time.perf_counter()
        computed, cached = _generate(setup, cache, attributes, methods, alpha, batch, progress)
        timings["generate_s"] = time.perf_counter() - t
        manifest["generate_s_total"] = manifest.get("generate_s_total", 0.0) + timings["generate_s"]
        _write_json(manifest, cache / "manifest.json")
        t = time.perf_counter()
        _metric_values(setup, cache, attributes, methods, batch, fns, fid_obj, progress)
        timings["metrics_s"] = time.perf_counter() - t

    t = time.perf_counter()
    rows = {m: table_rows(setup, cache, m, attributes, methods, reasons, stand_in) for m in METRICS}
    timings["render_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    timings["generate_s_all_runs"] = manifest.get("generate_s_total", 0.0)
    provenance = {
        "git": git_info(), "profile": setup.profile, "n_images": setup.n_images, "attributes": list(attributes),
        "methods": methods, "alpha": alpha, "batch": batch, "device": setup.device, "params": params,
        "assets": setup.assets, "versions": versions(), "timings": timings,
        "metrics": {m: {"available": m not in reasons, "reason": reasons.get(m), "stand_in": stand_in[m]}
                    for m in METRICS},
        "batches": {"computed": computed, "cached": cached},
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    files = []
    for metric in METRICS:
        stem = out_dir / TABLE_FILES[metric]
        _write_csv(rows[metric], stem.with_suffix(".csv"))
        _write_json({"table": TABLE_NUMBER[metric], "metric": metric, "rows": rows[metric],
                     "provenance": provenance}, stem.with_suffix(".json"))
        files += [stem.with_suffix(".csv"), stem.with_suffix(".json")]
    md = out_dir / "tables.md"
    _atomic_bytes(markdown_tables(rows, setup).encode(), md)
    files.append(md)
    loc_rows = None
    if setup.world is not None:
        loc_rows = localization_rows(setup, cache, attributes, methods)
        _write_csv(loc_rows, out_dir / "localization.csv")
        _write_json({"rows": loc_rows, "threshold": 0.5, "provenance": provenance}, out_dir / "localization.json")
        _atomic_bytes(localization_markdown(loc_rows, setup, len(attributes)).encode(), out_dir / "localization.md")
        files += [out_dir / f"localization.{ext}" for ext in ("csv", "json", "md")]
    return EvalResult(rows, loc_rows, out_dir, files, timings, computed, cached)


# ------------------------------------------------------------------------- synthetic profile
def synthetic_faces(world, indices: Sequence[int], seed: int):
    """The observed SynthFace photos of ``indices``: face ``i`` is ``observe(world, 1, seed * 1_000_003 + i)``,
    so face ``i`` is the same whatever the number of images (the cache is per index)."""
    from .synth import Observed, observe

    obs = [observe(world, 1, seed * 1_000_003 + i) for i in indices]
    return Observed(*(torch.cat([getattr(o, f) for o in obs]) for f in ("image", "parsing", "latents", "details")))


def load_synthetic_classifier(path: str | Path | None = None, *, train_if_missing: bool = True,
                              progress: bool = True) -> tuple[torch.nn.Module, Path]:
    """The synthetic profile's trained DiffNet (``runs/diffnet-synthetic/diffnet.pt`` by default).

    When the default file is missing it is trained with ``paperlib.train``'s synthetic defaults
    (a log line says so); an explicit ``path`` that does not exist is an error. The architecture
    comes from the ``diffnet.json`` beside the file (default resnet18, 7 classes).
    """
    from .diffnet import DiffNet
    from .train import PROFILE_DEFAULTS, TrainConfig, pair_source_for, train

    explicit = path is not None
    path = Path(path) if explicit else SYNTHETIC_CLASSIFIER
    if not path.is_file():
        if explicit or not train_if_missing:
            raise FileNotFoundError(f"classifier: {path} does not exist; train one with "
                                    "`python -m paperlib train --profile synthetic`")
        d = PROFILE_DEFAULTS["synthetic"]
        print(f"evaluate: no trained synthetic classifier at {path}; training one now with the synthetic "
              f"defaults ({d['steps']} steps, {d['arch']}; a few minutes on CPU)", file=sys.stderr)
        train(TrainConfig(steps=d["steps"], arch=d["arch"], out_dir=path.parent, device="cpu"),
              pair_source_for("synthetic", size=d["size"]), progress=progress)
    meta = _read_json(path.with_name("diffnet.json"), {})
    net = DiffNet.from_checkpoint(path, n_classes=int(meta.get("n_classes", 7)), arch=meta.get("arch", "resnet18"))
    return net, path


def synthetic_setup(n_images: int, *, seed: int = 0, size: int = 128, classifier: torch.nn.Module | None = None,
                    classifier_path: str | Path | None = None, inverter=None, progress: bool = True) -> Setup:
    """The synthetic profile on ``n_images`` SynthFace faces (CPU).

    ``classifier``: a DiffNet to use (tests inject a small one); else
    :func:`load_synthetic_classifier` (``classifier_path``). ``inverter``: a
    :class:`paperlib.synth.SynthInverter` (default: fitted on 2000 samples).
    """
    from .synth import SynthInverter, SynthWorld, components

    if isinstance(n_images, bool) or not isinstance(n_images, int) or n_images < 1:
        raise ValueError(f"n_images: expected a positive integer, got {n_images!r}")
    world = SynthWorld(size)
    assets = {}
    if classifier is None:
        classifier, cpath = load_synthetic_classifier(classifier_path, progress=progress)
        assets["classifier"] = {"path": str(cpath), "sha256": file_sha256(cpath)}
    else:
        assets["classifier"] = {"path": None, "injected": type(classifier).__name__}
    classifier = classifier.eval()
    inverter = inverter or SynthInverter(world)
    faces = synthetic_faces(world, range(n_images), seed)
    c = components(world, classifier, inverter)
    params = {"seed": seed, "size": size, "classifier": state_sha256(classifier),
              "inverter": tensor_sha256(inverter.weights), "faces": "observe(world, 1, seed * 1000003 + i)"}
    return Setup(profile="synthetic", components=c, n_images=n_images,
                 load_sources=lambda idx: faces.image[list(idx)],
                 source_parsing=lambda idx, images: faces.parsing[list(idx)],
                 unavailable={m: SYNTHETIC_NA for m in BASELINES}, params=params, assets=assets,
                 world=world, device="cpu")


# ------------------------------------------------------------------------------------- CLI
def add_evaluate_cli(subparsers) -> argparse.ArgumentParser:
    """Register the ``evaluate`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "evaluate", help="regenerate Tables 1-3 (LPIPS, MAE, FID) of a profile",
        description="Run every method on the first N images, compute MAE / LPIPS / FID, and write "
                    "table{1,2,3}_*.csv/.json and tables.md (and, for synthetic, localization.*). "
                    "Per-image outputs are cached under OUT/cache; an interrupted run resumes.")
    p.add_argument("--profile", choices=("synthetic", "paper"), default="synthetic")
    p.add_argument("--n-images", type=int, default=None, help="first N images (default: paper 1000, synthetic 100)")
    p.add_argument("--device", default=None, help="paper profile: cpu, cuda, ... (default: cuda when available); "
                                                   "the synthetic profile runs on the CPU")
    p.add_argument("--out", default=None, help="output directory (default: runs/eval-PROFILE)")
    p.add_argument("--batch", type=int, default=None, help="images per batch (default: paper 4, synthetic 10)")
    p.add_argument("--attributes", nargs="+", default=list(TABLE_ATTRIBUTES), metavar="ATTR",
                   help=f"default: {' '.join(TABLE_ATTRIBUTES)}")
    p.add_argument("--methods", nargs="+", default=list(ALL_METHODS), metavar="METHOD",
                   help=f"default: {' '.join(ALL_METHODS)}")
    p.add_argument("--alpha", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=0, help="synthetic profile: seed of the faces")
    p.add_argument("--classifier", default=None,
                   help=f"synthetic profile: trained DiffNet (default {SYNTHETIC_CLASSIFIER}, trained if missing)")
    p.add_argument("--celeba-hq", default=None, help="paper profile: CelebA-HQ folder (default $PAPERLIB_CELEBA_HQ)")
    p.add_argument("--interfacegan-factor", type=float, default=None,
                   help="paper profile: step along the InterFaceGAN directions for e4e / ReStyle")
    p.add_argument("--render-only", action="store_true", help="compute nothing; render the tables from the cache")
    p.add_argument("--fresh", action="store_true", help="delete the cache of OUT first")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_evaluate_command)
    return p


def _evaluate_command(args: argparse.Namespace) -> int:
    progress = not args.quiet
    try:
        if args.profile == "synthetic":
            setup = synthetic_setup(args.n_images or 100, seed=args.seed, classifier_path=args.classifier,
                                    progress=progress)
            batch = args.batch or 10
        else:
            from .paper import evaluation_setup

            device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
            kwargs = {} if args.interfacegan_factor is None else {"interfacegan_factor": args.interfacegan_factor}
            setup = evaluation_setup(args.n_images or 1000, device=device, celeba_root=args.celeba_hq, **kwargs)
            batch = args.batch or 4
        result = evaluate(setup, args.out or f"runs/eval-{args.profile}", attributes=args.attributes,
                          methods=args.methods, alpha=args.alpha, batch=batch, render_only=args.render_only,
                          fresh=args.fresh, progress=progress)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    t = result.timings
    print(f"evaluate {args.profile}: {setup.n_images} images; {result.batches_computed} batches computed, "
          f"{result.batches_cached} from the cache; {t['total_s']:.1f} s (images {t['generate_s']:.1f} s, "
          f"metrics {t['metrics_s']:.1f} s)")
    print(f"wrote {', '.join(str(p) for p in result.files)}")
    return 0


__all__ = ["Setup", "EvalResult", "evaluate", "compute_batch", "table_rows", "markdown_tables", "localization_rows",
           "synthetic_setup", "synthetic_faces", "load_synthetic_classifier", "add_evaluate_cli", "MASK_METHODS",
           "ABLATION", "BASELINES", "ALL_METHODS", "TABLE_FILES", "to_uint8"]
