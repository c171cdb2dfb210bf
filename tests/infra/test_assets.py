"""The asset registry, verified downloads (served from 127.0.0.1 only) and ``doctor``."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
from pathlib import Path

import pytest
import torch

from helpers import file_server, online_with
from paperlib.infra import assets
from paperlib import models
from paperlib.__main__ import main
from paperlib.infra.assets import ASSETS, OfflineError, VerificationError
from paperlib.method.diffnet import DiffNet
from paperlib.infra.download import DownloadFailed, asset_path, download, load_network, partial_files, torch_hub_file

@pytest.fixture(scope="module")
def server():
    with file_server() as srv:
        yield srv


@pytest.fixture
def env(tmp_path, monkeypatch, server):
    """A private cache and torch hub dir; no proxy for 127.0.0.1; no mirror, not offline."""
    monkeypatch.setenv("PAPERLIB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return online_with(monkeypatch, server)


@pytest.fixture
def old_npy(shared, server) -> bytes:
    body = (shared / "data" / "eogi_directions" / "Old.npy").read_bytes()
    server.files["Old.npy"] = body
    return body


def _cache_files() -> list[str]:
    """Every file under $PAPERLIB_HOME except the records."""
    root = assets.home()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "hashes.json")


# --------------------------------------------------------------------------------- registry
def test_checkpoint_assets_match_the_model_registry():
    checkpoints = {n for n, a in ASSETS.items() if a.kind == "checkpoint"}
    assert checkpoints == set(models.REGISTRY)
    assert checkpoints == {"stylegan2-ffhq", "psp-ffhq-encode", "e4e-ffhq-encode", "restyle-psp-ffhq-encode",
                           "restyle-e4e-ffhq-encode", "face-parsing-bisenet", "eogi-diffcam", "eogi-deghosting"}
    for name in checkpoints:
        assert ASSETS[name].network == name
    assert assets.resolve("stylegan2-ffhq").name == "psp-ffhq-encode"
    assert assets.cache_path("stylegan2-ffhq") == assets.cache_path("psp-ffhq-encode")


def test_published_ids_and_sizes():
    drive = {n: a.drive_id for n, a in ASSETS.items() if a.drive_id}
    assert drive == {
        "psp-ffhq-encode": "1bMTNWkh5LArlaWSc_wa8VKyq2V42T2z0",
        "e4e-ffhq-encode": "1cUv_reLE6k3604or78EranS7XzuVMWeO",
        "restyle-psp-ffhq-encode": "1sw6I2lRIB0MpuJkpc8F5BJiSZrc0hjfE",
        "restyle-e4e-ffhq-encode": "1e2oXVeBPXMQoUoC_4TNwAWpOPpSEhE_e",
        "face-parsing-bisenet": "154JgKpzCPW82qINcVieuPH3fZ2e0P812",
        "eogi-diffcam": "10d4QL4BRNvY-AyxMQhHsnoQ7vZz0Q_Zh",
        "eogi-deghosting": "1gfb1M8mFl4GlEiQsGDWjJRQ5zetrVbi0",
    }
    assert ASSETS["face-parsing-bisenet"].size == 53_289_463
    assert ASSETS["face-parsing-bisenet"].filename == "79999_iter.pth"
    assert ASSETS["fid-inception"].urls == (
        "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",)
    from pytorch_fid.inception import FID_WEIGHTS_URL
    assert ASSETS["fid-inception"].urls[0] == FID_WEIGHTS_URL
    for name, asset in ASSETS.items():
        assert asset.citation and asset.license and asset.used_by and asset.title, name
        assert all(u.startswith("https://") for u in asset.urls), name
        if asset.sha256_prefix:  # torch hub names carry the sha256 prefix
            assert f"-{asset.sha256_prefix}." in asset.filename


def test_lpips_backbone_is_torchvisions_alexnet():
    from torchvision.models import AlexNet_Weights
    assert ASSETS["lpips-alexnet"].urls == (AlexNet_Weights.IMAGENET1K_V1.url,)


def _sums(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        digest, file = line.split()
        out[Path(file).name] = digest
    return out


def test_direction_hashes_equal_shared_sha256sums(shared):
    eogi = _sums(shared / "data" / "eogi_directions" / "SHA256SUMS")
    interfacegan = _sums(shared / "data" / "interfacegan_directions" / "SHA256SUMS")
    got = {a.filename: a.sha256 for a in ASSETS.values() if a.kind == "direction"}
    assert got == {**eogi, **interfacegan}
    assert len(eogi) == 7 and len(interfacegan) == 2
    for asset in ASSETS.values():
        if asset.kind == "direction":
            folder = "eogi_directions" if asset.name.startswith("eogi") else "interfacegan_directions"
            local = shared / "data" / folder / asset.filename
            assert local.stat().st_size == asset.size
            assert hashlib.sha256(local.read_bytes()).hexdigest() == asset.sha256


def test_no_two_assets_share_a_cache_file():
    files = [a.file for a in ASSETS.values() if a.downloadable]
    assert len(files) == len(set(files)) == 18
    names = [Path(f).name for f in files]
    assert len(names) == len(set(names))


def test_unknown_asset_is_rejected():
    with pytest.raises(ValueError, match="name: unknown asset 'nope'; expected one of psp-ffhq-encode, "):
        assets.get("nope")


# -------------------------------------------------------------------------------- downloads
def test_good_file_is_accepted_and_recorded(env, old_npy, server):
    env("ok")
    path = download("eogi-direction-old", quiet=True)
    assert path == assets.home() / "directions" / "eogi" / "Old.npy"
    assert path.read_bytes() == old_npy
    rec = assets.read_records()["eogi-direction-old"]
    assert rec["sha256"] == ASSETS["eogi-direction-old"].sha256
    assert rec["verified"] == "size + pinned sha256"
    assert _cache_files() == ["directions/eogi/Old.npy"]  # no .part left behind
    assert asset_path("eogi-direction-old") == path
    n = len(server.log)
    assert download("eogi-direction-old", quiet=True) == path  # already there: no network
    assert len(server.log) == n


def test_html_quota_page_is_rejected(env, old_npy):
    env("html")
    with pytest.raises(VerificationError) as e:
        download("eogi-direction-old", quiet=True)
    msg = str(e.value)
    assert "eogi-direction-old: not downloaded:" in msg
    assert "received an HTML page ('Google Drive - Quota exceeded') instead of Old.npy" in msg
    assert "python -m paperlib download eogi-direction-old --from FILE" in msg
    assert _cache_files() == []
    assert "eogi-direction-old" not in assets.read_records()


def test_truncated_file_is_rejected(env, old_npy):
    env("short")
    with pytest.raises(VerificationError, match=r"Old.npy has 36,928 bytes, expected 73,856 \(truncated"):
        download("eogi-direction-old", quiet=True)
    assert _cache_files() == []


def test_wrong_hash_is_rejected(env, old_npy):
    env("bad")
    with pytest.raises(VerificationError) as e:
        download("eogi-direction-old", quiet=True)
    assert f"of Old.npy does not match the pinned {ASSETS['eogi-direction-old'].sha256}" in str(e.value)
    assert _cache_files() == []


@pytest.fixture
def blob(server, monkeypatch) -> bytes:
    """A 3 MB pinned asset: large enough that whole chunks arrive before the cut."""
    body = torch.randint(0, 256, (3 << 20,), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    body = body.numpy().tobytes()
    server.files["blob.bin"] = body
    monkeypatch.setitem(ASSETS, "test-blob", dataclasses.replace(
        ASSETS["eogi-direction-old"], name="test-blob", file="test/blob.bin", urls=(),
        size=len(body), sha256=hashlib.sha256(body).hexdigest()))
    return body


def test_interrupted_download_resumes(env, blob, server):
    env("cut")
    with pytest.raises(DownloadFailed) as e:
        download("test-blob", quiet=True, retries=0)
    assert "run `python -m paperlib download test-blob` again to resume" in str(e.value)
    assert not assets.cache_path("test-blob").exists()
    (part,) = partial_files("test-blob")
    received = part.stat().st_size
    assert part.suffix == ".part" and 0 < received < len(blob)
    assert f"{received:,} bytes received are kept in {part}" in str(e.value)
    assert blob.startswith(part.read_bytes())
    server.log.clear()
    path = download("test-blob", quiet=True, retries=0)
    assert path.read_bytes() == blob
    assert ("/cut/blob.bin", f"bytes={received}-") in server.log
    assert partial_files("test-blob") == []
    assert _cache_files() == ["test/blob.bin"]


def test_several_stale_partial_downloads_resume_the_largest(env, blob, server, capsys):
    """Runs killed at different times leave several .part files: gdown alone stops on them; we keep
    the longest (it resumes from there), remove the others and say so in one line."""
    staging = assets.home() / assets.PARTIAL / "test" / "blob.bin"
    staging.parent.mkdir(parents=True)
    sizes = {"AAAAAAAA": 100, "BBBBBBBB": 3000, "CCCCCCCC": 10}
    for tag, size in sizes.items():
        (staging.parent / f"blob.bin{tag}.part").write_bytes(blob[:size])
    env("ok")
    server.log.clear()
    path = download("test-blob", quiet=True, retries=0)
    assert path.read_bytes() == blob
    assert ("/ok/blob.bin", "bytes=3000-") in server.log  # resumed from the largest
    err = capsys.readouterr().err
    assert "test-blob: 3 partial downloads found in" in err
    assert "resuming the largest (blob.binBBBBBBBB.part, 3,000 bytes) and removed the other 2" in err
    assert partial_files("test-blob") == []


def test_retries_resume_within_one_call(env, blob, server):
    env("cut")
    path = download("test-blob", quiet=True, retries=1)
    assert path.read_bytes() == blob
    assert any(rng and rng != "bytes=0-" for _, rng in server.log)


# ------------------------------------------------------------- structure-verified checkpoints
@pytest.fixture
def small_diffcam(monkeypatch, server):
    """``eogi-diffcam`` on a ResNet18 (fast), served as a raw state_dict like diff_cam_weight.pt."""
    monkeypatch.setitem(models.REGISTRY, "eogi-diffcam",
                        ("paperlib.method.diffnet", "DiffNet", {"n_classes": 17, "arch": "resnet18"}))
    torch.manual_seed(0)
    sd = DiffNet(17, "resnet18").state_dict()
    good, bad = io.BytesIO(), io.BytesIO()
    torch.save(sd, good)
    torch.save({k: v for k, v in sd.items() if k != "fc.bias"}, bad)
    server.files["diff_cam_weight.pt"] = good.getvalue()
    server.files["bad/diff_cam_weight.pt"] = bad.getvalue()
    return sd, good.getvalue()


def test_checkpoint_without_hash_is_verified_by_loading(env, small_diffcam, capsys):
    sd, body = small_diffcam
    env("ok")
    assert main(["download", "eogi-diffcam", "--quiet"]) == 0
    out = capsys.readouterr().out
    digest = hashlib.sha256(body).hexdigest()
    assert f"eogi-diffcam: ok {assets.home() / 'checkpoints' / 'diff_cam_weight.pt'}; " \
           f"verified: loads strictly as DiffNet; sha256 {digest}" in out
    assert f"eogi-diffcam: no full sha256 is published; recorded {digest} in {assets.home() / 'hashes.json'}" in out
    assert assets.read_records()["eogi-diffcam"]["sha256"] == digest
    net = load_network("eogi-diffcam")  # through asset_path
    assert torch.equal(net.state_dict()["fc.weight"], sd["fc.weight"])


def test_checkpoint_that_does_not_load_is_rejected(env, small_diffcam, server, monkeypatch):
    env("ok/bad")
    with pytest.raises(VerificationError, match=r"diff_cam_weight.pt does not load as DiffNet: .*missing 1: fc.bias"):
        download("eogi-diffcam", quiet=True)
    assert _cache_files() == []


def test_file_placed_by_hand_is_verified_on_first_use(env, small_diffcam, monkeypatch):
    sd, body = small_diffcam
    monkeypatch.setenv("PAPERLIB_OFFLINE", "1")
    dest = assets.cache_path("eogi-diffcam")
    dest.parent.mkdir(parents=True)
    dest.write_bytes(body)
    assert assets.record_matches("eogi-diffcam") is None
    assert asset_path("eogi-diffcam") == dest
    assert assets.read_records()["eogi-diffcam"]["source"] == "placed in the cache by hand"
    dest.write_bytes(body[:-10])  # changed since: verified again, rejected, moved aside
    with pytest.raises(VerificationError, match="does not load as DiffNet") as e:
        asset_path("eogi-diffcam")
    assert f"(moved to {assets.home() / 'rejected' / 'checkpoints' / 'diff_cam_weight.pt'})" in str(e.value)
    assert not dest.exists()


# ----------------------------------------------------------------------- offline, CLI, hub
def test_offline_says_where_to_place_the_file(env, monkeypatch):
    monkeypatch.setenv("PAPERLIB_OFFLINE", "1")
    dest = assets.home() / "directions" / "eogi" / "Old.npy"
    with pytest.raises(OfflineError) as e:
        download("eogi-direction-old", quiet=True)
    assert str(e.value) == (
        "eogi-direction-old: PAPERLIB_OFFLINE=1 forbids the network; place Old.npy from "
        "https://raw.githubusercontent.com/HaoruiSong622/Editing-Out-of-Domain/"
        f"6ff0d36401c05b096d7080b14fc8e346979ffb47/directions/Old.npy at {dest}, "
        "then run `python -m paperlib download eogi-direction-old` to verify it")
    with pytest.raises(FileNotFoundError) as e:
        asset_path("psp-ffhq-encode")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("psp-ffhq-encode: psp_ffhq_encode.pt is not in the paperlib cache; "
                          "run `python -m paperlib download psp-ffhq-encode` (offline: place psp_ffhq_encode.pt "
                          "from https://drive.google.com/file/d/1bMTNWkh5LArlaWSc_wa8VKyq2V42T2z0/view at ")
    assert msg.endswith(f"{assets.home() / 'checkpoints' / 'psp_ffhq_encode.pt'})")


def test_offline_file_placed_then_download_verifies_without_network(env, old_npy, monkeypatch, capsys):
    monkeypatch.setenv("PAPERLIB_OFFLINE", "1")
    assert main(["download", "eogi-direction-old", "--quiet"]) == 1
    assert "FAILED: eogi-direction-old: PAPERLIB_OFFLINE=1 forbids the network" in capsys.readouterr().err
    dest = assets.cache_path("eogi-direction-old")
    dest.parent.mkdir(parents=True)
    dest.write_bytes(old_npy)
    assert main(["download", "eogi-direction-old", "--quiet"]) == 0
    assert "verified: size + pinned sha256" in capsys.readouterr().out


def test_from_file(env, old_npy, tmp_path, capsys):
    src = tmp_path / "browser" / "Old.npy"
    src.parent.mkdir()
    src.write_bytes(old_npy[:-1] + b"x")
    assert main(["download", "eogi-direction-old", "--from", str(src), "--quiet"]) == 1
    assert "does not match the pinned" in capsys.readouterr().err
    src.write_bytes(old_npy)
    assert main(["download", "eogi-direction-old", "--from", str(src), "--quiet"]) == 0
    assert assets.cache_path("eogi-direction-old").read_bytes() == old_npy
    assert src.exists()  # copied, not moved


def test_download_all_offline_fails_each_with_a_reason(env, monkeypatch, capsys):
    monkeypatch.setenv("PAPERLIB_OFFLINE", "1")
    assert main(["download", "--all", "--quiet"]) == 1
    captured = capsys.readouterr()
    failed = [l for l in captured.err.splitlines() if ": FAILED: " in l]
    assert len(failed) == 18
    assert all("PAPERLIB_OFFLINE=1 forbids the network; place " in l for l in failed)
    assert not any(l.startswith("stylegan2-ffhq:") or l.startswith("celeba-hq:") for l in failed)
    assert "celeba-hq is not downloaded: set PAPERLIB_CELEBA_HQ" in captured.out


def test_download_cli_argument_errors(env, capsys):
    with pytest.raises(SystemExit) as e:
        main(["download"])
    assert e.value.code == 2
    assert "name one or more assets or use --all" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["download", "imaginary"])
    assert "unknown asset 'imaginary'" in capsys.readouterr().err
    assert main(["download", "celeba-hq"]) == 1
    assert "celeba-hq: not downloadable; PAPERLIB_CELEBA_HQ or --celeba-hq" in capsys.readouterr().err


def test_torch_hub_assets_are_linked_and_adopted(env, server, monkeypatch, tmp_path):
    body = b"\x80\x02fake alexnet weights" * 100
    prefix = hashlib.sha256(body).hexdigest()[:8]
    monkeypatch.setitem(ASSETS, "lpips-alexnet", dataclasses.replace(ASSETS["lpips-alexnet"], sha256_prefix=prefix))
    server.files["alexnet-owt-7be5be79.pth"] = body
    env("ok")
    path = download("lpips-alexnet", quiet=True)
    hub = tmp_path / "torch" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert hub.read_bytes() == body and hub.resolve() == path.resolve()
    hub.unlink()  # e.g. another TORCH_HOME at run time: torch_hub_file puts it back
    assert torch_hub_file("lpips-alexnet") == hub and hub.read_bytes() == body
    # a user who already ran lpips: the torch hub copy is adopted without network
    path.unlink()
    hub.unlink()
    hub.write_bytes(body)
    monkeypatch.setenv("PAPERLIB_OFFLINE", "1")
    assert download("lpips-alexnet", quiet=True).read_bytes() == body
    assert assets.read_records()["lpips-alexnet"]["source"] == f"adopted from {hub}"
    hub.write_bytes(body + b"!")  # wrong prefix: not adopted
    path.unlink()
    with pytest.raises(OfflineError):
        download("lpips-alexnet", quiet=True)


# ------------------------------------------------------------------------ doctor, CelebA-HQ
def test_doctor_lists_missing_assets_with_the_command(env, capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"torch {torch.__version__}" in out
    for name, asset in ASSETS.items():
        line = next(l for l in out.splitlines() if l.startswith(f"  [--] {name} "))
        if asset.kind != "dataset":
            assert f"get it with `python -m paperlib download {name}`" in line
    assert "PAPERLIB_CELEBA_HQ" in out
    assert "the paper profile can run: no (20 of 20 assets not ready" in out
    assert main(["doctor", "--strict"]) == 1


def test_doctor_reports_ready_and_unverified(env, old_npy, tmp_path, capsys):
    env("ok")
    download("eogi-direction-old", quiet=True)
    placed = assets.cache_path("eogi-direction-beard")
    placed.write_bytes(b"\x93NUMPY placed by hand")
    celeba = tmp_path / "celeba"
    celeba.mkdir()
    for i in range(assets.CELEBA_HQ_N):
        (celeba / f"{i}.jpg").touch()
    assert main(["doctor", "--celeba-hq", str(celeba)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"  \[ok\] eogi-direction-old +ok: .*Old.npy \(size \+ pinned sha256; sha256 72095858d9f44149",
                     out)
    assert re.search(r"  \[--\] eogi-direction-beard +present but not verified: run "
                     r"`python -m paperlib download eogi-direction-beard`", out)
    assert re.search(rf"  \[ok\] celeba-hq +{assets.CELEBA_HQ_N} images from {re.escape(str(celeba))}", out)
    assert main(["doctor", "--verify"]) == 0
    assert "[--] eogi-direction-beard" in capsys.readouterr().out and not placed.exists()


def test_celeba_hq_first_images_by_index(tmp_path, monkeypatch):
    for stem in ("00002", "10", "1", "0", "notes"):
        (tmp_path / f"{stem}.jpg").touch()
    monkeypatch.setenv("PAPERLIB_CELEBA_HQ", str(tmp_path))
    assert [p.name for p in assets.celeba_hq_images(3)] == ["0.jpg", "1.jpg", "00002.jpg"]
    with pytest.raises(FileNotFoundError, match=r"has 4 numbered images, expected at least 5"):
        assets.celeba_hq_images(5)
    (tmp_path / "0.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks image index 0; expected indices 0..2"):
        assets.celeba_hq_images(3)
    monkeypatch.delenv("PAPERLIB_CELEBA_HQ")
    with pytest.raises(FileNotFoundError, match="celeba-hq: set PAPERLIB_CELEBA_HQ"):
        asset_path("celeba-hq")
