"""paperlib.teaching.cam_layers: Grad-CAM vs Grad-CAM++ at a chosen layer (constant gradient at layer4,
the positive factor), the layer comparison and the layer choice."""

import pytest
import torch

from paperlib.method.cam import ALPHA_EPS, activations_and_grads, gradcam_plus_plus_weights, gradcam_weights
from paperlib.method.diffnet import DiffNet
from paperlib.teaching.cam_layers import (CAM_LAYERS, AtLayer, cam_layer, gradient_spatial_variation, layer_comparison,
                                plusplus_factor)

CLASS = 2


@pytest.fixture(scope="module")
def net_and_pairs():
    torch.manual_seed(0)
    return DiffNet(7, "resnet18").eval(), torch.rand(2, 6, 64, 64) * 2 - 1


def test_gradient_is_constant_per_channel_at_layer4_only(net_and_pairs):
    net, pairs = net_and_pairs
    at4 = gradient_spatial_variation(net, "layer4", pairs, CLASS)
    assert at4.shape == (2, 512) and at4.abs().max() < 1e-5
    for layer in CAM_LAYERS[1:]:
        earlier = gradient_spatial_variation(net, layer, pairs, CLASS)
        assert earlier.median() > 0.1, layer  # of order 1: the gradient varies over space


def test_plusplus_is_gradcam_times_a_positive_factor_at_layer4(net_and_pairs):
    net, pairs = net_and_pairs
    act, g = activations_and_grads(net, cam_layer(net, "layer4"), pairs, torch.tensor([CLASS, CLASS]))
    factor = plusplus_factor(g, act)
    positive = gradcam_weights(g) > 0
    assert positive.any() and (~positive).any()
    assert (factor[positive] > 0).all() and factor[~positive].isnan().all()
    # the closed form derived in the walkthrough: c_k = hw g^2 / (2 g^2 + S_k g^3 + eps)
    g0, s = g[:, :, 0, 0].double(), act.sum(dim=(2, 3)).double()
    derived = g.shape[2] * g.shape[3] * g0 ** 2 / (2 * g0 ** 2 + s * g0 ** 3 + ALPHA_EPS)
    torch.testing.assert_close(factor[positive].double(), derived[positive], rtol=1e-4, atol=0)
    assert (gradcam_plus_plus_weights(g, act)[~positive] == 0).all()  # negative channels are dropped


def test_layer_comparison_rows(net_and_pairs):
    net, pairs = net_and_pairs
    rows = layer_comparison(net, pairs, CLASS)
    assert [r["layer"] for r in rows] == list(CAM_LAYERS)
    grids = [tuple(map(int, r["grid"].split("x"))) for r in rows]
    assert grids[0] == grids[1] and grids[2] >= grids[0]  # layer3 never coarser than layer4
    assert rows[0]["gradient std/mean, max over channels"] < 1e-5
    assert all(r["gradient std/mean, median"] > 0.1 for r in rows[1:])
    assert all(0 <= r["mean abs(map++ - map)"] <= 1 and 0 <= r["Grad-CAM weight on negative channels"] <= 1
               for r in rows)


def test_cam_layer_choice_and_bad_name(net_and_pairs):
    net, pairs = net_and_pairs
    assert cam_layer(net, "layer4") is net.target_layer
    assert cam_layer(net, "layer4, block before last") is net.target_layer[0]  # resnet18: 2 blocks
    wrapped = AtLayer(net, cam_layer(net, "layer3, last block"))
    torch.testing.assert_close(wrapped(pairs), net(pairs))
    with pytest.raises(ValueError, match="layer: unknown CAM layer 'layer2'"):
        cam_layer(net, "layer2")
    with pytest.raises(ValueError, match="layer: not a submodule"):
        AtLayer(net, torch.nn.Conv2d(1, 1, 1))
