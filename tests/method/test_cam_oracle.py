"""compute_cam equals pytorch-grad-cam (the oracle) to 1e-5 on random-init networks."""

import functools

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM
from pytorch_grad_cam import base_cam, hirescam, layer_cam
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

from helpers import TinyCNN
from paperlib.method.cam import compute_cam, first_component_projection
from paperlib.method.cam_library import grads_from  # only the target layer's parameters require grad
from paperlib.method.diffnet import DiffNet

ORACLES = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "hirescam": HiResCAM, "xgradcam": XGradCAM,
           "layercam": LayerCAM}
#: The methods added with the leaderboard: checked on the tiny net and the default synthetic DiffNet only.
NEW_METHODS = ("hirescam", "xgradcam", "layercam")


def oriented_projection(batch: np.ndarray) -> np.ndarray:
    """pytorch-grad-cam's projection plus our orientation rule (used by the oracle in tests only)."""
    proj = get_2d_projection(batch)
    plain = batch.sum(axis=1)
    plain = plain - plain.mean(axis=(1, 2), keepdims=True)
    flip = (proj * plain).sum(axis=(1, 2)) < 0
    proj[flip] *= -1
    return proj


def oracle(model, layer, x, targets, method, aug, eigen, monkeypatch):
    if eigen:  # HiResCAM and LayerCAM call their own imported copy of the projection
        for module in (base_cam, hirescam, layer_cam):
            monkeypatch.setattr(module, "get_2d_projection", oriented_projection)
    cam = ORACLES[method](model, [layer])
    try:
        with grads_from(model, layer):
            out = cam(x, [ClassifierOutputTarget(t) for t in targets], aug_smooth=aug, eigen_smooth=eigen)
    finally:
        cam.activations_and_grads.release()  # the networks are shared by the tests: no hooks left behind
    return torch.from_numpy(out)


@functools.lru_cache(maxsize=None)
def _diffnet(arch):
    """One random-init DiffNet per architecture for the module (nothing here changes its weights)."""
    torch.manual_seed(1)
    return DiffNet(7, arch).eval()


NETS = {
    "tiny": (lambda: TinyCNN().eval(), 3, 32),
    "diffnet-resnet18": (lambda: _diffnet("resnet18"), 6, 96),  # 3x3 CAM grid (layer4 is 1/32)
    "diffnet-resnet50": (lambda: _diffnet("resnet50"), 6, 96),  # Bottleneck blocks (resnet18: BasicBlock)
    "diffnet-resnet18-os16": (lambda: _diffnet("resnet18-os16"), 6, 64),  # 4x4 grid: the new methods, fast
}
#: Where the CAM is taken: each net's CAM layer, or the DiffNet's block before last of layer4 (where
#: the gradient varies in space, so the element-wise methods differ from the channel-wise ones).
LAYERS = {"target": lambda m: m.target if isinstance(m, TinyCNN) else m.target_layer,
          "block-before-last": lambda m: m.target_layer[-2]}


def _cases():
    """Grad-CAM / Grad-CAM++ on every net at its CAM layer, with and without TTA; the newer methods
    with and without TTA on the tiny net, and without TTA (the TTA merge is method-independent and
    checked above; pytorch-grad-cam's 6 separate passes are slow) on the synthetic DiffNet (os16) at
    layer4 and at its block before last."""
    old = [(net, m, "target", aug) for net in NETS if net != "diffnet-resnet18-os16" for m in ORACLES
           if m not in NEW_METHODS for aug in (False, True)]
    new = [(net, m, where, aug) for m in NEW_METHODS for net, where, augs in
           (("tiny", "target", (False, True)), ("diffnet-resnet18-os16", "target", (False,)),
            ("diffnet-resnet18-os16", "block-before-last", (False,))) for aug in augs]
    return old + new


@pytest.mark.parametrize("net,method,where,aug", _cases())
@pytest.mark.parametrize("eigen", [False, True])
def test_compute_cam_matches_pytorch_grad_cam(net, method, where, aug, eigen, monkeypatch):
    build, channels, size = NETS[net]
    torch.manual_seed(2)
    model = build()
    layer = LAYERS[where](model)
    torch.manual_seed(3)  # the same input whether or not the network was already built (cached)
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


def test_layer_followed_by_an_in_place_op():
    """A target layer whose output is then modified in place (ReLU(inplace=True)) gives the same maps
    as the same network with an out-of-place ReLU. (pytorch-grad-cam on CPU keeps a detached alias
    of the output, so the in-place ReLU silently changes the activations it uses; we do not.)"""
    def net(inplace):
        torch.manual_seed(4)
        return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(inplace=inplace),
                                   torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 3)).eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    a, b = net(True), net(False)
    for method in ORACLES:
        for aug in (False, True):
            ours = compute_cam(a, a[0], x, [0, 2], method=method, aug_smooth=aug)
            assert torch.equal(ours, compute_cam(b, b[0], x, [0, 2], method=method, aug_smooth=aug))
            assert ours.max() > 0


def test_eigen_orientation_matters_on_a_real_network(monkeypatch):
    """On the DiffNet, find inputs whose raw pytorch-grad-cam projection is inverted: ours equals the
    oriented oracle there and differs from the unoriented one."""
    model = _diffnet("resnet18")
    raw_oracle = GradCAMPlusPlus(model, [model.target_layer])
    try:
        for seed in range(40):
            torch.manual_seed(seed)
            x = torch.rand(1, 6, 128, 128) * 2 - 1
            with grads_from(model, model.target_layer):
                raw = torch.from_numpy(raw_oracle(x, [ClassifierOutputTarget(3)], eigen_smooth=True))
            ours = compute_cam(model, model.target_layer, x, [3], eigen_smooth=True)
            if (ours - raw).abs().max() > 0.1:  # the raw SVD sign came out inverted
                oriented = oracle(model, model.target_layer, x, [3], "gradcam++", False, True, monkeypatch)
                assert (ours - oriented).abs().max().item() <= 1e-5
                return
    finally:
        raw_oracle.activations_and_grads.release()
    pytest.fail("no inverted raw projection in 40 inputs; the orientation rule was never exercised")
