"""``paperlib.infra.paths``: default paths (the trained classifier, runs/, figures/) resolve from the
project root, never from the current folder, so notebooks run from any working folder (JupyterLab
starts a notebook's kernel in notebooks/). Here: the rules of the project root. The kernels' side,
every notebook with its kernel in notebooks/ and a temporary project root ($PAPERLIB_ROOT), writing
nothing there: tests/teaching/test_notebooks.py's smoke run
(test_kernels_in_notebooks_folder_write_under_the_root)."""

from __future__ import annotations

import pytest

from helpers import ROOT, ROOT_ENV


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


def test_shown_path_never_prints_the_machine_path(tmp_path, monkeypatch):
    from paperlib.infra.paths import ENV, root_relative, shown_path

    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.setenv(ENV, str(root))
    inside = root / "runs" / "smoke" / "00_walkthrough.json"
    assert shown_path(inside) == "runs/smoke/00_walkthrough.json" == root_relative(inside)
    assert shown_path(tmp_path / "elsewhere" / "x.json") == "x.json" and root_relative(tmp_path / "x") is None
