"""The mask path of the authors' released scripts (``paperlib.method.authors``) and its named method."""

from __future__ import annotations

import pytest
import torch

from paperlib.method import authors, pipeline
from paperlib.method.masks import segmentation_masks
from paperlib.evaluation.methods import ALL_METHODS, MASK_METHODS, SLUG, check_methods

from helpers import small_paper_components

AUTHORS_CODE = pipeline.AUTHORS_CODE


def _parsing(h=64, w=64, mouth_rows=slice(40, 48)):
    """Skin (1) everywhere, a nose (10) block, and a mouth (11) band in ``mouth_rows``."""
    p = torch.ones(1, h, w, dtype=torch.long)
    p[:, 20:30, 24:40] = 10
    p[:, mouth_rows, 20:44] = 11
    return p


def test_eigen_is_off_for_old_only():
    assert authors.authors_eigen("Old") is False
    assert {a: authors.authors_eigen(a) for a in ("Beard", "Smiling", "Bushy_Eyebrows")} == dict.fromkeys(
        ("Beard", "Smiling", "Bushy_Eyebrows"), "authors")
    assert pipeline.cam_config(AUTHORS_CODE, "Old") == ("gradcam++", True, False)
    assert pipeline.cam_config(AUTHORS_CODE, "Beard") == ("gradcam++", True, "authors")
    assert pipeline.cam_config("Diff-CAM++", "Old") == ("gradcam++", True, True)  # the paper's variant keeps Eigen


def test_mouth_mask_takes_the_mouth_of_either_image_for_smiling_and_old():
    ps, pt = _parsing(mouth_rows=slice(40, 44)), _parsing(mouth_rows=slice(46, 50))
    for a in ("Smiling", "Old"):
        m2 = authors.mouth_mask(ps, pt, a)
        assert m2[0, 40:44, 20:44].eq(0).all() and m2[0, 46:50, 20:44].eq(0).all()
        assert m2[0, 44:46, 20:44].eq(1).all() and m2[0, :40].eq(1).all()
    assert authors.mouth_mask(ps, pt, "Beard").eq(1).all()


def test_mouth_blend_is_eq11_off_the_mouth_and_T_on_it():
    g = torch.Generator().manual_seed(0)
    t, i = torch.rand(1, 3, 8, 8, generator=g) * 2 - 1, torch.rand(1, 3, 8, 8, generator=g) * 2 - 1
    m = torch.rand(1, 8, 8, generator=g)
    m2 = torch.ones(1, 8, 8)
    m2[:, :4] = 0
    f = authors.mouth_blend(t, i, m, m2)
    eq11 = t * m[:, None] + i * (1 - m[:, None])
    assert torch.allclose(f[..., 4:, :], eq11[..., 4:, :], atol=1e-6)
    assert torch.allclose(f[..., :4, :], t[..., :4, :], atol=1e-6)


def test_to_bgr_uint8_wraps_like_the_scripts_cast():
    x = torch.tensor([-1.0, 1.0, 1.01, -1.01]).view(1, 1, 4).expand(3, 1, 4)  # 0, 255, 256.3 -> 0, -1.3 -> 255
    out = authors.to_bgr_uint8(x)
    assert out.shape == (1, 4, 3) and out[0, :, 0].tolist() == [0, 255, 0, 255]


def test_poisson_blend_clones_gradients_inside_the_region_and_keeps_I_outside():
    g = torch.Generator().manual_seed(1)
    yy, xx = torch.meshgrid(torch.linspace(-0.5, 0.5, 96), torch.linspace(-0.5, 0.5, 96), indexing="ij")
    i = torch.stack([yy, xx, yy * xx]).unsqueeze(0) + 0.01 * torch.randn(1, 3, 96, 96, generator=g)
    region = torch.zeros(1, 96, 96)
    region[:, 30:70, 25:75] = 1
    f = i + 0.3  # same gradients as I, shifted: Poisson cloning gives back I, an alpha blend would not
    out = authors.poisson_blend(f, i, region)
    i8 = torch.from_numpy(authors.to_bgr_uint8(i[0])[:, :, ::-1].copy()).permute(2, 0, 1).float() / 127.5 - 1
    outside = region[0] == 0
    assert torch.equal(out[0][:, outside], i8[:, outside])  # dst = I, untouched outside the region
    inside = region[0] == 1
    assert (out[0][:, inside] - i8[:, inside]).abs().mean() < 0.02  # F's gradients = I's: I comes back
    assert (f[0][:, inside] - i8[:, inside]).abs().mean() > 0.25
    # a textured F differs from I: its texture is cloned in
    f2 = i + 0.2 * torch.randn(1, 3, 96, 96, generator=g)
    assert (authors.poisson_blend(f2, i, region)[0][:, inside] - i8[:, inside]).abs().mean() > 0.05


