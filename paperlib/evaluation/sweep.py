"""The strength sweep (issue 21): damage against edit kept as the edit strength alpha runs over a grid,
and the matched-edit table.

Tables 1-3 score each method's output against the source ``I``: a method that edits less damages
less. Here every method runs at every alpha of a grid (:func:`strength_sweep`, one evaluation per
alpha, :func:`paperlib.evaluation.evaluate.evaluate`), and each output's damage (MAE against ``I``;
LPIPS where its weights are present) is put beside the edit it kept, measured by one judge
(:mod:`paperlib.evaluation.judges`) as a share of the edit at the fixed ``reference_alpha`` 20, so
that "kept" is an amount comparable across alphas (above 1 at alpha 40). Each method gives a curve
damage(kept), one point per alpha (:func:`curve_rows`, :func:`sweep_figure`).

The matched-edit table (:func:`matched_edit`) compares the methods at the same amount of edit: per
attribute, the target is EOGI's mean kept at alpha 20 (the paper's setting); each method's alpha
reaching it is interpolated linearly between the two grid points whose mean kept brackets it (the
first such pair in increasing alpha; never extrapolated: "not reached in the grid"), and its damage is
interpolated at that alpha. SEs come from a seeded bootstrap over images (the same resampled images
for every method and alpha: paired), with the share of resamples that reached the target.

FID is not computed: a sweep point has tens of images, far too few for a 2048-d covariance.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..infra.files import atomic_bytes, write_json
from ..infra.markdown import table
from ..method.attributes import TABLE_ATTRIBUTES
from ..method.names import AUTHORS_CODE

#: The paper's columns (and the authors' code) that a sweep runs by default; the ablation variants are left out.
SWEEP_METHODS: tuple[str, ...] = ("pSp", "e4e", "ReStyle", "EOGI", "Diff-CAM++", AUTHORS_CODE)
#: The default alpha grid.
ALPHAS: tuple[float, ...] = (5.0, 10.0, 20.0, 30.0, 40.0)
#: The matched-edit target: this method's mean edit kept at this alpha.
TARGET_METHOD, TARGET_ALPHA = "EOGI", 20.0
#: Damage metrics of the sweep (per image; FID has no per-image value and needs many images).
DAMAGE: tuple[str, ...] = ("MAE", "LPIPS")
#: Bootstrap resamples and seed of the matched-edit SEs.
RESAMPLES, SEED = 200, 0
#: What a method's row says when its mean kept never reaches the target inside the grid.
NOT_REACHED = "not reached in the grid"
#: Markdown column of the matched-edit table -> the CSV columns its numbers display (for ``reproduce --check``).
MD_COLUMNS: dict[str, tuple[str, ...]] = {"target kept": ("target_kept", "target_kept_se"),
                                          "matched α": ("matched_alpha", "matched_alpha_se"), "MAE ↓": ("mae", "mae_se"),
                                          "LPIPS ↓": ("lpips", "lpips_se"), "reached": ("reached_share",)}


@dataclass
class SweepResult:
    """What :func:`strength_sweep` returns: per (attribute, method) the per-image values, one row per
    alpha of ``alphas`` and one column per image (NaN where a judge or a metric gave none):
    ``kept[(attribute, method)]`` and ``damage[(attribute, method)][metric]``."""

    profile: str
    n_images: int
    alphas: tuple[float, ...]
    attributes: list[str]
    methods: list[str]
    judge: str
    reference_alpha: float
    random_weights: bool
    kept: dict = field(default_factory=dict)
    damage: dict = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ checks
def check_alphas(alphas, target: float | None = None) -> tuple[float, ...]:
    """``alphas`` as sorted floats, or a one-line ValueError naming ``alphas``: not a non-empty list of
    finite, non-negative, distinct numbers (or, with ``target``, lacking it)."""
    if isinstance(alphas, (str, bytes)) or not hasattr(alphas, "__iter__"):
        raise ValueError(f"alphas: expected a list of edit strengths, got {alphas!r}")
    values = list(alphas)
    if not values:
        raise ValueError("alphas: expected at least one edit strength, got an empty list")
    bad = [a for a in values if isinstance(a, bool) or not isinstance(a, numbers.Real) or not math.isfinite(a)]
    if bad:
        raise ValueError(f"alphas: expected finite numbers, got {', '.join(map(repr, bad))}")
    if any(a < 0 for a in values):
        raise ValueError(f"alphas: expected non-negative strengths, got {', '.join(repr(a) for a in values if a < 0)}")
    if len(set(map(float, values))) != len(values):
        raise ValueError(f"alphas: repeated value in {values!r}")
    if target is not None and float(target) not in map(float, values):
        raise ValueError(f"alphas: must hold {target:g} (the matched-edit target: {TARGET_METHOD} at alpha {target:g}), "
                         f"got {values!r}")
    return tuple(sorted(float(a) for a in values))


def check_sweep_judge(setup, judge: str | None) -> str:
    """The judge of the sweep: ``judge`` (a known judge the setup can run) or the profile's shown judge."""
    from .judges import check_judge, judge_names, shown_judge

    if judge is None:
        return shown_judge(setup)
    check_judge(judge)
    if judge not in judge_names(setup):
        raise ValueError(f"judge: {judge!r} needs a world with ground truth; this profile runs "
                         f"{', '.join(judge_names(setup))}")
    return judge


