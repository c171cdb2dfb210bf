"""Every command and notebook validates its arguments before any expensive work: a bad value
exits non-zero within seconds, with one line naming the argument and what is valid, and
creates nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from helpers import enter_project
from paperlib.method.attributes import ATTRIBUTES
from paperlib.cli import main
from paperlib.evaluation.methods import ALL_METHODS, SLUG

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def empty_cwd(tmp_path, monkeypatch):
    """An empty working folder (no trained classifier, no runs/) and an empty asset cache."""
    work = tmp_path / "work"
    work.mkdir()
    enter_project(monkeypatch, work)
    monkeypatch.setenv("PAPERLIB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAPERLIB_CELEBA_HQ", raising=False)
    return work


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_unknown_attribute_fails_within_seconds_and_creates_nothing(tmp_path):
    """The issue's case: before, this trained a classifier for minutes and only then rejected Foo."""
    env = {**os.environ, "PAPERLIB_HOME": str(tmp_path / "home")}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "paperlib", "evaluate", "--profile", "synthetic", "--attributes",
                          "Foo"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    wall = time.perf_counter() - t0
    assert out.returncode == 2
    assert out.stderr.strip() == (f"error: attribute: unknown attribute 'Foo'; expected one of "
                                  f"{', '.join(ATTRIBUTES)}")
    assert wall < 30, f"took {wall:.1f} s"
    assert _files(tmp_path) == []


@pytest.mark.parametrize("argv, message", [
    (["--methods", "Bar"], f"error: methods: unknown 'Bar'; expected some of {', '.join(ALL_METHODS)} (or their "
                           f"slugs {', '.join(SLUG[m] for m in ALL_METHODS)})"),
    (["--alpha", "nan"], "error: alpha: expected a finite number, got nan"),
    (["--classifier", "missing.pt"], "error: classifier: missing.pt does not exist; train one with "
                                     "`python -m paperlib train --profile synthetic`"),
    (["--device", "gpu0"], "error: device: expected a torch device such as 'cpu' or 'cuda', got 'gpu0'"),
    (["--device", "meta"], "error: device: the synthetic profile runs on the CPU, got 'meta'; use --device cpu"),
])
def test_evaluate_rejects_bad_arguments(empty_cwd, capsys, argv, message):
    assert main(["evaluate", "--profile", "synthetic", *argv]) == 2
    assert _error_line(capsys) == message
    assert _files(empty_cwd) == []


@NO_CUDA
@pytest.mark.parametrize("command", [["evaluate", "--profile", "synthetic"], ["evaluate", "--profile", "paper"],
                                     ["train", "--profile", "synthetic"], ["train", "--profile", "paper"]])
def test_cuda_without_cuda(empty_cwd, capsys, command):
    assert main([*command, "--device", "cuda"]) == 2
    assert _error_line(capsys) == "error: device: 'cuda' requested but CUDA is not available; use --device cpu"
    assert _files(empty_cwd) == []


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--n-images", "0"], "argument --n-images: expected a positive integer, got '0'"),
    (["evaluate", "--batch", "-3"], "argument --batch: expected a positive integer, got '-3'"),
    (["train", "--steps", "x"], "argument --steps: expected a positive integer, got 'x'"),
    (["evaluate", "--profile", "imaginary"], "argument --profile: invalid choice: 'imaginary'"),
])
def test_argparse_rejects_malformed_values(empty_cwd, capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert _files(empty_cwd) == []


def test_paper_profile_names_the_short_source_folder(empty_cwd, shared, capsys):
    """--n-images beyond the CelebA-HQ folder is reported together with the missing assets, before any work."""
    faces = shared / "data" / "sample_faces"  # 1.jpg .. 14.jpg: no image 0, so not the start of CelebA-HQ
    assert main(["evaluate", "--profile", "paper", "--device", "cpu", "--celeba-hq", str(faces),
                 "--n-images", "20"]) == 2
    err = _error_line(capsys)
    assert err.startswith("error: profile 'paper': missing assets psp-ffhq-encode, ")
    assert f"celeba-hq: {faces} has 14 numbered images, expected at least 20" in err
    assert _files(empty_cwd) == []


def test_unreadable_or_missing_folders(empty_cwd, tmp_path, capsys):
    assert main(["evaluate", "--profile", "paper", "--device", "cpu", "--celeba-hq", str(tmp_path / "nope")]) == 2
    assert f"celeba-hq: {tmp_path / 'nope'} is not a folder (from --celeba-hq)" in _error_line(capsys)
    assert main(["train", "--profile", "paper", "--device", "cpu", "--data", str(tmp_path / "nope")]) == 2
    assert _error_line(capsys) == f"error: data: {tmp_path / 'nope'} is not a folder"
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["evaluate", "--profile", "synthetic", "--out", str(blocker)]) == 2
    assert _error_line(capsys) == f"error: out: {blocker} exists and is not a folder"
    if os.geteuid() != 0:  # root reads everything
        locked = tmp_path / "locked"
        locked.mkdir(mode=0)
        assert main(["train", "--profile", "paper", "--device", "cpu", "--data", str(locked)]) == 2
        assert _error_line(capsys) == f"error: data: {locked} is not readable (permissions)"


def test_reproduce_rejects_bad_arguments_before_any_notebook(empty_cwd, capsys, tmp_path):
    from paperlib.teaching.reproduce import reproduce

    with pytest.raises(ValueError, match=r"^device: expected a torch device such as 'cpu' or 'cuda', got 'gpu'$"):
        reproduce("synthetic", device="gpu")
    with pytest.raises(ValueError, match=r"^notebooks: unknown '99_nothing'; expected some of 00_walkthrough"):
        reproduce("synthetic", notebooks=("99_nothing",))
    with pytest.raises(ValueError, match=r"^profile: unknown profile 'x'; expected one of synthetic, paper$"):
        reproduce("x")
    assert _files(empty_cwd) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"attributes": ["Foo"]}, r"^attribute: unknown attribute 'Foo'; expected one of Beard, "),
    ({"attributes": "Beard"}, r"^attributes: expected a list of attribute names, got 'Beard'$"),
    ({"n_images": 0}, r"^n_images: expected a positive integer, got 0$"),
    ({"profile": "other"}, r"^profile: unknown profile 'other'; expected one of synthetic, paper$"),
    ({"device": "gpu"}, r"^device: expected a torch device such as 'cpu' or 'cuda', got 'gpu'$"),
    ({"seed": -1}, r"^seed: expected an integer >= 0, got -1$"),
    ({"steps": 0}, r"^steps: expected a positive integer, got 0$"),
])
def test_notebook_parameters(kwargs, message):
    from paperlib.teaching.notebook import check_parameters

    params = {"profile": "synthetic", "attributes": ["Beard"], "n_images": 2, "device": "cpu", "seed": 0,
              "steps": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        check_parameters(params.pop("profile"), params.pop("attributes"), params.pop("n_images"), **params)
