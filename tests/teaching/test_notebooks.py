"""The notebooks: stored clean, executed end to end with papermill (smoke sizes) with their kernels in
notebooks/ and the outputs under the project root, no transport warning, parameters flow."""

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest

from helpers import ROOT, ROOT_ENV, enter_project
from helpers import sidecar as _sidecar
from paperlib.synth.inverter import FIT_CACHE_ENV
from paperlib.teaching.reproduce import NOTEBOOKS, SMOKE, reproduce, run_notebook

PARAMETERS = {"profile", "device", "seed", "n_images", "steps", "attributes", "out_dir", "smoke", "random_weights",
              "images"}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_stored_without_outputs_and_with_parameters_cell(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = {line.split(":")[0].split("=")[0].strip() for line in tagged[0].source.splitlines() if line.strip()}
    assert PARAMETERS <= names
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name} has stored outputs"
    assert sum(c.cell_type == "code" for c in nb.cells) <= 16  # thin: the package does the work


def _files(folder: Path) -> set:
    """Every file and folder under ``folder``, relative to it."""
    return {p.relative_to(folder) for p in folder.rglob("*")}


#: What the smoke run's probe, a child process like the kernels, writes to the stderr it inherits.
PROBE = "smoke run: a child process's stderr is captured"


@contextlib.contextmanager
def _descriptor_output(folder: Path):
    """File descriptors 1 and 2 (which the Jupyter kernels inherit) redirected into
    ``folder/{stdout,stderr}.txt`` for the block: ``capfd`` for a module fixture. What was caught is
    written out again afterwards, so that pytest still reports it with the fixture's setup."""
    names = {1: "stdout", 2: "stderr"}
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in names}
    try:
        for fd, name in names.items():
            with open(folder / f"{name}.txt", "wb") as f:
                os.dup2(f.fileno(), fd)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, old in saved.items():
            os.dup2(old, fd)
            os.close(old)
        for fd, name in names.items():
            (sys.stdout if fd == 1 else sys.stderr).write((folder / f"{name}.txt").read_text(errors="replace"))


@dataclass
class SmokeRun:
    root: Path  # the project root ($PAPERLIB_ROOT)
    times: dict
    notebooks_before: set  # the files in notebooks/ before the run
    stdout: str  # the file descriptors' output during the run (the kernels' own, not their cells')
    stderr: str


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """Every notebook once, in order, at smoke sizes with the default output paths (what ``reproduce
    --smoke`` passes them), each kernel started in ``notebooks/`` as JupyterLab starts it; the
    project root is a scratch folder ($PAPERLIB_ROOT), so nothing may land in the repo. The synthetic
    setup's seeded fits (~5 s a kernel) are made by the first kernel and loaded by the others
    ($PAPERLIB_FIT_CACHE, :func:`paperlib.synth.inverter.fitted`)."""
    work = tmp_path_factory.mktemp("reproduce")
    logs = tmp_path_factory.mktemp("descriptors")
    fits = tmp_path_factory.mktemp("fits")
    notebooks = ROOT / "notebooks"
    before = _files(notebooks)
    with pytest.MonkeyPatch.context() as mp, _descriptor_output(logs):
        mp.chdir(notebooks)  # where the kernels start: JupyterLab's case, away from the project root
        mp.setenv(ROOT_ENV, str(work))
        mp.setenv(FIT_CACHE_ENV, str(fits))
        subprocess.run([sys.executable, "-c", f"import sys; sys.stderr.write({PROBE!r})"], check=True)
        times = reproduce("synthetic", smoke=True)
    return SmokeRun(work, times, before, (logs / "stdout.txt").read_text(), (logs / "stderr.txt").read_text())


def _figures(run: SmokeRun) -> Path:
    """Where the smoke run's figures, tables and sidecars go by default: under the project root."""
    return run.root / "runs" / "smoke" / "figures" / "synthetic"


def test_reproduce_runs_every_notebook_and_writes_outputs(smoke_run):
    work, times = smoke_run.root, smoke_run.times
    assert list(times) == list(NOTEBOOKS)
    figs = _figures(smoke_run)
    for name in ("figure2", "figure3", "figure4", "training_curves"):
        assert (figs / f"{name}.png").stat().st_size > 5_000 and (figs / f"{name}.pdf").is_file()
    for name in NOTEBOOKS:
        executed = nbformat.read(work / "runs" / "smoke" / "synthetic" / f"{name}.ipynb", as_version=4)
        assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
        assert _sidecar(figs, name)["provenance"]["parameters"]["smoke"] is True
    assert "Table 2" in (figs / "tables.md").read_text()
    # the explorer cell left a static picture behind under papermill
    walk = nbformat.read(work / "runs" / "smoke" / "synthetic" / "00_walkthrough.ipynb", as_version=4)
    explorer = [c for c in walk.cells if "explorer.explorer(" in c.source][0]
    assert any("image/png" in o.get("data", {}) for o in explorer.outputs)
    # each figure once: the returned Figure, not a second copy drawn by the inline backend at cell end
    for name in NOTEBOOKS:
        executed = nbformat.read(work / "runs" / "smoke" / "synthetic" / f"{name}.ipynb", as_version=4)
        counts = [sum("image/png" in o.get("data", {}) for o in cell.outputs)
                  for cell in executed.cells if cell.cell_type == "code"]
        assert max(counts) <= 1, f"{name}: images per cell {counts}"
        # ... and every figure is shown: the walkthrough's 10 figure cells (9 steps + the explorer), one elsewhere
        assert sum(counts) == (10 if name == "00_walkthrough" else 0 if name == "05_tables" else 1), \
            f"{name}: images per cell {counts}"


