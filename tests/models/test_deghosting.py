import copy
import math
import re

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_matches_manifest
from paperlib.models import CheckpointMismatch
from paperlib.models.deghosting import Deghosting, StyleBank, _ModulatedConv2d, stage_channels
from paperlib.models.op import upfirdn2d

#: a light network of the same structure: in 32 -> out 128
SMALL = dict(channel_base=2048, channel_max=16, style_channels=16, rrdb_channels=8, num_rrdbs=2,
             growth_channels=4, decoder_channels=8, num_mlps=2)


def _small(seed: int = 0) -> Deghosting:
    """A random small network whose noise weights are non-zero, so the noise buffers matter."""
    torch.manual_seed(seed)
    net = Deghosting(32, 128, **SMALL)
    with torch.no_grad():
        for conv in [net.generator.conv1, *net.generator.convs]:
            conv.noise_injector.weight.fill_(0.3)
            conv.activate.bias.normal_(0, 0.1)
        for rgb in [net.generator.to_rgb1, *net.generator.to_rgbs]:
            rgb.bias.normal_(0, 0.1)
    return net.eval()


def _input(batch: int = 2, size: int = 32, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, size, size, generator=g) * 2 - 1


@pytest.fixture(scope="module")
def full() -> Deghosting:
    torch.manual_seed(0)
    return Deghosting()


def test_state_dict_equals_official_manifest(shared, full):
    assert_matches_manifest(copy.deepcopy(full), shared / "manifests" / "eogi-deghosting-128-1024.json")


def test_full_config_structure(full):
    assert [full.channels[2 ** i] for i in range(2, 11)] == [512] * 5 + [256, 128, 64, 32]
    assert full.generator.num_latents == 18 and full.generator.num_injected_noises == 17
    assert full.FCN.encoder[-1][-1].out_features == 18 * 512
    assert not any(p.requires_grad for p in full.generator.parameters())
    assert all(p.requires_grad for p in full.FCN.parameters())
    # the blur kernels are the [1, 3, 3, 1] FIR scaled by 4 (upsampling by 2)
    k = torch.tensor([1.0, 3, 3, 1])
    expected = torch.outer(k, k) / 64 * 4
    assert torch.allclose(full.generator.convs[0].conv.blur.kernel, expected)
    assert torch.allclose(full.generator.to_rgbs[3].upsample.kernel, expected)
    assert stage_channels(1024) == 32 and stage_channels(4) == 512


def test_forward_small_shapes_finite_and_deterministic():
    net = _small()
    x = _input()
    with torch.no_grad():
        y, rgb = net(x, return_rgb=True)
        y2 = net(x)
    assert y.shape == (2, 3, 128, 128) and rgb.shape == (2, 3, 128, 128)
    assert torch.isfinite(y).all() and torch.isfinite(rgb).all()
    assert torch.equal(y, y2)
    assert y.std() > 0 and not torch.allclose(y[0], y[1])
    # batch items are independent
    with torch.no_grad():
        assert torch.allclose(net(x[1:]), y[1:], atol=1e-5)


def test_forward_uses_stored_noise_buffers():
    net = _small()
    x = _input()
    with torch.no_grad():
        before = net(x)
        net.generator.injected_noise_5.normal_()  # 32x32: a stage fed to the decoder through fusion
        after = net(x)
    assert not torch.allclose(before, after)


def test_latents_and_encoder_maps():
    net = _small()
    with torch.no_grad():
        latent, enc = net.encode(_input())
    assert latent.shape == (2, 2 * 7 - 2, 16)
    assert [tuple(e.shape[1:]) for e in enc] == [(16, 4, 4), (16, 8, 8), (16, 16, 16), (16, 32, 32)]


def test_modulated_conv_matches_per_sample_reference():
    torch.manual_seed(0)
    for upsample in (False, True):
        conv = _ModulatedConv2d(6, 5, 3, 8, upsample=upsample)
        x, style = torch.randn(2, 6, 7, 7), torch.randn(2, 8)
        out = conv(x, style)
        for b in range(2):
            s = style[b] @ (conv.style_modulation.linear.weight_orig / math.sqrt(8)).T + conv.style_modulation.bias
            w = conv.weight_orig[0] / math.sqrt(6 * 9) * s.view(1, 6, 1, 1)
            w = w * torch.rsqrt(w.pow(2).sum((1, 2, 3), keepdim=True) + 1e-8)
            if upsample:
                ref = F.conv_transpose2d(x[b:b + 1], w.transpose(0, 1), stride=2)
                ref = upfirdn2d(ref, conv.blur.kernel, pad=(1, 1))
            else:
                ref = F.conv2d(x[b:b + 1], w, padding=1)
            assert torch.allclose(out[b:b + 1], ref, atol=1e-5)
        assert out.shape == ((2, 5, 14, 14) if upsample else (2, 5, 7, 7))


