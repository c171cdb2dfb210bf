"""The walkthrough's teaching functions: Grad-CAM vs Grad-CAM++ at a chosen layer, the with/without
figures, the TTA labels and flip marker, the explorer's controls and CAM-layer choice."""

import numpy as np
import pytest
import torch

from paperlib.method.cam import ALPHA_EPS, TTA_FACTORS, activations_and_grads, gradcam_plus_plus_weights, gradcam_weights, tta_views
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


def test_tta_labels_and_flip_marker():
    from paperlib.teaching.walkthrough import flip_marker, tta_labels

    labels = tta_labels()
    assert len(labels) == 2 * len(TTA_FACTORS)
    assert all(f"x{f:g}" in labels[i] and f"x{f:g}" in labels[i + len(TTA_FACTORS)] for i, f in enumerate(TTA_FACTORS))
    assert all(label.startswith("not flipped") for label in labels[:len(TTA_FACTORS)])
    assert all(label.startswith("flipped") for label in labels[len(TTA_FACTORS):])
    pair = torch.zeros(1, 6, 32, 32)
    views = tta_views(flip_marker(pair))
    red = torch.tensor([1.0, -1.0, -1.0])
    k = len(TTA_FACTORS)
    unflipped, flipped = views[TTA_FACTORS.index(1.0)], views[k + TTA_FACTORS.index(1.0)]
    torch.testing.assert_close(unflipped[3:, 0, 0], red)  # T's top-left corner
    torch.testing.assert_close(flipped[3:, 0, -1], red)  # mirrored to the top-right
    assert (flipped[3:, 0, 0] == 0).all() and (pair == 0).all()  # the input is untouched


def test_explorer_controls_are_compact_and_wide_enough():
    from paperlib.teaching.explorer import explorer_controls

    c = explorer_controls(4)
    assert int(c["alpha"].layout.width.rstrip("px")) >= 300 and c["alpha"].readout
    assert all(not c[k].indent and c[k].layout.width == "auto"
               for k in ("gradcampp", "tta", "eigen", "segmentation", "authors_code"))
    assert list(c["layer"].options) == list(CAM_LAYERS) and c["face"].max == 3


@pytest.fixture(scope="module")
def small_setup():
    from paperlib.profiles.synthetic import setup as synthetic_setup
    from paperlib.synth import SynthInverter, SynthWorld

    torch.manual_seed(0)  # a rough inverter (100 training faces) is enough to draw every panel
    return synthetic_setup(1, size=64, classifier=DiffNet(7, "resnet18").eval(),
                           inverter=SynthInverter(SynthWorld(64), n_train=100), progress=False)


def _pixels(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).astype(float)


def test_teach_figures_have_their_panels(small_setup):
    from paperlib.teaching import walkthrough as teach
    from paperlib.teaching.edits import edit_face
    from paperlib.method.pipeline import VARIANTS

    e = edit_face(small_setup, 0, "Beard", tuple(VARIANTS))
    panels = {"steps": (teach.steps_figure(e, "Beard"), 5), "no_mask": (teach.no_mask_figure(e), 6),
              "layers": (teach.gradcam_vs_plusplus_figure(small_setup, e, "Beard"), 3 * len(CAM_LAYERS)),
              "tta": (teach.tta_figure(small_setup, e, "Beard"), 2 * (2 * len(TTA_FACTORS) + 1)),
              "parsing": (teach.parsing_figure(small_setup, e, "Beard"), 2 * 6),
              "blend": (teach.blend_figure(e), 5), "deghost": (teach.deghost_figure(small_setup, e), 3)}
    for name, (fig, n) in panels.items():
        assert len(fig.axes) == n, name
        assert _pixels(fig).std() > 1, name
    # SynthFace does not deghost: the difference panel says so instead of staying blank
    assert "identity" in panels["deghost"][0].axes[2].texts[0].get_text()


def test_explorer_layer_choice_changes_the_mask(small_setup):
    from paperlib.teaching.explorer import explorer_image

    images = {layer: _pixels(explorer_image(small_setup, "Smiling", 20.0, 0, layer=layer)) for layer in CAM_LAYERS}
    assert not np.array_equal(images["layer4"], images["layer3, last block"])
    assert not np.array_equal(images["layer4"], images["layer4, block before last"])
    with pytest.raises(ValueError, match="layer: unknown CAM layer"):
        explorer_image(small_setup, "Smiling", layer="fc")
