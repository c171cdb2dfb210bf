"""The pure-PyTorch StyleGAN2 ops against independent references."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from paperlib.models.op import FusedLeakyReLU, fused_leaky_relu, make_kernel, upfirdn2d


def upfirdn2d_loops(x, kernel, up=(1, 1), down=(1, 1), pad=(0, 0, 0, 0)):
    """The op's definition written out in NumPy: zero-insert, pad/crop, true convolution, subsample.

    ``up``/``down`` are (x, y); ``pad`` is (x0, x1, y0, y1). Padded row r holds upsampled row
    ``r - y0`` (zero outside), which covers negative pads (crops) too.
    """
    x = x.double().numpy()
    k = kernel.double().numpy()
    (upx, upy), (downx, downy), (px0, px1, py0, py1) = up, down, pad
    n, c, h, w = x.shape
    hu, wu = h * upy, w * upx
    xu = np.zeros((n, c, hu, wu))
    xu[:, :, ::upy, ::upx] = x
    hp, wp = hu + py0 + py1, wu + px0 + px1
    xp = np.zeros((n, c, hp, wp))
    for r in range(hp):
        for s in range(wp):
            if 0 <= r - py0 < hu and 0 <= s - px0 < wu:
                xp[:, :, r, s] = xu[:, :, r - py0, s - px0]
    kh, kw = k.shape
    out = np.zeros((n, c, hp - kh + 1, wp - kw + 1))
    for r in range(out.shape[2]):
        for s in range(out.shape[3]):
            # convolution: the kernel is flipped relative to the window
            out[:, :, r, s] = (xp[:, :, r:r + kh, s:s + kw] * k[::-1, ::-1]).sum((2, 3))
    return torch.from_numpy(out[:, :, ::downy, ::downx].copy()).float()


def depthwise(x, kernel):
    """Plain F.conv2d with the flipped kernel, one filter per channel (no padding)."""
    c = x.shape[1]
    w = torch.flip(kernel, (0, 1))[None, None].expand(c, 1, -1, -1)
    return F.conv2d(x, w, groups=c)


def zero_insert(x, factor):
    """Zero-insertion upsampling through conv_transpose2d with a one-hot stride kernel."""
    c = x.shape[1]
    one_hot = torch.zeros(c, 1, factor, factor)
    one_hot[:, :, 0, 0] = 1
    return F.conv_transpose2d(x, one_hot, stride=factor, groups=c)


CASES = [  # up, down, pad (x0, x1, y0, y1), kernel shape
    (1, 1, (1, 2, 1, 2), (4, 4)),
    (1, 1, (0, 0, 0, 0), (3, 3)),
    (1, 1, (-1, 2, 2, -2), (3, 4)),
    (2, 1, (2, 1, 2, 1), (4, 4)),
    (2, 1, (1, 1, 1, 1), (4, 4)),
    (2, 1, (-1, 3, 0, 2), (4, 3)),
    (1, 2, (1, 1, 1, 1), (4, 4)),
    (1, 2, (0, -1, 2, 0), (3, 3)),
    (2, 2, (1, 2, 1, 2), (4, 4)),
    (4, 1, (3, 2, 3, 2), (6, 6)),
]


@pytest.mark.parametrize("up,down,pad,kshape", CASES)
def test_upfirdn2d_matches_loop_definition(up, down, pad, kshape):
    g = torch.Generator().manual_seed(hash((up, down, pad, kshape)) % 2**31)
    x = torch.randn(2, 3, 7, 6, generator=g)
    k = torch.randn(*kshape, generator=g)  # asymmetric, so a missing flip would show
    out = upfirdn2d(x, k, up=up, down=down, pad=pad)
    ref = upfirdn2d_loops(x, k, (up, up), (down, down), pad)
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-5)


def test_upfirdn2d_per_axis_factors():
    g = torch.Generator().manual_seed(1)
    x, k = torch.randn(1, 2, 5, 6, generator=g), torch.randn(3, 3, generator=g)
    out = upfirdn2d(x, k, up=(2, 1), down=(1, 2), pad=(1, 1, 2, 0))
    ref = upfirdn2d_loops(x, k, up=(2, 1), down=(1, 2), pad=(1, 1, 2, 0))
    assert out.shape == ref.shape == (1, 2, 3, 12)  # x: (6*2+2-2), y: (5+2-2) rows, every 2nd
    assert torch.allclose(out, ref, atol=1e-5)


def test_upfirdn2d_plain_filter_is_conv2d_with_flipped_kernel():
    g = torch.Generator().manual_seed(2)
    x, k = torch.randn(2, 4, 9, 8, generator=g), torch.randn(4, 4, generator=g)
    ref = depthwise(F.pad(x, (1, 2, 1, 2)), k)
    assert torch.allclose(upfirdn2d(x, k, pad=(1, 2)), ref, atol=1e-5)
    # negative padding crops: pad by 2 on the far side and remove one row/column on the near side
    ref_neg = depthwise(F.pad(x, (0, 2, 0, 2))[:, :, 1:, 1:], k)
    out_neg = upfirdn2d(x, k, pad=(-1, 2))
    assert out_neg.shape == (2, 4, 7, 6)
    assert torch.allclose(out_neg, ref_neg, atol=1e-5)


def test_upfirdn2d_up2_is_zero_insertion_then_conv():
    g = torch.Generator().manual_seed(3)
    x, k = torch.randn(2, 3, 5, 7, generator=g), torch.randn(4, 4, generator=g)
    up = zero_insert(x, 2)
    assert up.shape == (2, 3, 10, 14) and torch.equal(up[:, :, ::2, ::2], x) and up[:, :, 1::2].abs().sum() == 0
    ref = depthwise(F.pad(up, (2, 1, 2, 1)), k)
    out = upfirdn2d(x, k, up=2, pad=(2, 1))
    assert out.shape == (2, 3, 10, 14)
    assert torch.allclose(out, ref, atol=1e-5)


def test_upfirdn2d_down2_is_conv_then_stride():
    g = torch.Generator().manual_seed(4)
    x, k = torch.randn(2, 3, 10, 12, generator=g), torch.randn(4, 4, generator=g)
    ref = depthwise(F.pad(x, (1, 1, 1, 1)), k)[:, :, ::2, ::2]
    out = upfirdn2d(x, k, down=2, pad=(1, 1))
    assert out.shape == (2, 3, 5, 6)
    assert torch.allclose(out, ref, atol=1e-5)
    # and equals a strided conv2d
    c = x.shape[1]
    strided = F.conv2d(F.pad(x, (1, 1, 1, 1)), torch.flip(k, (0, 1))[None, None].expand(c, 1, -1, -1),
                       stride=2, groups=c)
    assert torch.allclose(out, strided, atol=1e-5)


def test_upfirdn2d_upsampling_keeps_constant_images_constant():
    # StyleGAN2's Upsample: [1,3,3,1] taps with gain 4, pads (2, 1): a constant stays constant away from borders
    k = make_kernel([1, 3, 3, 1]) * 4
    out = upfirdn2d(torch.full((1, 1, 8, 8), 3.0), k, up=2, pad=(2, 1))
    assert out.shape == (1, 1, 16, 16)
    assert torch.allclose(out[:, :, 2:-2, 2:-2], torch.full((1, 1, 12, 12), 3.0), atol=1e-6)


def test_fused_leaky_relu_formula():
    g = torch.Generator().manual_seed(5)
    x, b = torch.randn(2, 5, 3, 4, generator=g), torch.randn(5, generator=g)
    y = x + b.view(1, 5, 1, 1)
    ref = torch.where(y >= 0, y, 0.2 * y) * math.sqrt(2)
    assert torch.allclose(fused_leaky_relu(x, b), ref, atol=1e-6)
    assert torch.allclose(fused_leaky_relu(x, b, 0.2, math.sqrt(2)), ref, atol=1e-6)
    # 2-D inputs (the mapping network's) broadcast the bias over dim 1 too
    x2 = torch.randn(4, 5, generator=g)
    y2 = x2 + b
    assert torch.allclose(fused_leaky_relu(x2, b), torch.where(y2 >= 0, y2, 0.2 * y2) * math.sqrt(2), atol=1e-6)
    # no bias, other slope and gain
    assert torch.allclose(fused_leaky_relu(x, None, 0.1, 2.0), torch.where(x >= 0, x, 0.1 * x) * 2.0, atol=1e-6)


def test_fused_leaky_relu_module():
    act = FusedLeakyReLU(6)
    assert [n for n, _ in act.named_parameters()] == ["bias"]
    assert act.bias.shape == (6,) and torch.equal(act.bias, torch.zeros(6))
    with torch.no_grad():
        act.bias.copy_(torch.arange(6.0) - 3)
    x = torch.randn(2, 6, 3, 3)
    assert torch.allclose(act(x), fused_leaky_relu(x, act.bias), atol=0)


def test_make_kernel_normalisation():
    k = make_kernel([1, 3, 3, 1])
    expected = torch.tensor([1.0, 3, 3, 1])[:, None] * torch.tensor([1.0, 3, 3, 1])[None] / 64
    assert k.shape == (4, 4) and k.dtype == torch.float32
    assert torch.allclose(k, expected)
    assert k.sum().item() == pytest.approx(1.0)
    k2 = make_kernel([[1.0, 2.0], [3.0, 4.0]])
    assert torch.allclose(k2, torch.tensor([[0.1, 0.2], [0.3, 0.4]]))
    assert torch.allclose(make_kernel(torch.tensor([2.0, 2.0])), torch.full((2, 2), 0.25))
