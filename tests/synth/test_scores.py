"""paperlib.synth.scores: the ground-truth scores and the CAM mass inside the region, by hand."""

import pytest
import torch

from paperlib.synth import (blend_errors, localization)


def test_scores_by_hand():
    region = torch.zeros(1, 4, 4, dtype=torch.bool)
    region[0, :2] = True                          # 8 pixels
    mask = torch.zeros(1, 4, 4)
    mask[0, 1:3] = 1.0                            # 8 pixels, 4 of them inside
    s = localization(mask, region)
    assert s["iou"].item() == pytest.approx(4 / 12)
    assert s["precision"].item() == pytest.approx(0.5) and s["recall"].item() == pytest.approx(0.5)
    src, edt = -torch.ones(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    e = blend_errors(edt, src, edt, region)       # output == T everywhere
    assert e["mae_outside"].item() == pytest.approx(1.0) and e["mae_inside"].item() == 0


def test_mass_inside_by_hand():
    from paperlib.synth.scores import mass_inside
    region = torch.zeros(2, 4, 4, dtype=torch.bool)
    region[:, :2] = True                          # the top half
    cam = torch.zeros(2, 4, 4)
    cam[0, 0, 0], cam[0, 3, 3] = 3.0, 1.0         # 3 of 4 units of mass inside
    assert mass_inside(cam, region).tolist() == [0.75, 0.0]  # an empty map has no mass inside
    assert mass_inside(torch.ones(1, 4, 4), region[:1]).item() == 0.5  # uniform: the region's share