def sweep_methods(setup, methods: Sequence[str] = SWEEP_METHODS) -> list[str]:
    """``methods`` (names or slugs, checked) that the profile can run, in table order."""
    from .methods import BASELINES, check_methods

    return [m for m in check_methods(methods)
            if m not in setup.unavailable and (m not in BASELINES or m in setup.baselines)]


def alpha_dir(out_dir: str | Path, alpha: float) -> Path:
    """The evaluation folder of one alpha: ``out_dir/alpha-<a>`` (``alpha-20``, ``alpha-7.5``)."""
    return Path(out_dir) / f"alpha-{alpha:g}"


# ------------------------------------------------------------------------------------ the sweep
def strength_sweep(setup, out_dir: str | Path, alphas: Sequence[float] = ALPHAS,
                   attributes: Sequence[str] = TABLE_ATTRIBUTES, methods: Sequence[str] = SWEEP_METHODS,
                   judge: str | None = None, reference_alpha: float = TARGET_ALPHA, progress: bool = True,
                   fetch: bool = True) -> SweepResult:
    """Evaluate ``methods`` on ``attributes`` once per alpha of ``alphas`` into ``out_dir/alpha-<a>``
    (no PNGs kept, no FID, only this judge; the evaluation cache makes a rerun resume) and collect the per-image damage and
    edit kept by ``judge`` (default the profile's shown judge) as a share of the edit at
    ``reference_alpha``. Every argument is checked first (one line, before any work)."""
    import time

    from ..checks import check_alpha
    from .evaluate import evaluate
    from .methods import check_arguments

    alphas = check_alphas(alphas)
    judge = check_sweep_judge(setup, judge)
    reference_alpha = check_alpha(reference_alpha, "reference_alpha")
    methods = sweep_methods(setup, check_arguments(attributes, methods))
    if TARGET_METHOD in methods:
        check_alphas(alphas, TARGET_ALPHA)
    result = SweepResult(setup.profile, setup.n_images, alphas, list(attributes), methods, judge,
                         reference_alpha, bool(setup.random_weights))
    for i, alpha in enumerate(alphas):
        if progress:
            print(f"strength sweep: alpha {alpha:g} ({i + 1} of {len(alphas)})", flush=True)
        t = time.perf_counter()
        ev = evaluate(setup, alpha_dir(out_dir, alpha), attributes=tuple(attributes), methods=tuple(methods),
                      alpha=alpha, reference_alpha=reference_alpha, keep_images=0, progress=progress,
                      fetch=fetch, metrics=DAMAGE, judges=(judge,))
        result.timings[f"alpha-{alpha:g}_s"] = time.perf_counter() - t
        collect(result, ev.values, i)
        result.reasons = _reasons(ev)
    result.metrics = [m for m in DAMAGE if m not in result.reasons]
    return result


