import subprocess
import sys

import pytest

from paperlib.__main__ import main


def test_reproduce_paper_without_assets_stops_before_work(capsys, tmp_path, tmp_project, monkeypatch):
    monkeypatch.setenv("PAPERLIB_HOME", str(tmp_path))
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


#: Every subcommand of ``python -m paperlib`` (its ``--help`` must answer at once).
SUBCOMMANDS = ("reproduce", "download", "doctor", "train", "evaluate", "leaderboard", "check", "align", "edit")
#: Modules that parsing must not import (each takes seconds, or is only needed by one command).
HEAVY = ("torch", "torchvision", "dlib", "cv2", "matplotlib")
#: Wall-time bound of one ``python -m paperlib ...`` that only parses: 1 s nominal (about 0.3 s measured
#: on a 2-core machine, ~6 s before torch was kept out of parsing), with headroom for a loaded CI machine.
PARSE_BOUND_S = 2.0


def _timed_run(argv: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    import time

    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "paperlib", *argv], capture_output=True, text=True, timeout=60)
    return out, time.perf_counter() - t0


@pytest.mark.parametrize("argv, status, stream, expected", [
    (["--help"], 0, "stdout", "usage: python -m paperlib"),
    *[([name, "--help"], 0, "stdout", f"usage: python -m paperlib {name}") for name in SUBCOMMANDS],
    (["train", "--steps", "x"], 2, "stderr", "argument --steps: expected a positive integer, got 'x'"),
    (["align", "photo.jpg"], 2, "stderr", "the following arguments are required: --out"),
])
def test_parsing_answers_at_once(argv, status, stream, expected):
    out, seconds = _timed_run(argv)
    print(f"python -m paperlib {' '.join(argv)}: {seconds:.2f} s")
    assert out.returncode == status, out.stderr
    assert expected in getattr(out, stream)
    assert seconds < PARSE_BOUND_S, f"python -m paperlib {' '.join(argv)} took {seconds:.2f} s"


def test_parsing_imports_no_heavy_module():
    """Building the parser, answering --help and rejecting a malformed argument import none of
    :data:`HEAVY` (the load-independent half of the bound above)."""
    script = (
        "import sys, contextlib, io\n"
        "from paperlib.cli import main\n"
        "for argv in [['--help'], *[[c, '--help'] for c in sys.argv[1].split()], ['train', '--steps', 'x'],\n"
        "             ['evaluate', '--profile', 'imaginary']]:\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, " ".join(SUBCOMMANDS)], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "", f"parsing imported {out.stdout.strip()}"


def test_edit_help_names_the_methods_that_paste_back(capsys):
    from paperlib.photo.edit import EDIT_METHODS

    with pytest.raises(SystemExit):
        main(["edit", "--help"])
    assert f"one of {', '.join(EDIT_METHODS)} (or its slug" in " ".join(capsys.readouterr().out.split())
