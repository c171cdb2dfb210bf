"""EOGI's deghosting (artifact suppression) network: a GLEAN-style encoder + StyleGAN2 bank + decoder.

The network takes a low-resolution image (``in_size``, 128 in EOGI) and produces the restored image
at ``out_size`` (1024). It has two parts whose parameter names equal EOGI's ``Deghosting`` so that
its released ``deghosting.pt`` (a raw state_dict) loads with ``strict=True``:

``FCN``
    * ``encoder[0]``: an RRDB feature extractor (``conv_first``, ``body`` of residual-in-residual
      dense blocks, ``conv_body``, ``conv_up`` + leaky ReLU) giving ``channels[in_size]`` maps;
    * ``encoder[1:]``: stride-2 conv pairs down to 4x4, and a last block (conv, flatten, linear)
      that predicts the ``2 * log2(out_size) - 2`` latent codes of the StyleGAN2 bank;
    * ``fusion_out`` / ``fusion_skip``: 3x3 convs that fuse each encoder map (4x4 .. in_size) into
      the generator's features / RGB skip before the generator upsamples them;
    * ``decoder``: pixel-shuffle upsamplers from ``in_size`` to ``out_size``, each fed with the
      previous output concatenated with the generator's features at that size, then two convs to RGB.

``generator``
    A StyleGAN2 generator in mmediting's ``StyleGANv2Generator`` naming (``style_mapping``,
    ``constant_input``, ``conv1``, ``to_rgb1``, ``convs``, ``to_rgbs``, buffers
    ``injected_noise_N``). Its equalized-learning-rate weights are stored as ``*.weight_orig`` and
    scaled by ``gain * lr_mul / sqrt(fan_in)`` at every forward, as mmediting's ``EqualizedLR`` hook
    does. The mapping network is part of the file but unused by the forward (latents come from the
    encoder); the stored ``injected_noise_N`` buffers are always used, so the forward is
    deterministic.

The official forward also builds an RGB ``skip`` through ``to_rgb*`` / ``fusion_skip`` and then
discards it; ours computes it only when asked (``return_rgb=True``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_tensor
from ._checkpoint import extract_state_dict, load_strict, read_checkpoint
from .op import FusedLeakyReLU, fused_leaky_relu, make_kernel, upfirdn2d
from .stylegan2 import ToRGB, grouped_modulated_conv

#: StyleGAN2 (channel_multiplier=2) widths: ``min(CHANNEL_MAX, CHANNEL_BASE // resolution)``.
CHANNEL_BASE = 32768
CHANNEL_MAX = 512
BLUR_TAPS = (1, 3, 3, 1)


def stage_channels(size: int, channel_base: int = CHANNEL_BASE, channel_max: int = CHANNEL_MAX) -> int:
    """Feature width at resolution ``size``: 512 up to 64x64, then halving (32 at 1024)."""
    return min(channel_max, channel_base // size)


def _is_pow2(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1 and v & (v - 1) == 0


# --------------------------------------------------------------------------- StyleGAN2 pieces


class _PixelNorm(nn.Module):
    """mmediting's pixel norm: ``x / (||x||_2 / sqrt(C) + eps)`` over channels."""

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.linalg.vector_norm(x, 2, dim=1, keepdim=True) / math.sqrt(x.shape[1])
        return x / (norm + self.eps)


class _EqualizedLinear(nn.Module):
    """Bias-free linear layer with an equalized learning rate: stores ``weight_orig``, uses
    ``weight_orig * gain * lr_mul / sqrt(in_features)``."""

    def __init__(self, in_features: int, out_features: int, lr_mul: float = 1.0, gain: float = 1.0) -> None:
        super().__init__()
        self.weight_orig = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.scale = gain * lr_mul / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight_orig * self.scale)


class _StyleLinear(nn.Module):
    """mmediting's ``EqualLinearActModule``: ``linear`` (equalized, no bias) + ``bias * lr_mul``,
    optionally followed by the fused bias leaky ReLU (slope 0.2, gain sqrt(2))."""

    def __init__(self, in_features: int, out_features: int, lr_mul: float = 1.0,
                 bias_init: float = 0.0, activate: bool = False) -> None:
        super().__init__()
        self.linear = _EqualizedLinear(in_features, out_features, lr_mul=lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x.reshape(x.shape[0], -1))
        if self.activate:
            return fused_leaky_relu(x, self.bias * self.lr_mul)
        return x + self.bias * self.lr_mul


class _Blur(nn.Module):
    """FIR low-pass (buffer ``kernel``) with fixed padding; ``up`` inserts zeros first."""

    def __init__(self, pad: tuple[int, int], gain: float = 1.0, up: int = 1) -> None:
        super().__init__()
        self.register_buffer("kernel", make_kernel(BLUR_TAPS) * gain)
        self.pad = pad
        self.up = up

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.up, pad=self.pad)


