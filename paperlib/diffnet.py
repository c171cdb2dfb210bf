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

from ._checks import check_tensor
from .models._checkpoint import extract_state_dict, load_strict, read_checkpoint

#: Number of layer3 blocks of each architecture and how many of them go into the encoder.
#: ResNet101's split (10 of 23) is EOGI's; the others keep about the same fraction.
ARCHS: dict[str, tuple[int, int]] = {
    "resnet18": (2, 1),
    "resnet34": (6, 3),
    "resnet50": (6, 3),
    "resnet101": (23, 10),
}


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
        net = getattr(torchvision.models, arch)(weights=None)  # random init, never a download
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Eq 5's logits for a batch ``x`` of shape (B, 6, H, W) = ``[I', T]``."""
        check_tensor("x", x, 4)
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"x: expected 6 channels [I', T] (source and edited RGB stacked), got {x.shape[1]}"
            )
        delta = differential_features(self.shared, x[:, :3], x[:, 3:])
        return self.fc(torch.flatten(self.classifier(delta), 1))
