"""SynthFace: determinism, parsing consistency, directions, inversion, pipeline, bad input."""

import pytest
import torch

from paperlib.method.attributes import ATTRIBUTES
from paperlib.method.diffnet import DiffNet
from paperlib.method.pipeline import VARIANTS, edit_variants
from paperlib.synth import (SynthInverter, blend_errors, components, intended_region, localization,
                            observe, SynthWorld)
from paperlib.synth.world import LATENT_DIM


@pytest.fixture(scope="module")
def world():
    return SynthWorld(64)


@pytest.fixture(scope="module")
def latents():
    return SynthWorld(64).sample_latents(8, torch.Generator().manual_seed(0))


def test_render_is_deterministic_and_in_range(world, latents):
    a, b = world.render(latents), world.render(latents.clone())
    assert torch.equal(a.image, b.image) and torch.equal(a.parsing, b.parsing)
    assert a.image.shape == (8, 3, 64, 64) and a.parsing.shape == (8, 64, 64)
    assert a.image.min() >= -1 and a.image.max() <= 1
    assert a.parsing.min() >= 0 and a.parsing.max() <= 18
    assert not torch.equal(a.image[0], a.image[1])  # faces vary


def test_parsing_matches_what_was_drawn(world, latents):
    r = world.render(latents)
    for label in (0, 1, 4, 5, 10, 17):  # background, skin, eyes, nose, hair are always drawn
        assert ((r.parsing == label).flatten(1).sum(1) > 0).all(), label
    # every labelled region has its own colour statistics: skin differs from background
    skin = (r.parsing == 1)[:, None].expand_as(r.image)
    bg = (r.parsing == 0)[:, None].expand_as(r.image)
    assert (r.image[skin].mean() - r.image[bg].mean()).abs() > 0.05
    # glasses are drawn (label 6) only after the Eyeglasses edit
    assert (r.parsing == 6).sum() == 0
    edited = world.render(latents + 20 * world.direction("Eyeglasses"))
    assert ((edited.parsing == 6).flatten(1).sum(1) > 0).all()


@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_each_direction_changes_its_intended_region_most(world, latents, attribute):
    before, after = world(latents), world(latents + 20 * world.direction(attribute))
    region = intended_region(world, latents, attribute)
    change = (after - before).abs().mean(1)
    inside = (change * region).sum() / region.sum()
    outside = (change * ~region).sum() / (~region).sum()
    assert region.float().mean() > 0.005
    assert inside > 2 * outside  # per-pixel change inside at least twice that outside
    assert outside > 0  # side effects exist outside the region (entangled directions)


def test_directions_are_unit_and_leaky(world):
    for a in ATTRIBUTES:
        n = world.direction(a)
        assert torch.isclose(n.norm(), torch.tensor(1.0))
        assert (n != 0).sum() >= 3  # the attribute plus at least two side effects


def test_inversion_misses_out_of_domain_details():
    world = SynthWorld(64)
    obs = observe(world, 16, seed=3)
    inv = SynthInverter(world, n_train=400)
    w_hat = inv(obs.image)
    recon = world.render(w_hat)
    assert (obs.parsing == 9).any()            # earrings exist in the photos ...
    assert not (recon.parsing == 9).any()      # ... and the generator cannot draw them
    mae_recon = (recon.image - obs.image).abs().mean()
    mae_true = (world(obs.latents) - obs.image).abs().mean()
    assert mae_true > 0.01                     # even the true latent misses the details
    assert mae_recon > mae_true                # and the inversion is imperfect beyond that


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


@pytest.mark.parametrize("call, match", [
    (lambda w: w.direction("Bald"), r"attribute: unknown attribute 'Bald'"),
    (lambda w: w.render(torch.zeros(2, LATENT_DIM + 1)), r"w: expected a latent tensor of shape \(B, 24\)"),
    (lambda w: w.render(torch.zeros(LATENT_DIM)), r"w: expected a latent tensor"),
    (lambda w: w.render(torch.full((1, LATENT_DIM), float("nan"))), r"w: contains NaN"),
    (lambda w: SynthWorld(32), r"size: expected an integer image size in 64-256"),
])
def test_world_bad_input(world, call, match):
    with pytest.raises(ValueError, match=match):
        call(world)


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


def test_summary_rows_and_markdown():
    from paperlib.synth.report import markdown_table, summary_rows
    scores = {"Diff-CAM": {"iou": [0.2, 0.4, 0.9], "precision": [1.0, 1.0, 1.0], "recall": [0.5, 0.5, 1.0],
                           "region_share": [0.1, 0.1, 0.2], "mass_inside": [0.3, 0.5, 0.2],
                           "mae_outside": [0, 0, 0.3], "mae_inside": [0.1, 0.1, 0.1],
                           "attribute": ["Beard", "Beard", "Old"]}}
    beard, old, both = (summary_rows(scores, a)[0] for a in ("Beard", "Old", None))
    assert beard["n"] == 2 and old["n"] == 1 and both["n"] == 3
    assert beard["iou"] == pytest.approx(0.3) and beard["iou_std"] == pytest.approx(0.1)
    assert both["iou"] == pytest.approx(0.5)
    table = markdown_table([both])
    assert "| Diff-CAM | 3 | 0.500 ± 0.294 |" in table
    from paperlib.synth.report import looking_table
    looking = looking_table([{**beard, "attribute": "Beard"}, {**both, "attribute": "all"}])
    assert "| Beard | 2 | 0.100 | 0.400 ± 0.100 | 4.0 |" in looking and "| all |" not in looking


def test_mass_inside_by_hand():
    from paperlib.synth.scores import mass_inside
    region = torch.zeros(2, 4, 4, dtype=torch.bool)
    region[:, :2] = True                          # the top half
    cam = torch.zeros(2, 4, 4)
    cam[0, 0, 0], cam[0, 3, 3] = 3.0, 1.0         # 3 of 4 units of mass inside
    assert mass_inside(cam, region).tolist() == [0.75, 0.0]  # an empty map has no mass inside
    assert mass_inside(torch.ones(1, 4, 4), region[:1]).item() == 0.5  # uniform: the region's share


@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_side_effects_are_weaker_than_the_attribute(attribute):
    """A direction's side effects change the image at most half as much as the attribute itself
    (at the world's default size): the classifier has to read the attribute, not its side effects."""
    from paperlib.synth.scores import side_effect_ratio
    assert 0 < side_effect_ratio(SynthWorld(128), attribute) <= 0.5


def test_classifier_learns_the_synthetic_world():
    """A short run of EOGI's recipe on SynthFace pairs (64², ResNet18) is far above chance (1/7)."""
    from paperlib.synth import pair_source
    from paperlib.method.train import TrainConfig, train
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        result = train(TrainConfig(steps=40, arch="resnet18", seed=0, lr=1e-3, checkpoint_every=40, eval_batches=3,
                                   out_dir=out), pair_source(size=64), progress=False)
    assert result.heldout_accuracy > 0.6