def _reasons(ev) -> dict[str, str]:
    """Why a damage metric has no values in an evaluation (its table rows' note), by metric."""
    return {m: next((r["note"] for r in ev.rows.get(m, []) if r["status"] == "unavailable"), "") for m in DAMAGE
            if any(r["status"] == "unavailable" for r in ev.rows.get(m, []))}


def collect(result: SweepResult, values: dict, row: int) -> None:
    """Put one evaluation's per-image values (``EvalResult.values``) into row ``row`` (an alpha) of
    ``result``'s arrays (created NaN on first use)."""
    n, shape = result.n_images, (len(result.alphas), result.n_images)
    for attribute in result.attributes:
        for method in result.methods:
            record = values.get((method, attribute))
            if record is None:
                continue
            key = (attribute, method)
            kept = result.kept.setdefault(key, np.full(shape, np.nan))
            kept[row] = per_image(record.get(f"kept:{result.judge}", {}), n)
            for metric in DAMAGE:
                if record.get(metric):
                    result.damage.setdefault(key, {}).setdefault(metric, np.full(shape, np.nan))[row] = \
                        per_image(record[metric], n)


def per_image(values: dict, n: int) -> np.ndarray:
    """``{str(index): value}`` as an array over images ``0..n-1`` (NaN for None or missing)."""
    return np.array([np.nan if values.get(str(i)) is None else float(values[str(i)]) for i in range(n)])


# ------------------------------------------------------------------------------------ the curves
def _mean_std(x: np.ndarray) -> tuple[float | None, float | None, int]:
    """Mean, population sd (ddof 0, as the tables) and count of the finite values of ``x``."""
    x = x[np.isfinite(x)]
    return (float(x.mean()), float(x.std()), len(x)) if len(x) else (None, None, 0)


def curve_rows(result: SweepResult) -> list[dict]:
    """The curve points: one row per (attribute, method, alpha) with ``n`` (images with an MAE), whether the
    networks were random-init (a dry run: not results), the mean
    and sd (ddof 0) of the edit kept (``kept``, ``kept_std``, over ``kept_n`` images) and of each damage
    metric (``mae``, ``mae_std``, ``lpips``, ``lpips_std``; None when unavailable)."""
    rows = []
    for (attribute, method), kept in result.kept.items():
        damage = result.damage.get((attribute, method), {})
        for i, alpha in enumerate(result.alphas):
            k, k_sd, k_n = _mean_std(kept[i])
            row = {"attribute": attribute, "method": method, "alpha": alpha, "n": 0, "judge": result.judge,
                   "random_weights": result.random_weights, "kept": k, "kept_std": k_sd, "kept_n": k_n}
            for metric in DAMAGE:
                m, sd, n = _mean_std(damage[metric][i]) if metric in damage else (None, None, 0)
                row |= {metric.lower(): m, f"{metric.lower()}_std": sd}
                row["n"] = max(row["n"], n) if metric == "MAE" else row["n"]
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------------ matched edit
def crossing(alphas: Sequence[float], kept: Sequence[float], target: float) -> float | None:
    """The alpha where the curve ``kept(alpha)`` (means at the grid ``alphas``, increasing) first reaches
    ``target``: linear between the bracketing grid points, a grid point itself on equality; None when no
    pair of consecutive points brackets it (never extrapolated; NaN points break the curve)."""
    for a0, a1, k0, k1 in zip(alphas, alphas[1:], kept, kept[1:]):
        if not (math.isfinite(k0) and math.isfinite(k1)):
            continue
        if k0 == target:
            return float(a0)
        if k1 == target:
            return float(a1)
        if (k0 - target) * (k1 - target) <= 0:
            return float(a0 + (target - k0) / (k1 - k0) * (a1 - a0))
    if len(kept) and math.isfinite(kept[-1]) and kept[-1] == target:
        return float(alphas[-1])
    return None


