"""``python -m paperlib reproduce``: run every notebook of a profile with papermill, in order.

Executed copies go to ``runs/<profile>/`` (``runs/smoke/<profile>/`` for smoke runs), never back
into ``notebooks/``; figures, tables and JSON sidecars go to ``figures/<profile>/`` (or
``--out-dir``, relative to the current folder); both under the project root
(:func:`paperlib.infra.paths.project_root`) wherever the command starts. Beside the figures of the
run, ``<figures>/notebooks/<name>.ipynb`` is a copy of each executed notebook for reading (with its
outputs, local folders written relative: :func:`publish_executed`); ``make reproduce`` so fills
``figures/synthetic/notebooks/``, which ``make book`` renders. A failing notebook stops the run with
the notebook, the cell and the error.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

#: The checkout: ``notebooks/`` lives here.
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS: tuple[str, ...] = ("00_walkthrough", "01_train_diffcam", "02_figure2", "03_figure3", "04_figure4",
                              "05_tables", "06_sweep")
#: Parameters of a smoke run (CI): tiny faces, few images, a few training steps.
SMOKE: dict[str, dict] = {
    "00_walkthrough": {"n_images": 2, "steps": 3},
    "01_train_diffcam": {"steps": 3},
    "02_figure2": {"n_images": 2, "steps": 3},
    "03_figure3": {"n_images": 1, "steps": 3},
    "04_figure4": {"n_images": 1, "steps": 3},
    "05_tables": {"n_images": 3, "steps": 3},
    "06_sweep": {"n_images": 2, "steps": 3, "alphas": [10, 20], "attributes": ["Old"]},
}


#: Notebook -> at most how many images (rows) a dry run gives it; 05 takes ``--n-images`` itself.
DRY_RUN_IMAGES: dict[str, int] = {"00_walkthrough": 2, "02_figure2": 4, "03_figure3": 2, "04_figure4": 2,
                                  "06_sweep": 2}
#: The alpha grid of a dry run's strength sweep (06): the matched-edit target and one more.
DRY_RUN_ALPHAS: tuple[float, ...] = (10.0, 20.0)
#: Training steps of a dry run's notebook 01 (and the run folders' step count) by default.
DRY_RUN_STEPS = 2


def dry_run_parameters(name: str, images: str, n_images: int, steps: int, attributes: tuple[str, ...] = (),
                       methods: tuple[str, ...] = ()) -> dict:
    """The papermill parameters of notebook ``name`` in a dry run (``reproduce --random-weights``);
    ``attributes``: every notebook's attributes instead of its own, ``methods``: the tables' methods
    instead of all (shorter runs; the sweep's too, where they are among its methods)."""
    from ..evaluation.sweep import SWEEP_METHODS

    params = {"random_weights": True, "images": images, "steps": steps}
    if attributes:
        params["attributes"] = list(attributes)
    if name == "05_tables":
        params["n_images"] = n_images
        if methods:
            params["methods"] = list(methods)
    elif name in DRY_RUN_IMAGES:
        params["n_images"] = min(n_images, DRY_RUN_IMAGES[name])
    if name == "06_sweep":
        params["alphas"] = list(DRY_RUN_ALPHAS)
        if [m for m in methods if m in SWEEP_METHODS]:
            params["methods"] = [m for m in methods if m in SWEEP_METHODS]
    if name in ("02_figure2", "04_figure4"):
        params["authors_code"] = True
    return params


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook, the cell and the error."""


def _kernel_manager_class():
    """A Jupyter kernel manager that talks to its kernel over IPC sockets (Unix domain sockets)
    instead of local TCP: nothing listens on a port, and the kernel prints no 'running over TCP
    without encryption' warning into every run. Windows has no IPC transport: TCP there."""
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            if os.name != "nt":
                kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)

    return IPCKernelManager


def run_notebook(name: str, parameters: dict, runs_dir: Path, cwd: str | Path | None = None) -> Path:
    """Execute ``notebooks/<name>.ipynb`` with ``parameters``; the executed copy goes to ``runs_dir``.
    The kernel starts in ``cwd`` (default: the current folder, where explicit relative paths such
    as ``out_dir`` and ``images`` resolve); default outputs go under the project root either way."""
    import papermill as pm

    runs_dir.mkdir(parents=True, exist_ok=True)
    out = runs_dir / f"{name}.ipynb"
    before = os.environ.get("PAPERLIB_HEADLESS")
    os.environ["PAPERLIB_HEADLESS"] = "1"  # the kernel inherits it: widget cells also draw a static image
    try:
        pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(out), parameters=parameters,
                            kernel_name="python3", progress_bar=False, cwd=str(cwd or Path.cwd()),
                            kernel_manager_class=_kernel_manager_class())
    except pm.PapermillExecutionError as err:
        raise NotebookFailed(f"{name}: cell {err.exec_count} raised {err.ename}: {err.evalue} "
                             f"(executed copy: {out})") from None
    finally:
        if before is None:
            os.environ.pop("PAPERLIB_HEADLESS", None)
        else:
            os.environ["PAPERLIB_HEADLESS"] = before
    return out


