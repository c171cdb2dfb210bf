import subprocess
import sys

import pytest

from paperlib.__main__ import main


def test_reproduce_says_nothing_yet(capsys):
    assert main(["reproduce", "--profile", "synthetic"]) == 0
    assert "nothing to reproduce yet" in capsys.readouterr().out


def test_unknown_profile_is_rejected(capsys):
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--profile", "imaginary"])
    assert e.value.code == 2
    assert "invalid choice: 'imaginary'" in capsys.readouterr().err


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "paperlib", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("paperlib ")