def at_alpha(alphas: Sequence[float], values: Sequence[float], alpha: float) -> float:
    """``values`` (means at the grid) linearly interpolated at ``alpha`` (inside the grid)."""
    return float(np.interp(alpha, alphas, values))


def _curves(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Mean over the images of each draw (a row of ``draws``) of ``values`` (alphas, images): (alphas, draws)."""
    with _quiet():
        return np.nanmean(values[:, draws], axis=2)


def _matched(alphas, kept: np.ndarray, damage: dict[str, np.ndarray], target: float) -> tuple:
    """``(alpha, {metric: damage})`` where the mean-kept curve ``kept`` (alphas,) crosses ``target``,
    the damage curves (alphas,) interpolated there; ``(None, {})`` when not reached."""
    alpha = crossing(alphas, kept.tolist(), target)
    if alpha is None:
        return None, {}
    return alpha, {m: at_alpha(alphas, d, alpha) for m, d in damage.items()}


@contextlib.contextmanager
def _quiet():
    """Silence numpy's 'mean of empty slice' warnings (an all-NaN column is NaN, as meant)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _sd(values: list[float]) -> float | None:
    """The ddof=1 sd of at least two values (the bootstrap SE), else None."""
    return float(np.std(values, ddof=1)) if len(values) >= 2 else None


def matched_edit(result: SweepResult, resamples: int = RESAMPLES, seed: int = SEED,
                 target_method: str = TARGET_METHOD, target_alpha: float = TARGET_ALPHA) -> list[dict]:
    """The matched-edit rows, one per (attribute, method): the target (``target_method``'s mean kept at
    ``target_alpha``), the alpha where the method's mean-kept curve reaches it (``matched_alpha``, module doc), the method's
    damage interpolated there (``mae``, ``lpips``), each with a bootstrap SE (``<key>_se``: sd over the
    ``resamples`` resamples of the images, drawn with ``seed``, that reached the target) and the share of
    resamples that reached it (``reached_share``, binomial SE beside). ``status``: ``ok`` or
    :data:`NOT_REACHED` (no alpha, no damage)."""
    from ..checks import check_positive_int
    from .stats import proportion_se

    check_positive_int("resamples", resamples)
    alphas, n = list(result.alphas), result.n_images
    draws = np.concatenate([np.arange(n)[None], np.random.default_rng(seed).integers(0, n, size=(resamples, n))])
    t_row = alphas.index(float(target_alpha)) if float(target_alpha) in alphas else None
    rows = []
    for attribute in result.attributes:
        reference = result.kept.get((attribute, target_method))
        if reference is None or t_row is None:
            continue
        targets = _curves(reference, draws)[t_row]  # column 0: every image once; then the resamples
        target = float(targets[0])
        for method in result.methods:
            kept = result.kept.get((attribute, method))
            if kept is None:
                continue
            curves = _curves(kept, draws)
            damage = {m: _curves(d, draws) for m, d in result.damage.get((attribute, method), {}).items()}
            alpha, dmg = _matched(alphas, curves[:, 0], {m: d[:, 0] for m, d in damage.items()}, target)
            boot = [_matched(alphas, curves[:, j], {m: d[:, j] for m, d in damage.items()}, float(targets[j]))
                    for j in range(1, len(draws))]
            reached = [b for b in boot if b[0] is not None]
            row = {"attribute": attribute, "method": method, "n": n, "judge": result.judge,
                   "random_weights": result.random_weights,
                   "target_method": target_method, "target_alpha": float(target_alpha),
                   "target_kept": target, "target_kept_se": _sd(targets[1:].tolist()),
                   "status": "ok" if alpha is not None else NOT_REACHED,
                   "matched_alpha": alpha,
                   "matched_alpha_se": _sd([b[0] for b in reached]) if alpha is not None else None}
            for metric in DAMAGE:
                key = metric.lower()
                ok = alpha is not None and metric in dmg and math.isfinite(dmg[metric])
                row[key] = dmg[metric] if ok else None
                row[f"{key}_se"] = _sd([b[1][metric] for b in reached]) if ok else None
            share = len(reached) / resamples
            row |= {"resamples": resamples, "reached_share": share, "reached_share_se": proportion_se(share, resamples)}
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------------ files
def stamp(result: SweepResult) -> str:
    """The title prefix of a dry run's outputs (random-init networks: not results)."""
    return "RANDOM WEIGHTS (dry run, not results): " if result.random_weights else ""


def sweep_markdown(result: SweepResult, rows: list[dict]) -> str:
    """The matched-edit table in Markdown, with how to read it."""
    from .judges import JUDGES
    from .tables import _fmt  # the tables' number format

    lpips = "LPIPS" in result.metrics
    header = ["attribute", "method", *[h for h in MD_COLUMNS if lpips or h != "LPIPS ↓"]]
    body = []
    for r in rows:
        cells = [r["attribute"], r["method"], _fmt(r["target_kept"], r["target_kept_se"])]
        if r["status"] == "ok":
            cells += [_fmt(r["matched_alpha"], r["matched_alpha_se"]), _fmt(r["mae"], r["mae_se"])]
            cells += [_fmt(r["lpips"], r["lpips_se"])] if lpips else []
        else:
            cells += [r["status"]] + ["—"] * (2 if lpips else 1)
        body.append(cells + [f"{r['reached_share']:.3f}"])
    a = ", ".join(f"{x:g}" for x in result.alphas)
    lines = [f"# {stamp(result)}Matched edit: profile `{result.profile}`, {result.n_images} images, alphas {a}", "",
             (f"Each method's damage at the alpha where it keeps as much edit as {TARGET_METHOD} at alpha "
             f"{TARGET_ALPHA:g} (the *target kept*, per attribute). Read a row as: to edit as much as "
             f"{TARGET_METHOD} does, this method needs alpha *matched α* and then damages the source by *MAE* "
             "(lower is better at the same edit). The alpha is interpolated linearly between the two grid "
             f"alphas whose mean edit kept brackets the target, never extrapolated (*{NOT_REACHED}*: try a wider "
             "grid). ± : bootstrap SE over images (the share of resamples that reached the target under *reached*)."),
             "", *table(header, body), "",
             (f"Edit kept ({result.judge}): {JUDGES[result.judge]}, as a share of the edit at alpha "
              f"{result.reference_alpha:g} for every alpha (0: the source itself; above 1: more than that edit)."),
             *[f"{m}: not computed ({reason})." for m, reason in result.reasons.items()],
             "FID: not computed in the sweep (tens of images per point; a 2048-d covariance needs thousands).", ""]
    return "\n".join(lines)


def write_sweep(result: SweepResult, rows: list[dict], matched: list[dict], out_dir: str | Path,
                provenance: dict) -> list[Path]:
    """``sweep.csv/.json`` (the curve points), ``matched.csv/.json`` and ``sweep.md`` in ``out_dir``;
    returns the paths. The JSON files carry ``provenance`` and a dry run's stamp."""
    from .tables import write_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"profile": result.profile, "n_images": result.n_images, "alphas": list(result.alphas),
            "judge": result.judge, "reference_alpha": result.reference_alpha,
            "random_weights": result.random_weights, "metrics": result.metrics,
            "note": "; ".join(f"{m} unavailable: {r}" for m, r in result.reasons.items())}  # free text: local paths
    paths = []
    for name, data in (("sweep", rows), ("matched", matched)):
        write_csv(data, out / f"{name}.csv")
        write_json({**meta, "rows": data, "provenance": provenance}, out / f"{name}.json")
        paths += [out / f"{name}.csv", out / f"{name}.json"]
    atomic_bytes(sweep_markdown(result, matched).encode(), out / "sweep.md")
    return paths + [out / "sweep.md"]


