"""Shared test helpers: import them (``from helpers import TinyCNN``); conftest.py holds only fixtures
and hooks. (``tests/`` is on ``sys.path`` through pyproject's ``[tool.pytest.ini_options] pythonpath``.)"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

#: paperlib.infra.paths.ENV (not imported: the helpers stay importable without paperlib's imports;
#: tests/infra/test_paths.py checks that the two agree).
ROOT_ENV = "PAPERLIB_ROOT"


def enter_project(mp: pytest.MonkeyPatch, path) -> Path:
    """Change into ``path`` and make it the project root (``$PAPERLIB_ROOT``), so default outputs
    (``runs/``, ``figures/<profile>/``) land there; ``mp`` undoes both. For module-scoped fixtures
    (``with pytest.MonkeyPatch.context() as mp``); a test uses the ``tmp_project`` fixture."""
    root = Path(path).resolve()
    mp.chdir(root)
    mp.setenv(ROOT_ENV, str(root))
    return root


def sidecar(folder: Path, name: str) -> dict:
    """A notebook's JSON sidecar ``<folder>/<name>.json``."""
    return json.loads((folder / f"{name}.json").read_text())


def require_shared() -> Path:
    """The project's read-only ``shared/`` folder: a failure on CI (never let its tests vanish), else a skip."""
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} not present; CI must provide the project's shared/ folder")
        pytest.skip(f"{SHARED} not present (the project's read-only shared/ folder)")
    return SHARED


class TinyCNN(nn.Module):
    """A small generic classifier; ``target`` is its last conv layer."""

    def __init__(self, in_channels: int = 3, n_classes: int = 5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.target = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, n_classes))

    def forward(self, x):
        return self.head(self.target(self.features(x)))


def assert_matches_manifest(module: nn.Module, manifest_path) -> dict:
    """``module.state_dict()`` equals an official manifest key for key and shape for shape, with the
    same split into parameters and buffers, and a manifest-shaped state_dict loads strictly."""
    manifest = json.loads(Path(manifest_path).read_text())
    ours = {k: list(v.shape) for k, v in module.state_dict().items()}
    assert sorted(set(ours) ^ set(manifest["state_dict"])) == []  # readable diff of key names first
    assert ours == manifest["state_dict"]
    assert sorted(k for k, _ in module.named_parameters()) == sorted(manifest["parameters"])
    assert sorted(k for k, _ in module.named_buffers()) == sorted(manifest["buffers"])
    copy = {k: torch.zeros(s) for k, s in manifest["state_dict"].items()}
    module.load_state_dict({k: copy[k].to(v.dtype) for k, v in module.state_dict().items()}, strict=True)
    return manifest


def small_synthetic_setup(n_images: int, arch: str = "resnet18", n_train: int = 400):
    """A SynthFace setup at 64² with a random-init classifier (seeded 0) and a small inverter
    (``n_train`` training faces): the evaluation, leaderboard and teaching tests' world."""
    from paperlib.method.diffnet import DiffNet
    from paperlib.profiles.synthetic import setup as synthetic_setup
    from paperlib.synth import SynthInverter, SynthWorld

    torch.manual_seed(0)
    return synthetic_setup(n_images, size=64, classifier=DiffNet(7, arch).eval(),
                           inverter=SynthInverter(SynthWorld(64), n_train=n_train), progress=False)


def small_paper_components(attributes, generation: str = "fixed", seed: int = 0):
    """The paper profile's wiring with small random-init networks (64 px pSp, ResNet18 DiffNet with
    17 classes, BiSeNet, a tiny deghosting network): plumbing only, no real numbers.
    Returns ``(components, psp, directions)``."""
    from paperlib.method.diffnet import DiffNet
    from paperlib.models.bisenet import BiSeNet
    from paperlib.models.deghosting import Deghosting
    from paperlib.models.psp import PSP
    from paperlib.profiles.paper import components

    torch.manual_seed(seed)
    psp = PSP(size=64).eval()
    deghoster = Deghosting(16, 32, channel_base=256, channel_max=8, style_channels=8, rrdb_channels=8, num_rrdbs=1,
                           growth_channels=4, decoder_channels=8, num_mlps=1)
    dirs = {a: torch.randn(psp.n_styles, 512) for a in attributes}
    dirs = {a: d / d.norm() for a, d in dirs.items()}
    c = components("cpu", generation, psp=psp, classifier=DiffNet(17, "resnet18"), parser=BiSeNet(),
                   deghoster=deghoster, directions=dirs, cam_size=64)
    return c, psp, dirs


