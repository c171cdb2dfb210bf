"""Provenance: a change to the code makes a tree dirty; regenerated figures do not."""

import shutil
import subprocess

import pytest

from helpers import ROOT


@pytest.fixture
def clone(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    return dest


def _info(root):
    from paperlib.infra.provenance import git_info

    return git_info(root)


def test_dirty_means_code_changed_not_figures(clone):
    assert _info(clone)["dirty"] is False
    figure = next((clone / "figures").rglob("*.json"))
    figure.write_text(figure.read_text() + " ")
    assert _info(clone)["dirty"] is False  # a regenerated output is not a change of the code
    readme = clone / "README.md"
    readme.write_text(readme.read_text() + "\n")
    assert _info(clone)["dirty"] is True