def sweep_figure(result: SweepResult, rows: list[dict], matched: list[dict]):
    """One panel per attribute: x the mean edit kept, y the mean MAE against the source, one line per
    method with a marker (labelled with its alpha) at each grid alpha; a dotted vertical line at the
    target (EOGI's kept at alpha 20). Returns the figure (closed in pyplot)."""
    import matplotlib.pyplot as plt

    from ..teaching.figures import released

    attributes = [a for a in result.attributes if any(r["attribute"] == a for r in rows)]
    fig, axes = plt.subplots(1, max(len(attributes), 1), figsize=(3.6 * max(len(attributes), 1), 3.4),
                             squeeze=False)
    colours = dict(zip(result.methods, plt.get_cmap("tab10").colors))
    for ax, attribute in zip(axes[0], attributes):
        for method in result.methods:
            pts = [r for r in rows if r["attribute"] == attribute and r["method"] == method
                   and r["kept"] is not None and r["mae"] is not None]
            if not pts:
                continue
            ax.plot([p["kept"] for p in pts], [p["mae"] for p in pts], "-o", ms=3.5, lw=1.2,
                    color=colours[method], label=method)
            for p in pts:
                ax.annotate(f"{p['alpha']:g}", (p["kept"], p["mae"]), fontsize=6, color=colours[method],
                            xytext=(2, 2), textcoords="offset points")
        target = next((r["target_kept"] for r in matched if r["attribute"] == attribute), None)
        if target is not None:
            ax.axvline(target, ls=":", color="0.3", lw=1)
        ax.set_title(attribute, fontsize=10)
        ax.set_xlabel(f"edit kept ({result.judge}, share of alpha {result.reference_alpha:g})", fontsize=8)
        ax.set_ylabel("MAE vs source", fontsize=8)
        ax.tick_params(labelsize=7)
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines() if not h.get_label().startswith("_")}
    fig.legend([handles[m] for m in result.methods if m in handles], [m for m in result.methods if m in handles],
               fontsize=7, loc="lower center", ncol=len(handles), frameon=False)
    fig.suptitle(f"{stamp(result)}Damage against edit kept, alpha {', '.join(f'{a:g}' for a in result.alphas)} "
                 f"(points labelled with alpha; dotted: {TARGET_METHOD} at alpha {TARGET_ALPHA:g}); "
                 f"{result.n_images} images", fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return released(fig)


def sweep_numbers(result: SweepResult, matched: list[dict]) -> dict:
    """The notebook's sidecar numbers: per ``attribute/method`` the matched alpha, MAE and LPIPS, per
    attribute the target, each with its bootstrap SE (``<key>_se`` siblings, for ``reproduce --check``)."""
    def key(r):
        return f"{r['attribute']}/{r['method']}"

    out: dict = {"judge": result.judge, "alphas": list(result.alphas), "n_images": result.n_images,
                 "random_weights": result.random_weights, "timings": result.timings,
                 "target_kept": {r["attribute"]: r["target_kept"] for r in matched if r["method"] == TARGET_METHOD},
                 "target_kept_se": {r["attribute"]: r["target_kept_se"] for r in matched
                                    if r["method"] == TARGET_METHOD and r["target_kept_se"] is not None}}
    for name in ("matched_alpha", "mae", "lpips"):
        column = name if name.startswith("matched") else f"matched_{name}"
        out[column] = {key(r): r[name] for r in matched if r[name] is not None}
        out[f"{column}_se"] = {key(r): r[f"{name}_se"] for r in matched if r[f"{name}_se"] is not None}
    out["not_reached"] = sorted(key(r) for r in matched if r["status"] != "ok")
    return out


__all__ = [
    "ALPHAS",
    "DAMAGE",
    "MD_COLUMNS",
    "NOT_REACHED",
    "RESAMPLES",
    "SEED",
    "SWEEP_METHODS",
    "TARGET_ALPHA",
    "TARGET_METHOD",
    "SweepResult",
    "alpha_dir",
    "at_alpha",
    "check_alphas",
    "check_sweep_judge",
    "collect",
    "crossing",
    "curve_rows",
    "matched_edit",
    "per_image",
    "stamp",
    "strength_sweep",
    "sweep_figure",
    "sweep_markdown",
    "sweep_methods",
    "sweep_numbers",
    "write_sweep",
]
