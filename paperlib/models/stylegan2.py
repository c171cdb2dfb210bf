"""StyleGAN2's generator with the parameter names of rosinality's ``stylegan2-pytorch``.

pSp, e4e, ReStyle and EOGI all embed this generator (their ``decoder``); its ``state_dict()``
equals theirs key for key (``style.*``, ``input.input``, ``conv1``, ``to_rgb1``, ``convs.N``,
``to_rgbs.N``, the ``noises.noise_N`` buffers and the FIR-kernel buffers), so the released files
load with ``strict=True`` through :meth:`Generator.from_checkpoint`.

Layout at output size ``S = 2**L``: a mapping network (pixel norm + ``n_mlp`` equalized linear
layers with learning-rate multiplier ``lr_mlp`` and a scaled leaky ReLU) turns ``z`` into ``w``;
a learned 4x4 constant goes through one modulated 3x3 conv, then for each resolution 8 ... S an
upsampling modulated conv (transposed conv with stride 2, then a FIR blur) and a plain one.
Every resolution adds its 1x1 ``ToRGB`` output to the upsampled RGB skip. ``n_latent = 2L - 2``
styles feed the layers in order (18 at 1024 px).

All custom ops are the pure-PyTorch ones of :mod:`paperlib.models.op`; nothing is compiled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ._checkpoint import CheckpointMismatch, extract_state_dict, load_strict, read_checkpoint
from .op import FusedLeakyReLU, fused_leaky_relu, make_kernel, upfirdn2d

#: Feature channels per resolution before ``channel_multiplier`` applies (from 64 px on).
_BASE_CHANNELS = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}


def channels_for(size: int, channel_multiplier: int = 2) -> dict[int, int]:
    """Channels of each resolution up to ``size`` (512 up to 32 px, then halving, times the multiplier)."""
    return {res: ch if res <= 32 else ch * channel_multiplier
            for res, ch in _BASE_CHANNELS.items() if res <= size}


class PixelNorm(nn.Module):
    """Normalise each vector to unit root-mean-square over dim 1 (the mapping network's input)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate: weights stored as N(0, 1/lr_mul) and rescaled at run time.

    The effective weight is ``weight * lr_mul / sqrt(in_dim)`` and the effective bias
    ``bias * lr_mul``; ``activation=True`` adds a leaky ReLU with gain sqrt(2) (after the bias).
    """

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, lr_mul={self.lr_mul}, activation={self.activation}"


class Blur(nn.Module):
    """FIR low-pass filter with fixed padding; the ``kernel`` buffer is scaled by ``gain``."""

    def __init__(self, taps: Sequence[float], pad: tuple[int, int], gain: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("kernel", make_kernel(taps) * gain)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """2x zero-insertion upsampling followed by the FIR filter (kernel buffer scaled by 4 to keep the gain)."""

    factor = 2

    def __init__(self, taps: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("kernel", make_kernel(taps) * self.factor ** 2)
        extra = self.kernel.shape[0] - self.factor
        self.pad = ((extra + 1) // 2 + self.factor - 1, extra // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


def grouped_modulated_conv(x: torch.Tensor, weight: torch.Tensor, padding: int,
                           upsample_blur: nn.Module | None = None) -> torch.Tensor:
    """Convolve each sample of ``x`` (B, C, H, W) with its own modulated ``weight`` (B, O, C, k, k)
    as one grouped conv; with ``upsample_blur``, a stride-2 transposed conv followed by that blur."""
    b, c, h, w = x.shape
    o, k = weight.shape[1], weight.shape[-1]
    grouped = x.reshape(1, b * c, h, w)
    if upsample_blur is not None:
        # conv_transpose2d wants (in, out/groups, k, k): one group per sample
        out = F.conv_transpose2d(grouped, weight.transpose(1, 2).reshape(b * c, o, k, k), stride=2, groups=b)
        return upsample_blur(out.reshape(b, o, *out.shape[2:]))
    out = F.conv2d(grouped, weight.reshape(b * o, c, k, k), padding=padding, groups=b)
    return out.reshape(b, o, *out.shape[2:])


class ModulatedConv2d(nn.Module):
    """Style-modulated (and optionally demodulated) convolution, one kernel per sample.

    The style ``s = modulation(w)`` scales the input channels of the shared weight; with
    ``demodulate`` each output filter is renormalised to unit L2 norm. The batch runs as one
    grouped convolution. ``upsample=True`` doubles the resolution StyleGAN2's way: a transposed
    convolution with stride 2 (no padding), then a 4x-gain FIR blur that trims the result to
    exactly twice the input size.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False,
                 blur_kernel: Sequence[float] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.demodulate = demodulate
        self.upsample = upsample
        self.scale = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(1, out_channels, in_channels, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channels, bias_init=1.0)
        if upsample:
            # the transposed conv gives 2H + k - 2 rows; pads summing to len(taps) - k + 1 bring the
            # blurred output back to exactly 2H
            extra = (len(blur_kernel) - 2) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((extra + 1) // 2 + 1, extra // 2 + 1), gain=4.0)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, {self.kernel_size}, "
                f"demodulate={self.demodulate}, upsample={self.upsample}")

    def modulated_weight(self, style: torch.Tensor) -> torch.Tensor:
        """Per-sample kernels, shape (B, out, in, k, k), for styles ``style`` of shape (B, style_dim)."""
        s = self.modulation(style)[:, None, :, None, None]  # (B, 1, in, 1, 1)
        weight = self.weight * self.scale * s
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        return weight

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        blur = self.blur if self.upsample else None
        return grouped_modulated_conv(x, self.modulated_weight(style), self.padding, blur)


class NoiseInjection(nn.Module):
    """Adds ``weight * noise``; fresh N(0, 1) noise of shape (B, 1, H, W) when none is given."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if noise is None:
            noise = x.new_empty(x.shape[0], 1, *x.shape[2:]).normal_()
        return x + self.weight * noise


class ConstantInput(nn.Module):
    """The learned 4x4 constant the synthesis starts from (parameter ``input``)."""

    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.expand(batch, -1, -1, -1)


class StyledConv(nn.Module):
    """Modulated conv -> noise -> bias + leaky ReLU (``conv``, ``noise``, ``activate``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int,
                 upsample: bool = False, blur_kernel: Sequence[float] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, kernel_size, style_dim,
                                    upsample=upsample, blur_kernel=blur_kernel)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, style), noise))


