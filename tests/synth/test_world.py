"""paperlib.synth.world and its inverter: determinism, parsing consistency, directions and their side effects,
inversion, bad input, and a classifier that learns the world."""

import pytest
import torch

from paperlib.method.attributes import ATTRIBUTES
from paperlib.synth import (SynthInverter, intended_region, observe, SynthWorld)
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


@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_side_effects_are_weaker_than_the_attribute(attribute):
    """A direction's side effects change the image at most half as much as the attribute itself
    (at the world's default size): the classifier has to read the attribute, not its side effects."""
    from paperlib.synth.scores import side_effect_ratio
    assert 0 < side_effect_ratio(SynthWorld(128), attribute) <= 0.5


@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_side_effects_are_weak_in_every_cell(attribute):
    """Per region as well as image-wide: on the CAM's 8 × 8 grid, no cell is changed by the side effects
    more than 0.15 of the attribute's own strongest cell (measured 0.04-0.10 over the 7 attributes)."""
    from paperlib.synth.looking import side_effect_cell_ratio
    assert 0 < side_effect_cell_ratio(SynthWorld(128), attribute, n_faces=8) <= 0.15


def test_classifier_learns_the_synthetic_world():
    """A short run of EOGI's recipe on SynthFace pairs (64², ResNet18) is far above chance (1/7).
    24 steps (was 40): held-out accuracy measured 0.92, 0.80, 0.87, 0.95, 0.95 for seeds 0-4 (40 steps:
    1.00 for seed 0), so the 0.6 bound holds with margin across seeds, not by one lucky draw."""
    from paperlib.synth import pair_source
    from paperlib.method.train import TrainConfig, train
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        result = train(TrainConfig(steps=24, arch="resnet18", seed=0, lr=1e-3, checkpoint_every=24, eval_batches=3,
                                   out_dir=out), pair_source(size=64), progress=False)
    assert result.heldout_accuracy > 0.6


def test_no_change_pairs():
    """SynthPairSource(no_change=p): about that share of ([G(w), G(w)], NO_CHANGE) pairs; p = 0 draws the
    same stream as before the option existed (no extra random numbers)."""
    from paperlib.method.train import NO_CHANGE
    from paperlib.synth import SynthPairSource

    world = SynthWorld(64)
    x, y = SynthPairSource(world, no_change=0.5).sample_pairs(torch.Generator().manual_seed(1), 16)
    none = y == NO_CHANGE
    assert 0 < none.sum() < 16
    assert torch.equal(x[none, :3], x[none, 3:]) and (x[~none, :3] != x[~none, 3:]).flatten(1).any(1).all()
    gen = torch.Generator().manual_seed(2)
    w, k = world.sample_latents(3, gen), torch.randint(7, (3,), generator=gen)
    x0, y0 = SynthPairSource(world).sample_pairs(torch.Generator().manual_seed(2), 3)
    from paperlib.method.attributes import CLASS_INDEX
    assert torch.equal(x0[:, :3], world(w)) and y0.tolist() == [CLASS_INDEX[ATTRIBUTES[i]] for i in k]
    assert SynthPairSource(world).settings == {}  # as before: old checkpoints of such runs still resume
    assert SynthPairSource(world, no_change=0.5).settings == {"no_change": 0.5}
    assert SynthPairSource(SynthWorld(64, leaks={})).settings == {"leaks": {}}
    with pytest.raises(ValueError, match=r"no_change: expected a share in \[0, 1\), got 1"):
        SynthPairSource(world, no_change=1)
