"""StyleGAN2 generator: official state_dict layout, forward semantics, checkpoint round trips."""

import copy

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_matches_manifest
from paperlib.models import CheckpointMismatch
from paperlib.models.op import make_kernel
from paperlib.models.stylegan2 import Generator, ModulatedConv2d

#: semantics are checked at 8 px (n_latent 4, 3 noise layers): the 512-channel layers are slow on CPU
SMALL = dict(size=8, style_dim=32, n_mlp=2, channel_multiplier=1)
D = SMALL["style_dim"]


def randomise(gen: Generator, seed: int = 0) -> Generator:
    """Give the zero-initialised parameters (noise strengths, biases) non-trivial values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith("noise.weight") or name.endswith("bias"):
                p.add_(0.3 * torch.randn(p.shape, generator=g))
    return gen.eval()


@pytest.fixture(scope="module")
def g1024() -> Generator:
    torch.manual_seed(0)
    return Generator()


@pytest.fixture(scope="module")
def small() -> Generator:
    torch.manual_seed(0)
    return randomise(Generator(**SMALL))


# ------------------------------------------------------------------------------- official layout
def test_state_dict_equals_manifest(g1024, shared):
    assert_matches_manifest(copy.deepcopy(g1024), shared / "manifests" / "stylegan2-ffhq-1024.json")


def test_official_configuration(g1024):
    assert g1024.n_latent == 18 and g1024.num_layers == 17
    assert len(g1024.convs) == 16 and len(g1024.to_rgbs) == 8
    assert [g1024.convs[i].conv.out_channels for i in range(0, 16, 2)] == [512, 512, 512, 512, 256, 128, 64, 32]
    sd = g1024.state_dict()
    assert sd["noises.noise_0"].shape == (1, 1, 4, 4) and sd["noises.noise_16"].shape == (1, 1, 1024, 1024)
    # FIR buffers: [1,3,3,1] outer product, normalised, times 4 for the 2x upsampling gain
    expected = make_kernel([1, 3, 3, 1]) * 4
    for key in ("convs.0.conv.blur.kernel", "convs.14.conv.blur.kernel", "to_rgbs.7.upsample.kernel"):
        assert torch.equal(sd[key], expected)
    # equalized-lr mapping: weights stored at 1/lr_mul scale, modulation bias starts at 1
    assert g1024.style[1].lr_mul == 0.01 and g1024.style[1].weight.std().item() == pytest.approx(100, rel=0.05)
    assert torch.equal(sd["convs.3.conv.modulation.bias"], torch.ones(512))


# ----------------------------------------------------------------------------------- forward
@pytest.mark.parametrize("size", [64, 128])
def test_forward_shapes_and_finite(size):
    torch.manual_seed(1)
    gen = randomise(Generator(size=size, style_dim=32, n_mlp=2, channel_multiplier=1))
    assert gen.n_latent == {64: 10, 128: 12}[size]
    batch = {64: 2, 128: 1}[size]
    with torch.no_grad():
        img, latent = gen([torch.randn(batch, 32)], return_latents=True)
    assert img.shape == (batch, 3, size, size)
    assert torch.isfinite(img).all() and img.std() > 0
    assert latent.shape == (batch, gen.n_latent, 32)


def test_fixed_noise_is_deterministic(small):
    z = torch.randn(1, D)
    with torch.no_grad():
        a, _ = small([z], randomize_noise=False)
        b, _ = small([z], randomize_noise=False)
        c, _ = small([z], noise=[getattr(small.noises, f"noise_{i}") for i in range(small.num_layers)])
        r1, _ = small([z])
        r2, _ = small([z])
    assert torch.equal(a, b)
    assert torch.allclose(a, c, atol=1e-6)
    assert not torch.allclose(r1, r2, atol=1e-3)  # fresh noise each call (noise strengths are non-zero)
    assert not torch.allclose(a, r1, atol=1e-3)


def test_w_and_w_plus_inputs(small):
    z = torch.randn(2, D)
    with torch.no_grad():
        w = small.get_latent(z)
        from_z, latent = small([z], return_latents=True, randomize_noise=False)
        from_w, _ = small([w], input_is_latent=True, randomize_noise=False)
        wplus = w[:, None].repeat(1, small.n_latent, 1)
        from_wplus, _ = small([wplus], input_is_latent=True, randomize_noise=False)
        mixed = wplus.clone()
        mixed[:, 2:] = small.get_latent(torch.randn(2, D))[:, None]
        from_mixed, _ = small([mixed], input_is_latent=True, randomize_noise=False)
        bare, _ = small(mixed, input_is_latent=True, randomize_noise=False)  # a bare tensor is accepted
    assert torch.allclose(latent, wplus, atol=1e-6)
    assert torch.allclose(from_z, from_w, atol=1e-5)
    assert torch.allclose(from_z, from_wplus, atol=1e-5)
    assert not torch.allclose(from_mixed, from_wplus, atol=1e-3)  # every W+ row is used
    assert torch.equal(bare, from_mixed)


def test_style_mixing_equals_manual_w_plus(small):
    z1, z2 = torch.randn(2, D), torch.randn(2, D)
    with torch.no_grad():
        img, latent = small([z1, z2], inject_index=3, return_latents=True, randomize_noise=False)
        w1, w2 = small.get_latent(z1), small.get_latent(z2)
        manual = torch.cat([w1[:, None].repeat(1, 3, 1), w2[:, None].repeat(1, small.n_latent - 3, 1)], 1)
        ref, _ = small([manual], input_is_latent=True, randomize_noise=False)
    assert torch.allclose(latent, manual, atol=1e-6)
    assert torch.allclose(img, ref, atol=1e-5)


def test_truncation(small):
    torch.manual_seed(3)
    mean = small.mean_latent(256)
    torch.manual_seed(3)
    assert torch.allclose(mean, small.style(torch.randn(256, D)).mean(0, keepdim=True), atol=1e-6)
    assert mean.shape == (1, D)
    z = torch.randn(2, D)
    with torch.no_grad():
        w = small.get_latent(z)
        zero, _ = small([z], truncation=0.0, truncation_latent=mean, randomize_noise=False)
        at_mean, _ = small([mean.expand(2, -1)], input_is_latent=True, randomize_noise=False)
        half, _ = small([z], truncation=0.5, truncation_latent=mean, randomize_noise=False)
        manual, _ = small([mean + 0.5 * (w - mean)], input_is_latent=True, randomize_noise=False)
        full, _ = small([z], truncation=1.0, truncation_latent=mean, randomize_noise=False)
        plain, _ = small([z], randomize_noise=False)
    assert torch.allclose(zero, at_mean, atol=1e-5)
    assert torch.allclose(zero[0], zero[1], atol=1e-5)  # every sample collapses to the mean image
    assert torch.allclose(half, manual, atol=1e-5)
    assert torch.equal(full, plain)


def test_modulated_upsampling_conv_matches_per_sample_reference():
    """The grouped transposed conv + blur equals an explicit per-sample computation."""
    torch.manual_seed(4)
    mod = ModulatedConv2d(5, 7, 3, style_dim=6, upsample=True)
    with torch.no_grad():
        mod.modulation.bias.add_(torch.randn(5))
        x, style = torch.randn(3, 5, 6, 6), torch.randn(3, 6)
        out = mod(x, style)
        assert out.shape == (3, 7, 12, 12)
        s = F.linear(style, mod.modulation.weight / 6 ** 0.5, mod.modulation.bias)
        blur = torch.flip(make_kernel([1, 3, 3, 1]) * 4, (0, 1))[None, None].expand(7, 1, 4, 4)
        for b in range(3):
            w = mod.weight[0] / (5 * 9) ** 0.5 * s[b][None, :, None, None]  # (out, in, 3, 3)
            w = w / w.pow(2).sum((1, 2, 3), keepdim=True).add(1e-8).sqrt()
            up = torch.zeros(1, 5, 11, 11)
            up[:, :, ::2, ::2] = x[b:b + 1]
            # a stride-2 transposed conv = conv of the zero-inserted input with the flipped, swapped kernel
            tconv = F.conv2d(up, torch.flip(w, (2, 3)), padding=2)  # (1, 7, 13, 13)
            ref = F.conv2d(F.pad(tconv, (1, 1, 1, 1)), blur, groups=7)
            assert torch.allclose(out[b:b + 1], ref, atol=1e-5)


def test_modulated_conv_without_upsampling_matches_per_sample_reference():
    torch.manual_seed(5)
    mod = ModulatedConv2d(4, 6, 3, style_dim=5)
    to_rgb = ModulatedConv2d(4, 3, 1, style_dim=5, demodulate=False)
    with torch.no_grad():
        x, style = torch.randn(2, 4, 8, 8), torch.randn(2, 5)
        out, rgb = mod(x, style), to_rgb(x, style)
        for b in range(2):
            s = F.linear(style[b], mod.modulation.weight / 5 ** 0.5, mod.modulation.bias)
            w = mod.weight[0] / 36 ** 0.5 * s[None, :, None, None]
            w = w / w.pow(2).sum((1, 2, 3), keepdim=True).add(1e-8).sqrt()
            assert torch.allclose(out[b:b + 1], F.conv2d(x[b:b + 1], w, padding=1), atol=1e-5)
            s = F.linear(style[b], to_rgb.modulation.weight / 5 ** 0.5, to_rgb.modulation.bias)
            w = to_rgb.weight[0] / 2 * s[None, :, None, None]
            assert torch.allclose(rgb[b:b + 1], F.conv2d(x[b:b + 1], w), atol=1e-5)


# ------------------------------------------------------------------------------- checkpoints
def _outputs(gen: Generator) -> torch.Tensor:
    torch.manual_seed(7)
    with torch.no_grad():
        return gen([torch.randn(2, D)], randomize_noise=False)[0]


def test_round_trip_psp_layout(small, tmp_path):
    sd = small.state_dict()
    latent_avg = torch.randn(small.n_latent, D)
    path = tmp_path / "psp.pt"
    torch.save({"state_dict": {**{f"decoder.{k}": v for k, v in sd.items()},
                               "encoder.body.0.weight": torch.zeros(3)},
                "latent_avg": latent_avg, "opts": {"output_size": 8}}, path)
    loaded = Generator.from_checkpoint(path, **SMALL)
    assert not loaded.training
    assert torch.equal(loaded.latent_avg, latent_avg)
    assert torch.equal(_outputs(loaded), _outputs(small))


def test_round_trip_g_ema_and_raw_layouts(small, tmp_path):
    sd = small.state_dict()
    torch.save({"g_ema": sd, "d": {"convs.0.0.weight": torch.zeros(1)}}, tmp_path / "rosinality.pt")
    torch.save(sd, tmp_path / "raw.pt")
    expected = _outputs(small)
    for name in ("rosinality.pt", "raw.pt"):
        loaded = Generator.from_checkpoint(tmp_path / name, **SMALL)
        assert loaded.latent_avg is None
        assert torch.equal(_outputs(loaded), expected)


def test_mismatched_files_name_the_key(small, tmp_path):
    sd = small.state_dict()
    missing = {f"decoder.{k}": v for k, v in sd.items() if k != "to_rgbs.0.bias"}
    torch.save({"state_dict": missing}, tmp_path / "missing.pt")
    with pytest.raises(CheckpointMismatch, match=r"missing 1: to_rgbs\.0\.bias"):
        Generator.from_checkpoint(tmp_path / "missing.pt", **SMALL)

    torch.save({"g_ema": {**sd, "style.9.weight": torch.zeros(D, D)}}, tmp_path / "extra.pt")
    with pytest.raises(CheckpointMismatch, match=r"unexpected 1: style\.9\.weight"):
        Generator.from_checkpoint(tmp_path / "extra.pt", **SMALL)

    torch.save({**sd, "conv1.conv.weight": torch.zeros(1, 512, 512, 1, 1)}, tmp_path / "shape.pt")
    with pytest.raises(CheckpointMismatch, match=r"wrong shape 1: conv1\.conv\.weight \(1, 512, 512, 1, 1\) vs \(1, 512, 512, 3, 3\)"):
        Generator.from_checkpoint(tmp_path / "shape.pt", **SMALL)

    # an 8 px file into the default 1024 px generator: the higher-resolution layers are missing
    torch.save(sd, tmp_path / "small.pt")
    with pytest.raises(CheckpointMismatch, match=r"missing \d+: .*convs\.10"):
        Generator.from_checkpoint(tmp_path / "small.pt")

    torch.save({"state_dict": {"encoder.w": torch.zeros(1)}, "latent_avg": torch.zeros(1)}, tmp_path / "enc.pt")
    with pytest.raises(CheckpointMismatch, match="no StyleGAN2 generator found"):
        Generator.from_checkpoint(tmp_path / "enc.pt", **SMALL)


# ------------------------------------------------------------------------------- bad input
def test_bad_arguments(small):
    with pytest.raises(ValueError, match=r"size: expected a power of two from 4 to 1024, got 100"):
        Generator(size=100)
    with pytest.raises(ValueError, match=r"styles: W\+ codes need 4 rows at 8 px, got shape \(1, 18, 32\)"):
        small([torch.randn(1, 18, D)], input_is_latent=True)
    with pytest.raises(ValueError, match=r"W\+ codes need input_is_latent=True"):
        small([torch.randn(1, 4, D)])
    with pytest.raises(ValueError, match="truncation_latent: required when truncation < 1"):
        small([torch.randn(1, D)], truncation=0.7)
    with pytest.raises(ValueError, match=r"noise: expected 3 maps \(one per layer\), got 2"):
        small([torch.randn(1, D)], noise=[None] * 2)
    with pytest.raises(ValueError, match=r"inject_index: expected an integer from 0 to 4, got 5"):
        small([torch.randn(1, D), torch.randn(1, D)], inject_index=5)
