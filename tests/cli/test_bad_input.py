"""Bad input gives a one-line ValueError naming the argument and what was expected."""

import pytest
import torch
from torch import nn

from helpers import TinyCNN
from paperlib.method.attributes import check_attribute, class_index
from paperlib.method.cam import compute_cam
from paperlib.method.diffnet import DiffNet
from paperlib.method.masks import blend, fuse_masks, parsing_to_mask, segmentation_masks


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return DiffNet(7, "resnet18").eval()


def _one_line(excinfo):
    assert "\n" not in str(excinfo.value)


@pytest.mark.parametrize("call, match", [
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(1, 3, 64, 64), 0), r"inputs: expected 6 channels, got 3"),
    (lambda n: n(torch.zeros(1, 3, 64, 64)), r"x: expected 6 channels"),
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(6, 64, 64), 0), r"inputs: expected 4 dimensions"),
    (lambda n: compute_cam(n, n.target_layer, torch.full((1, 6, 64, 64), float("nan")), 0), r"inputs: contains NaN"),
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(2, 6, 64, 64), [0, 1, 2]), r"targets: expected one class index per image \(2\)"),
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(1, 6, 64, 64), 7), r"targets: class indices must lie in 0..6"),
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(1, 6, 64, 64), -1), r"targets: class indices must be >= 0, got \[-1\]"),
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(2, 6, 64, 64), [9, 1], aug_smooth=True), r"targets: class indices must lie in 0..6, got \[1, 9\]$"),
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(1, 6, 64, 64), []), r"targets: expected one class index per image \(1\), got none"),
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(1, 6, 64, 64), "Old"), r"targets: expected an int or a sequence of ints, got 'Old'"),
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(1, 6, 64, 64), 0.5), r"targets: expected integer"),
    (lambda n: compute_cam(n, nn.Conv2d(3, 3, 1), torch.zeros(1, 6, 64, 64), 0), r"target_layer: not a submodule of model"),
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(1, 6, 64, 64), 0, method="scorecam"), r"method: unknown CAM method"),
    (lambda n: compute_cam(n, n.target_layer, torch.zeros(1, 6, 64, 64), 0, eigen_smooth="yes"), r"eigen_smooth: expected"),
])
def test_cam_bad_input(net, call, match):
    with pytest.raises(ValueError, match=match) as e:
        call(net)
    _one_line(e)


def test_target_layer_not_called():
    model = TinyCNN()
    model.unused = nn.Conv2d(1, 1, 1)
    with pytest.raises(ValueError, match="target_layer: was not called"):
        compute_cam(model, model.unused, torch.zeros(1, 3, 8, 8), 0)


@pytest.mark.parametrize("call, match", [
    (lambda: blend(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5), torch.zeros(1, 4, 4)), r"edited, source: shapes must match"),
    (lambda: blend(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 5)), r"mask: expected shape \(1, 4, 4\)"),
    (lambda: blend(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), torch.full((1, 4, 4), 2.0)), r"mask: expected values in \[0, 1\]"),
    (lambda: blend(torch.full((1, 3, 4, 4), float("inf")), torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4)), r"edited: contains NaN"),
    (lambda: fuse_masks(torch.ones(1, 4, 4), torch.ones(1, 4, 4), torch.ones(1, 5, 4)), r"s_org, s_modif, cam: shapes must match"),
    (lambda: parsing_to_mask(torch.full((1, 4, 4), 19), {1}), r"parsing: labels must lie in 0-18"),
    (lambda: parsing_to_mask(torch.zeros(1, 4, 4), {1}), r"parsing: expected an integer tensor"),
    (lambda: segmentation_masks(torch.zeros(1, 2, 2, dtype=torch.long), torch.zeros(1, 2, 2, dtype=torch.long), "Bald"), r"attribute: unknown attribute 'Bald'"),
    (lambda: check_attribute("smiling"), r"attribute: unknown attribute"),
    (lambda: class_index("Old", 9), r"n_classes: expected 7"),
    (lambda: DiffNet(7, "resnet9"), r"arch: unknown architecture"),
])
def test_masks_and_model_bad_input(call, match):
    with pytest.raises(ValueError, match=match) as e:
        call()
    _one_line(e)
