"""The differential network of EOGI (eq 4-5): a torchvision ResNet split in two.

``shared`` (the encoder ``E_ResNet``) is stem + layer1 + layer2 + the first blocks of layer3;
``classifier`` is the rest of layer3 + layer4 + avgpool; ``fc`` maps the pooled features to the
attribute classes. For ResNet101 the split leaves 3 + 4 + 10 = 17 bottleneck blocks in the
encoder, as in the paper and EOGI's ``DiffCam``; parameter names (``shared.*``,
``classifier.*``, ``fc.*``) equal EOGI's so its released ``diff_cam_weight.pt`` (17 classes)
loads with ``strict=True``.

The input is 6 channels ``[I', T]`` (each in [-1, 1], no ImageNet normalisation). Following
EOGI's code (not the paper's text), the differential features are ``E(T) - E(I')``.
"""

from __future__ import annotations

import torch
import torchvision
from torch import nn

from ..checks import check_tensor
from ..models._checkpoint import extract_state_dict, load_strict, read_checkpoint
from .names import ARCHS  # the architectures (torch-free, for the command line)


def output_stride_16(layer4: nn.Sequential) -> nn.Sequential:
    """Layer4 with stride 1 instead of 2 (its first block's conv and shortcut): the stage keeps
    the 1/16 resolution of layer3, so the CAM grid doubles in each direction. The weights and
    their shapes are unchanged (a 1×1 shortcut and 3×3 convs do not depend on the stride)."""
    first = layer4[0]
    for conv in (getattr(first, "conv1", None), getattr(first, "conv2", None), first.downsample[0]):
        if conv is not None and conv.stride == (2, 2):
            conv.stride = (1, 1)
    return layer4


def differential_features(encoder: nn.Module, source: torch.Tensor, edited: torch.Tensor) -> torch.Tensor:
    """Eq 4: the differential features ``Delta = E(T) - E(I')``.

    The sign is EOGI's code's (the paper prints ``E(I') - E(T)``); the released weights expect it.
    Both images go through the encoder separately, as in EOGI, so batch-norm statistics in
    training mode are those of each half.
    """
    return encoder(edited) - encoder(source)