class ToRGB(nn.Module):
    """1x1 modulated conv to RGB (no demodulation) + bias, plus the upsampled skip when given."""

    def __init__(self, in_channels: int, style_dim: int, upsample: bool = True,
                 blur_kernel: Sequence[float] = (1, 3, 3, 1)) -> None:
        super().__init__()
        if upsample:
            self.upsample = Upsample(blur_kernel)
        self.conv = ModulatedConv2d(in_channels, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


class Generator(nn.Module):
    """StyleGAN2 generator (config F), state_dict-compatible with rosinality's / pSp's ``Generator``.

    >>> g = Generator(size=16, style_dim=32, n_mlp=2).eval()
    >>> g.n_latent
    6
    >>> img, _ = g([torch.randn(2, 32)])
    >>> img.shape
    torch.Size([2, 3, 16, 16])

    ``latent_avg`` (not part of the state_dict) holds the average latent stored alongside the
    weights in pSp-style files, when :meth:`from_checkpoint` found one; otherwise None.
    """

    def __init__(self, size: int = 1024, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                 lr_mlp: float = 0.01, blur_kernel: Sequence[float] = (1, 3, 3, 1)) -> None:
        super().__init__()
        if not isinstance(size, int) or size not in _BASE_CHANNELS:
            raise ValueError(f"size: expected a power of two from 4 to 1024, got {size!r}")
        for name, value in (("style_dim", style_dim), ("n_mlp", n_mlp), ("channel_multiplier", channel_multiplier)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if not lr_mlp > 0:
            raise ValueError(f"lr_mlp: expected a positive learning-rate multiplier, got {lr_mlp!r}")
        blur_kernel = tuple(float(t) for t in blur_kernel)
        if len(blur_kernel) < 2:
            raise ValueError(f"blur_kernel: expected at least 2 FIR taps, got {len(blur_kernel)}")
        self.size = size
        self.style_dim = style_dim
        self.log_size = int(math.log2(size))
        self.num_layers = 2 * (self.log_size - 2) + 1
        self.channels = channels_for(size, channel_multiplier)
        self.latent_avg: torch.Tensor | None = None

        self.style = nn.Sequential(
            PixelNorm(), *(EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation=True) for _ in range(n_mlp))
        )
        c4 = self.channels[4]
        self.input = ConstantInput(c4)
        self.conv1 = StyledConv(c4, c4, 3, style_dim, blur_kernel=blur_kernel)
        self.to_rgb1 = ToRGB(c4, style_dim, upsample=False)

        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        in_ch = c4
        for log_res in range(3, self.log_size + 1):
            out_ch = self.channels[2 ** log_res]
            self.convs.append(StyledConv(in_ch, out_ch, 3, style_dim, upsample=True, blur_kernel=blur_kernel))
            self.convs.append(StyledConv(out_ch, out_ch, 3, style_dim, blur_kernel=blur_kernel))
            self.to_rgbs.append(ToRGB(out_ch, style_dim, blur_kernel=blur_kernel))
            in_ch = out_ch

        # fixed per-layer noise maps (buffers saved in the official files): layer i runs at 2**((i+5)//2) px
        self.noises = nn.Module()
        for i in range(self.num_layers):
            res = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, res, res))

    @property
    def n_latent(self) -> int:
        """Number of style vectors the synthesis consumes (W+ rows): ``2 * log2(size) - 2``."""
        return 2 * self.log_size - 2

    # ----------------------------------------------------------------------------------- loading
    @classmethod
    def from_checkpoint(cls, path: str | Path, **kwargs) -> "Generator":
        """Load a generator strictly, in eval mode, from any of the official file layouts.

        Accepted: a pSp / e4e / ReStyle file (``state_dict`` with ``decoder.*`` keys; its
        ``latent_avg`` is kept as :attr:`latent_avg`), a rosinality training checkpoint
        (``g_ema``), or a raw generator state_dict. ``kwargs`` are the constructor arguments
        (default: the official 1024 px FFHQ configuration).
        """
        ckpt = read_checkpoint(path)
        sd = generator_state_dict(ckpt, str(path))
        gen = load_strict(cls(**kwargs), sd, str(path))
        latent_avg = ckpt.get("latent_avg") if isinstance(ckpt, Mapping) else None
        if isinstance(latent_avg, torch.Tensor):
            gen.latent_avg = latent_avg.detach().float()
        return gen.eval()

    # ---------------------------------------------------------------------------------- latents
    def get_latent(self, z: torch.Tensor) -> torch.Tensor:
        """The mapping network: ``w = style(z)`` for ``z`` of shape (B, style_dim)."""
        return self.style(z)

    @torch.no_grad()
    def mean_latent(self, n: int) -> torch.Tensor:
        """Average ``w`` of ``n`` random ``z`` (shape (1, style_dim)), the usual truncation centre."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n: expected a positive number of samples, got {n!r}")
        z = torch.randn(n, self.style_dim, device=self.input.input.device)
        return self.style(z).mean(0, keepdim=True)

    def make_noise(self) -> list[torch.Tensor]:
        """Fresh N(0, 1) noise maps, one per layer, shaped like the ``noises`` buffers."""
        return [torch.randn_like(b) for b in self._noise_buffers()]

    def _noise_buffers(self) -> list[torch.Tensor]:
        return [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]

    def _latent(self, styles: list[torch.Tensor], inject_index: int | None) -> torch.Tensor:
        """Stack styles into W+ of shape (B, n_latent, style_dim); two styles mix at ``inject_index``."""
        n = self.n_latent
        first = styles[0]
        if len(styles) == 1:
            return first if first.ndim == 3 else first[:, None].expand(-1, n, -1)
        if inject_index is None:
            inject_index = int(torch.randint(1, n, ()).item())
        if not isinstance(inject_index, int) or not 0 <= inject_index <= n:
            raise ValueError(f"inject_index: expected an integer from 0 to {n}, got {inject_index!r}")
        if any(s.ndim != 2 for s in styles[:2]):
            raise ValueError("styles: style mixing expects two (B, style_dim) vectors, not W+ codes")
        return torch.cat([first[:, None].expand(-1, inject_index, -1),
                          styles[1][:, None].expand(-1, n - inject_index, -1)], 1)

    def _check_styles(self, styles, input_is_latent: bool) -> list[torch.Tensor]:
        if isinstance(styles, torch.Tensor):
            styles = [styles]
        if not isinstance(styles, (list, tuple)) or not 1 <= len(styles) <= 2:
            raise ValueError(f"styles: expected a list of one or two tensors, got {type(styles).__name__}"
                             + (f" of length {len(styles)}" if isinstance(styles, (list, tuple)) else ""))
        for s in styles:
            if not isinstance(s, torch.Tensor) or not s.is_floating_point():
                raise ValueError(f"styles: expected floating-point tensors, got {type(s).__name__}")
            ok_dims = (2, 3) if input_is_latent else (2,)
            if s.ndim not in ok_dims or s.shape[-1] != self.style_dim:
                expected = (f"(B, {self.style_dim}) or (B, {self.n_latent}, {self.style_dim})" if input_is_latent
                            else f"(B, {self.style_dim}) z vectors (W+ codes need input_is_latent=True)")
                raise ValueError(f"styles: expected {expected}, got shape {tuple(s.shape)}")
            if s.ndim == 3 and s.shape[1] != self.n_latent:
                raise ValueError(f"styles: W+ codes need {self.n_latent} rows at {self.size} px, got shape {tuple(s.shape)}")
        if len({s.shape[0] for s in styles}) > 1:
            raise ValueError(f"styles: batch sizes differ: {[tuple(s.shape) for s in styles]}")
        return list(styles)

    # ---------------------------------------------------------------------------------- forward
    def forward(self, styles: list[torch.Tensor], return_latents: bool = False, inject_index: int | None = None,
                truncation: float = 1, truncation_latent: torch.Tensor | None = None,
                input_is_latent: bool = False, noise: list[torch.Tensor | None] | None = None,
                randomize_noise: bool = True, *, return_features: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Synthesise images from ``styles``; returns ``(image, latent or None)``.

        ``styles``: a list of one or two tensors: ``z`` (B, style_dim), or with
        ``input_is_latent=True`` ``w`` (B, style_dim) or W+ (B, n_latent, style_dim). Two styles
        mix at ``inject_index`` (random when None). ``truncation < 1`` pulls every style towards
        ``truncation_latent``. ``noise``: one map per layer, or None for fresh random noise
        (``randomize_noise=True``) or the stored ``noises`` buffers (deterministic).
        ``return_latents`` returns the W+ actually used; ``return_features`` (pSp's extra) the
        last feature map instead. The image is (B, 3, size, size), roughly in [-1, 1].
        """
        styles = self._check_styles(styles, input_is_latent)
        if not input_is_latent:
            styles = [self.style(s) for s in styles]
        if noise is None:
            noise = [None] * self.num_layers if randomize_noise else self._noise_buffers()
        elif len(noise) != self.num_layers:
            raise ValueError(f"noise: expected {self.num_layers} maps (one per layer), got {len(noise)}")
        if truncation < 1:
            if truncation_latent is None:
                raise ValueError("truncation_latent: required when truncation < 1 (e.g. mean_latent(4096))")
            styles = [truncation_latent + truncation * (s - truncation_latent) for s in styles]

        latent = self._latent(styles, inject_index)
        out = self.conv1(self.input(latent.shape[0]), latent[:, 0], noise[0])
        skip = self.to_rgb1(out, latent[:, 1])
        for j, to_rgb in enumerate(self.to_rgbs):
            i = 2 * j + 1  # style / noise index of this resolution's first conv
            out = self.convs[2 * j](out, latent[:, i], noise[i])
            out = self.convs[2 * j + 1](out, latent[:, i + 1], noise[i + 1])
            skip = to_rgb(out, latent[:, i + 2], skip)
        if return_latents:
            return skip, latent
        if return_features:
            return skip, out
        return skip, None


