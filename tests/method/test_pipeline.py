"""paperlib.method.pipeline on SynthFace: every mask variant runs, alpha is checked, segmentation never adds
damage outside the edit region."""

import pytest
import torch

from paperlib.method.diffnet import DiffNet
from paperlib.method.pipeline import VARIANTS, edit_variants
from paperlib.synth import (SynthInverter, components, observe, SynthWorld)


@pytest.fixture(scope="module")
def world():
    return SynthWorld(64)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_pipeline_runs_every_variant(world, variant):
    torch.manual_seed(0)
    net = DiffNet(7, "resnet18").eval()
    obs = observe(world, 2, seed=5)
    c = components(world, net, SynthInverter(world, n_train=400))
    e = edit_variants(c, obs.image, "Smiling", (variant,), parsing_source=obs.parsing)
    for t in (e.reconstruction, e.edited, e.blended[variant], e.outputs[variant]):
        assert t.shape == (2, 3, 64, 64) and torch.isfinite(t).all()
        assert t.min() >= -1 and t.max() <= 1
    assert e.masks[variant].min() >= 0 and e.masks[variant].max() <= 1
    if VARIANTS[variant][3]:
        assert (e.masks[variant] <= e.cams[variant]).all()


def test_pipeline_rejects_non_finite_alpha(world):
    c = components(world, DiffNet(7, "resnet18").eval(), SynthInverter(world, n_train=400))
    obs = observe(world, 1, seed=0)
    for bad in (float("inf"), float("nan"), True, "20", None):
        with pytest.raises(ValueError, match=r"alpha: expected a finite number"):
            edit_variants(c, obs.image, "Old", ("Diff-CAM++",), alpha=bad, parsing_source=obs.parsing)
    import numpy as np
    for ok in (np.float32(20), torch.tensor(20.0), 20):  # numeric scalars of any kind are fine
        e = edit_variants(c, obs.image, "Old", ("Diff-CAM++",), alpha=ok, parsing_source=obs.parsing)
        assert torch.isfinite(e.outputs["Diff-CAM++"]).all()
    with pytest.raises(ValueError, match=r"needs both parsing maps; pass parsing_source="):
        edit_variants(c, obs.image, "Old", ("Diff-CAM++",))  # SynthFace has no image parser: give the photos' parsing
    with pytest.raises(ValueError, match=r"variant: unknown mask variant"):
        edit_variants(c, obs.image, "Old", ("CAM-X",))


def test_segmentation_never_adds_damage_outside_the_region(world):
    from paperlib.evaluation.evaluate import compute_batch
    from paperlib.evaluation.methods import MASK_METHODS
    from paperlib.profiles.synthetic import setup as synthetic_setup
    torch.manual_seed(0)
    setup = synthetic_setup(3, size=64, classifier=DiffNet(7, "resnet18").eval(),
                            inverter=SynthInverter(world, n_train=400), progress=False)
    outputs, loc = compute_batch(setup, [0, 1, 2], "Beard", list(MASK_METHODS))
    assert set(loc) == set(VARIANTS)
    for v, scores in loc.items():
        assert all(0 <= x <= 1 for key in ("iou", "precision", "recall") for x in scores[key])
    # segmentation only removes mask pixels: what Diff-CAM++ wrongly changes outside the region
    # is never more than its unsegmented twin, image by image
    for seg, plain in zip(loc["Diff-CAM++"]["mae_outside"], loc["+TTA+Eigen"]["mae_outside"]):
        assert seg <= plain + 1e-9