class DiffNet(nn.Module):
    """EOGI's differential classifier (eq 4-5) on a torchvision ResNet of the chosen depth.

    >>> net = DiffNet(n_classes=7, arch="resnet18")
    >>> net(torch.zeros(2, 6, 64, 64)).shape
    torch.Size([2, 7])
    """

    in_channels = 6

    def __init__(self, n_classes: int = 7, arch: str = "resnet101") -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"arch: unknown architecture {arch!r}; expected one of {', '.join(ARCHS)}")
        if not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes: expected an integer >= 2, got {n_classes!r}")
        base, _, stride = arch.partition("-os")
        net = getattr(torchvision.models, base)(weights=None)  # random init, never a download
        if stride:
            output_stride_16(net.layer4)
        split = ARCHS[arch][1]
        self.arch = arch
        self.n_classes = n_classes
        self.shared = nn.Sequential(
            net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, *net.layer3[:split]
        )
        self.classifier = nn.Sequential(*net.layer3[split:], net.layer4, net.avgpool)
        self.fc = nn.Linear(net.fc.in_features, n_classes)

    @classmethod
    def from_checkpoint(cls, path, n_classes: int = 17, arch: str = "resnet101") -> "DiffNet":
        """Load EOGI's ``diff_cam_weight.pt`` (a raw state_dict, 17 classes) strictly, in eval mode."""
        sd = extract_state_dict(read_checkpoint(path))
        return load_strict(cls(n_classes, arch), sd, str(path)).eval()

    @property
    def target_layer(self) -> nn.Module:
        """The CAM target layer: layer4, the last convolutional stage."""
        return self.classifier[-2]

    @staticmethod
    def check_pairs(x: torch.Tensor) -> torch.Tensor:
        """``x`` must be a (B, 6, H, W) batch of ``[I', T]`` pairs."""
        check_tensor("x", x, 4)
        if x.shape[1] != DiffNet.in_channels:
            raise ValueError(
                f"x: expected 6 channels [I', T] (source and edited RGB stacked), got {x.shape[1]}"
            )
        return x

    def classify(self, delta: torch.Tensor) -> torch.Tensor:
        """Eq 5's logits from the differential features ``delta``."""
        return self.fc(torch.flatten(self.classifier(delta), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Eq 5's logits for a batch ``x`` of shape (B, 6, H, W) = ``[I', T]``."""
        self.check_pairs(x)
        return self.classify(differential_features(self.shared, x[:, :3], x[:, 3:]))


#: The CAM layers by name (``"layer4"`` is the paper's): the walkthrough, the explorer and the
#: CAM leaderboard (:mod:`paperlib.evaluation.leaderboard`) offer them.
CAM_LAYERS: tuple[str, ...] = ("layer4", "layer4, block before last", "layer3, last block")


def cam_layer(model: nn.Module, layer: str) -> nn.Module:
    """The layer ``layer`` (one of :data:`CAM_LAYERS`) of a DiffNet (or of a module wrapping one as
    ``.net``, e.g. :class:`paperlib.method.diffnet.SourceEncoded`)."""
    if layer not in CAM_LAYERS:
        raise ValueError(f"layer: unknown CAM layer {layer!r}; expected one of {', '.join(map(repr, CAM_LAYERS))}")
    net = getattr(model, "net", model)
    if not hasattr(net, "classifier") or not hasattr(net, "target_layer"):
        raise ValueError(f"model: expected a DiffNet (with .classifier and .target_layer), got {type(model).__name__}")
    layer4 = net.target_layer
    if layer == "layer4":
        return layer4
    if layer == "layer4, block before last":
        return layer4[-2]
    return net.classifier[-3]  # classifier = (*layer3's last blocks, layer4, avgpool)


class SourceEncoded(nn.Module):
    """A :class:`DiffNet` whose ``E(I')`` (eq 4) is computed once and reused.

    Every attribute and mask variant of one image classifies pairs ``[I', T]`` with the same
    ``I'``; only ``T`` changes. This module holds ``I'`` (B, 3, H, W) at the classifier's size
    and encodes it once, either plain (B) or as the 6 test-time-augmentation views of
    :func:`paperlib.method.cam.tta_views` (6 B, of which the unflipped x1.0 view is the plain one).
    Its ``forward`` takes the same 6-channel pairs (or their TTA views) as the DiffNet and
    computes ``fc(classifier(E(T) - E(I')))`` with the cached ``E(I')``: the same numbers, one
    encoder pass fewer per call. ``encodings`` counts the encoder passes over ``I'``.
    """

    in_channels = 6

    def __init__(self, net: DiffNet, source: torch.Tensor, tta: bool = False) -> None:
        super().__init__()
        check_tensor("source", source, 4)
        self.net = net
        self.train(net.training)  # a new module is in training mode: a CAM restoring this mode would put net in it
        self.source = source
        self.encodings = 0
        self._views: torch.Tensor | None = None  # E of the 6 views (6 B, ...), or
        self._plain: torch.Tensor | None = None  # E of the plain I' (B, ...)
        if tta:
            self._encode_views()

    @property
    def target_layer(self) -> nn.Module:
        return self.net.target_layer

    @torch.no_grad()
    def _encode_views(self) -> torch.Tensor:
        from .cam import tta_views

        if self._views is None:
            self._views = self._encode(tta_views(self.source))
        return self._views

    def _encode(self, images: torch.Tensor) -> torch.Tensor:
        """The encoder in eval mode (batch-norm running statistics), counted."""
        from .cam import eval_mode

        with eval_mode(self.net):
            out = self.net.shared(images)
        self.encodings += 1
        return out

    @torch.no_grad()
    def source_features(self, n: int) -> torch.Tensor:
        """``E(I')`` for a batch of ``n`` pairs: the plain batch (n = B) or its 6 TTA views (n = 6 B)."""
        b = self.source.shape[0]
        if n == 6 * b:
            return self._encode_views()
        if n != b:
            raise ValueError(f"x: expected {b} pairs or their {6 * b} TTA views, got {n}")
        if self._views is not None:
            from .cam import TTA_FACTORS

            k = TTA_FACTORS.index(1.0)  # the unflipped view at factor 1.0 is I' itself
            return self._views[k * b:(k + 1) * b]
        if self._plain is None:
            self._plain = self._encode(self.source)
        return self._plain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Eq 4-5 with the cached ``E(I')``: ``classify(E(T) - E(I'))`` (``x[:, :3]`` is not read)."""
        self.net.check_pairs(x)
        return self.net.classify(self.net.shared(x[:, 3:]) - self.source_features(x.shape[0]))
