"""``python -m paperlib reproduce``: run every notebook of a profile with papermill, in order.

Executed copies go to ``runs/<profile>/`` (``runs/smoke/<profile>/`` for smoke runs), never back
into ``notebooks/``; figures, tables and JSON sidecars go to ``figures/<profile>/`` (or
``--out-dir``). A failing notebook stops the run with the notebook, the cell and the error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS: tuple[str, ...] = ("00_walkthrough", "01_train_diffcam", "02_figure2", "03_figure3", "04_figure4",
                              "05_tables")
#: Parameters of a smoke run (CI): tiny faces, few images, a few training steps.
SMOKE: dict[str, dict] = {
    "00_walkthrough": {"n_images": 2, "steps": 3},
    "01_train_diffcam": {"steps": 3},
    "02_figure2": {"n_images": 2, "steps": 3},
    "03_figure3": {"n_images": 1, "steps": 3},
    "04_figure4": {"n_images": 1, "steps": 3},
    "05_tables": {"n_images": 3, "steps": 3},
}


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook, the cell and the error."""


def run_notebook(name: str, parameters: dict, runs_dir: Path) -> Path:
    """Execute ``notebooks/<name>.ipynb`` with ``parameters``; the executed copy goes to ``runs_dir``."""
    import papermill as pm

    runs_dir.mkdir(parents=True, exist_ok=True)
    out = runs_dir / f"{name}.ipynb"
    before = os.environ.get("PAPERLIB_HEADLESS")
    os.environ["PAPERLIB_HEADLESS"] = "1"  # the kernel inherits it: widget cells also draw a static image
    try:
        pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(out), parameters=parameters,
                            kernel_name="python3", progress_bar=False, cwd=str(Path.cwd()))
    except pm.PapermillExecutionError as err:
        raise NotebookFailed(f"{name}: cell {err.exec_count} raised {err.ename}: {err.evalue} "
                             f"(executed copy: {out})") from None
    finally:
        if before is None:
            os.environ.pop("PAPERLIB_HEADLESS", None)
        else:
            os.environ["PAPERLIB_HEADLESS"] = before
    return out


def reproduce(profile: str = "synthetic", *, device: str = "cpu", smoke: bool = False, out_dir: str = "",
              notebooks: tuple[str, ...] = NOTEBOOKS, seed: int = 0) -> dict:
    """Run the notebooks in order; returns ``{notebook: seconds}``. Prints one line per notebook."""
    from .notebook import figures_dir

    if profile == "paper":
        from .paper import evaluation_assets, require_assets
        require_assets(evaluation_assets(), need_celeba=True)  # stops before any work
    runs_dir = Path("runs/smoke" if smoke else "runs") / profile
    times = {}
    for i, name in enumerate(notebooks, 1):
        params = {"profile": profile, "device": device, "seed": seed, "smoke": smoke, "out_dir": out_dir,
                  **(SMOKE[name] if smoke else {})}
        print(f"[{i}/{len(notebooks)}] {name} ...", flush=True)
        t0 = time.perf_counter()
        run_notebook(name, params, runs_dir)
        times[name] = time.perf_counter() - t0
        print(f"[{i}/{len(notebooks)}] {name} done in {times[name]:.0f} s -> {runs_dir / (name + '.ipynb')}", flush=True)
    out = figures_dir(profile, out_dir, smoke)
    produced = sorted(p.name for p in out.glob("*") if p.is_file())
    print(f"reproduce --profile {profile}: {len(notebooks)} notebooks in {sum(times.values()):.0f} s; "
          f"executed notebooks in {runs_dir}/, {len(produced)} files in {out}/: {', '.join(produced)}")
    return times


def add_reproduce_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``reproduce`` on an ``argparse`` subparsers object."""
    p = subparsers.add_parser("reproduce", help="run every notebook of a profile end to end (papermill)")
    p.add_argument("--profile", choices=("synthetic", "paper"), default="synthetic")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda for paper, cpu for synthetic)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (what CI runs); outputs under runs/smoke/")
    p.add_argument("--out-dir", default="", help="figures/tables/sidecars folder (default figures/<profile>)")
    p.add_argument("--only", nargs="+", choices=NOTEBOOKS, help="run only these notebooks")
    p.set_defaults(func=_command)
    return p


def _command(args: argparse.Namespace) -> int:
    device = args.device or ("cuda" if args.profile == "paper" else "cpu")
    try:
        reproduce(args.profile, device=device, smoke=args.smoke, out_dir=args.out_dir,
                  notebooks=tuple(args.only) if args.only else NOTEBOOKS)
    except (NotebookFailed, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