def test_kernels_in_notebooks_folder_write_under_the_root(smoke_run):
    """JupyterLab's case: the kernels start in notebooks/. Nothing is written there (no
    notebooks/runs/, no notebooks/figures/); the classifier (trained by the walkthrough, the first
    notebook), the sidecars and every default output land under the project root.
    (Formerly tests/teaching/test_notebooks_cwd.py's own run of the walkthrough from notebooks/.)"""
    root = smoke_run.root
    assert _files(ROOT / "notebooks") == smoke_run.notebooks_before
    assert (root / "runs" / "smoke" / "diffnet-synthetic-seed0-steps3" / "diffnet.pt").is_file()
    for name in NOTEBOOKS:
        assert _sidecar(_figures(smoke_run), name)["provenance"]["parameters"]["smoke"] is True
    assert sorted(p.name for p in root.iterdir()) == ["runs"]


def test_kernel_prints_no_transport_warning(smoke_run):
    """The kernels talk over IPC sockets: no 'running over TCP without encryption' line in the smoke
    run's six kernel starts (their stderr is the test process's file descriptor 2)."""
    assert PROBE in smoke_run.stderr  # the capture sees what a child process writes
    assert "without encryption" not in smoke_run.stderr + smoke_run.stdout, smoke_run.stderr
    assert "TCP" not in smoke_run.stderr, smoke_run.stderr
    assert (_figures(smoke_run) / "01_train_diffcam.json").is_file()


def test_executed_copies_for_reading_beside_the_figures(smoke_run):
    """Each executed notebook is also copied beside the run's figures (``<figures>/notebooks/``, what
    ``make book`` renders), with its outputs and without the machine's folders; the folder does not
    disturb ``reproduce --check``, which compares only the figures folder's own files."""
    from paperlib.evaluation.regen_check import compare

    work, figs = smoke_run.root, _figures(smoke_run)
    folder = figs / "notebooks"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.ipynb" for n in NOTEBOOKS)
    for name in NOTEBOOKS:
        text = (folder / f"{name}.ipynb").read_text()
        executed = nbformat.reads(text, as_version=4)
        assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code"), name
        for folder_name in {str(work), str(work.resolve()), str(ROOT)}:
            assert folder_name not in text, f"{name}: {folder_name} in the copy for reading"
    finale = nbformat.read(folder / "05_tables.ipynb", as_version=4).cells[-1]
    relative = (figs / "05_tables.json").relative_to(work).as_posix()  # runs/smoke/figures/synthetic/05_tables.json
    assert relative in "".join(o.get("text", "") for o in finale.outputs)  # relative to the root
    report = compare(figs, figs)
    assert report.ok and not report.new_files and not report.missing_files


def test_sidecars_hold_sane_numbers(smoke_run):
    figs = _figures(smoke_run)
    train = _sidecar(figs, "01_train_diffcam")["numbers"]
    assert train["trained"] and 0 <= train["heldout_accuracy"] <= 1 and train["final_loss"] > 0
    assert train["steps"] == SMOKE["01_train_diffcam"]["steps"]
    walk = _sidecar(figs, "00_walkthrough")["numbers"]
    assert set(walk["mae_vs_source"]) == {"Diff-CAM", "Grad-CAM++", "+TTA", "+Eigen", "+TTA+Eigen", "Diff-CAM++",
                                            "Diff-CAM++ (authors' code)"}
    assert all(0 <= v <= 1 for v in walk["mae_vs_source"].values())
    fig2 = _sidecar(figs, "02_figure2")["numbers"]["rows"]
    assert [r["attribute"] for r in fig2] == ["Beard", "Bushy_Eyebrows"]
    for r in fig2:
        assert 0 <= r["mae_diffcampp"] <= 1 and 0 <= r["mask_area_diffcampp"] <= 1
    fig4 = _sidecar(figs, "04_figure4")["numbers"]["rows"]
    assert [r["attribute"] for r in fig4] == ["Old", "Smiling"]
    assert all(0 < r["mae"][m] < 1 for r in fig4 for m in ("e4e", "ReStyle"))  # SynthFace analogues
    tables = _sidecar(figs, "05_tables")["numbers"]
    mae = tables["ours"]["MAE"]
    assert len(mae) == 4 * 8 + 2 * 2 and all(0 <= v <= 1 for v in mae.values())
    assert tables["ours"]["LPIPS"] == {} or tables["status"]["LPIPS"] != ["unavailable"]
    assert set(tables["localization_iou"]) >= {"Diff-CAM", "Diff-CAM++"}