def aligned_sample_photos(tmp_path_factory) -> dict:
    """name -> (photo RGB, its aligned faces) for the 14 photos of ``../shared/data/sample_faces``
    (dlib, ~10 s). Computed once per test run and shared by the files that use it
    (tests/photo/test_align.py, test_identity.py), also across pytest-xdist workers: the first
    one pickles it under the run's base temporary folder, under a file lock."""
    import pickle

    from filelock import FileLock

    from paperlib.infra.images import read_photo
    from paperlib.photo.align import align_photo

    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "aligned-sample-photos.pickle"
    with FileLock(f"{path}.lock"):
        if path.is_file():
            return pickle.loads(path.read_bytes())
        folder = require_shared() / "data" / "sample_faces"
        out = {}
        for photo in sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem)):
            rgb = read_photo(photo)
            out[photo.name] = (rgb, align_photo(rgb, source=photo.name))
        assert len(out) == 14, f"{folder}: {len(out)} photos, expected 14"
        path.write_bytes(pickle.dumps(out))
        return out


# ------------------------------------------------------------------- a local HTTP server
QUOTA_PAGE = (b"<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body>"
              b"<p class=\"uc-error-subcaption\">Too many users have viewed or downloaded this file recently."
              b"</p></body></html>")


class _Handler(BaseHTTPRequestHandler):
    """``/<mode>/<file>``: ok (Range supported), html, short (truncated), bad (one byte off),
    cut (the first request without Range stops midway and closes the connection)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        srv = self.server
        rng = self.headers.get("Range")
        srv.log.append((self.path, rng))
        mode, _, name = self.path.lstrip("/").partition("/")
        body = srv.files.get(name)
        if body is None:
            return self._send(404, b"not found", "text/plain")
        if mode == "html":
            return self._send(200, QUOTA_PAGE, "text/html; charset=utf-8")
        if mode == "short":
            return self._send(200, body[: len(body) // 2])
        if mode == "bad":
            return self._send(200, body[:100] + bytes([body[100] ^ 1]) + body[101:])
        if rng:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            self.wfile.write(body[start:])
            return
        if mode == "cut" and name not in srv.cut:
            srv.cut.add(name)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(200, body)

    def _send(self, status, body, ctype="application/octet-stream"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that hung up: expected here
        pass


@contextlib.contextmanager
def file_server():
    """An HTTP server on 127.0.0.1 (a free port) in a thread: ``srv.files`` (file name -> bytes) is
    what it serves as :class:`_Handler` says, ``srv.log`` every request ``(path, Range header)``;
    ``srv.server_address[1]`` is its port. The download tests point ``PAPERLIB_MIRROR`` at it."""
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.files, srv.log, srv.cut = {}, [], set()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def online_with(mp: pytest.MonkeyPatch, server):
    """Opt a test out of the session's ``PAPERLIB_OFFLINE=1`` (tests/conftest.py) for ``server`` only (a
    :func:`file_server`): no mirror yet, no proxy for 127.0.0.1, the server's log empty. Returns
    ``mirror(mode)``, which points ``PAPERLIB_MIRROR`` at the server's ``/<mode>/`` (``ok``, ``bad`` ...)."""
    mp.setenv("NO_PROXY", "127.0.0.1,localhost")
    mp.setenv("no_proxy", "127.0.0.1,localhost")
    for var in ("PAPERLIB_MIRROR", "PAPERLIB_OFFLINE", "PAPERLIB_CELEBA_HQ"):
        mp.delenv(var, raising=False)
    server.log.clear()
    server.cut.clear()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def mirror(mode: str) -> None:
        mp.setenv("PAPERLIB_MIRROR", f"{base}/{mode}")

    return mirror