def test_mapping_uses_equalized_lr_with_lr_mul():
    torch.manual_seed(0)
    bank = StyleBank(8, style_channels=4, num_mlps=1, channels={4: 4, 8: 4})
    layer = bank.style_mapping[1]
    with torch.no_grad():
        layer.bias.fill_(2.0)
    z = torch.randn(3, 4)
    zn = z / (z.norm(dim=1, keepdim=True) / 2 + 1e-6)
    ref = F.leaky_relu(zn @ (layer.linear.weight_orig * 0.01 / 2).T + 2.0 * 0.01, 0.2) * math.sqrt(2)
    assert torch.allclose(bank.style_mapping(z), ref, atol=1e-6)
    assert "linear.weight" not in dict(layer.named_parameters())


def test_round_trip_raw_state_dict(tmp_path):
    net = _small(seed=3)
    path = tmp_path / "deghosting.pt"
    torch.save(net.state_dict(), path)
    loaded = Deghosting.from_checkpoint(path, in_size=32, out_size=128, **SMALL)
    assert not loaded.training
    x = _input()
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
        assert not torch.allclose(_small(seed=4)(x), net(x))
    assert torch.equal(loaded.generator.injected_noise_10, net.generator.injected_noise_10)


@pytest.mark.parametrize("change, named", [
    (lambda sd: sd.pop("generator.injected_noise_3"), r"missing 1: generator\.injected_noise_3"),
    (lambda sd: sd.__setitem__("FCN.extra.weight", torch.zeros(1)), r"unexpected 1: FCN\.extra\.weight"),
    (lambda sd: sd.__setitem__("generator.convs.2.conv.weight_orig", torch.zeros(1, 16, 16, 1, 1)),
     r"wrong shape 1: generator\.convs\.2\.conv\.weight_orig \(1, 16, 16, 1, 1\) vs \(1, 16, 16, 3, 3\)"),
    (lambda sd: sd.__setitem__("FCN.decoder.0.upsample_conv.weight", torch.zeros(8, 8, 3, 3)),
     r"wrong shape 1: FCN\.decoder\.0\.upsample_conv\.weight \(8, 8, 3, 3\) vs \(64, 16, 3, 3\)"),
])
def test_mismatched_file_raises(tmp_path, change, named):
    sd = _small().state_dict()
    change(sd)
    path = tmp_path / "bad.pt"
    torch.save(sd, path)
    with pytest.raises(CheckpointMismatch, match=rf"^{re.escape(str(path))}: does not match Deghosting: {named}$"):
        Deghosting.from_checkpoint(path, in_size=32, out_size=128, **SMALL)


def test_full_size_file_does_not_load_into_small_config(tmp_path, full):
    path = tmp_path / "deghosting.pt"
    torch.save({k: v for k, v in full.state_dict().items() if k.startswith("FCN.fusion")}, path)
    with pytest.raises(CheckpointMismatch, match=r"does not match Deghosting: missing \d+: "):
        Deghosting.from_checkpoint(path, in_size=32, out_size=128, **SMALL)


def test_forward_rejects_wrong_size():
    net = _small()
    with pytest.raises(ValueError, match=re.escape("lq: expected shape (B, 3, 32, 32), got (1, 3, 64, 64)")):
        net(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match=re.escape("lq: expected shape (B, 3, 32, 32), got (1, 1, 32, 32)")):
        net(torch.zeros(1, 1, 32, 32))


@pytest.mark.parametrize("kwargs, message", [
    (dict(in_size=48, out_size=128), "in_size: expected a power of two with 4 <= in_size < out_size (128), got 48"),
    (dict(in_size=128, out_size=128), "in_size: expected a power of two with 4 <= in_size < out_size (128), got 128"),
    (dict(in_size=32, out_size=100), "out_size: expected a power of two >= 8, got 100"),
    (dict(in_size=32, out_size=128, style_channels=0), "style_channels: expected a positive integer, got 0"),
    (dict(in_size=32, out_size=128, channel_base=64), "channel_base: expected an integer >= out_size (128), got 64"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Deghosting(**{**SMALL, **kwargs})
