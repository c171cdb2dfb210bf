"""compute_cam equals pytorch-grad-cam (the oracle) to 1e-5 on random-init networks."""

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
from pytorch_grad_cam import base_cam
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

from conftest import TinyCNN
from paperlib.cam import compute_cam, first_component_projection
from paperlib.diffnet import DiffNet

ORACLES = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus}


def oriented_projection(batch: np.ndarray) -> np.ndarray:
    """pytorch-grad-cam's projection plus our orientation rule (used by the oracle in tests only)."""
    proj = get_2d_projection(batch)
    plain = batch.sum(axis=1)
    plain = plain - plain.mean(axis=(1, 2), keepdims=True)
    flip = (proj * plain).sum(axis=(1, 2)) < 0
    proj[flip] *= -1
    return proj


def oracle(model, layer, x, targets, method, aug, eigen, monkeypatch):
    if eigen:
        monkeypatch.setattr(base_cam, "get_2d_projection", oriented_projection)
    cam = ORACLES[method](model, [layer])
    out = cam(x, [ClassifierOutputTarget(t) for t in targets], aug_smooth=aug, eigen_smooth=eigen)
    return torch.from_numpy(out)


def _diffnet(arch):
    torch.manual_seed(1)
    return DiffNet(7, arch).eval()


NETS = {
    "tiny": (lambda: TinyCNN().eval(), 3, 32),
    "diffnet-resnet18": (lambda: _diffnet("resnet18"), 6, 128),
    "diffnet-resnet50": (lambda: _diffnet("resnet50"), 6, 128),
}


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("method", list(ORACLES))
@pytest.mark.parametrize("aug", [False, True])
@pytest.mark.parametrize("eigen", [False, True])
def test_compute_cam_matches_pytorch_grad_cam(net, method, aug, eigen, monkeypatch):
    build, channels, size = NETS[net]
    torch.manual_seed(2)
    model = build()
    layer = model.target if net == "tiny" else model.target_layer
    x = (torch.rand(3, channels, size, size) * 2 - 1)
    targets = [0, 3, 4]
    ours = compute_cam(model, layer, x, targets, method=method, aug_smooth=aug, eigen_smooth=eigen)
    ref = oracle(model, layer, x, targets, method, aug, eigen, monkeypatch)
    assert ours.shape == ref.shape == (3, size, size)
    assert (ours - ref).abs().max().item() <= 1e-5


def test_without_orientation_the_eigen_sign_flips():
    """pytorch-grad-cam's raw projection is anti-correlated with the CAM for some inputs
    (an inverted mask); ours is the same projection up to sign and never anti-correlated."""
    gen = torch.Generator().manual_seed(0)
    flipped = 0
    for _ in range(20):
        weighted = torch.rand(1, 64, 6, 6, generator=gen) ** 3 * torch.randn(1, 64, 1, 1, generator=gen)
        raw = torch.from_numpy(get_2d_projection(weighted.numpy()))
        ours = first_component_projection(weighted)
        plain = weighted.sum(1) - weighted.sum(1).mean()
        assert torch.allclose(ours.abs(), raw.abs(), atol=1e-4)
        assert (ours * plain).sum() >= 0
        flipped += int((raw * plain).sum() < 0)
    assert flipped > 0, "expected the unoriented SVD to invert at least one of 20 masks"
