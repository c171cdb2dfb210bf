"""Fixtures and hooks of the whole suite; helpers to import live in tests/helpers.py.

Tiers (markers registered in pyproject.toml, ``--strict-markers``): :data:`TIERS` marks the tests
that are not unit tests, by file name (and test name), in one place; ``make test-fast`` runs the
rest. ``gpu`` tests skip without CUDA. Under pytest-xdist each worker runs torch on one thread. The session
is offline (``PAPERLIB_OFFLINE=1``) unless a test opts out.
"""

import fnmatch
import os
from pathlib import Path

import pytest
import torch
from hypothesis import settings

from helpers import ROOT_ENV, TinyCNN, require_shared

# No test touches the internet: paperlib's downloads (and the LPIPS / FID weights that `evaluate` fetches when
# they are missing) are forbidden for the whole session, its subprocesses and notebook kernels included. A test
# of the download code opts out with monkeypatch.delenv("PAPERLIB_OFFLINE") and serves its files from 127.0.0.1
# (PAPERLIB_MIRROR; tests/infra/test_assets.py's `server` and `env` fixtures).
os.environ["PAPERLIB_OFFLINE"] = "1"

# CI replays the same examples every run (no flaky red from a new random draw); local runs explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


# --------------------------------------------------------------------------- tiers
#: Which tests belong to which tier (the markers of pyproject.toml), in one place. A key is
#: ``file``, ``file::test`` (every parameter), ``file::test[glob]`` (the parameters matching the glob)
#: or ``file::fixture`` (every test that uses that fixture of the file: its cost is the fixture's).
#: Keyed on the file's name, not its folder, so the table survives moving files; a key that matches
#: no test of a collected file fails the run (a renamed test must not silently change tier).
#: ``slow``: more than ~2 s of CPU on the 2-core CI machine (measured: docs/test-tiers.md);
#: the rest is the unit tier (``make test-fast``).
TIERS: dict[str, tuple[str, ...]] = {
    # notebooks under papermill (a Jupyter kernel each)
    "test_paper_dry_run.py::dry_run": ("slow", "notebook"),
    "test_notebooks.py::smoke_run": ("slow", "notebook"),
    "test_notebooks.py::test_kernel_prints_no_transport_warning": ("slow", "notebook"),
    # JupyterLab in headless Chromium
    "test_browser.py": ("slow", "browser"),
    # torchrun launches (and their single-process references)
    "test_distributed.py::work": ("slow", "distributed"),
    # the upstream goldens (full-size networks; the checks of the files themselves are quick)
    "test_golden.py": ("golden",),
    "test_golden.py::test_matches_golden": ("slow",),
    "test_golden.py::test_negative_control_detects_changed_weights": ("slow",),
    # full-size networks, real photos, training runs, subprocesses
    "test_paper_dry_run.py::test_walkthrough_steps_with_the_paper_wiring": ("slow",),
    "test_edit.py::edited": ("slow",),
    "test_align.py::samples": ("slow",),
    "test_identity.py::samples": ("slow",),
    "test_identity.py::test_edit_random_weights_writes_the_identity_distance": ("slow",),
    "test_evaluate_image_major.py": ("slow",),
    "test_overlap.py::runs": ("slow",),
    "test_overlap.py::test_a_failing_write_is_raised_and_earlier_chunks_are_written": ("slow",),
    "test_overlap.py::test_pooled_poisson_gives_the_inline_edit": ("slow",),
    "test_sweep.py::tiny": ("slow",),
    "test_encoders.py::full": ("slow",),
    "test_train.py::learned": ("slow",),
    "test_leaderboard.py::run": ("slow",),
    "test_world.py::test_classifier_learns_the_synthetic_world": ("slow",),
    "test_locks.py::test_two_trainings_on_one_folder": ("slow",),
    "test_evaluate.py::test_paper_components_wiring_with_small_random_stand_ins": ("slow",),
    "test_cam_oracle.py::test_compute_cam_matches_pytorch_grad_cam[*-diffnet-resnet50-*]": ("slow",),
    "test_cam_oracle.py::test_compute_cam_matches_pytorch_grad_cam[*-diffnet-resnet18-*-True]": ("slow",),
    "test_cam_oracle.py::test_eigen_orientation_matters_on_a_real_network": ("slow",),
    "test_fail_fast.py::test_unknown_attribute_fails_within_seconds_and_creates_nothing": ("slow",),
    "test_cli.py::test_module_entry_point": ("slow",),
    "test_authors.py::test_the_named_method_runs_through_the_pipeline": ("slow",),
}

