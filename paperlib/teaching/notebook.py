"""What the notebooks call: one function per cell, so that the notebooks stay thin.

Every notebook takes the same papermill parameters (``profile``, ``device``, ``seed``,
``n_images``, ``steps``, ``attributes``, ``out_dir``, ``smoke``, and for a dry run of the
paper profile ``random_weights`` and ``images``), opens with one import and one call,

    from paperlib.teaching import notebook as nb
    out, prov = nb.start("02_figure2", profile=profile, ...)   # checks, output folder, provenance

and ends with :func:`finish`, which writes its JSON sidecar of key numbers beside its figures.
What the cells call besides this module comes through it too, imported on first use:
``nb.figures`` (Figures 2-4, drawing only), ``nb.edits`` (the edits they show), ``nb.walkthrough``
(the walkthrough's steps), ``nb.explorer`` (the widget explorer), ``nb.sweeps`` (the strength sweep),
``nb.VARIANTS`` (the Figure-3 mask variants) and :func:`show_markdown`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from .. import profiles
from ..checks import check_device, check_int, check_positive_int
from ..method.attributes import check_attribute
from ..profiles import check_profile
from ..infra.paths import under_root
from ..profiles.base import run_dir, runs_root
from ..infra.provenance import record


def __getattr__(name: str):
    """``nb.figures``, ``nb.edits``, ``nb.walkthrough``, ``nb.explorer`` and ``nb.VARIANTS`` for the cells, imported on
    first use (notebook 01 draws no figure, and ``reproduce`` imports this module for its paths)."""
    if name == "figures":
        from . import figures
        return figures
    if name == "walkthrough":
        from . import walkthrough
        return walkthrough
    if name == "edits":
        from . import edits
        return edits
    if name == "explorer":
        from . import explorer
        return explorer
    if name == "sweeps":
        from ..evaluation import sweep
        return sweep
    if name == "VARIANTS":
        from ..method.pipeline import VARIANTS
        return VARIANTS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def start(notebook: str, *, profile: str, attributes: Sequence[str], n_images: int, device: str = "cpu",
          seed: int = 0, steps: int | None = None, out_dir: str = "", smoke: bool = False,
          random_weights: bool = False, images: str = "", methods: Sequence[str] | None = None,
          alphas: Sequence[float] | None = None) -> tuple[Path, dict]:
    """A notebook's first cell in one call: check its parameters (one-line errors before any work,
    :func:`check_parameters`), then return ``(out, prov)``: the folder of its figures and sidecar
    (:func:`figures_dir`) and its provenance (:func:`provenance`, which records the parameters).
    ``methods``: the table notebook's methods (empty: all), ``alphas``: the sweep's grid
    (:func:`paperlib.evaluation.sweep.check_alphas`), each recorded only where given."""
    check_parameters(profile, attributes, n_images, device=device, seed=seed, steps=steps,
                     random_weights=random_weights, images=images, methods=methods)
    if alphas is not None:
        from ..evaluation.sweep import TARGET_ALPHA, check_alphas

        check_alphas(alphas, TARGET_ALPHA)
    out = figures_dir(profile, out_dir, smoke, random_weights)
    extra = {} if methods is None else {"methods": list(methods)}
    extra |= {} if alphas is None else {"alphas": list(alphas)}
    prov = provenance(notebook, profile=profile, device=device, seed=seed, n_images=n_images, steps=steps,
                      attributes=attributes, smoke=smoke, random_weights=random_weights, images=images, **extra)
    return out, prov


def show_markdown(text: str) -> None:
    """Render ``text`` as Markdown in the notebook (a table, a sentence)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def show_table(rows: list[dict]) -> None:
    """Show ``rows`` (a list of dicts) as an HTML table whose number cells never wrap
    (:func:`paperlib.teaching.walkthrough.table_html`)."""
    from IPython.display import HTML, display

    from .walkthrough import table_html

    display(HTML(table_html(rows)))


def show_figure(fig, alt: str | None = None) -> None:
    """Show ``fig`` in the notebook as an image with alternative text: ``alt``, or by default the
    figure's caption, panel titles and colour scale (:func:`paperlib.teaching.figures.alt_text`).
    Figures the teaching modules return already show this way as a cell's value; this is for others."""
    from IPython.display import HTML, display

    from .figures import figure_html

    display(HTML(figure_html(fig, alt)))


