"""Notebooks run from any working folder: default paths (the trained classifier, runs/, figures/)
resolve from the project root, never from the kernel's folder (JupyterLab starts a notebook's
kernel in notebooks/). Here the project root is a temporary folder ($PAPERLIB_ROOT)."""

from __future__ import annotations

import pytest

from helpers import ROOT, ROOT_ENV
from helpers import sidecar as _sidecar
from paperlib.teaching.reproduce import SMOKE, run_notebook


def _files(folder) -> set:
    """Every file and folder under ``folder``, relative to it."""
    return {p.relative_to(folder) for p in folder.rglob("*")}


def _parameters(name: str) -> dict:
    """A smoke run's parameters of a notebook (what ``reproduce --smoke`` passes), default paths."""
    return {"profile": "synthetic", "device": "cpu", "seed": 0, "smoke": True, "out_dir": "", **SMOKE[name]}


def test_project_root_rules(tmp_path, monkeypatch):
    from paperlib.infra.paths import ENV, project_root, under_root
    from paperlib.profiles.synthetic import default_classifier

    assert ENV == ROOT_ENV
    monkeypatch.delenv(ENV, raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert project_root() == ROOT  # the checkout holding the package, not the current folder
    assert default_classifier() == ROOT / "runs" / "diffnet-synthetic" / "diffnet.pt"
    monkeypatch.setenv(ENV, "root")  # relative: resolved against the current folder when read
    assert project_root() == elsewhere / "root"
    assert under_root("figures", "synthetic") == elsewhere / "root" / "figures" / "synthetic"
    (tmp_path / "file").write_text("")
    monkeypatch.setenv(ENV, str(tmp_path / "file"))
    with pytest.raises(ValueError, match=rf"^{ENV}: .*file is not a folder; unset it or point it at"):
        project_root()


def test_walkthrough_from_notebooks_folder_writes_under_the_root(project_root, tmp_path):
    """JupyterLab's case: the kernel starts in notebooks/. Nothing is written there (no
    notebooks/runs/, no notebooks/figures/); the classifier, the walkthrough's
    sidecar and every default output land under the project root. (Every notebook with its kernel
    in a temporary folder: test_notebooks.py's smoke run.)"""
    notebooks = ROOT / "notebooks"
    before = _files(notebooks)
    run_notebook("00_walkthrough", _parameters("00_walkthrough"), tmp_path / "executed", cwd=notebooks)
    assert _files(notebooks) == before
    assert (project_root / "runs" / "smoke" / "diffnet-synthetic-seed0-steps3" / "diffnet.pt").is_file()
    figures = project_root / "runs" / "smoke" / "figures" / "synthetic"
    assert _sidecar(figures, "00_walkthrough")["provenance"]["parameters"]["smoke"] is True
    assert sorted(p.name for p in project_root.iterdir()) == ["runs"]
