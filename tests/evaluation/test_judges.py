"""The edit-kept judges: what each returns for the source, the whole edit and a part of it."""

import math

import pytest
import torch

from paperlib.evaluation.judges import (
    check_judge,
    classifier_edit_kept,
    edit_kept,
    projection_edit_kept,
)
from paperlib.method.diffnet import DiffNet, SourceEncoded


def _images(seed=0, b=3, size=8):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(b, 3, size, size, generator=g) * 2 - 1 for _ in range(2))


def test_edit_kept_is_zero_for_the_source_one_for_the_whole_change_and_linear_between():
    source, change = _images()
    assert torch.allclose(edit_kept(source, source, change), torch.zeros(3))
    assert torch.allclose(edit_kept(source + change, source, change), torch.ones(3))
    assert torch.allclose(edit_kept(source + 0.3 * change, source, change), torch.full((3,), 0.3))


def test_what_moves_orthogonally_to_the_change_or_outside_the_region_does_not_count():
    source, _ = _images()
    change = torch.zeros_like(source)
    change[:, :, :4] = 1.0                     # the edit: the top half
    other = torch.zeros_like(source)
    other[:, :, 4:] = 5.0                      # a side effect: the bottom half
    region = torch.zeros(3, 8, 8, dtype=torch.bool)
    region[:, :4] = True
    out = source + 0.5 * change + other
    assert torch.allclose(edit_kept(out, source, change), torch.full((3,), 0.5))
    assert torch.allclose(edit_kept(out, source, change, region), torch.full((3,), 0.5))
    # a reference whose side effect lies outside the region: only the region's part is asked for
    assert torch.allclose(edit_kept(source + change, source, change + other, region), torch.ones(3))


def test_a_zero_change_has_no_share_and_bad_input_is_one_line():
    source, _ = _images()
    assert edit_kept(source, source, torch.zeros_like(source)).isnan().all()
    with pytest.raises(ValueError, match="change: expected the output's shape"):
        edit_kept(source, source, source[:, :1])
    with pytest.raises(ValueError, match="region: expected shape"):
        edit_kept(source, source, source, torch.ones(3, 4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="output: contains NaN"):
        edit_kept(source * math.nan, source, source)
    with pytest.raises(ValueError, match="judge: unknown judge 'nope'; expected one of exact"):
        check_judge("nope")


def test_projection_judge_scores_the_generator_edit_itself_as_one():
    recon, edited = _images(1)
    source = recon + 0.05 * torch.randn(recon.shape, generator=torch.Generator().manual_seed(2))
    pSp = edited + (source - recon)  # the generator's edit carried onto the photo
    assert torch.allclose(projection_edit_kept(pSp, source, edited, recon), torch.ones(3), atol=1e-5)
    assert torch.allclose(projection_edit_kept(source, source, edited, recon), torch.zeros(3))


def test_classifier_judge_is_zero_for_the_source_and_one_for_the_pair_it_is_relative_to():
    torch.manual_seed(0)
    net = DiffNet(7, "resnet18").eval()
    recon, edited = _images(3, b=4, size=32)
    k = next(k for k in range(7)
             if (net(torch.cat([recon, edited], 1))[:, k] > net(torch.cat([recon, recon], 1))[:, k]).any())
    out = classifier_edit_kept(net, k, {"source": recon, "T": edited}, recon, edited, recon)
    seen = ~out["T"].isnan()
    assert seen.any() and torch.allclose(out["T"][seen], torch.ones(int(seen.sum())), atol=1e-4)
    assert torch.allclose(out["source"][seen], torch.zeros(int(seen.sum())), atol=1e-6)
    assert not net.training


def test_a_cam_pass_through_source_encoded_leaves_an_eval_classifier_in_eval_mode():
    """SourceEncoded used to start in training mode; a CAM restoring its mode then put the DiffNet in
    training mode, and every later forward pass moved its batch-norm statistics."""
    from paperlib.method.cam import cam_variants

    net = DiffNet(7, "resnet18").eval()
    pair = torch.rand(2, 6, 32, 32)
    wrapped = SourceEncoded(net, pair[:, :3])
    cam_variants(wrapped, net.target_layer, pair, [0, 0], [("gradcam", False, False)])
    assert not net.training and not wrapped.training
