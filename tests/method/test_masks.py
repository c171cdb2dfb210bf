"""paperlib.method.masks: the 19 parsing labels and component sets, parsing to masks, eq 10 (fusion
never enlarges the CAM) and eq 11 (the blend's extremes)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlib.method.attributes import ATTRIBUTES
from paperlib.method.masks import (LABELS, MODIF_COMPONENTS, ORG_COMPONENTS, PAPER_COMPONENTS, blend, fuse_masks,
                                   parsing_to_mask, segmentation_masks)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**16), b=st.integers(1, 3), h=st.integers(1, 8), w=st.integers(1, 8))
def test_blend_extremes(seed, b, h, w):
    gen = torch.Generator().manual_seed(seed)
    t, i = torch.rand(b, 3, h, w, generator=gen), torch.rand(b, 3, h, w, generator=gen)
    assert torch.equal(blend(t, i, torch.ones(b, h, w)), t)
    assert torch.equal(blend(t, i, torch.zeros(b, h, w)), i)
    m = torch.rand(b, h, w, generator=gen)
    out = blend(t, i, m)
    assert torch.allclose(out, m[:, None] * t + (1 - m[:, None]) * i)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_fusion_never_enlarges_mask(seed):
    gen = torch.Generator().manual_seed(seed)
    cam = torch.rand(2, 8, 8, generator=gen)
    s_org = (torch.rand(2, 8, 8, generator=gen) > 0.3).float()
    s_modif = (torch.rand(2, 8, 8, generator=gen) > 0.3).float()
    m = fuse_masks(s_org, s_modif, cam)
    assert (m <= cam).all() and (m <= s_org).all() and (m <= s_modif).all()
    assert torch.equal(m, cam * s_org * s_modif)
    assert torch.equal(fuse_masks(torch.ones_like(cam), torch.ones_like(cam), cam), cam)


def test_labels_as_method_md():
    assert len(LABELS) == 19
    assert LABELS[0] == "background" and LABELS[6] == "eye_g" and LABELS[10] == "nose"
    assert LABELS[14] == "neck" and LABELS[17] == "hair" and LABELS[18] == "hat"


def test_component_sets_exactly_as_method_md():
    r = lambda a, b: set(range(a, b + 1))  # noqa: E731
    org = {"Bushy_Eyebrows": {1, 2, 3, 10}, "Beard": {1, 2, 3, 10, 14},
           "Old": {1, 2, 3, 10, 11, 12, 13, 14}}
    for name in ATTRIBUTES:
        assert ORG_COMPONENTS[name] == org.get(name, {1, 2, 3, 10, 11, 12, 13}), name
        modif = r(1, 6) | r(10, 14) if name in ("Beard", "Old") else r(1, 6) | r(10, 13)
        assert MODIF_COMPONENTS[name] == modif, name
    assert PAPER_COMPONENTS == {**org, "other": r(1, 6) | r(10, 14)}


def test_parsing_to_mask_and_segmentation():
    parsing = torch.arange(19).view(1, 1, 19).repeat(2, 3, 1)
    m = parsing_to_mask(parsing, {1, 14})
    assert m.dtype == torch.float32 and m.shape == parsing.shape
    assert m.sum() == 2 * 3 * 2 and m[0, 0, 1] == 1 and m[0, 0, 14] == 1 and m[0, 0, 17] == 0
    s_org, s_modif = segmentation_masks(parsing, parsing, "Beard")
    assert s_org[0, 0].nonzero().flatten().tolist() == [1, 2, 3, 10, 14]
    assert s_modif[0, 0].nonzero().flatten().tolist() == [1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14]


def test_threshold_and_blur_masks():
    """threshold_mask is 0/1 at the threshold; blur_mask keeps a constant mask, keeps the mass of an
    interior impulse, equals the dense 2-D Gaussian there, and rejects a bad sigma in one line."""
    import torch.nn.functional as F

    from paperlib.method.masks import blur_mask, gaussian_kernel, threshold_mask

    m = torch.tensor([[[0.1, 0.5, 0.51], [0.9, 0.0, 1.0]]])
    assert threshold_mask(m, 0.5).tolist() == [[[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]]]
    assert torch.allclose(blur_mask(torch.full((2, 20, 24), 0.7), 3.0), torch.full((2, 20, 24), 0.7), atol=1e-6)
    impulse = torch.zeros(1, 41, 41)
    impulse[0, 20, 20] = 1
    out = blur_mask(impulse, 2.5)
    assert out.sum().item() == pytest.approx(1.0, abs=1e-6)
    k = gaussian_kernel(2.5)
    dense = F.conv2d(impulse[:, None], torch.outer(k, k)[None, None], padding=len(k) // 2)[:, 0]
    assert torch.allclose(out, dense, atol=1e-7)
    yy, xx = torch.meshgrid(torch.arange(41.0), torch.arange(41.0), indexing="ij")
    var = (out[0] * ((yy - 20) ** 2)).sum().item()
    assert var == pytest.approx(2.5 ** 2, rel=0.02)  # the kernel's variance is sigma^2 (up to truncation)
    for bad in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="^sigma: "):
            blur_mask(impulse, bad)
    with pytest.raises(ValueError, match="^t: "):
        threshold_mask(m, 1.5)
