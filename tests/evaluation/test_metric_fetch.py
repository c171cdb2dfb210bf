"""The evaluation fetches missing LPIPS / FID weights (as lpips and pytorch-fid do themselves), through
paperlib's verified download, and says "unavailable" with a one-line reason only when that fails or the
run is offline. Served from 127.0.0.1 only (tests/helpers.py's file_server); no real weights here.

The real weights cannot be had on the test machines, so no served file can pass the real hash check
honestly: the fetch-then-build plumbing is tested with an injected download function (it writes a
labelled TEST STAND-IN file where torch hub looks, as a successful download does), the real download
path against the server with a file that fails the hash (and with a 404), and offline runs with a
server that must see no request.
"""

from __future__ import annotations

import pytest
import torch
from helpers import file_server, online_with

from paperlib.__main__ import main
from paperlib.evaluation import metrics
from paperlib.evaluation.evaluate import _metric_objects
from paperlib.infra import assets
from paperlib.infra import download as download_module

LPIPS_FILE = "alexnet-owt-7be5be79.pth"
FID_FILE = "pt_inception-2015-12-05-6726825d.pth"


@pytest.fixture(scope="module")
def server():
    with file_server() as srv:
        yield srv


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """torch hub's checkpoints folder and the paperlib cache, both empty temporary folders."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("PAPERLIB_HOME", str(tmp_path / "paperlib"))
    monkeypatch.setattr(torch.hub, "_hub_dir", getattr(torch.hub, "_hub_dir", None), raising=False)
    torch.hub.set_dir(str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def _fid_stand_in():
    """TEST STAND-IN features (mean colour): FID is given, so only LPIPS is looked up."""
    return metrics.FIDMetric(features=lambda x: x.mean(dim=(2, 3)), progress=False)


def _cache_files() -> list[str]:
    root = assets.home()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_missing_weights_are_fetched_then_the_real_network_is_built(hub, monkeypatch):
    """Plumbing: the missing AlexNet file is fetched (the right asset, with a progress bar), then
    LPIPSMetric is built from that file, not from random weights.

    TEST STAND-IN download: writes a seeded random AlexNet (classifier tensors stride-0 zeros, to
    stay small) at the torch hub path, which is where a real, verified download links its file."""
    import torchvision

    calls = []

    def fake_download(name, *, quiet=False, **kwargs):
        calls.append((name, quiet))
        torch.manual_seed(5)
        sd = torchvision.models.alexnet(weights=None).state_dict()
        sd = {k: (v if k.startswith("features.") else torch.zeros(()).expand(v.shape)) for k, v in sd.items()}
        hub.mkdir(parents=True, exist_ok=True)
        torch.save(sd, hub / LPIPS_FILE)
        return hub / LPIPS_FILE

    monkeypatch.setattr(download_module, "download", fake_download)
    fns, _, reasons, stand_in = _metric_objects("cpu", None, _fid_stand_in(), 3, fetch=True, quiet=False)
    assert calls == [("lpips-alexnet", False)]  # FID was given: not fetched
    assert "LPIPS" not in reasons and not stand_in["LPIPS"] and stand_in["FID"]
    sd = torch.load(hub / LPIPS_FILE, weights_only=True)
    torch.testing.assert_close(getattr(fns["LPIPS"].net.net.slice1, "0").weight, sd["features.0.weight"])

    # fetch=False: the old behaviour, never a download
    (hub / LPIPS_FILE).unlink()
    _, _, reasons, _ = _metric_objects("cpu", None, _fid_stand_in(), 3, fetch=False)
    assert len(calls) == 1 and "fetching it failed" not in reasons["LPIPS"] and "not fetched" not in reasons["LPIPS"]
    assert reasons["LPIPS"].startswith(f"lpips: {LPIPS_FILE} (")


@pytest.mark.parametrize("served", ["wrong bytes", "404"])
def test_failed_fetch_is_unavailable_with_one_line_and_leaves_nothing(hub, server, monkeypatch, capsys, served):
    """The real download path against 127.0.0.1: a file failing the hash (sha256 prefix 7be5be79 of the
    name) or a 404 gives "unavailable" with what failed and how to get the file; nothing stays behind."""
    mirror = online_with(monkeypatch, server)
    mirror("ok")
    server.files.clear()
    if served == "wrong bytes":
        server.files[LPIPS_FILE] = b"\x80\x02 not the AlexNet weights" * 4000
    _, _, reasons, stand_in = _metric_objects("cpu", None, _fid_stand_in(), 3, fetch=True, quiet=False)
    reason = reasons["LPIPS"]
    assert [path for path, _ in server.log] == [f"/ok/{LPIPS_FILE}"]
    assert "\n" not in reason and reason.startswith(f"lpips: {LPIPS_FILE} (")
    failed = "does not start with 7be5be79" if served == "wrong bytes" else "404 Client Error: Not Found"
    assert "; fetching it failed (" in reason and failed in reason
    assert "run `python -m paperlib download lpips-alexnet` (offline: put " in reason
    assert str(hub / LPIPS_FILE) in reason and "never computed from random weights" in reason
    assert not stand_in["LPIPS"] and not (hub / LPIPS_FILE).exists()
    assert _cache_files() == []  # no file, no .part, no empty folder
    err = capsys.readouterr().err
    assert f"lpips-alexnet: fetching {LPIPS_FILE} from http://127.0.0.1:" in err
    if served == "wrong bytes":
        assert "100%" in err  # gdown's progress bar (quiet=False)


def test_offline_makes_no_request_and_says_so(hub, server, monkeypatch):
    mirror = online_with(monkeypatch, server)
    mirror("ok")
    server.files.update({LPIPS_FILE: b"would be fetched", FID_FILE: b"would be fetched"})
    monkeypatch.setenv("PAPERLIB_OFFLINE", "1")
    _, fid, reasons, _ = _metric_objects("cpu", None, None, 3, fetch=True, quiet=False)
    assert server.log == [] and fid is None
    for metric, key, file in (("LPIPS", "lpips", LPIPS_FILE), ("FID", "fid", FID_FILE)):
        assert reasons[metric].startswith(f"{key}: {file} (")
        assert "not fetched: PAPERLIB_OFFLINE=1 (--offline) forbids the network" in reasons[metric]
        assert f"run `python -m paperlib download {key}-" in reasons[metric] and "\n" not in reasons[metric]
    assert metrics.available_metrics(fetch=True)["lpips"] == reasons["LPIPS"]
    assert _cache_files() == []


@pytest.mark.parametrize("command", ["evaluate", "reproduce"])
def test_offline_flag_sets_paperlib_offline_for_the_command(server, monkeypatch, command, hub):
    """``--offline`` holds PAPERLIB_OFFLINE=1 while the command runs (the notebook kernels of ``reproduce``
    inherit the environment), so the fetch makes no request; the environment is restored afterwards."""
    online_with(monkeypatch, server)("ok")
    server.files[LPIPS_FILE] = b"would be fetched"
    seen = []

    def fake_command(*args, **kwargs):
        seen.append(metrics.available_metrics(fetch=True)["lpips"])
        return 0

    module = "paperlib.evaluation.evaluate" if command == "evaluate" else "paperlib.teaching.reproduce"
    monkeypatch.setattr(f"{module}.{command}_command", fake_command)
    assert main([command, "--offline"]) == 0
    assert "PAPERLIB_OFFLINE=1 (--offline) forbids the network" in seen[0]
    assert server.log == [] and not assets.offline()


def test_no_network_fails_at_once_without_retries(hub, server, monkeypatch, capsys):
    """A host name that does not resolve (a machine without network; simulated here, no lookup is made)
    is one line at once: no gdown call, hence none of its retries, back-off or 'Retrying' lines."""
    import socket
    import time

    online_with(monkeypatch, server)("ok")
    server.files[LPIPS_FILE] = b"never requested"

    def no_dns(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    t = time.perf_counter()
    reason = metrics.available_metrics(fetch=True, quiet=False)["lpips"]
    assert time.perf_counter() - t < 1.0
    assert server.log == [] and "Retrying" not in capsys.readouterr().err
    assert "; fetching it failed (http://127.0.0.1:" in reason
    assert "cannot resolve 127.0.0.1 (Name or service not known): no network?); run `python -m paperlib download " \
           "lpips-alexnet` (offline: put " in reason
    assert _cache_files() == []
