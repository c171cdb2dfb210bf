"""The DiffNet training loop: learning, exact resume, outputs, LR schedule, errors, CLI, paper source."""

from __future__ import annotations

import argparse
import json
import math
import sys
import types

import numpy as np
import pytest
import torch
from torch import nn

import paperlib
import paperlib.models
from paperlib.method.attributes import ATTRIBUTES, CLASS_INDEX
from paperlib.method.diffnet import DiffNet
from paperlib.cli import add_train_cli
from paperlib.profiles import pair_source as pair_source_for
from paperlib.profiles.paper_assets import direction_asset, load_directions
from paperlib.profiles.paper_data import LatentEditPairs
from paperlib.method.train import (
    CHECKPOINT_NAME,
    NO_CHANGE,
    labelled_accuracy,
    pair_loss,
    PairSource,
    TrainConfig,
    evaluate_accuracy,
    heldout_generator,
    train,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread for this module

COLOURS = torch.tensor([[1, -1, -1], [-1, 1, -1], [-1, -1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1], [1, 1, 1]]).float()
ANCHORS = [(2, 2), (2, 12), (2, 22), (12, 2), (12, 22), (22, 2), (22, 12)]


class PatchPairs:
    """Fake world: T is I' with an 8x8 patch of a class-specific colour at a class-specific place.

    Draws from ``generator`` and, for a little noise, from torch's global RNG (as StyleGAN2 does).
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self.calls = 0

    def sample_pairs(self, generator: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls += 1
        s = self.size
        base = torch.rand(batch, 3, 1, 1, generator=generator) - 0.5
        src = base + 0.2 * (torch.rand(batch, 3, s, s, generator=generator) - 0.5)
        src = (src + 0.01 * torch.randn(batch, 3, s, s)).clamp(-1, 1)  # global RNG, like StyleGAN's noise
        y = torch.randint(7, (batch,), generator=generator)
        edited = src.clone()
        for i, k in enumerate(y.tolist()):
            r, c = ANCHORS[k]
            edited[i, :, r:r + 8, c:c + 8] = COLOURS[k][:, None, None]
        return torch.cat([src, edited], 1), y


class Crashing(PatchPairs):
    """Like PatchPairs, but raises (a simulated kill) on call number ``crash_at``."""

    def __init__(self, crash_at: int) -> None:
        super().__init__()
        self.crash_at = crash_at

    def sample_pairs(self, generator, batch):
        if self.calls + 1 == self.crash_at:
            raise KeyboardInterrupt("simulated interruption")
        return super().sample_pairs(generator, batch)


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    out = tmp_path_factory.mktemp("learn")
    config = TrainConfig(steps=20, batch=20, arch="resnet18", seed=0, checkpoint_every=20, eval_batches=5,
                         out_dir=out)
    return config, train(config, PatchPairs(), progress=False)


# ------------------------------------------------------------------------------------ learning
def test_short_run_learns(learned):
    config, result = learned
    assert result.heldout_accuracy > 0.6  # chance is 1/7
    assert len(result.losses) == len(result.accuracies) == len(result.lrs) == 20
    assert np.mean(result.losses[-5:]) < 0.5 * result.losses[0]
    assert not result.model.training
    assert not torch.are_deterministic_algorithms_enabled()  # the global flag is restored


def test_weights_file_loads_with_from_checkpoint(learned):
    config, result = learned
    net = DiffNet.from_checkpoint(result.weights_path, n_classes=7, arch="resnet18")
    sd = torch.load(result.weights_path, weights_only=True)
    assert set(sd) == set(result.model.state_dict())  # a raw state_dict
    x, _ = PatchPairs().sample_pairs(torch.Generator().manual_seed(5), 4)
    with torch.no_grad():
        assert torch.equal(net(x), result.model(x))


def test_sidecar_contents(learned):
    config, result = learned
    side = json.loads(result.sidecar_path.read_text())
    assert result.sidecar_path.name == "diffnet.json"
    assert side["heldout_accuracy"] == result.heldout_accuracy
    assert side["heldout_pairs"] == 100
    assert side["steps"] == 20
    assert side["config"] == config.to_json()
    assert side["config"]["betas"] == [0.9, 0.99] and side["config"]["arch"] == "resnet18"
    assert side["torch"] == torch.__version__
    assert 0 < side["wall_time_s"] == result.wall_time_s
    assert side["classes"] == sorted(ATTRIBUTES) and [CLASS_INDEX[c] for c in side["classes"]] == list(range(7))
    assert side["final_loss"] == result.losses[-1]
    assert side["resumed_from"] is None


def test_heldout_accuracy_is_reproducible(learned):
    config, result = learned
    gen = heldout_generator(config.seed)
    torch.manual_seed(config.seed + 1)  # the noise need not match: accuracy is noise-robust
    assert evaluate_accuracy(result.model, PatchPairs(), gen, 5, 20) == result.heldout_accuracy
    assert not result.model.training  # evaluate_accuracy puts the mode back
    train_stream = PatchPairs().sample_pairs(torch.Generator().manual_seed(config.seed), 4)[0]
    assert not torch.equal(PatchPairs().sample_pairs(heldout_generator(config.seed), 4)[0], train_stream)


def test_lr_schedule_endpoints(learned):
    config, result = learned
    assert result.lrs[0] == 1e-4
    assert result.lrs[10] == pytest.approx((1e-4 + 1e-7) / 2, rel=1e-9)  # half way down the cosine
    assert all(a >= b for a, b in zip(result.lrs, result.lrs[1:]))
    expected = [1e-7 + (1e-4 - 1e-7) * (1 + math.cos(math.pi * t / 20)) / 2 for t in range(20)]
    assert result.lrs == pytest.approx(expected, rel=1e-9)
    ckpt = torch.load(config.out_dir / CHECKPOINT_NAME, weights_only=True)
    assert ckpt["step"] == 20
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-7, rel=1e-9)  # the end


# ------------------------------------------------------------------------------------- resume
def _small(out, **kw):
    return TrainConfig(**{"steps": 4, "batch": 4, "arch": "resnet18", "seed": 7, "checkpoint_every": 2,
                          "eval_batches": 1, "out_dir": out, **kw})


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, capsys):
    whole = train(_small(tmp_path / "whole"), PatchPairs(), progress=False)

    with pytest.raises(KeyboardInterrupt):
        train(_small(tmp_path / "cut"), Crashing(crash_at=4), progress=False)  # dies in step 4
    assert torch.load(tmp_path / "cut" / CHECKPOINT_NAME, weights_only=True)["step"] == 2
    assert not (tmp_path / "cut" / "diffnet.pt").exists()

    resumed = train(_small(tmp_path / "cut"), PatchPairs(), progress=True)
    assert resumed.resumed_from == 2
    captured = capsys.readouterr()
    assert "train: resuming at step 2/4 (checkpoint.pt in cut/)" in captured.out  # information, no local path
    assert "acc=" in captured.err and "loss=" in captured.err
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:3]
    assert resumed.losses == whole.losses and resumed.lrs == whole.lrs
    assert resumed.heldout_accuracy == whole.heldout_accuracy
    assert json.loads((tmp_path / "cut" / "diffnet.json").read_text())["resumed_from"] == 2


def test_resume_false_starts_over_and_other_runs_are_refused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        train(_small(tmp_path, steps=3), Crashing(crash_at=3), progress=False)
    with pytest.raises(ValueError, match=r"^checkpoint: .*checkpoint\.pt belongs to a different run "
                                         r"\(seed 7 != 8\); use another out_dir or resume=False$"):
        train(_small(tmp_path, steps=3, seed=8), PatchPairs(), progress=False)
    held = PatchPairs()
    fresh = train(_small(tmp_path, steps=3, seed=8), PatchPairs(), heldout_source=held, resume=False, progress=False)
    assert fresh.resumed_from is None and len(fresh.losses) == 3
    assert held.calls == 1  # eval_batches=1 batch of held-out pairs, from heldout_source


def test_a_run_on_other_pairs_is_refused(tmp_path):
    """A finished run is reused only on a source with the same settings (e.g. the share of no-change
    pairs): an old classifier is not silently taken for one of another recipe."""
    train(_small(tmp_path, steps=1), PatchPairs(), progress=False)
    other = PatchPairs()
    other.settings = {"no_change": 0.125}
    with pytest.raises(ValueError, match=r"^checkpoint: .*checkpoint\.pt was trained on other pairs \(source settings "
                                         r"\{\} != \{'no_change': 0\.125\}\); use another out_dir or resume=False$"):
        train(_small(tmp_path, steps=1), other, progress=False)
    assert json.loads((tmp_path / "diffnet.json").read_text())["source_settings"] == {}


# ------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps: expected an integer >= 1, got 0"),
    ({"steps": True}, "steps: expected an integer >= 1, got True"),
    ({"batch": 0}, "batch: expected an integer >= 1, got 0"),
    ({"checkpoint_every": 0}, "checkpoint_every: expected an integer >= 1, got 0"),
    ({"seed": -1}, "seed: expected an integer >= 0, got -1"),
    ({"arch": "resnet9"}, "arch: unknown architecture 'resnet9'; expected one of resnet18, resnet18-os16, resnet34, resnet50, resnet101"),
    ({"n_classes": 1}, "n_classes: expected an integer >= 2, got 1"),
    ({"lr": 0.0}, "lr: expected a learning rate > 0, got 0.0"),
    ({"lr": float("nan")}, "lr: expected a finite number >= 0, got nan"),
    ({"lr_min": 1e-3}, "lr_min: expected at most lr (0.0001), got 0.001"),
    ({"betas": (0.9, 1.0)}, "betas: expected two numbers in [0, 1), got (0.9, 1.0)"),
    ({"device": "gpu0"}, "device: expected a torch device such as 'cpu' or 'cuda', got 'gpu0'"),
])
def test_bad_config(kwargs, message):
    with pytest.raises(ValueError) as e:
        TrainConfig(**kwargs)
    assert str(e.value) == message


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda(tmp_path):
    with pytest.raises(ValueError, match=r"^device: 'cuda' requested but CUDA is not available; use --device cpu$"):
        train(TrainConfig(steps=1, arch="resnet18", device="cuda", out_dir=tmp_path), PatchPairs(), progress=False)


class ThreeChannels:
    def sample_pairs(self, generator, batch):
        return torch.zeros(batch, 3, 32, 32), torch.zeros(batch, dtype=torch.long)


class BadLabels:
    def sample_pairs(self, generator, batch):
        return torch.zeros(batch, 6, 32, 32), torch.full((batch,), 7)


@pytest.mark.parametrize("source, message", [
    (ThreeChannels(), r"^source: ThreeChannels.sample_pairs must return x as a float \(B=2, 6, H, W\) tensor, got \(2, 3, 32, 32\)$"),
    (BadLabels(), r"^source: BadLabels.sample_pairs returned labels outside \[0, 7\) \(or -1, no change\): \[7, 7\]$"),
    (object(), r"^source: expected a PairSource with a sample_pairs\(generator, batch\) method, got object$"),
])
def test_bad_source(tmp_path, source, message):
    with pytest.raises(ValueError, match=message):
        train(TrainConfig(steps=1, batch=2, arch="resnet18", out_dir=tmp_path), source, progress=False)


def test_no_change_pairs_target_no_class():
    """A no-change pair's loss is the cross-entropy against the uniform distribution (minimal when every
    class is equally likely); without such pairs the loss is exactly F.cross_entropy; they count in no
    accuracy."""
    torch.manual_seed(0)
    logits, y = torch.randn(4, 7), torch.tensor([0, 3, 6, 2])
    assert torch.equal(pair_loss(logits, y), torch.nn.functional.cross_entropy(logits, y))
    mixed = torch.tensor([0, NO_CHANGE, 6, NO_CHANGE])
    by_hand = torch.stack([-logits[0].log_softmax(0)[0], -logits[1].log_softmax(0).mean(),
                           -logits[2].log_softmax(0)[6], -logits[3].log_softmax(0).mean()]).mean()
    assert torch.allclose(pair_loss(logits, mixed), by_hand)
    flat = torch.zeros(1, 7, requires_grad=True)
    pair_loss(flat, torch.tensor([NO_CHANGE])).backward()
    assert flat.grad.abs().max() < 1e-7  # uniform logits are the no-change pair's optimum
    assert labelled_accuracy(logits, mixed) == (int(logits[0].argmax() == 0) + int(logits[2].argmax() == 6), 2)


def test_pair_source_protocol():
    assert isinstance(PatchPairs(), PairSource)
    assert not isinstance(object(), PairSource)


# ---------------------------------------------------------------------------------------- CLI
def _cli(argv):
    parser = argparse.ArgumentParser()
    add_train_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def fake_synth(monkeypatch):
    calls = []
    mod = types.ModuleType("paperlib.synth")

    def pair_source(size, seed, leaks=None, no_change=0.0):
        calls.append((size, seed, no_change))
        return PatchPairs(size)

    mod.pair_source = pair_source
    monkeypatch.setitem(sys.modules, "paperlib.synth", mod)
    monkeypatch.setattr(paperlib, "synth", mod, raising=False)
    return calls


def test_synthetic_source_goes_through_paperlib_synth(fake_synth):
    assert isinstance(pair_source_for("synthetic", seed=4), PatchPairs)
    assert fake_synth == [(128, 4, 0.125)]  # the profile's share of no-change pairs


def test_cli_trains_synthetic(tmp_path, fake_synth, capsys):
    rc = _cli(["train", "--profile", "synthetic", "--steps", "2", "--out", str(tmp_path), "--seed", "3",
               "--device", "cpu", "--size", "32"])
    assert rc == 0
    assert fake_synth == [(32, 3, 0.125)]
    side = json.loads((tmp_path / "diffnet.json").read_text())
    assert side["steps"] == 2 and side["config"]["seed"] == 3 and side["config"]["arch"] == "resnet18-os16"  # the synthetic default (8 x 8 CAM grid)
    assert (tmp_path / "diffnet.pt").is_file()
    assert "held-out accuracy" in capsys.readouterr().out


def test_cli_paper_without_assets_names_the_download(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PAPERLIB_HOME", str(tmp_path / "empty-cache"))
    assert _cli(["train", "--profile", "paper"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: profile 'paper': the paper pair source needs the pSp/StyleGAN2 weights "
                          "psp_ffhq_encode.pt (run `python -m paperlib download psp-ffhq-encode`")
    assert "python -m paperlib download eogi-direction-beard eogi-direction-bushy-eyebrows" in err
    assert "--directions DIR" in err and "--data DIR" in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_profile():
    with pytest.raises(ValueError, match=r"^profile: unknown profile 'imaginary'; expected one of synthetic, paper$"):
        pair_source_for("imaginary")


# ------------------------------------------------------------------------------- paper source
class FakeDecoder(nn.Module):
    def forward(self, styles, input_is_latent=False):
        w = styles[0]
        img = torch.tanh(w[:, :3, :64].reshape(-1, 3, 8, 8))
        return nn.functional.interpolate(img, size=64, mode="nearest") + 0.01 * torch.randn(img.shape[0], 3, 64, 64), None


class FakePSP(nn.Module):
    """Stands in for paperlib.models.psp.PSP: ``encoder``, ``latent_avg``, ``decoder``."""

    def __init__(self):
        super().__init__()
        self.decoder = FakeDecoder()
        self.register_buffer("latent_avg", torch.zeros(18, 512))

    def encoder(self, x):
        assert x.shape[-2:] == (256, 256)  # faces reach the encoder at 256x256
        return x.mean((1, 2, 3))[:, None, None].expand(-1, 18, 512).clone()


class FakePSPInvert(FakePSP):
    def invert(self, x):
        return self.encoder(x) + 5.0


@pytest.fixture
def face_files(tmp_path):
    from PIL import Image

    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.png"
        Image.fromarray(np.full((40, 40, 3), 60 * i, dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def test_latent_edit_pairs(face_files):
    torch.manual_seed(0)
    directions = torch.randn(7, 18, 512)
    source = LatentEditPairs(FakePSP(), directions / directions.norm(dim=(1, 2), keepdim=True), face_files, size=32)
    torch.manual_seed(1)
    x, y = source.sample_pairs(torch.Generator().manual_seed(0), 5)
    assert x.shape == (5, 6, 32, 32) and y.shape == (5,) and y.dtype == torch.long
    assert x.abs().max() <= 1 and int(y.max()) < 7
    torch.manual_seed(1)
    x2, y2 = source.sample_pairs(torch.Generator().manual_seed(0), 5)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.allclose(x[:, :3], x[:, 3:], atol=0.1)  # the edit moved the image
    same = LatentEditPairs(FakePSP(), directions, face_files, size=32, alpha=0.0)
    x0, _ = same.sample_pairs(torch.Generator().manual_seed(0), 5)
    assert torch.allclose(x0[:, :3], x0[:, 3:], atol=0.1)  # alpha 0: only StyleGAN noise differs
    shifted = LatentEditPairs(FakePSPInvert(), directions, face_files, size=32, alpha=0.0)
    x5, _ = shifted.sample_pairs(torch.Generator().manual_seed(0), 5)
    assert not torch.allclose(x5, x0, atol=0.1)  # PSP.invert is preferred to encoder + latent_avg


def test_load_directions(tmp_path):
    rng = np.random.default_rng(0)
    raw = {}
    for name in ATTRIBUTES:
        raw[name] = rng.normal(size=(18, 512)).astype(np.float32) * (1 + CLASS_INDEX[name])
        np.save(tmp_path / f"{name}.npy", raw[name])
    d = load_directions(tmp_path)
    assert d.shape == (7, 18, 512)
    for name, k in CLASS_INDEX.items():
        assert torch.allclose(d[k], torch.from_numpy(raw[name] / np.linalg.norm(raw[name])), atol=1e-6)
    (tmp_path / "Old.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"^directions: .* lacks Old\.npy \(EOGI's directions/ folder\)$"):
        load_directions(tmp_path)


def test_directions_from_the_asset_cache(monkeypatch, tmp_path):
    from paperlib.infra.assets import ASSETS

    assert [direction_asset(n) for n in sorted(ATTRIBUTES)] == [
        "eogi-direction-beard", "eogi-direction-bushy-eyebrows", "eogi-direction-eyeglasses",
        "eogi-direction-mouth-open", "eogi-direction-narrow-eyes", "eogi-direction-old", "eogi-direction-smiling"]
    assert all(direction_asset(n) in ASSETS for n in ATTRIBUTES)
    monkeypatch.setenv("PAPERLIB_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"^directions: not in the paperlib cache; run `python -m paperlib "
                       r"download eogi-direction-beard .* eogi-direction-smiling` or pass a folder"):
        load_directions()