#: Output types that hold pixels or bytes, not text: never rewritten by :func:`publish_executed`.
_BINARY = ("image/", "application/pdf")


def _relative_paths(value, replacements: list[tuple[re.Pattern, str]]):
    """``value`` (a notebook's JSON) with every string's local folders replaced, binary outputs untouched."""
    if isinstance(value, str):
        for pattern, new in replacements:
            value = pattern.sub(new, value)
        return value
    if isinstance(value, list):
        return [_relative_paths(v, replacements) for v in value]
    if isinstance(value, dict):
        return {k: v if k.startswith(_BINARY) else _relative_paths(v, replacements) for k, v in value.items()}
    return value


def publish_executed(executed: Path, folder: Path) -> Path:
    """Copy an executed notebook to ``folder/<name>.ipynb`` for reading (``make book``), its outputs
    kept; the project root and the checkout become relative (``/home/me/paperlib/figures/x`` ->
    ``figures/x``) and the home folder ``~``, in outputs and metadata, so that the copy shows no
    machine's folders. Returns the copy's path."""
    import nbformat

    from ..infra.files import atomic_text
    from ..infra.paths import project_root

    folders = sorted({str(Path(f).resolve()) for f in (project_root(), ROOT)}, key=len, reverse=True)
    end = r"(?![\w.-])"  # a whole folder name: /a/proj, not /a/project
    replacements = [(re.compile(re.escape(f + os.sep)), "") for f in folders]
    replacements += [(re.compile(re.escape(f) + end), ".") for f in folders]
    home = str(Path.home())
    if len(home) > 1:
        replacements.append((re.compile(re.escape(home) + end), "~"))
    nb = nbformat.from_dict(_relative_paths(nbformat.read(executed, as_version=4), replacements))
    out = folder / executed.name
    atomic_text(nbformat.writes(nb), out)
    return out


def reproduce(profile: str = "synthetic", *, device: str = "cpu", smoke: bool = False, out_dir: str = "",
              notebooks: tuple[str, ...] = NOTEBOOKS, seed: int = 0, random_weights: bool = False, images: str = "",
              n_images: int | None = None, steps: int | None = None, attributes: tuple[str, ...] = (),
              methods: tuple[str, ...] = ()) -> dict:
    """Run the notebooks in order; returns ``{notebook: seconds}``. Prints one line per notebook.

    ``random_weights`` (paper profile): a dry run of every notebook at the official sizes with
    random-init networks on the photos of ``images``: ``n_images`` for the evaluation (default 2),
    at most :data:`DRY_RUN_IMAGES` for the others, ``steps`` training steps (default
    :data:`DRY_RUN_STEPS`), ``attributes`` for every notebook (default: each notebook's own),
    ``methods`` for the tables (default all); executed notebooks in ``runs/random-weights/<profile>``, figures and
    tables in ``runs/random-weights/figures/<profile>``.

    Every argument is checked first (profile, device, notebooks; the paper profile's assets and
    CelebA-HQ folder, or the photos of a dry run), so a bad one stops the run before any notebook starts."""
    from .. import profiles
    from ..checks import check_device, check_positive_int
    from ..method.attributes import check_attribute
    from .notebook import figures_dir
    from ..profiles.base import runs_root

    profiles.check_profile(profile)
    unknown = [n for n in notebooks if n not in NOTEBOOKS]
    if unknown:
        raise ValueError(f"notebooks: unknown {', '.join(map(repr, unknown))}; expected some of {', '.join(NOTEBOOKS)}")
    if (n_images is not None or steps is not None or attributes or methods) and not random_weights:
        raise ValueError("n_images, steps, attributes, methods: only a dry run (--random-weights) takes them; the "
                         "notebooks' own parameters set them otherwise")
    for a in attributes:
        check_attribute(a)
    if methods:
        from ..evaluation.methods import check_methods

        methods = tuple(check_methods(methods))
    n_images = 2 if n_images is None else check_positive_int("n_images", n_images)
    steps = DRY_RUN_STEPS if steps is None else check_positive_int("steps", steps)
    # the paper profile: every asset and the CelebA-HQ folder (or a dry run's photos); stops before any work
    profiles.check(profile, random_weights=random_weights, images=images or None,
                   n_images=n_images if random_weights else None)
    check_device(device)
    readable = figures_dir(profile, out_dir, smoke, random_weights) / "notebooks"  # refuses a dry run's out_dir under figures/
    runs_dir = runs_root(random_weights, smoke) / profile
    times = {}
    for i, name in enumerate(notebooks, 1):
        params = {"profile": profile, "device": device, "seed": seed, "smoke": smoke, "out_dir": out_dir,
                  **(SMOKE[name] if smoke else {}),
                  **({"images": images} if images else {}),
                  **(dry_run_parameters(name, images, n_images, steps, tuple(attributes), methods)
                     if random_weights else {})}
        print(f"[{i}/{len(notebooks)}] {name} ...", flush=True)
        t0 = time.perf_counter()
        executed = run_notebook(name, params, runs_dir)
        times[name] = time.perf_counter() - t0
        publish_executed(executed, readable)
        print(f"[{i}/{len(notebooks)}] {name} done in {times[name]:.0f} s -> {runs_dir / (name + '.ipynb')}", flush=True)
    out = figures_dir(profile, out_dir, smoke, random_weights)
    produced = sorted(p.name for p in out.glob("*") if p.is_file())
    print(f"reproduce --profile {profile}: {len(notebooks)} notebooks in {sum(times.values()):.0f} s; "
          f"executed notebooks in {runs_dir}/ and, for reading, {readable}/; {len(produced)} files in {out}/: "
          f"{', '.join(produced)}")
    return times


