"""The paper profile's full-size dry run: ``reproduce --profile paper --random-weights`` on the 14
real sample photos of ``../shared/data/sample_faces``, every notebook at the official sizes with
random-init networks, on the CPU, at the smallest N (one evaluation image, one training step) and
one attribute (Smiling: it has the baselines and the authors' mouth path) to fit the CI budget;
the README records a whole run (4 attributes, N = 14) on a GPU.

CI runs the notebooks whose full-size path no other one covers (:data:`CI_NOTEBOOKS`: the
walkthrough's every step and explorer, training, and the tables' every method including the
baselines and the authors' code); the figure notebooks 02-04 call the same pipeline functions at
the same sizes and add only drawing, which the smoke run tests. Running them too cost 331 s of a
769 s CPU dry run; the GPU dry run in the README runs all six."""

from __future__ import annotations

import json
import time

import nbformat
import numpy as np
import pytest
from PIL import Image

from conftest import sidecar as _sidecar
from paperlib.method.attributes import ATTRIBUTES
from paperlib.cli import main
from paperlib.teaching.reproduce import NOTEBOOKS, reproduce

#: The notebooks of the CI dry run (see the module docstring).
CI_NOTEBOOKS = ("00_walkthrough", "01_train_diffcam", "05_tables")


@pytest.fixture(scope="module")
def dry_run(shared, tmp_path_factory):
    faces = shared / "data" / "sample_faces"
    work = tmp_path_factory.mktemp("dry-run")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        t0 = time.perf_counter()
        times = reproduce("paper", device="cpu", random_weights=True, images=str(faces), n_images=1, steps=1,
                          attributes=("Smiling",), notebooks=CI_NOTEBOOKS)
        print(f"\ndry run, 6 notebooks on CPU: {time.perf_counter() - t0:.0f} s "
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


def test_outputs_are_stamped_random_weights(dry_run):
    figs = dry_run[0] / "runs" / "random-weights" / "figures" / "paper"
    tables = (figs / "tables.md").read_text()
    assert tables.startswith("# RANDOM WEIGHTS")
    rows = json.loads((dry_run[0] / "runs" / "random-weights" / "eval-paper-seed0-steps1" / "table2_mae.json")
                      .read_text())["rows"]
    computed = [r for r in rows if r["mean"] is not None]
    assert computed and all(r["status"] == "random weights" and r["delta"] is None for r in computed)
    assert {r["method"] for r in computed} >= {"pSp", "e4e", "ReStyle", "EOGI", "Diff-CAM++",
                                               "Diff-CAM++ (authors' code)"}
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


def test_dry_run_needs_photos_and_stays_out_of_figures(shared, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
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
              "error: n_images, steps, attributes: only a dry run (--random-weights) takes them; the notebooks' own "
              "parameters set them otherwise"),
             (["--profile", "paper", "--random-weights", "--images", faces, "--attributes", "Smile"],
              "error: attribute: unknown attribute 'Smile'; expected one of " + ", ".join(ATTRIBUTES))]
    for argv, message in cases:
        assert main(["reproduce", "--device", "cpu", *argv]) == 1
        assert capsys.readouterr().err.strip() == message
    assert list(tmp_path.iterdir()) == []
