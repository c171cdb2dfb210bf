"""The paper profile's full-size dry run: ``reproduce --profile paper --random-weights`` on the 14
real sample photos of ``../shared/data/sample_faces``, at the official sizes with random-init
networks, on the CPU, at the smallest N (one evaluation image, one training step of one pair), one
attribute (Smiling: it has the baselines and the authors' mouth path) and each code path of the tables
once (:data:`CI_METHODS`) to fit the CI budget; the README records a whole run (4 attributes, N = 14,
all six notebooks, every method) on a GPU.

The methods left out add no path of their own: the ablation rows (Grad-CAM++, +TTA, +Eigen,
+TTA+Eigen) are mask variants of the same :func:`paperlib.method.pipeline.edit_variants` call whose
every step (Grad-CAM++, TTA, Eigen, parsing) the Diff-CAM++ rows run, each adding one more 1024²
deghosting pass (~23 s on one CPU thread); ReStyle is :func:`paperlib.profiles.paper.baseline_editor`
as e4e is, with an encoder whose official-size forward the goldens check
(``tests/models/test_golden.py``, ``restyle-*-ffhq-encode``).

CI runs the notebooks whose full-size path no other test covers (:data:`CI_NOTEBOOKS`): training
(01: pSp + StyleGAN2 1024² pairs, a ResNet101 step at 256²) and the tables (05: every method at
1024², the baselines and the authors' code included, the random-init metrics). Every notebook also
runs under papermill at smoke size (tests/teaching/test_notebooks.py). The walkthrough (00) at full size
calls the pipeline functions 05 runs at full size, then draws them (188 of a 769 s CPU dry run);
here its every step and its explorer (with the paper profile's photo upload) run in-process on the
paper profile's wiring with small random-init networks (:func:`test_walkthrough_steps_with_the_paper_wiring`).
The figure notebooks 02-04 likewise add only drawing (331 s more)."""

from __future__ import annotations

import json
import time

import nbformat
import numpy as np
import pytest
import torch
from PIL import Image

from helpers import enter_project
from helpers import sidecar as _sidecar
from paperlib.method.attributes import ATTRIBUTES
from paperlib.method.names import AUTHORS_CODE
from paperlib.cli import main
from paperlib.evaluation.methods import ALL_METHODS, SLUG
from paperlib.teaching.reproduce import NOTEBOOKS, reproduce

#: The notebooks of the CI dry run (see the module docstring).
CI_NOTEBOOKS = ("01_train_diffcam", "05_tables")
#: The methods of its tables: each code path once (see the module docstring).
CI_METHODS = ("pSp", "e4e", "EOGI", "Diff-CAM++", AUTHORS_CODE)


@pytest.fixture(scope="module")
def dry_run(shared, tmp_path_factory):
    faces = shared / "data" / "sample_faces"
    work = tmp_path_factory.mktemp("dry-run")
    with pytest.MonkeyPatch.context() as mp:
        enter_project(mp, work)
        t0 = time.perf_counter()
        times = reproduce("paper", device="cpu", random_weights=True, images=str(faces), n_images=1, steps=1,
                          attributes=("Smiling",), notebooks=CI_NOTEBOOKS, methods=CI_METHODS)
        print(f"\ndry run, {len(CI_NOTEBOOKS)} notebooks on CPU: {time.perf_counter() - t0:.0f} s "
              f"({', '.join(f'{k} {v:.0f} s' for k, v in times.items())})")
    return work, times


def test_every_notebook_runs_and_writes_only_under_runs(dry_run):
    work, times = dry_run
    assert list(times) == list(CI_NOTEBOOKS) and set(CI_NOTEBOOKS) <= set(NOTEBOOKS)
    assert not (work / "figures").exists()  # never figures/paper
    figs = work / "runs" / "random-weights" / "figures" / "paper"
    assert (figs / "training_curves.png").stat().st_size > 5_000 and (figs / "training_curves.pdf").is_file()
    for name in CI_NOTEBOOKS:
        executed = nbformat.read(work / "runs" / "random-weights" / "paper" / f"{name}.ipynb", as_version=4)
        text = json.dumps([c.get("outputs", []) for c in executed.cells])
        assert "RANDOM WEIGHTS" in text or name == "01_train_diffcam", f"{name}: no RANDOM WEIGHTS banner"
        params = _sidecar(figs, name)["provenance"]["parameters"]
        assert params["random_weights"] is True and params["profile"] == "paper"
        assert params.get("methods", list(CI_METHODS)) == list(CI_METHODS)


def test_outputs_are_stamped_random_weights(dry_run):
    figs = dry_run[0] / "runs" / "random-weights" / "figures" / "paper"
    tables = (figs / "tables.md").read_text()
    assert tables.startswith("# RANDOM WEIGHTS")
    rows = json.loads((dry_run[0] / "runs" / "random-weights" / "eval-paper-seed0-steps1" / "table2_mae.json")
                      .read_text())["rows"]
    computed = [r for r in rows if r["mean"] is not None]
    assert computed and all(r["status"] == "random weights" and r["delta"] is None for r in computed)
    assert {r["method"] for r in computed} == set(CI_METHODS)
    # beside every number: the label-free edit kept and the identity distance (dlib, on the sample photo)
    assert all(r["edit_kept_judge"] == "projection" and r["edit_kept_n"] == 1 for r in computed)
    assert all(r["identity_n"] == 1 and r["identity"] >= 0 for r in computed)
    assert "| edit kept ↑ | identity ↓ |" in tables
    meta = json.loads(Image.open(figs / "training_curves.png").info["Description"])
    assert meta["parameters"]["random_weights"] is True
    train = _sidecar(figs, "01_train_diffcam")["numbers"]
    assert train["trained"] and train["random_weights"] and train["steps"] == 1


