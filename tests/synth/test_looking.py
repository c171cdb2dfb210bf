"""paperlib.synth.looking: the Diff-CAM lift per attribute (against classifiers whose map is known) and
the side effects on the CAM's grid."""

import pytest
import torch
from torch import nn

from paperlib.method.attributes import ATTRIBUTES
from paperlib.synth.looking import diffcam_lift, side_effect_cells
from paperlib.synth.world import LEAKS, SynthWorld


class ChangeNet(nn.Module):
    """A 7-way "classifier" whose Grad-CAM map is known: every logit is the image mean of ``a``, the
    per-pixel change ``|T - I'|`` (``looks_at_change``) or ``1 -`` it (looks everywhere but the change)."""

    def __init__(self, looks_at_change: bool = True) -> None:
        super().__init__()
        self.sign = 1.0 if looks_at_change else -1.0
        self.target_layer = nn.Identity()

    def forward(self, x):
        change = (x[:, 3:] - x[:, :3]).abs().mean(1, keepdim=True)
        a = self.target_layer(0.5 + self.sign * change)
        return a.mean((2, 3)).expand(-1, len(ATTRIBUTES))


@pytest.fixture(scope="module")
def pure_world():
    return SynthWorld(64, leaks={})


def test_a_map_of_the_change_lies_inside_the_region(pure_world):
    lifts = diffcam_lift(pure_world, ChangeNet(), n_faces=2)
    assert list(lifts) == list(ATTRIBUTES)
    for a, r in lifts.items():
        assert 0 < r["region_share"] < 0.5, a
        assert r["mass_inside"] > 0.9, a  # without side effects all the change is the attribute's
        assert r["lift"] == pytest.approx(r["mass_inside"] / r["region_share"])
        assert r["lift"] > 1.5


def test_a_map_away_from_the_change_has_a_lift_below_one(pure_world):
    lifts = diffcam_lift(pure_world, ChangeNet(looks_at_change=False), attributes=("Smiling", "Beard"), n_faces=2)
    assert list(lifts) == ["Smiling", "Beard"]
    assert all(r["lift"] < 1 for r in lifts.values())


def test_the_lift_measures_the_given_world(pure_world):
    """A variant world's side effects move the same classifier's map out of the region."""
    leaky = SynthWorld(64, leaks={"Smiling": ((3, 0.05), (8, 0.05))})  # CY and BG_LIGHT, strongly
    pure = diffcam_lift(pure_world, ChangeNet(), attributes=("Smiling",), n_faces=4)["Smiling"]
    moved = diffcam_lift(leaky, ChangeNet(), attributes=("Smiling",), n_faces=4)["Smiling"]
    assert moved["mass_inside"] < pure["mass_inside"] - 0.2


def test_side_effect_cells():
    world = SynthWorld(64)
    side, own = side_effect_cells(world, "Smiling", grid=8, n_faces=4)
    assert side.shape == own.shape == (8, 8)
    assert (side >= 0).all() and own.amax() > 10 * side.amax()
    side0, _ = side_effect_cells(SynthWorld(64, leaks={**LEAKS, "Smiling": ()}), "Smiling", n_faces=4)
    assert side0.amax() == 0
    with pytest.raises(ValueError, match="grid: expected a divisor"):
        side_effect_cells(world, "Smiling", grid=7)


@pytest.mark.parametrize("leaks, match", [
    ([], r"leaks: expected a dict"),
    ({"Bald": ()}, r"attribute: unknown attribute 'Bald'"),
    ({"Smiling": ((23, 0.1),)}, r"leaks: Smiling's side effects must move non-attribute coordinates"),
])
def test_world_leaks_bad_input(leaks, match):
    with pytest.raises(ValueError, match=match):
        SynthWorld(64, leaks=leaks)


def test_no_change_answer(pure_world):
    from paperlib.synth.looking import no_change_answer

    class Default(ChangeNet):  # answers Smiling whatever the pair
        def forward(self, x):
            return torch.tensor([0, 0, 0, 0, 0, 0, 9.0]).expand(len(x), 7)

    p = no_change_answer(pure_world, Default(), n_faces=2)
    assert list(p) == list(ATTRIBUTES) and p["Smiling"] > 0.99
    assert sum(p.values()) == pytest.approx(1.0)
