"""IR-SE building blocks shared by the pSp, e4e and ReStyle encoders.

The backbone is the ArcFace "improved residual" network with squeeze-and-excitation
(IR-SE-50): an input layer (3x3 conv, batch norm, PReLU; ``input_layer.0/1/2``) and a ``body``
of bottleneck units in four stages of depth 64, 128, 256 and 512, each stage opening with a
stride-2 unit. A unit adds a residual branch ``res_layer`` (BN, 3x3 conv, PReLU, strided 3x3
conv, BN, SE module with ``fc1``/``fc2``) to a ``shortcut_layer`` that is a plain subsampling
when the depth is unchanged, else a strided 1x1 conv + BN. A 256x256 face gives feature maps
of 64x64 (end of stage 2, 128 channels), 32x32 (stage 3, 256) and 16x16 (stage 4, 512).

The style heads (``GradualStyleBlock``: stride-2 3x3 convs down to 1x1, then an equalized
linear layer) map a feature map to one 512-d style vector. Names follow the official
encoders, so their checkpoints load with ``strict=True``; the code is our own.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_tensor

#: Units per stage for each supported depth; stage depths are always 64, 128, 256, 512.
STAGE_UNITS: dict[int, tuple[int, int, int, int]] = {
    50: (3, 4, 14, 3),
    100: (3, 13, 30, 3),
    152: (3, 8, 36, 3),
}
STAGE_DEPTHS = (64, 128, 256, 512)
MODES = ("ir", "ir_se")
#: The face resolution the encoders were trained at; larger inputs are too big for the heads.
ENCODER_SIZE = 256
#: A stride-2 stage halves the map four times, so smaller inputs leave nothing to encode.
MIN_INPUT = 16


class Unit(NamedTuple):
    """One bottleneck unit: input channels, output channels (``depth``) and stride."""

    in_channel: int
    depth: int
    stride: int


def block_specs(num_layers: int = 50) -> list[list[Unit]]:
    """The units of each of the four stages of IR(-SE)-``num_layers``.

    >>> [len(stage) for stage in block_specs(50)]
    [3, 4, 14, 3]
    """
    if num_layers not in STAGE_UNITS:
        raise ValueError(f"num_layers: expected one of {', '.join(map(str, STAGE_UNITS))}, got {num_layers!r}")
    stages, in_channel = [], 64
    for depth, units in zip(STAGE_DEPTHS, STAGE_UNITS[num_layers]):
        stages.append([Unit(in_channel, depth, 2)] + [Unit(depth, depth, 1)] * (units - 1))
        in_channel = depth
    return stages


def stage_ends(num_layers: int = 50) -> tuple[int, ...]:
    """Index in ``body`` of the last unit of each stage (``(2, 6, 20, 23)`` for 50 layers)."""
    ends, total = [], 0
    for units in STAGE_UNITS[num_layers]:
        total += units
        ends.append(total - 1)
    return tuple(ends)


class SEModule(nn.Module):
    """Squeeze-and-excitation: channel weights from the global mean (``fc1``, ``fc2``, no bias)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True))))
        return x * torch.sigmoid(gate)


class BottleneckIR(nn.Module):
    """An IR unit (``se=False``) or IR-SE unit (``se=True``): ``res_layer(x) + shortcut_layer(x)``."""

    def __init__(self, in_channel: int, depth: int, stride: int, se: bool = True) -> None:
        super().__init__()
        if in_channel == depth:
            # a 1x1 max pool with this stride is a plain subsampling (no parameters)
            self.shortcut_layer = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(in_channel, depth, 1, stride, bias=False), nn.BatchNorm2d(depth)
            )
        layers = [
            nn.BatchNorm2d(in_channel),
            nn.Conv2d(in_channel, depth, 3, 1, 1, bias=False),
            nn.PReLU(depth),
            nn.Conv2d(depth, depth, 3, stride, 1, bias=False),
            nn.BatchNorm2d(depth),
        ]
        if se:
            layers.append(SEModule(depth, 16))
        self.res_layer = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


class BottleneckIRSE(BottleneckIR):
    """The IR-SE unit of IR-SE-50 (official name ``bottleneck_IR_SE``)."""

    def __init__(self, in_channel: int, depth: int, stride: int) -> None:
        super().__init__(in_channel, depth, stride, se=True)


def make_input_layer(in_channels: int = 3) -> nn.Sequential:
    """``input_layer``: 3x3 conv (no bias) to 64 channels, batch norm, PReLU."""
    if not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"in_channels: expected a positive integer, got {in_channels!r}")
    return nn.Sequential(nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))


def make_body(num_layers: int = 50, mode: str = "ir_se") -> nn.Sequential:
    """``body``: all units of the four stages in one flat ``nn.Sequential``."""
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    return nn.Sequential(*[
        BottleneckIR(u.in_channel, u.depth, u.stride, se=(mode == "ir_se"))
        for stage in block_specs(num_layers) for u in stage
    ])


