import subprocess
import sys

import pytest

from paperlib.__main__ import main


def test_reproduce_paper_without_assets_stops_before_work(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERLIB_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--profile", "paper"]) == 1
    err = capsys.readouterr().err
    assert "python -m paperlib download" in err and "psp-ffhq-encode" in err
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_unknown_profile_is_rejected(capsys):
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--profile", "imaginary"])
    assert e.value.code == 2
    assert "invalid choice: 'imaginary'" in capsys.readouterr().err


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "paperlib", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("paperlib ")
