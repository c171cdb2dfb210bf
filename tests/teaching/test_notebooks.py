"""The notebooks: stored clean, executed end to end with papermill (smoke sizes), parameters flow."""

import itertools

import nbformat
import numpy as np
import pytest
import torch

from helpers import ROOT, ROOT_ENV, enter_project
from helpers import sidecar as _sidecar
from paperlib.teaching.reproduce import NOTEBOOKS, reproduce, run_notebook

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


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """Every notebook once, in order, at smoke sizes, in a scratch folder (nothing lands in the repo)."""
    work = tmp_path_factory.mktemp("reproduce")
    (work / "elsewhere").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work / "elsewhere")  # the kernels start away from the project root (test_notebooks_cwd.py)
        mp.setenv(ROOT_ENV, str(work))
        times = reproduce("synthetic", smoke=True, out_dir=str(work / "figures"))
    return work, times


def test_reproduce_runs_every_notebook_and_writes_outputs(smoke_run):
    work, times = smoke_run
    assert list(times) == list(NOTEBOOKS)
    assert list((work / "elsewhere").iterdir()) == []  # nothing where the kernels start: defaults go to the root
    figs = work / "figures"
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


def test_executed_copies_for_reading_beside_the_figures(smoke_run):
    """Each executed notebook is also copied beside the run's figures (``<figures>/notebooks/``, what
    ``make book`` renders), with its outputs and without the machine's folders; the folder does not
    disturb ``reproduce --check``, which compares only the figures folder's own files."""
    from paperlib.evaluation.regen_check import compare

    work = smoke_run[0]
    folder = work / "figures" / "notebooks"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.ipynb" for n in NOTEBOOKS)
    for name in NOTEBOOKS:
        text = (folder / f"{name}.ipynb").read_text()
        executed = nbformat.reads(text, as_version=4)
        assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code"), name
        for folder_name in {str(work), str(work.resolve()), str(ROOT)}:
            assert folder_name not in text, f"{name}: {folder_name} in the copy for reading"
    finale = nbformat.read(folder / "05_tables.ipynb", as_version=4).cells[-1]
    assert "figures/05_tables.json" in "".join(o.get("text", "") for o in finale.outputs)  # relative to the root
    report = compare(work / "figures", work / "figures")
    assert report.ok and not report.new_files and not report.missing_files


def test_sidecars_hold_sane_numbers(smoke_run):
    figs = smoke_run[0] / "figures"
    train = _sidecar(figs, "01_train_diffcam")["numbers"]
    assert train["trained"] and 0 <= train["heldout_accuracy"] <= 1 and train["steps"] == 3 and train["final_loss"] > 0
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


def test_parameters_flow(smoke_run, tmp_path, monkeypatch):
    """One run with another seed and the base run's attributes in reverse order: the attributes flow
    (their order), the seed flows (the same attribute gets other numbers: other faces)."""
    work = smoke_run[0]
    enter_project(monkeypatch, work)  # reuse the smoke classifier
    base = {r["attribute"]: r for r in _sidecar(work / "figures", "02_figure2")["numbers"]["rows"]}
    attributes = list(base)[::-1]
    assert len(attributes) >= 2
    out = tmp_path / "other"
    run_notebook("02_figure2", {"smoke": True, "n_images": 2, "steps": 3, "seed": 1, "attributes": attributes,
                                "out_dir": str(out)}, tmp_path / "runs")
    other = _sidecar(out, "02_figure2")
    assert [r["attribute"] for r in other["numbers"]["rows"]] == attributes
    assert other["provenance"]["parameters"]["seed"] == 1
    for r in other["numbers"]["rows"]:
        assert r["mae_diffcampp"] != base[r["attribute"]]["mae_diffcampp"], r["attribute"]


def test_bad_parameter_fails_with_cell_and_error(smoke_run, tmp_path, monkeypatch):
    from paperlib.teaching.reproduce import NotebookFailed
    enter_project(monkeypatch, smoke_run[0])
    with pytest.raises(NotebookFailed, match=r"02_figure2: cell \d+ raised ValueError: attribute: unknown attribute 'Bald'"):
        run_notebook("02_figure2", {"smoke": True, "attributes": ["Bald"], "out_dir": str(tmp_path)}, tmp_path)


def test_explorer_callback_draws_every_toggle_combination():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from paperlib.method.diffnet import DiffNet
    from paperlib.profiles.synthetic import setup as synthetic_setup
    from paperlib.synth import SynthInverter, SynthWorld
    from paperlib.teaching.explorer import explorer_image

    torch.manual_seed(0)
    setup = synthetic_setup(1, size=64, classifier=DiffNet(7, "resnet18").eval(),
                            inverter=SynthInverter(SynthWorld(64), n_train=400), progress=False)
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


def test_kernel_prints_no_transport_warning(tmp_path, tmp_project, capfd):
    """The kernel talks over IPC sockets: no 'running over TCP without encryption' line in a run."""
    run_notebook("01_train_diffcam", {"profile": "synthetic", "device": "cpu", "seed": 0, "smoke": True, "steps": 1,
                                      "out_dir": str(tmp_path / "figures")}, tmp_path / "runs")
    captured = capfd.readouterr()
    assert "without encryption" not in captured.err + captured.out, captured.err
    assert "TCP" not in captured.err, captured.err
    assert (tmp_path / "figures" / "01_train_diffcam.json").is_file()
