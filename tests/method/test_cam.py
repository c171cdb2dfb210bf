"""paperlib.method.cam: eq 6 against real derivatives, properties of the maps (eq 8), Eigen smoothing (eq 9),
TTA, and what the CAM engine builds and runs."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import paperlib.method.cam as cam_mod
from helpers import TinyCNN
from paperlib.method.cam import (compute_cam, first_component_projection, gradcam_plus_plus_alpha,
                          minmax_normalize)


def _head_score(a, v, u, b):
    """A piecewise-linear head: S = sum_k v_k mean_ij ReLU(u_k A_kij + b_k)."""
    return (v * torch.relu(u[:, None, None] * a + b[:, None, None]).mean(dim=(1, 2))).sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eq6_closed_form_alpha_equals_autograd(seed, monkeypatch):
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(3, 4, 4, generator=gen, dtype=torch.float64).requires_grad_(True)
    v, u = (torch.randn(3, generator=gen, dtype=torch.float64) * 3 for _ in range(2))
    b = torch.rand(3, generator=gen, dtype=torch.float64) * 2  # most units active, some not
    (g,) = torch.autograd.grad(_head_score(a, v, u, b), a)

    def y(x):  # Y^c = exp(S^c)
        return torch.exp(_head_score(x, v, u, b))

    (gy,) = torch.autograd.grad(y(a), a, create_graph=True)
    d2 = torch.zeros(a.numel(), dtype=torch.float64)
    d3 = torch.zeros(a.numel(), dtype=torch.float64)
    for i in range(a.numel()):
        (row,) = torch.autograd.grad(gy.flatten()[i], a, create_graph=True)
        d2[i] = row.flatten()[i]
        (row3,) = torch.autograd.grad(row.flatten()[i], a, retain_graph=True)
        d3[i] = row3.flatten()[i]
    d2, d3 = d2.view_as(a), d3.view_as(a)
    alpha_autograd = d2 / (2 * d2 + a.detach().sum(dim=(1, 2), keepdim=True) * d3)

    monkeypatch.setattr(cam_mod, "ALPHA_EPS", 0.0)
    closed = gradcam_plus_plus_alpha(g[None], a.detach()[None])[0]
    nz = g != 0
    assert nz.sum() > 10
    assert torch.allclose(closed[nz], alpha_autograd[nz], rtol=1e-9, atol=1e-12)
    assert (closed[~nz] == 0).all()


def _zero_head(model):
    with torch.no_grad():
        model.head[-1].weight.zero_()
    return model


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), method=st.sampled_from(sorted(cam_mod.METHODS)),
       aug=st.booleans(), eigen=st.sampled_from([False, True, "authors"]), zero=st.booleans(),
       scale=st.floats(1e-3, 1e3))
def test_maps_in_unit_range_and_finite(seed, method, aug, eigen, zero, scale):
    torch.manual_seed(seed)
    model = TinyCNN().eval()
    if zero:
        _zero_head(model)  # all gradients are zero
    x = (torch.rand(2, 3, 16, 16) * 2 - 1) * scale
    maps = compute_cam(model, model.target, x, [1, 2], method=method, aug_smooth=aug, eigen_smooth=eigen)
    assert maps.shape == (2, 16, 16)
    assert torch.isfinite(maps).all()
    assert maps.min() >= 0 and maps.max() <= 1
    if zero:
        assert (maps == 0).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), c=st.floats(1e-3, 1e3))
def test_eigen_smoothing_invariant_to_scaling(seed, c):
    gen = torch.Generator().manual_seed(seed)
    weighted = torch.randn(2, 16, 5, 5, generator=gen)
    base = minmax_normalize(first_component_projection(weighted))
    scaled = minmax_normalize(first_component_projection(weighted * c))
    assert torch.allclose(base, scaled, atol=1e-5)


def test_cam_builds_no_parameter_gradients_and_restores_mode():
    torch.manual_seed(0)
    model = TinyCNN().train()
    compute_cam(model, model.target, torch.rand(2, 3, 16, 16), 1, aug_smooth=True)
    assert all(p.grad is None for p in model.parameters())
    assert model.training


def test_cam_variants_equal_separate_calls():
    from paperlib.method.cam import cam_variants
    torch.manual_seed(3)
    model = TinyCNN().eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    configs = [("gradcam", False, False), ("gradcam++", True, True), ("gradcam++", False, "authors"),
               ("gradcam", True, False)]
    shared = cam_variants(model, model.target, x, [0, 4], configs)
    for (method, aug, eigen), maps in zip(configs, shared):
        alone = compute_cam(model, model.target, x, [0, 4], method=method, aug_smooth=aug, eigen_smooth=eigen)
        assert torch.equal(maps, alone)


def test_no_graph_before_the_target_layer_and_one_pass_for_tta():
    """The layers before the target run with grad disabled; TTA is one forward of 6 B views."""
    torch.manual_seed(0)
    model = TinyCNN().eval()
    seen = {"before": [], "target": [], "batches": []}
    model.features.register_forward_hook(lambda m, i, o: seen["before"].append(torch.is_grad_enabled()))
    model.head.register_forward_hook(lambda m, i, o: seen["target"].append(o.requires_grad))
    model.register_forward_pre_hook(lambda m, i: seen["batches"].append(len(i[0])))
    compute_cam(model, model.target, torch.rand(2, 3, 16, 16), [1, 2], aug_smooth=True, eigen_smooth=True)
    assert seen["before"] == [False]       # no autograd graph up to the target layer
    assert seen["target"] == [True]        # ... but the score depends on it with a graph
    assert seen["batches"] == [12]         # one forward of 6 views x 2 images


def test_elementwise_and_channel_methods_at_and_before_global_pooling():
    """At layer4, whose output is average-pooled before the linear layer, the gradient is constant per
    channel, so HiResCAM's and XGrad-CAM's maps equal Grad-CAM's and LayerCAM's weights are (N, K, h, w)
    copies of ReLU(Grad-CAM's); at layer4's block before last the gradient varies in space and
    HiResCAM differs from Grad-CAM."""
    from paperlib.method.diffnet import DiffNet, cam_layer

    torch.manual_seed(3)
    net = DiffNet(7, "resnet18-os16").eval()
    x = torch.rand(2, 6, 64, 64) * 2 - 1
    last, before = (cam_layer(net, name) for name in ("layer4", "layer4, block before last"))
    act, g = cam_mod.activations_and_grads(net, last, x, torch.tensor([1, 5]))
    w = cam_mod.LayerCAM.weights(act, g)
    assert w.shape == act.shape
    assert torch.allclose(w, cam_mod.gradcam_weights(g).clamp(min=0)[:, :, None, None].expand_as(w), atol=1e-9)
    maps = {m: compute_cam(net, last, x, [1, 5], method=m) for m in ("gradcam", "hirescam", "xgradcam")}
    assert (maps["hirescam"] - maps["gradcam"]).abs().max() <= 1e-5
    assert (maps["xgradcam"] - maps["gradcam"]).abs().max() <= 1e-5
    early = {m: compute_cam(net, before, x, [1, 5], method=m) for m in ("gradcam", "hirescam")}
    assert (early["hirescam"] - early["gradcam"]).abs().max() > 1e-2