def test_the_path_ran_at_the_official_sizes(dry_run):
    """The kept outputs of the evaluation are 1024² (StyleGAN2 at 1024, deghosting 128 -> 1024)."""
    kept = sorted((dry_run[0] / "runs" / "random-weights" / "eval-paper-seed0-steps1" / "cache").rglob("*.png"))
    assert kept, "no kept output images"
    for path in kept[:3]:
        with Image.open(path) as im:
            assert im.size == (1024, 1024)
            assert np.asarray(im).std() > 0  # not a blank image


def test_dry_run_needs_photos_and_stays_out_of_figures(shared, tmp_path, tmp_project, capsys):
    faces = str(shared / "data" / "sample_faces")
    cases = [(["--profile", "paper", "--random-weights"],
              "error: images: a dry run with random weights needs a folder of face photos (--images DIR, "
              "e.g. ../shared/data/sample_faces)"),
             (["--profile", "paper", "--random-weights", "--images", str(tmp_path)],
              f"error: images: {tmp_path} holds 0 .png/.jpg photos, n_images asks for 2"),
             (["--profile", "paper", "--random-weights", "--images", faces, "--n-images", "15"],
              f"error: images: {faces} holds 14 .png/.jpg photos, n_images asks for 15"),
             (["--profile", "paper", "--random-weights", "--images", faces, "--out-dir", "figures/paper"],
              "error: out_dir: figures/paper is under figures/; a dry run with random weights writes under runs/"),
             (["--profile", "synthetic", "--random-weights"],
              "error: random_weights: only the paper profile takes it (SynthFace draws its own faces and trains "
              "its own classifier)"),
             (["--profile", "synthetic", "--n-images", "3"],
              "error: n_images, steps, attributes, methods: only a dry run (--random-weights) takes them; the "
              "notebooks' own parameters set them otherwise"),
             (["--profile", "paper", "--random-weights", "--images", faces, "--methods", "pSp", "nope"],
              "error: methods: unknown 'nope'; expected some of " + ", ".join(ALL_METHODS) + " (or their slugs "
              + ", ".join(SLUG[m] for m in ALL_METHODS) + ")"),
             (["--profile", "paper", "--random-weights", "--images", faces, "--attributes", "Smile"],
              "error: attribute: unknown attribute 'Smile'; expected one of " + ", ".join(ATTRIBUTES))]
    for argv, message in cases:
        assert main(["reproduce", "--device", "cpu", *argv]) == 1
        assert capsys.readouterr().err.strip() == message
    assert list(tmp_path.iterdir()) == []


def test_walkthrough_steps_with_the_paper_wiring(monkeypatch):
    """Notebook 00's every cell on the paper profile's wiring (ResNet DiffNet with 17 classes, BiSeNet,
    a deghosting network; small and random-init, 64 px): each figure is drawn, the tables have rows,
    the deghosting panel shows a real difference, the explorer computes its first image (headless)
    and, in this profile, offers the photo upload (its path: tests/photo/test_edit.py)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from helpers import small_paper_components
    from paperlib.profiles.base import Setup
    from paperlib.teaching import notebook as nb

    c, _, _ = small_paper_components(["Beard", "Smiling"])  # Beard: the explorer's first attribute
    torch.manual_seed(1)
    faces = torch.rand(1, 3, 64, 64) * 2 - 1
    setup = Setup(profile="paper", components=c, n_images=1, load_sources=lambda idx: faces[list(idx)],
                  random_weights=True)
    teach = nb.walkthrough
    e = nb.edits.edit_face(setup, 0, "Smiling", tuple(nb.VARIANTS))

    def pixels(fig):
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba()).astype(float)

    figures = {"steps": teach.steps_figure(e, "Smiling"), "features": teach.differential_features_figure(setup, e),
               "no_mask": teach.no_mask_figure(e), "layers": teach.gradcam_vs_plusplus_figure(setup, e, "Smiling"),
               "tta": teach.tta_figure(setup, e, "Smiling"), "eigen": teach.eigen_figure(setup, e, "Smiling"),
               "parsing": teach.parsing_figure(setup, e, "Smiling", 0), "blend": teach.blend_figure(e),
               "deghost": teach.deghost_figure(setup, e)}
    for name, fig in figures.items():
        assert pixels(fig).std() > 1, name
    assert not figures["deghost"].axes[2].texts or "identity" not in figures["deghost"].axes[2].texts[0].get_text()
    for rows in (teach.alpha_table(setup, e, "Smiling"), teach.layer_table(setup, e, "Smiling")):
        assert rows and teach.markdown(rows).count("\n") >= len(rows) + 1
    plt.close("all")

    monkeypatch.setenv("PAPERLIB_HEADLESS", "1")
    box, controls = nb.explorer.explorer(setup)
    upload = [w for w in box.children if type(w).__name__ == "FileUpload"]
    assert len(upload) == 1, "the paper profile's explorer offers no photo upload"
    assert set(controls) >= {"attribute", "alpha", "face", "authors_code", "layer"}