class EqualLinear(nn.Module):
    """StyleGAN2's equalized-learning-rate linear layer (``weight``, ``bias``), no activation.

    The stored weight is scaled by ``lr_mul / sqrt(in_dim)`` at run time, the bias by ``lr_mul``.
    """

    def __init__(self, in_dim: int, out_dim: int, lr_mul: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class GradualStyleBlock(nn.Module):
    """A style head: ``log2(spatial)`` stride-2 3x3 convs + LeakyReLU(0.01) (``convs``), then ``linear``.

    A ``spatial`` x ``spatial`` map (or any smaller one) ends as 1x1, flattened to ``out_c``.
    """

    def __init__(self, in_c: int, out_c: int, spatial: int) -> None:
        super().__init__()
        n_convs = int(math.log2(spatial))
        layers: list[nn.Module] = []
        for i in range(n_convs):
            layers += [nn.Conv2d(in_c if i == 0 else out_c, out_c, 3, 2, 1), nn.LeakyReLU(0.01)]
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(out_c, out_c, lr_mul=1.0)
        self.out_c = out_c
        self.spatial = spatial

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.convs(x)
        if y.shape[-2:] != (1, 1):
            raise ValueError(
                f"x: a {self.spatial}x{self.spatial} feature map was expected for this style head, "
                f"got {tuple(x.shape[-2:])}; feed images of at most {ENCODER_SIZE}x{ENCODER_SIZE}"
            )
        return self.linear(y.flatten(1))


def upsample_add(top: torch.Tensor, lateral: torch.Tensor) -> torch.Tensor:
    """FPN merge: ``top`` bilinearly resized (align_corners=True) to ``lateral``'s size, plus ``lateral``."""
    return F.interpolate(top, size=lateral.shape[-2:], mode="bilinear", align_corners=True) + lateral


def check_encoder_input(x: torch.Tensor, in_channels: int, name: str = "x") -> torch.Tensor:
    """Encoder input: (B, ``in_channels``, H, W) with 16 <= H, W <= 256 and finite values."""
    check_tensor(name, x, 4)
    if x.shape[1] != in_channels:
        raise ValueError(f"{name}: expected {in_channels} channels, got {x.shape[1]} (shape {tuple(x.shape)})")
    h, w = x.shape[-2:]
    if not (MIN_INPUT <= h <= ENCODER_SIZE and MIN_INPUT <= w <= ENCODER_SIZE):
        raise ValueError(
            f"{name}: expected a height and width between {MIN_INPUT} and {ENCODER_SIZE} "
            f"(the encoders see {ENCODER_SIZE}x{ENCODER_SIZE} faces), got {h}x{w}"
        )
    return x


class IRSEBackbone(nn.Module):
    """The part every encoder shares: ``input_layer`` and ``body``, with their feature taps.

    Subclasses add ``styles`` (and the FPN ``latlayer*``). ``n_styles`` and ``style_dim`` are
    kept as attributes; ``style_dim`` is 512 for every official network (smaller values only
    shrink the style heads, for fast tests against a small generator).
    """

    def __init__(self, num_layers: int = 50, mode: str = "ir_se", in_channels: int = 3,
                 n_styles: int = 18, style_dim: int = 512) -> None:
        super().__init__()
        if not isinstance(n_styles, int) or n_styles < 1:
            raise ValueError(f"n_styles: expected a positive integer, got {n_styles!r}")
        if not isinstance(style_dim, int) or style_dim < 1:
            raise ValueError(f"style_dim: expected a positive integer, got {style_dim!r}")
        self.input_layer = make_input_layer(in_channels)
        self.body = make_body(num_layers, mode)
        self.num_layers = num_layers
        self.mode = mode
        self.in_channels = in_channels
        self.n_styles = n_styles
        self.style_dim = style_dim

    @property
    def style_count(self) -> int:
        """The official attribute name for ``n_styles``."""
        return self.n_styles

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The ends of stages 2, 3 and 4: ``(c1, c2, c3)`` with 128, 256 and 512 channels."""
        check_encoder_input(x, self.in_channels)
        taps = stage_ends(self.num_layers)[1:]
        out = []
        x = self.input_layer(x)
        for i, unit in enumerate(self.body):
            x = unit(x)
            if i in taps:
                out.append(x)
        return out[0], out[1], out[2]


__all__ = [
    "BottleneckIR", "BottleneckIRSE", "EqualLinear", "GradualStyleBlock", "IRSEBackbone", "SEModule", "Unit",
    "block_specs", "check_encoder_input", "make_body", "make_input_layer", "stage_ends", "upsample_add",
]