def classifier_dir(profile: str, smoke: bool = False, seed: int = 0, steps: int | None = None,
                   random_weights: bool = False) -> Path:
    """Where the trained differential classifier of a profile lives (:func:`paperlib.profiles.base.run_dir`)."""
    return run_dir("diffnet", profile, seed, steps, smoke, random_weights)


def figures_dir(profile: str, out_dir: str = "", smoke: bool = False, random_weights: bool = False) -> Path:
    """Where a notebook writes its figures and sidecar: ``out_dir`` (relative to the current folder)
    or ``figures/<profile>`` under the project root (:func:`paperlib.infra.paths.project_root`, wherever the
    kernel starts; ``runs/smoke/figures/<profile>`` for a smoke run,
    ``runs/random-weights/figures/<profile>`` for a dry run, which never writes under ``figures/``)."""
    if random_weights:
        out = Path(out_dir) if out_dir else runs_root(True, smoke) / "figures" / profile
        if out.resolve().is_relative_to(under_root("figures").resolve()):
            raise ValueError(f"out_dir: {out_dir} is under figures/; a dry run with random weights writes under runs/")
        return out
    if out_dir:
        return Path(out_dir)
    return (runs_root(smoke=True) / "figures" if smoke else under_root("figures")) / profile


def check_parameters(profile: str, attributes: Sequence[str], n_images: int, *, device: str = "cpu", seed: int = 0,
                     steps: int | None = None, random_weights: bool = False, images: str = "",
                     methods: Sequence[str] | None = None) -> None:
    """One-line errors for bad notebook parameters, before any work."""
    check_profile(profile)
    if methods:
        from ..evaluation.methods import check_methods

        check_methods(methods)
    if isinstance(attributes, str) or not attributes:
        raise ValueError(f"attributes: expected a list of attribute names, got {attributes!r}")
    for a in attributes:
        check_attribute(a)
    check_positive_int("n_images", n_images)
    check_int("seed", seed, 0)
    if steps is not None:
        check_positive_int("steps", steps)
    check_device(device)
    profiles.check(profile, n_images=n_images, device=device, need_assets=False, random_weights=random_weights,
                   images=images or None)


def train_classifier(profile: str = "synthetic", steps: int = 100, seed: int = 0, device: str = "cpu",
                     smoke: bool = False, data: str | None = None, progress: bool = True,
                     random_weights: bool = False, images: str = ""):
    """Train (or resume, or reuse when complete) the profile's differential classifier.

    The paper profile evaluates EOGI's released ``diff_cam_weight.pt``; training one of its own
    needs a folder of face images (``data``). Without it this returns None and says so. A dry
    run (``random_weights``) trains a few steps from random-init pSp on ``images``."""
    extra = {"random_weights": True, "images": images} if random_weights else {}
    return profiles.train_classifier(profile, steps=steps, seed=seed, device=device, smoke=smoke, data=data,
                                     progress=progress, **extra)


def training_curves(result):
    """Loss, running accuracy and learning rate per step of a :class:`paperlib.method.train.TrainResult`
    (a note instead when nothing was trained)."""
    import matplotlib.pyplot as plt

    from .figures import released

    if result is None:
        fig = plt.figure(figsize=(8, 1.5))
        fig.text(0.5, 0.5, "No training run: the paper profile uses EOGI's released classifier.",
                 ha="center", va="center")
        return released(fig)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    for ax, values, name in zip(axes, (result.losses, result.accuracies, result.lrs),
                                ("cross-entropy loss", "batch accuracy", "learning rate")):
        ax.plot(range(1, len(values) + 1), values)
        ax.set_xlabel("step")
        ax.set_title(name, fontsize=10)
    axes[2].set_yscale("log")
    stamp = "RANDOM WEIGHTS (dry run): " if getattr(result, "random_weights", False) else ""
    fig.suptitle(f"{stamp}Differential classifier: held-out accuracy {result.heldout_accuracy:.3f} after "
                 f"{result.steps} steps", fontsize=10)
    fig.tight_layout()
    return released(fig)