#: Where ``reproduce --check`` regenerates a profile's figures, tables and sidecars (never ``figures/``),
#: under the project root.
CHECK_DIR = Path("runs/check/figures")


def reproduce_and_check(profile: str = "synthetic", *, device: str = "cpu", out_dir: str = "",
                        notebooks: tuple[str, ...] = NOTEBOOKS, only_outside: bool = False) -> int:
    """``reproduce --check``: regenerate every notebook's outputs into ``out_dir`` (default
    ``runs/check/figures/<profile>``, emptied first), then compare every number with the committed
    ``figures/<profile>/`` (:func:`paperlib.evaluation.regen_check.main_check`); returns its exit status.

    The trained classifier and the evaluation cache under ``runs/`` are reused when present
    (this says so): on a fresh clone everything is regenerated; elsewhere remove those folders
    for a from-scratch check."""
    import shutil

    from ..infra.paths import under_root
    from ..profiles.base import run_dir
    from ..evaluation.regen_check import main_check

    committed = under_root("figures", profile)
    if not committed.is_dir():
        raise FileNotFoundError(f"check: {committed} is not a folder; the check compares with the committed figures "
                                f"of the profile")
    if tuple(notebooks) != NOTEBOOKS:
        raise ValueError("check: compares every committed file; run every notebook (drop --only)")
    out = Path(out_dir) if out_dir else under_root(CHECK_DIR, profile)
    if out.resolve().is_relative_to(under_root("figures").resolve()):
        raise ValueError(f"out_dir: {out} is under figures/; the check regenerates elsewhere (default {CHECK_DIR / profile})")
    if not out_dir and out.exists():
        shutil.rmtree(out)  # our own folder: no stale file from an earlier check may pass for a regenerated one
    for kind in ("diffnet", "eval"):
        if run_dir(kind, profile).exists():
            print(f"check: reusing {run_dir(kind, profile)}/ from an earlier run on this machine; remove it to "
                  "regenerate it too", flush=True)
    reproduce(profile, device=device, out_dir=str(out), notebooks=notebooks)
    print(f"check: {out}/ (regenerated) against {committed}/ (committed)", flush=True)
    return main_check(out, committed, only_outside)


def reproduce_command(profile: str = "synthetic", *, device: str | None = None, smoke: bool = False, out_dir: str = "",
                      only: tuple[str, ...] | None = None, random_weights: bool = False, images: str = "",
                      n_images: int | None = None, steps: int | None = None, attributes: tuple[str, ...] = (),
                      methods: tuple[str, ...] = (), check: bool = False, outside_only: bool = False) -> int:
    """The ``reproduce`` command: :func:`reproduce` (or with ``check``, :func:`reproduce_and_check` and
    its status) of the notebooks ``only`` (default all) on ``device`` (default the profile's); a bad
    argument or a failed notebook is one line ``error: ...`` and status 1."""
    import sys

    from ..infra.paths import out_folder
    from ..profiles import DEFAULTS

    notebooks = tuple(only) if only else NOTEBOOKS
    try:
        device = device or DEFAULTS[profile]["device"]
        if out_dir:
            out_folder(out_dir)
        if outside_only and not check:
            raise ValueError("outside-only: only with --check")
        if check:
            if smoke or random_weights or images or n_images or steps or attributes or methods:
                raise ValueError("check: compares a full run with the committed figures; drop --smoke, "
                                 "--random-weights, --images, --n-images, --steps, --attributes and --methods")
            return reproduce_and_check(profile, device=device, out_dir=out_dir, notebooks=notebooks,
                                       only_outside=outside_only)
        reproduce(profile, device=device, smoke=smoke, out_dir=out_dir, notebooks=notebooks,
                  random_weights=random_weights, images=images, n_images=n_images, steps=steps,
                  attributes=tuple(attributes), methods=tuple(methods))
    except (NotebookFailed, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