class _ModulatedConv2d(nn.Module):
    """Style-modulated (and optionally demodulated) conv; ``upsample`` = transposed conv + blur."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_channels: int,
                 demodulate: bool = True, upsample: bool = False, eps: float = 1e-8) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.demodulate, self.upsample, self.eps = demodulate, upsample, eps
        self.style_modulation = _StyleLinear(style_channels, in_channels, bias_init=1.0)
        self.weight_orig = nn.Parameter(torch.randn(1, out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size ** 2)
        if upsample:
            p = (len(BLUR_TAPS) - 2) - (kernel_size - 1)
            self.blur = _Blur(((p + 1) // 2 + 1, p // 2 + 1), gain=4.0)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        s = self.style_modulation(style).view(n, 1, c, 1, 1)
        weight = self.weight_orig * self.scale * s  # (n, out, in, k, k)
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum((2, 3, 4)) + self.eps).view(n, self.out_channels, 1, 1, 1)
        return grouped_modulated_conv(x, weight, self.kernel_size // 2, self.blur if self.upsample else None)


class _NoiseInjection(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + self.weight * noise


class _StyleConv(nn.Module):
    """``conv`` (modulated 3x3) + ``noise_injector`` + ``activate`` (fused bias leaky ReLU)."""

    def __init__(self, in_channels: int, out_channels: int, style_channels: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = _ModulatedConv2d(in_channels, out_channels, 3, style_channels, upsample=upsample)
        self.noise_injector = _NoiseInjection()
        self.activate = FusedLeakyReLU(out_channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.activate(self.noise_injector(self.conv(x, style), noise))


class _ToRGB(nn.Module):
    """1x1 modulated conv (no demodulation) + ``bias``; adds the upsampled previous RGB ``skip``."""

    def __init__(self, in_channels: int, style_channels: int, upsample: bool = True) -> None:
        super().__init__()
        if upsample:
            p = len(BLUR_TAPS) - 2
            self.upsample = _Blur(((p + 1) // 2 + 1, p // 2), gain=4.0, up=2)
        self.conv = _ModulatedConv2d(in_channels, 3, 1, style_channels, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    forward = ToRGB.forward  # same computation as rosinality's ToRGB, other layer classes


class _ConstantInput(nn.Module):
    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.expand(batch, -1, -1, -1)


class StyleBank(nn.Module):
    """The StyleGAN2 generator used as a latent bank, in mmediting's ``StyleGANv2Generator`` naming.

    Only its layers are used (by :class:`Deghosting`); ``style_mapping`` (pixel norm + ``num_mlps``
    equalized linears with lr_mul 0.01) is kept so the official file loads, and is callable.
    """

    def __init__(self, out_size: int, style_channels: int = 512, num_mlps: int = 8,
                 channels: dict[int, int] | None = None, lr_mlp: float = 0.01) -> None:
        super().__init__()
        ch = channels or {2 ** i: stage_channels(2 ** i) for i in range(2, int(math.log2(out_size)) + 1)}
        self.out_size, self.style_channels = out_size, style_channels
        self.style_mapping = nn.Sequential(_PixelNorm(), *[
            _StyleLinear(style_channels, style_channels, lr_mul=lr_mlp, activate=True) for _ in range(num_mlps)
        ])
        self.constant_input = _ConstantInput(ch[4])
        self.conv1 = _StyleConv(ch[4], ch[4], style_channels)
        self.to_rgb1 = _ToRGB(ch[4], style_channels, upsample=False)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        log_size = int(math.log2(out_size))
        prev = ch[4]
        for i in range(3, log_size + 1):
            c = ch[2 ** i]
            self.convs.append(_StyleConv(prev, c, style_channels, upsample=True))
            self.convs.append(_StyleConv(c, c, style_channels))
            self.to_rgbs.append(_ToRGB(c, style_channels))
            prev = c
        self.num_latents = 2 * log_size - 2
        self.num_injected_noises = self.num_latents - 1
        for i in range(self.num_injected_noises):
            res = 2 ** ((i + 5) // 2)
            self.register_buffer(f"injected_noise_{i}", torch.randn(1, 1, res, res))

    def noises(self) -> list[torch.Tensor]:
        """The stored noise maps, one per style conv (4x4, 8x8, 8x8, 16x16, ...)."""
        return [getattr(self, f"injected_noise_{i}") for i in range(self.num_injected_noises)]


# --------------------------------------------------------------------------- encoder / decoder


class _DenseBlock(nn.Module):
    """Residual dense block: five 3x3 convs on the growing concatenation, residual scaled by 0.2."""

    def __init__(self, channels: int, growth: int) -> None:
        super().__init__()
        for i in range(5):
            self.add_module(f"conv{i + 1}", nn.Conv2d(channels + i * growth, channels if i == 4 else growth, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for i in range(1, 5):
            feats.append(F.leaky_relu(getattr(self, f"conv{i}")(torch.cat(feats, 1)), 0.2))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class _RRDB(nn.Module):
    def __init__(self, channels: int, growth: int) -> None:
        super().__init__()
        self.rdb1 = _DenseBlock(channels, growth)
        self.rdb2 = _DenseBlock(channels, growth)
        self.rdb3 = _DenseBlock(channels, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class _RRDBNet(nn.Module):
    """``conv_first`` -> ``body`` (RRDBs) -> ``conv_body`` (+ skip) -> ``conv_up`` -> leaky ReLU."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, num_blocks: int, growth: int) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, 1, 1)
        self.body = nn.Sequential(*[_RRDB(mid_channels, growth) for _ in range(num_blocks)])
        self.conv_body = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_up = nn.Conv2d(mid_channels, out_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        return F.leaky_relu(self.conv_up(feat), 0.2)


class _PixelShufflePack(nn.Module):
    """``upsample_conv`` (3x3 to ``4 * out_channels``) then pixel shuffle x2."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.upsample_conv = nn.Conv2d(in_channels, out_channels * 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.upsample_conv(x), 2)


class _FCN(nn.Module):
    """Encoder, fusion convs and decoder of EOGI's deghosting network (``FCN.*``)."""

    def __init__(self, in_size: int, out_size: int, channels: dict[int, int], style_channels: int,
                 rrdb_channels: int, num_rrdbs: int, growth_channels: int, decoder_channels: int) -> None:
        super().__init__()
        self.in_size, self.style_channels = in_size, style_channels
        num_styles = 2 * int(math.log2(out_size)) - 2
        self.encoder = nn.ModuleList([
            _RRDBNet(3, rrdb_channels, channels[in_size], num_rrdbs, growth_channels)
        ])
        for res in [2 ** i for i in range(int(math.log2(in_size)), 1, -1)]:
            c = channels[res]
            if res > 4:
                c2 = channels[res // 2]
                self.encoder.append(nn.Sequential(
                    nn.Conv2d(c, c2, 3, 2, 1), nn.LeakyReLU(0.2),
                    nn.Conv2d(c2, c2, 3, 1, 1), nn.LeakyReLU(0.2)))
            else:
                self.encoder.append(nn.Sequential(
                    nn.Conv2d(c, c, 3, 1, 1), nn.LeakyReLU(0.2), nn.Flatten(),
                    nn.Linear(16 * c, num_styles * style_channels)))
        fuse_res = [2 ** i for i in range(2, int(math.log2(in_size)) + 1)]
        self.fusion_out = nn.ModuleList([nn.Conv2d(2 * channels[r], channels[r], 3, 1, 1) for r in fuse_res])
        self.fusion_skip = nn.ModuleList([nn.Conv2d(channels[r] + 3, 3, 3, 1, 1) for r in fuse_res])
        self.decoder = nn.ModuleList()
        for res in [2 ** i for i in range(int(math.log2(in_size)), int(math.log2(out_size)) + 1)]:
            c_in = channels[res] if res == in_size else 2 * channels[res]
            if res < out_size:
                self.decoder.append(_PixelShufflePack(c_in, channels[res * 2]))
            else:
                self.decoder.append(nn.Sequential(
                    nn.Conv2d(c_in, decoder_channels, 3, 1, 1), nn.LeakyReLU(0.2),
                    nn.Conv2d(decoder_channels, 3, 3, 1, 1)))


# --------------------------------------------------------------------------- the network


class Deghosting(nn.Module):
    """EOGI's deghosting network: (B, 3, in_size, in_size) in [-1, 1] -> (B, 3, out_size, out_size).

    The defaults are EOGI's (``in_size=128, out_size=1024``, RRDB 64 wide x 23 blocks, 512-d styles,
    StyleGAN2 widths ``min(512, 32768 // res)``); smaller ``channel_base`` / ``channel_max`` /
    ``style_channels`` / ``rrdb_channels`` / ``num_rrdbs`` / ... give a light network of the same
    structure for tests. The generator's parameters are frozen (``requires_grad=False``), as in EOGI.

    >>> net = Deghosting(16, 32, channel_base=256, channel_max=8, style_channels=8, rrdb_channels=8,
    ...                  num_rrdbs=1, growth_channels=4, decoder_channels=8, num_mlps=1).eval()
    >>> net(torch.zeros(1, 3, 16, 16)).shape
    torch.Size([1, 3, 32, 32])
    """

    def __init__(self, in_size: int = 128, out_size: int = 1024, *, style_channels: int = 512,
                 channel_base: int = CHANNEL_BASE, channel_max: int = CHANNEL_MAX, rrdb_channels: int = 64,
                 num_rrdbs: int = 23, growth_channels: int = 32, decoder_channels: int = 64,
                 num_mlps: int = 8) -> None:
        super().__init__()
        if not _is_pow2(out_size) or out_size < 8:
            raise ValueError(f"out_size: expected a power of two >= 8, got {out_size!r}")
        if not _is_pow2(in_size) or not 4 <= in_size < out_size:
            raise ValueError(f"in_size: expected a power of two with 4 <= in_size < out_size ({out_size}), got {in_size!r}")
        for name, value in (("style_channels", style_channels), ("channel_max", channel_max),
                            ("rrdb_channels", rrdb_channels), ("growth_channels", growth_channels),
                            ("decoder_channels", decoder_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        for name, value in (("num_rrdbs", num_rrdbs), ("num_mlps", num_mlps)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
        if not isinstance(channel_base, int) or isinstance(channel_base, bool) or channel_base < out_size:
            raise ValueError(f"channel_base: expected an integer >= out_size ({out_size}), got {channel_base!r}")
        self.in_size, self.out_size, self.style_channels = in_size, out_size, style_channels
        channels = {2 ** i: stage_channels(2 ** i, channel_base, channel_max)
                    for i in range(2, int(math.log2(out_size)) + 1)}
        self.channels = channels
        self.FCN = _FCN(in_size, out_size, channels, style_channels, rrdb_channels, num_rrdbs,
                        growth_channels, decoder_channels)
        self.generator = StyleBank(out_size, style_channels, num_mlps, channels)
        self.generator.requires_grad_(False)

    @classmethod
    def from_checkpoint(cls, path, in_size: int = 128, out_size: int = 1024, **kwargs) -> "Deghosting":
        """Load EOGI's ``deghosting.pt`` (a raw state_dict) strictly, in eval mode."""
        sd = extract_state_dict(read_checkpoint(path))
        return load_strict(cls(in_size, out_size, **kwargs), sd, str(path)).eval()

    def encode(self, lq: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The latent codes (B, num_latents, style_channels) and the encoder maps, 4x4 first."""
        feats = []
        feat = lq
        for block in self.FCN.encoder:
            feat = block(feat)
            feats.append(feat)
        latent = feats[-1].view(lq.shape[0], -1, self.style_channels)
        return latent, feats[-2::-1]

    def forward(self, lq: torch.Tensor, return_rgb: bool = False):
        """Restore ``lq`` (B, 3, in_size, in_size); with ``return_rgb`` also the fused generator RGB.

        Returns (B, 3, out_size, out_size), or a pair with the generator's RGB skip output (same
        shape) which the official network computes but does not use.
        """
        check_tensor("lq", lq, 4)
        if lq.shape[1:] != (3, self.in_size, self.in_size):
            raise ValueError(f"lq: expected shape (B, 3, {self.in_size}, {self.in_size}), got {tuple(lq.shape)}")
        latent, enc = self.encode(lq)
        g, fcn = self.generator, self.FCN
        noises = g.noises()
        out = g.conv1(g.constant_input(lq.shape[0]), latent[:, 0], noises[0])
        rgb = g.to_rgb1(out, latent[:, 1]) if return_rgb else None
        gen_feats = []
        for stage, (up_conv, conv, to_rgb) in enumerate(zip(g.convs[::2], g.convs[1::2], g.to_rgbs)):
            i = 2 * stage + 1
            if out.shape[-1] <= self.in_size:  # fuse the encoder map of this resolution
                out = fcn.fusion_out[stage](torch.cat([out, enc[stage]], 1))
                if rgb is not None:
                    rgb = fcn.fusion_skip[stage](torch.cat([rgb, enc[stage]], 1))
            out = up_conv(out, latent[:, i], noises[i])
            out = conv(out, latent[:, i + 1], noises[i + 1])
            if rgb is not None:
                rgb = to_rgb(out, latent[:, i + 2], rgb)
            if out.shape[-1] > self.in_size:
                gen_feats.append(out)
        hr = enc[-1]
        for j, block in enumerate(fcn.decoder):
            if j:
                hr = torch.cat([hr, gen_feats[j - 1]], 1)
            hr = block(hr)
        return (hr, rgb) if return_rgb else hr


__all__ = ["Deghosting", "StyleBank", "stage_channels"]