def setup(profile: str = "synthetic", n_images: int = 4, seed: int = 0, device: str = "cpu", smoke: bool = False,
          steps: int = 100, celeba_root: str | None = None, random_weights: bool = False, images: str = "",
          methods: Sequence[str] = ()):
    """The :class:`paperlib.profiles.Setup` of a profile (:func:`paperlib.profiles.get`): SynthFace
    with the trained classifier (trained first when missing), or the official networks on CelebA-HQ.
    ``random_weights`` (paper profile): a dry run with random-init networks on the photos of
    ``images``; it prints a banner into the notebook saying so. ``methods`` (default all): only the
    baselines among them are built (each is a full-size encoder in the paper profile)."""
    options = {"n_images": n_images, "seed": seed, "device": device, "smoke": smoke, "steps": steps}
    if methods:
        from ..evaluation.methods import BASELINES, check_methods

        options["baselines"] = tuple(b for b in BASELINES if b in check_methods(methods))
    if celeba_root is not None:
        options["celeba_root"] = celeba_root
    if random_weights or images:
        options |= {"random_weights": random_weights, "images": images or None}
    result = profiles.get(profile, **options)
    if result.random_weights:
        print("=" * 78 + "\nRANDOM WEIGHTS: every network here is random-init at its official size (a dry run).\n"
              "Images and numbers prove that the path runs; they are not results.\n" + "=" * 78)
    return result


def faces_needed(rows: Sequence[tuple[int, str]]) -> int:
    """How many source faces a figure's ``(face index, attribute)`` rows use."""
    return 1 + max(i for i, _ in rows)


def rows_for(attributes: Sequence[str], n_rows: int, first_face: int = 0) -> list[tuple[int, str]]:
    """``(face index, attribute)`` pairs for a figure: faces in order, attributes in turn."""
    return [(first_face + i, attributes[i % len(attributes)]) for i in range(n_rows)]


def provenance(notebook: str, **params) -> dict:
    """Git commit, versions and the notebook's parameters (stored in figure metadata and sidecars)."""
    prov = record(notebook=notebook, parameters=params)
    prov["created"] = prov.pop("date")
    return prov


def save(fig, name: str, out_dir: Path, prov: dict) -> list[Path]:
    """Save a figure as PNG and PDF with provenance in their metadata; closes it."""
    import matplotlib.pyplot as plt

    from .figures import save_figure

    paths = save_figure(fig, out_dir, name, prov)
    plt.close(fig)
    return paths


def finish(name: str, out_dir: Path, numbers: dict, prov: dict, setup=None) -> None:
    """Write ``<name>.json``: the notebook's key numbers, the CAM grid of ``setup``'s classifier
    (``"cam_grid": [h, w]``, :func:`paperlib.method.pipeline.cam_grid`) when given, and the provenance;
    prints where it went (returns nothing, so the notebook's last cell shows a sentence, not a
    ``PosixPath``)."""
    from ..infra.paths import shown_path
    from ..method.pipeline import cam_grid

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    grid = {"cam_grid": cam_grid(setup.components)} if setup is not None else {}
    path.write_text(json.dumps({"numbers": numbers, **grid, "provenance": prov}, indent=2, default=str))
    print(f"{name}: key numbers and provenance written to {shown_path(path)}")


def rows_grouped(attributes: Sequence[str], per_attribute: int) -> list[tuple[int, str]]:
    """``per_attribute`` consecutive faces for each attribute in turn (Figure 4: two Old, two Smiling)."""
    return [(i * per_attribute + j, a) for i, a in enumerate(attributes) for j in range(per_attribute)]


