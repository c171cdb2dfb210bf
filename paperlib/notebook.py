"""What the notebooks call: one function per cell, so that the notebooks stay thin.

Every notebook takes the same papermill parameters (``profile``, ``device``, ``seed``,
``n_images``, ``steps``, ``attributes``, ``out_dir``, ``smoke``) and ends with
:func:`finish`, which writes its JSON sidecar of key numbers beside its figures.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

from .attributes import check_attribute

#: Smoke runs (CI): tiny faces, few images, few training steps, everything under runs/smoke/.
SMOKE_SIZE = 64
SIZE = 128


def _run_name(kind: str, profile: str, seed: int, steps: int | None) -> str:
    from .train import PROFILE_DEFAULTS

    default = seed == 0 and steps in (None, PROFILE_DEFAULTS[profile]["steps"])
    return f"{kind}-{profile}" if default else f"{kind}-{profile}-seed{seed}-steps{steps}"


def classifier_dir(profile: str, smoke: bool = False, seed: int = 0, steps: int | None = None) -> Path:
    """Where the trained differential classifier of a profile lives: ``runs/diffnet-<profile>`` for
    the default seed and steps, ``runs/diffnet-<profile>-seed<S>-steps<N>`` otherwise."""
    return Path("runs/smoke" if smoke else "runs") / _run_name("diffnet", profile, seed, steps)


def figures_dir(profile: str, out_dir: str = "", smoke: bool = False) -> Path:
    """Where a notebook writes its figures and sidecar: ``out_dir`` or ``figures/<profile>``."""
    if out_dir:
        return Path(out_dir)
    return Path("runs/smoke/figures" if smoke else "figures") / profile


def check_parameters(profile: str, attributes: Sequence[str], n_images: int) -> None:
    """One-line errors for bad notebook parameters."""
    if profile not in ("synthetic", "paper"):
        raise ValueError(f"profile: expected 'synthetic' or 'paper', got {profile!r}")
    for a in attributes:
        check_attribute(a)
    if isinstance(n_images, bool) or not isinstance(n_images, int) or n_images < 1:
        raise ValueError(f"n_images: expected a positive integer, got {n_images!r}")


def train_classifier(profile: str = "synthetic", steps: int = 200, seed: int = 0, device: str = "cpu",
                     smoke: bool = False, data: str | None = None, progress: bool = True):
    """Train (or resume, or reuse when complete) the profile's differential classifier.

    The paper profile evaluates EOGI's released ``diff_cam_weight.pt``; training one of its own
    needs a folder of face images (``data``). Without it this returns None and says so."""
    from .train import PROFILE_DEFAULTS, TrainConfig, pair_source_for, train

    if profile == "paper" and not data:
        print("paper profile: the evaluation uses EOGI's released classifier (asset eogi-diffcam); "
              "pass data=DIR (face images to invert) to train one with the paper's recipe")
        return None
    d = PROFILE_DEFAULTS[profile]
    size = SMOKE_SIZE if smoke and profile == "synthetic" else d["size"]
    config = TrainConfig(steps=steps, seed=seed, arch=d["arch"], device=device,
                         out_dir=str(classifier_dir(profile, smoke, seed, steps)))
    return train(config, pair_source_for(profile, size=size, seed=seed, data=data, device=device), progress=progress)


def training_curves(result):
    """Loss, running accuracy and learning rate per step of a :class:`paperlib.train.TrainResult`
    (a note instead when nothing was trained)."""
    import matplotlib.pyplot as plt

    if result is None:
        fig = plt.figure(figsize=(8, 1.5))
        fig.text(0.5, 0.5, "No training run: the paper profile uses EOGI's released classifier.",
                 ha="center", va="center")
        return fig
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    for ax, values, name in zip(axes, (result.losses, result.accuracies, result.lrs),
                                ("cross-entropy loss", "batch accuracy", "learning rate")):
        ax.plot(range(1, len(values) + 1), values)
        ax.set_xlabel("step")
        ax.set_title(name, fontsize=10)
    axes[2].set_yscale("log")
    fig.suptitle(f"Differential classifier: held-out accuracy {result.heldout_accuracy:.3f} after {result.steps} steps",
                 fontsize=10)
    fig.tight_layout()
    return fig


def setup(profile: str = "synthetic", n_images: int = 4, seed: int = 0, device: str = "cpu", smoke: bool = False,
          steps: int = 200, celeba_root: str | None = None):
    """The :class:`paperlib.evaluate.Setup` of a profile: SynthFace with the trained classifier
    (trained first when missing), or the official networks on CelebA-HQ."""
    if profile == "paper":
        from .paper import evaluation_setup
        return evaluation_setup(n_images, device=device, celeba_root=celeba_root)
    from .evaluate import synthetic_setup

    path = classifier_dir(profile, smoke, seed, steps) / "diffnet.pt"
    if not path.is_file():
        train_classifier(profile, steps=steps, seed=seed, smoke=smoke)
    return synthetic_setup(n_images, seed=seed, size=SMOKE_SIZE if smoke else SIZE, classifier_path=path)


def rows_for(attributes: Sequence[str], n_rows: int, first_face: int = 0) -> list[tuple[int, str]]:
    """``(face index, attribute)`` pairs for a figure: faces in order, attributes in turn."""
    return [(first_face + i, attributes[i % len(attributes)]) for i in range(n_rows)]


def provenance(notebook: str, **params) -> dict:
    """Git commit, versions and the notebook's parameters (stored in figure metadata and sidecars)."""
    from .evaluate import git_info, versions

    return {"notebook": notebook, "git": git_info(), "versions": versions(), "parameters": params,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def save(fig, name: str, out_dir: Path, prov: dict) -> list[Path]:
    """Save a figure as PNG and PDF with provenance in their metadata; closes it."""
    import matplotlib.pyplot as plt

    from .figures import save_figure

    paths = save_figure(fig, out_dir, name, prov)
    plt.close(fig)
    return paths


def finish(name: str, out_dir: Path, numbers: dict, prov: dict) -> Path:
    """Write ``<name>.json``: the notebook's key numbers and its provenance."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps({"numbers": numbers, "provenance": prov}, indent=2, default=str))
    return path


def rows_grouped(attributes: Sequence[str], per_attribute: int) -> list[tuple[int, str]]:
    """``per_attribute`` consecutive faces for each attribute in turn (Figure 4: two Old, two Smiling)."""
    return [(i * per_attribute + j, a) for i, a in enumerate(attributes) for j in range(per_attribute)]


def tables(setup, attributes: Sequence[str], out_dir: Path, smoke: bool = False, seed: int = 0,
           steps: int | None = None, progress: bool = True):
    """Run (or resume) the evaluation under ``runs/eval-<profile>`` (suffixed like
    :func:`classifier_dir` for other seeds/steps) and copy its tables (Markdown and CSV) into
    ``out_dir``; returns the :class:`paperlib.evaluate.EvalResult`."""
    import shutil

    from .evaluate import evaluate

    eval_dir = Path("runs/smoke" if smoke else "runs") / _run_name("eval", setup.profile, seed, steps)
    result = evaluate(setup, eval_dir, attributes=tuple(attributes), progress=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in result.files:
        if f.suffix in (".md", ".csv"):
            shutil.copyfile(f, out_dir / f.name)
    return result


def training_numbers(result) -> dict:
    """The sidecar numbers of notebook 01."""
    if result is None:
        return {"trained": False, "classifier": "eogi-diffcam (EOGI's released weights)"}
    return {"trained": True, "heldout_accuracy": result.heldout_accuracy, "steps": result.steps,
            "wall_time_s": result.wall_time_s, "final_loss": result.losses[-1] if result.losses else None,
            "resumed_from": result.resumed_from}


def table_numbers(result) -> dict:
    """The key numbers of an evaluation: our mean per metric, attribute and method, and the timings."""
    ours = {metric: {f"{r['attribute']}/{r['method']}": r["mean"] for r in rows if r["mean"] is not None}
            for metric, rows in result.rows.items()}
    status = {metric: sorted({r["status"] for r in rows}) for metric, rows in result.rows.items()}
    loc = {r["variant"]: r["iou"] for r in (result.localization or []) if r["attribute"] == "all"}
    return {"ours": ours, "status": status, "localization_iou": loc, "timings": result.timings}