#: Under xdist, the tiers whose files start first (a file takes minutes: the dry run, the goldens).
LONGEST_FIRST = ("notebook", "golden", "browser", "distributed", "slow")

#: The unit tier: what ``make test-fast`` runs.
UNIT = "not slow and not notebook and not browser and not distributed and not gpu"


def _in_tier(item: pytest.Item, key: str) -> bool:
    file, _, name = key.partition("::")
    if item.path.name != file:
        return False
    if not name:
        return True
    test = getattr(item, "originalname", None) or item.name.partition("[")[0]
    if "[" in name:
        return fnmatch.fnmatchcase(item.name, name.replace("[", "[[]", 1))
    return name == test or (not name.startswith("test_") and name in getattr(item, "fixturenames", ()))




def pytest_collection_modifyitems(config, items):
    used, files = set(), set()
    for item in items:
        files.add(item.path.name)
        for key, markers in TIERS.items():
            if _in_tier(item, key):
                used.add(key)
                for marker in markers:
                    item.add_marker(marker)
        if item.get_closest_marker("gpu") and not torch.cuda.is_available():
            item.add_marker(pytest.mark.skip(reason="gpu: needs CUDA"))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # the longest files first (by their longest tier), so that neither worker starts one near the end; a
        # stable sort by file keeps each file's tests together and in order. xdist hands the files out in this
        # order only with --no-loadscope-reorder (the Makefile's): by default it orders them by test count.
        rank = {}
        for item in items:
            tier = next((i for i, m in enumerate(LONGEST_FIRST) if item.get_closest_marker(m)), len(LONGEST_FIRST))
            rank[item.path] = min(rank.get(item.path, tier), tier)
        items.sort(key=lambda item: rank[item.path])
    # only when whole files were collected (not `pytest file::test`, `-k`, or `--deselect`)
    if config.getoption("keyword") or any("::" in a for a in config.args) or config.getoption("deselect"):
        return
    stale = [k for k in TIERS if k.partition("::")[0] in files and k not in used]
    if stale:
        raise pytest.UsageError(f"tests/conftest.py TIERS names tests that do not exist (renamed?): {stale}")


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # two workers share the two cores: one torch thread each (and in their kernels and subprocesses)
        os.environ["OMP_NUM_THREADS"] = "1"
        os.environ["MKL_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def shared() -> Path:
    """The project's read-only ``shared/`` folder beside the checkout (a failure on CI when missing)."""
    return require_shared()


@pytest.fixture
def project_root(tmp_path, monkeypatch) -> Path:
    """An empty project root for default outputs (``$PAPERLIB_ROOT``), the current folder unchanged."""
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv(ROOT_ENV, str(root))
    return root


@pytest.fixture
def tmp_project(tmp_path, monkeypatch) -> Path:
    """``tmp_path`` as both the current folder and the project root (``$PAPERLIB_ROOT``): default
    outputs (``runs/``, ``figures/<profile>/``) land there. Module fixtures use
    :func:`helpers.enter_project`; a plain ``monkeypatch.chdir`` leaves the root alone."""
    from helpers import enter_project

    return enter_project(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op torch thread for a module (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    on the shared 2-core machine a second, contended OpenMP thread made many small ops (IR-SE-50,
    SynthFace's renderer, the 1024² forwards of the goldens) slower, not faster."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny() -> TinyCNN:
    torch.manual_seed(0)
    return TinyCNN().eval()