def tables(setup, attributes: Sequence[str], out_dir: Path, smoke: bool = False, seed: int = 0,
           steps: int | None = None, progress: bool = True, methods: Sequence[str] = ()):
    """Run (or resume) the evaluation of ``methods`` (default all) under the project root's
    ``runs/eval-<profile>`` (suffixed like :func:`classifier_dir` for other seeds/steps) and copy its
    tables (Markdown and CSV) into ``out_dir``; returns the :class:`paperlib.evaluation.evaluate.EvalResult`."""
    import shutil

    from ..evaluation.evaluate import evaluate
    from ..evaluation.methods import ALL_METHODS

    eval_dir = run_dir("eval", setup.profile, seed, steps, smoke, setup.random_weights)
    result = evaluate(setup, eval_dir, attributes=tuple(attributes), methods=tuple(methods) or ALL_METHODS,
                      progress=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in result.files:
        if f.suffix in (".md", ".csv"):
            shutil.copyfile(f, out_dir / f.name)
    return result


#: Last training steps whose losses give the SE of the final loss (20 % of the default 100 steps,
#: where the cosine schedule has the learning rate near its floor and the loss is stationary).
FINAL_LOSS_WINDOW = 20


def training_numbers(result) -> dict:
    """The sidecar numbers of notebook 01, with the standard errors ``reproduce --check`` compares
    against (:mod:`paperlib.evaluation.regen_check`): ``final_loss_se``, the sd (ddof=1) of the last
    :data:`FINAL_LOSS_WINDOW` steps' losses (the SE of one step's loss, N = 1), and
    ``heldout_accuracy_se``, the binomial SE over the ``heldout_pairs`` of the training sidecar."""
    from ..evaluation.stats import proportion_se, sample_sd

    if result is None:
        return {"trained": False, "classifier": "eogi-diffcam (EOGI's released weights)"}
    numbers = {"trained": True, "random_weights": bool(getattr(result, "random_weights", False)),
               "heldout_accuracy": result.heldout_accuracy, "steps": result.steps,
               "wall_time_s": result.wall_time_s, "final_loss": result.losses[-1] if result.losses else None,
               "resumed_from": result.resumed_from,
               "final_loss_se": sample_sd(result.losses[-FINAL_LOSS_WINDOW:])}
    sidecar = Path(result.sidecar_path) if getattr(result, "sidecar_path", None) else None
    pairs = json.loads(sidecar.read_text()).get("heldout_pairs") if sidecar and sidecar.is_file() else None
    if isinstance(pairs, int) and pairs > 0:
        numbers |= {"heldout_pairs": pairs, "heldout_accuracy_se": proportion_se(result.heldout_accuracy, pairs)}
    return numbers


def table_numbers(result) -> dict:
    """The key numbers of an evaluation: our mean per metric, attribute and method, each method's edit
    kept (and its judge), the timings, and the standard error of each mean (``ours_se``, ``localization_iou_se``: sd / sqrt(n - 1)
    from the rows' population sd), which ``reproduce --check`` compares against."""
    from ..evaluation.stats import standard_error

    def key(r):
        return f"{r['attribute']}/{r['method']}"

    ours = {metric: {key(r): r["mean"] for r in rows if r["mean"] is not None} for metric, rows in result.rows.items()}
    ours_se = {metric: {key(r): standard_error(r["std"], r["n"]) for r in rows
                        if r["mean"] is not None and r.get("std") is not None and r["n"] >= 2}
               for metric, rows in result.rows.items()}
    status = {metric: sorted({r["status"] for r in rows}) for metric, rows in result.rows.items()}
    overall = [r for r in (result.ground_truth or []) if r["attribute"] == "all"]
    loc = {r["variant"]: r["iou"] for r in overall}
    loc_se = {r["variant"]: standard_error(r["iou_std"], r["n"]) for r in overall if r.get("n", 0) >= 2}
    kept_rows = [r for r in result.rows.get("MAE", []) if r.get("edit_kept") is not None]
    kept = {key(r): r["edit_kept"] for r in kept_rows}
    kept_se = {key(r): standard_error(r["edit_kept_std"], r["edit_kept_n"]) for r in kept_rows if r["edit_kept_n"] >= 2}
    return {"ours": ours, "ours_se": ours_se, "status": status, "localization_iou": loc, "localization_iou_se": loc_se,
            "edit_kept": kept, "edit_kept_se": kept_se,
            "edit_kept_judge": next((r["edit_kept_judge"] for r in kept_rows), None), "timings": result.timings}


def sweep(setup, attributes: Sequence[str], alphas: Sequence[float], methods: Sequence[str] = (), smoke: bool = False,
          seed: int = 0, steps: int | None = None, progress: bool = True):
    """Run (or resume) the strength sweep (:func:`paperlib.evaluation.sweep.strength_sweep`) of ``methods``
    (default :data:`paperlib.evaluation.sweep.SWEEP_METHODS`) under the project root's
    ``runs/sweep-<profile>/alpha-<a>`` (suffixed like :func:`classifier_dir`); returns its
    :class:`paperlib.evaluation.sweep.SweepResult`."""
    from ..evaluation.sweep import SWEEP_METHODS, strength_sweep

    folder = run_dir("sweep", setup.profile, seed, steps, smoke, setup.random_weights)
    return strength_sweep(setup, folder, alphas=tuple(alphas), attributes=tuple(attributes),
                          methods=tuple(methods) or SWEEP_METHODS, progress=progress)


def sweep_tables(result, out_dir: Path, prov: dict) -> tuple[list[dict], list[dict]]:
    """The sweep's curve points and matched-edit rows, written as ``sweep.csv/.json``, ``matched.csv/.json``
    and ``sweep.md`` in ``out_dir`` (:func:`paperlib.evaluation.sweep.write_sweep`); returns ``(points, matched)``."""
    from ..evaluation.sweep import curve_rows, matched_edit, write_sweep

    points, matched = curve_rows(result), matched_edit(result)
    write_sweep(result, points, matched, out_dir, prov)
    return points, matched
