"""paperlib.synth.strength: the attribute-strength estimator read from pixels, and strength_kept.

Fitted on a small sample at 64 px (2 s) to stay in the unit tier; the profile's 128 px estimator with the
default sample scored held-out R² 0.970-0.994 (the module doc)."""

import math

import pytest
import torch

from paperlib.method.attributes import ATTRIBUTES, TABLE_ATTRIBUTES
from paperlib.synth import SynthWorld, observe
from paperlib.synth import strength as st
from paperlib.synth.world import attribute_strength

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread for this module

N_TRAIN, N_HELD_OUT = 400, 200
#: Held-out R² floors at this sample (measured 0.98-0.99 for these, 0.94-0.95 for brows and eyes).
BIG, SMALL = ("Beard", "Eyeglasses", "Mouth_Open", "Old", "Smiling"), ("Bushy_Eyebrows", "Narrow_Eyes")


@pytest.fixture(scope="module")
def world():
    return SynthWorld(64)


@pytest.fixture(scope="module")
def estimator(world):
    return st.StrengthEstimator(world, n_train=N_TRAIN, n_held_out=N_HELD_OUT)


@pytest.fixture(scope="module")
def faces(world):
    """50 observed photos and their ideal edits ``render(w + 20 n_pure, details)`` per table attribute."""
    obs = observe(world, 50, seed=777)
    with torch.no_grad():
        ideal = {a: world.render(obs.latents + 20 * world.pure_direction(a), obs.details).image
                 for a in TABLE_ATTRIBUTES}
    return obs, ideal


def test_fit_is_deterministic_and_cached(world, estimator):
    args = (world.size, N_TRAIN, N_HELD_OUT, st.TRAIN_SEED, st.HELD_OUT_SEED, st.PENALTY)
    again = st._fit.__wrapped__(*args)  # a fresh fit, past the per-process cache
    for mine, other in zip((estimator.weights, estimator.bias), again):
        assert torch.equal(mine, other)
    assert st.StrengthEstimator(world, N_TRAIN, N_HELD_OUT).weights is estimator.weights


def test_held_out_error(estimator):
    assert set(estimator.held_out) == set(ATTRIBUTES)
    for a, v in estimator.held_out.items():
        assert v["n"] == N_HELD_OUT
        assert v["r2"] > (0.95 if a in BIG else 0.9), (a, v)
        assert 0 < v["mae"] < (0.05 if a in BIG else 0.08), (a, v)


def test_reads_the_true_strength_of_unseen_renders(world, estimator):
    images, strengths = st.labelled_renders(world, 100, seed=99)
    pred = estimator.predict(images)
    assert pred.shape == (100, len(ATTRIBUTES)) and pred.min() >= 0 and pred.max() <= 1
    assert (pred - strengths).abs().mean() < 0.06


def test_ideal_edit_reads_stronger_and_a_blend_in_between(estimator, faces):
    obs, ideal = faces
    before = estimator.predict(obs.image)
    for a in TABLE_ATTRIBUTES:
        k = ATTRIBUTES.index(a)
        after = estimator.predict(ideal[a])[:, k]
        blend = estimator.predict(0.5 * obs.image + 0.5 * ideal[a])[:, k]
        assert before[:, k].mean() < 0.15 and after.mean() > 0.85, a  # true means: about 0.08 and 0.92
        assert (after > before[:, k]).all(), a
        # in between for nearly every face (all 50 with the 128 px default fit; 49 of 50 with this small one)
        assert ((blend >= before[:, k]) & (blend <= after)).float().mean() >= 0.95, a
    true_before = torch.stack([attribute_strength(obs.latents, a) for a in ATTRIBUTES], 1)
    assert (before - true_before).abs().mean() < 0.07  # 0.058 with this small fit, 0.048 at 128 px


def test_strength_kept_is_0_for_the_source_1_for_the_ideal_and_nan_without_gain(estimator, faces):
    obs, ideal = faces
    for a in TABLE_ATTRIBUTES:
        assert st.strength_kept(estimator, obs.image, obs.image, ideal[a], a).abs().max() < 1e-5
        assert (st.strength_kept(estimator, ideal[a], obs.image, ideal[a], a) - 1).abs().max() < 1e-5
        half = st.strength_kept(estimator, 0.5 * obs.image + 0.5 * ideal[a], obs.image, ideal[a], a)
        assert half.shape == (50,) and (half - 0.5).abs().max() < 1e-4, a  # the reading is linear in pixels
    # an "ideal" that is the source itself has no gain to keep
    assert st.strength_kept(estimator, ideal["Old"], obs.image, obs.image, "Old").isnan().all()
    assert st.MIN_GAIN > 0 and not math.isnan(st.MIN_GAIN)


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(2, 64, 64), r"images: expected \(B, 3, H, W\)"),
    (torch.zeros(2, 1, 64, 64), r"images: expected \(B, 3, H, W\)"),
    (torch.full((1, 3, 64, 64), math.nan), "images: contains NaN"),
])
def test_bad_images_raise_one_line(estimator, bad, message):
    with pytest.raises(ValueError, match=message) as err:
        estimator.predict(bad)
    assert "\n" not in str(err.value)


def test_strength_kept_checks_its_inputs(estimator):
    x = torch.zeros(2, 3, 64, 64)
    with pytest.raises(ValueError, match="expected one shape"):
        st.strength_kept(estimator, x, x[:1], x, "Old")
    with pytest.raises(ValueError):
        st.strength_kept(estimator, x, x, x, "Blond_Hair")