def generator_state_dict(ckpt, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The generator's state_dict from a pSp-style (``state_dict`` + ``decoder.``), ``g_ema`` or raw file."""
    if not isinstance(ckpt, Mapping):
        raise CheckpointMismatch(f"{source}: expected a dict, got {type(ckpt).__name__}")
    if isinstance(ckpt.get("state_dict"), Mapping):
        inner = ckpt["state_dict"]
        if any(k.startswith("decoder.") for k in inner):
            return extract_state_dict(ckpt, prefix="decoder.", key="state_dict")
        if "input.input" in inner:
            return dict(inner)
    if isinstance(ckpt.get("g_ema"), Mapping):
        return extract_state_dict(ckpt, key="g_ema")
    if "input.input" in ckpt:
        return dict(ckpt)
    keys = ", ".join(list(map(str, ckpt))[:5])
    raise CheckpointMismatch(
        f"{source}: no StyleGAN2 generator found; expected 'state_dict' with 'decoder.*' keys (pSp/e4e/ReStyle), "
        f"'g_ema' (rosinality) or a raw state_dict with 'input.input', got keys {keys or '(none)'}"
    )


__all__ = ["Generator", "ModulatedConv2d", "StyledConv", "ToRGB", "EqualLinear", "PixelNorm",
           "channels_for", "generator_state_dict"]