def test_parameters_flow(smoke_run, tmp_project):
    """One run with another seed and the base run's attributes in reverse order: the attributes flow
    (their order), the seed flows (the same attribute gets other numbers: other faces, with the same
    classifier: the smoke run's, copied to where a seed-1 run looks for its own, so none is trained),
    and an explicit out_dir flows (the figures and sidecar land there, not under the root)."""
    steps = SMOKE["02_figure2"]["steps"]
    base = {r["attribute"]: r for r in _sidecar(_figures(smoke_run), "02_figure2")["numbers"]["rows"]}
    attributes = list(base)[::-1]
    assert len(attributes) >= 2
    trained = smoke_run.root / "runs" / "smoke" / f"diffnet-synthetic-seed0-steps{steps}"
    seed1 = tmp_project / "runs" / "smoke" / f"diffnet-synthetic-seed1-steps{steps}"
    seed1.mkdir(parents=True)
    for name in ("diffnet.pt", "diffnet.json"):
        shutil.copyfile(trained / name, seed1 / name)
    out = tmp_project / "other"
    run_notebook("02_figure2", {"smoke": True, "n_images": 2, "steps": steps, "seed": 1, "attributes": attributes,
                                "out_dir": str(out)}, tmp_project / "executed")
    assert not (tmp_project / "runs" / "smoke" / "figures").exists()
    other = _sidecar(out, "02_figure2")
    assert [r["attribute"] for r in other["numbers"]["rows"]] == attributes
    assert other["provenance"]["parameters"]["seed"] == 1
    for r in other["numbers"]["rows"]:
        assert r["mae_diffcampp"] != base[r["attribute"]]["mae_diffcampp"], r["attribute"]


def test_bad_parameter_fails_with_cell_and_error(smoke_run, tmp_path, monkeypatch):
    from paperlib.teaching.reproduce import NotebookFailed
    enter_project(monkeypatch, smoke_run.root)
    with pytest.raises(NotebookFailed, match=r"02_figure2: cell \d+ raised ValueError: attribute: unknown attribute 'Bald'"):
        run_notebook("02_figure2", {"smoke": True, "attributes": ["Bald"], "out_dir": str(tmp_path)}, tmp_path)


def test_explorer_callback_draws_every_toggle_combination(small_setup):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from paperlib.teaching.explorer import explorer_image

    setup = small_setup  # tests/teaching/conftest.py: one face, a rough inverter, enough to draw every panel
    images = {}
    for combo in itertools.product([False, True], repeat=4):
        fig = explorer_image(setup, "Smiling", 20.0, 0, *combo)  # already released by pyplot (shown once)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        images[combo] = np.asarray(canvas.buffer_rgba()).astype(float)
    assert len(images) == 16 and all(img.std() > 1 for img in images.values())  # non-blank pictures
    # every toggle changes the picture (at least its caption, and segmentation the mask too)
    for i in range(4):
        off = (True,) * i + (False,) + (True,) * (3 - i)
        assert not np.array_equal(images[off], images[(True,) * 4])


def test_reproduce_passes_an_explicit_out_dir_and_publishes_beside_it(tmp_project, monkeypatch):
    """``reproduce(out_dir=...)``'s own plumbing, without kernels (the smoke run uses the default
    paths; a notebook writing into an explicit out_dir: test_parameters_flow): every notebook gets
    the folder, the smoke sizes and the profile, and its executed copy is published into
    ``<out_dir>/notebooks/`` for reading."""
    from paperlib.teaching import reproduce as rep

    calls = []

    def executed(name, parameters, runs_dir, cwd=None):
        calls.append((name, parameters))
        runs_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(), runs_dir / f"{name}.ipynb")
        return runs_dir / f"{name}.ipynb"

    monkeypatch.setattr(rep, "run_notebook", executed)
    out = tmp_project / "elsewhere" / "figs"
    times = reproduce("synthetic", smoke=True, out_dir=str(out), notebooks=("01_train_diffcam", "05_tables"))
    assert list(times) == ["01_train_diffcam", "05_tables"]
    for name, parameters in calls:
        assert parameters["out_dir"] == str(out) and parameters["profile"] == "synthetic", name
        assert parameters["smoke"] is True and parameters["steps"] == SMOKE[name]["steps"], name
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == ["01_train_diffcam.ipynb", "05_tables.ipynb"]
    assert not (tmp_project / "runs" / "smoke" / "figures").exists()
