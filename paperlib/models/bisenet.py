"""The face parser: face-parsing.PyTorch's BiSeNet (CelebAMask-HQ, 19 labels).

A ResNet18 context path (``cp.resnet.*``) gives features at strides 8, 16 and 32; attention
refinement modules (``cp.arm16``, ``cp.arm32``) reweight the stride-16/32 features with a global
context vector (``cp.conv_avg``) and carry them up to stride 8 (``cp.conv_head32``,
``cp.conv_head16``); the feature fusion module (``ffm``) joins the stride-8 ResNet features with
them, and three heads (``conv_out`` main, ``conv_out16`` and ``conv_out32`` auxiliary) give
the logits. Parameter names and shapes equal the official ``BiSeNet(n_classes=19)`` so its
released ``79999_iter.pth`` (a raw state_dict) loads with ``strict=True``.

Construction uses random weights only: unlike the official code, no ImageNet ResNet18 is
downloaded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_tensor, check_unit_range
from ._checkpoint import extract_state_dict, load_strict, read_checkpoint

#: The official test resolution and the ImageNet statistics the parser was trained with.
PARSE_SIZE = 512
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _init_conv(conv: nn.Conv2d) -> None:
    nn.init.kaiming_normal_(conv.weight, a=1)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class ConvBNReLU(nn.Module):
    """Bias-free convolution, batch norm, ReLU (``conv``, ``bn``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        _init_conv(self.conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class BasicBlock(nn.Module):
    """ResNet basic block; ``downsample`` (1x1 conv + BN) only where the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class ResNet18(nn.Module):
    """ResNet18 without its classifier; returns the layer2/3/4 features (strides 8, 16, 32)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
        for i, (c_in, c_out, stride) in enumerate(widths, start=1):
            setattr(self, f"layer{i}", nn.Sequential(BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.layer1(self.maxpool(F.relu(self.bn1(self.conv1(x)))))
        feat8 = self.layer2(x)
        feat16 = self.layer3(feat8)
        return feat8, feat16, self.layer4(feat16)


class AttentionRefinement(nn.Module):
    """Attention refinement module: ConvBNReLU, then a sigmoid channel gate from its global mean."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(c_in, c_out)
        self.conv_atten = nn.Conv2d(c_out, c_out, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(c_out)
        _init_conv(self.conv_atten)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv(x)
        gate = torch.sigmoid(self.bn_atten(self.conv_atten(F.adaptive_avg_pool2d(feat, 1))))
        return feat * gate


class ContextPath(nn.Module):
    """ResNet18 + attention refinement; returns (res stride-8, context stride-8, context stride-16)."""

    def __init__(self) -> None:
        super().__init__()
        self.resnet = ResNet18()
        self.arm16 = AttentionRefinement(256, 128)
        self.arm32 = AttentionRefinement(512, 128)
        self.conv_head32 = ConvBNReLU(128, 128)
        self.conv_head16 = ConvBNReLU(128, 128)
        self.conv_avg = ConvBNReLU(512, 128, kernel=1, padding=0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feat8, feat16, feat32 = self.resnet(x)
        context = self.conv_avg(F.adaptive_avg_pool2d(feat32, 1))  # (B, 128, 1, 1), broadcast as nearest upsampling
        up32 = F.interpolate(self.arm32(feat32) + context, size=feat16.shape[2:], mode="nearest")
        up32 = self.conv_head32(up32)
        up16 = F.interpolate(self.arm16(feat16) + up32, size=feat8.shape[2:], mode="nearest")
        up16 = self.conv_head16(up16)
        return feat8, up16, up32


class FeatureFusion(nn.Module):
    """Feature fusion module: concat, ConvBNReLU (``convblk``), squeeze-excite gate added back."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.convblk = ConvBNReLU(c_in, c_out, kernel=1, padding=0)
        self.conv1 = nn.Conv2d(c_out, c_out // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(c_out // 4, c_out, 1, bias=False)
        _init_conv(self.conv1)
        _init_conv(self.conv2)

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        feat = self.convblk(torch.cat([spatial, context], dim=1))
        gate = torch.sigmoid(self.conv2(F.relu(self.conv1(F.adaptive_avg_pool2d(feat, 1)))))
        return feat * gate + feat


class OutputHead(nn.Module):
    """ConvBNReLU (``conv``) then a bias-free 1x1 classifier (``conv_out``)."""

    def __init__(self, c_in: int, c_mid: int, n_classes: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(c_in, c_mid)
        self.conv_out = nn.Conv2d(c_mid, n_classes, 1, bias=False)
        _init_conv(self.conv_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(self.conv(x))


class BiSeNet(nn.Module):
    """face-parsing.PyTorch's BiSeNet with the official parameter names (random init).

    >>> net = BiSeNet().eval()
    >>> [o.shape for o in net(torch.zeros(1, 3, 64, 64))]
    [torch.Size([1, 19, 64, 64]), torch.Size([1, 19, 64, 64]), torch.Size([1, 19, 64, 64])]
    """

    in_channels = 3

    def __init__(self, n_classes: int = 19) -> None:
        super().__init__()
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes: expected an integer >= 2, got {n_classes!r}")
        self.n_classes = n_classes
        self.cp = ContextPath()
        self.ffm = FeatureFusion(256, 256)
        self.conv_out = OutputHead(256, 256, n_classes)
        self.conv_out16 = OutputHead(128, 64, n_classes)
        self.conv_out32 = OutputHead(128, 64, n_classes)

    @classmethod
    def from_checkpoint(cls, path, n_classes: int = 19) -> "BiSeNet":
        """Load the official ``79999_iter.pth`` (a raw state_dict) strictly, in eval mode."""
        sd = extract_state_dict(read_checkpoint(path))
        return load_strict(cls(n_classes), sd, str(path)).eval()

    def _check_images(self, name: str, x: torch.Tensor) -> None:
        check_tensor(name, x, 4)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{name}: expected 3 channels (RGB), got {x.shape[1]} in shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits ``(main, aux16, aux32)``, each (B, n_classes, H, W) for ``x`` of shape (B, 3, H, W).

        ``x`` is ImageNet-normalised RGB, as in the official code; the three maps are bilinearly
        upsampled (``align_corners=True``) to the input size. ``parse`` uses the main one.
        """
        self._check_images("x", x)
        size = x.shape[2:]
        feat8, context8, context16 = self.cp(x)
        outs = (self.conv_out(self.ffm(feat8, context8)), self.conv_out16(context8), self.conv_out32(context16))
        return tuple(F.interpolate(o, size=size, mode="bilinear", align_corners=True) for o in outs)

    @torch.no_grad()
    def parse(self, images: torch.Tensor) -> torch.Tensor:
        """Per-pixel labels (B, H, W), int64 in ``[0, n_classes)``, for RGB ``images`` (B, 3, H, W) in [0, 1].

        As the official test script: resize to 512x512 (bilinear, antialiased like PIL when
        shrinking), ImageNet mean/std normalisation, argmax of the main output; the labels are
        then resized back to (H, W) by nearest neighbour. Runs in the module's current mode
        (``from_checkpoint`` returns it in eval mode).
        """
        self._check_images("images", images)
        check_unit_range("images", images)
        height, width = images.shape[2:]
        x = images
        if (height, width) != (PARSE_SIZE, PARSE_SIZE):
            shrink = height > PARSE_SIZE or width > PARSE_SIZE
            x = F.interpolate(x, size=(PARSE_SIZE, PARSE_SIZE), mode="bilinear", align_corners=False, antialias=shrink)
        mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        labels = self((x - mean) / std)[0].argmax(dim=1)
        if (height, width) != (PARSE_SIZE, PARSE_SIZE):
            labels = F.interpolate(labels[:, None].float(), size=(height, width), mode="nearest")[:, 0].long()
        return labels


__all__ = ["BiSeNet", "PARSE_SIZE", "IMAGENET_MEAN", "IMAGENET_STD"]