def test_poisson_blend_of_a_batch_equals_one_image_at_a_time():
    g = torch.Generator().manual_seed(5)
    f, i = torch.rand(3, 3, 48, 48, generator=g) * 2 - 1, torch.rand(3, 3, 48, 48, generator=g) * 2 - 1
    region = torch.zeros(3, 48, 48)
    region[0, 10:40, 8:30], region[1, 5:20, 5:45] = 1, 1  # image 2: empty region
    batch = authors.poisson_blend(f, i, region)
    assert torch.equal(batch, torch.cat([authors.poisson_blend(f[k:k + 1], i[k:k + 1], region[k:k + 1])
                                         for k in range(3)]))


@pytest.mark.parametrize("box", [None, (30, 38, 20, 60)])  # empty; 8 px tall (at most MIN_EXTENT)
def test_poisson_blend_returns_I_for_empty_or_thin_regions(box):
    g = torch.Generator().manual_seed(2)
    i, f = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1, torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    region = torch.zeros(1, 64, 64)
    if box:
        region[:, box[0]:box[1], box[2]:box[3]] = 1
    out = authors.poisson_blend(f, i, region)
    assert torch.allclose(out, (i * 127.5 + 127.5).round() / 127.5 - 1, atol=1e-6)


def test_authors_blend_clones_the_mouth_blend_inside_s_org_s_modif():
    ps = pt = _parsing()
    g = torch.Generator().manual_seed(3)
    t, i = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1, torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    cam = torch.rand(1, 64, 64, generator=g)
    out = authors.authors_blend(t, i, cam, ps, pt, "Smiling")
    s_org, s_modif = segmentation_masks(ps, pt, "Smiling")
    expected = authors.poisson_blend(authors.mouth_blend(t, i, cam, authors.mouth_mask(ps, pt, "Smiling")), i,
                                     s_org * s_modif)
    assert torch.equal(out, expected)


def test_the_named_method_runs_through_the_pipeline():
    """On small paper networks: the map is Grad-CAM++ + TTA + the authors' Eigen variant, the raw
    map is the mask (no eq 10), F is the Poisson-cloned mouth blend, and the output is F deghosted."""
    c = small_paper_components(("Smiling",))[0]
    g = torch.Generator().manual_seed(4)
    source = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1  # the small generator draws 64² images
    plain = ("gradcam++", True, "authors", False)
    e = pipeline.edit_variants(c, source, "Smiling", (AUTHORS_CODE, plain))
    assert torch.allclose(e.cams[AUTHORS_CODE], e.cams[plain], atol=1e-6)
    assert torch.equal(e.masks[AUTHORS_CODE], e.cams[AUTHORS_CODE])
    ps, pt = c.parse(source), c.parse(e.edited)
    assert torch.equal(e.blended[AUTHORS_CODE], authors.authors_blend(e.edited, source, e.masks[AUTHORS_CODE],
                                                                     ps, pt, "Smiling"))
    # both variants are deghosted in one batched call: equal to a call of its own within float32 noise
    assert torch.allclose(e.outputs[AUTHORS_CODE], c.deghost(e.blended[AUTHORS_CODE]), atol=1e-5)


def test_methods_know_the_named_method_by_name_and_slug():
    assert AUTHORS_CODE in ALL_METHODS and MASK_METHODS[AUTHORS_CODE] == AUTHORS_CODE
    assert SLUG[AUTHORS_CODE] == "diff-cam-pp-authors"
    assert check_methods(["diff-cam-pp-authors", "EOGI"]) == ["EOGI", AUTHORS_CODE]
    with pytest.raises(ValueError, match="unknown 'diff-cam-pp-author'"):
        check_methods(["diff-cam-pp-author"])
