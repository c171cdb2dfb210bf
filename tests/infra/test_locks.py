"""Two processes never write one run folder or cache at once (paperlib.infra.locks, on filelock)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import types

import pytest

from paperlib.infra.locks import OWNER_NAME, FolderBusy, folder_lock

HOLD = ("import sys, time\nfrom paperlib.infra.locks import folder_lock\n"
        "with folder_lock(sys.argv[1], 'holder'):\n    print('held', flush=True)\n    time.sleep(float(sys.argv[2]))\n")


def _wait_for_owner(folder, proc, timeout=120.0):
    pid = proc.pid
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, proc.communicate()
        try:
            if json.loads((folder / OWNER_NAME).read_text())["pid"] == pid:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"process {pid} never took the lock of {folder}")


def test_two_trainings_on_one_folder(tmp_path):
    """The second training stops at once with one line naming the folder and the first process."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "paperlib", "train", "--profile", "synthetic", "--steps", "5000", "--size", "64",
           "--out", str(out), "--quiet"]
    first = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_owner(out, first)
        # paused, it still holds the folder (a live process, lock taken), but no longer trains on the
        # cores the second one starts on: the check is the same, without a training's CPU time
        first.send_signal(signal.SIGSTOP)
        t0 = time.perf_counter()
        second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        wall = time.perf_counter() - t0
        assert first.poll() is None, first.communicate()  # the first is still training
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert second.returncode == 2
    err = second.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: training: {out.resolve()} is in use by process {first.pid} on "
                          f"{socket.gethostname()} (")
    assert err.endswith("; wait for it to finish or use another folder")
    assert "train --profile synthetic" in err
    assert wall < 60
    # the killed holder's lock is gone with it: a new training can take the folder
    with folder_lock(out, "training"):
        assert json.loads((out / OWNER_NAME).read_text())["pid"] == os.getpid()


@pytest.fixture
def holder(tmp_path):
    """Another process that holds ``tmp_path/held`` for 30 s."""
    folder = tmp_path / "held"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), "30"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield folder, proc
    proc.kill()
    proc.wait()


def test_evaluate_on_a_cache_in_use(holder):
    from paperlib.evaluation.evaluate import evaluate

    folder, proc = holder
    with pytest.raises(FolderBusy, match=rf"^evaluate: {folder.resolve()} is in use by process {proc.pid} on "):
        evaluate(types.SimpleNamespace(n_images=2), folder, attributes=("Beard",), progress=False)  # refused first
    assert not (folder / "cache").exists()


def test_waiting_for_a_folder(tmp_path, capsys):
    folder = tmp_path / "short"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), "1"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    t0 = time.perf_counter()
    with folder_lock(folder, "evaluate", wait=60):
        waited = time.perf_counter() - t0
    proc.wait()
    assert 0.2 < waited < 60
    assert f"evaluate: {folder.resolve()} is in use by process {proc.pid}" in capsys.readouterr().err
    with pytest.raises(FolderBusy, match=r"still in use by .* after 1 s; use another folder$"):
        other = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), "30"], stdout=subprocess.PIPE, text=True)
        try:
            assert other.stdout.readline().strip() == "held"
            with folder_lock(folder, "evaluate", wait=1):
                pass
        finally:
            other.kill()
            other.wait()


def test_reentrant_within_one_process(tmp_path):
    with folder_lock(tmp_path, "outer"):
        with folder_lock(tmp_path, "inner"):
            pass
        with folder_lock(tmp_path / ".", "again"):  # the same folder, another spelling
            pass
    with folder_lock(tmp_path, "after"):  # released
        pass
