"""SynthFace: the CPU world of the ``synthetic`` profile (see :mod:`paperlib.synth.world`).

It implements the same small interfaces as the real components, so :mod:`paperlib.method.pipeline`
runs on it unchanged: ``components(...)`` plugs the world's generator, directions, inverter
(a ridge-regression encoder) and exact parsing maps (a stand-in for BiSeNet) into the
pipeline; :mod:`paperlib.synth.baselines` gives the e4e / ReStyle / InterFaceGAN analogues
(``baseline_editors(world)``: the editors of the tables' e4e and ReStyle rows);
:mod:`paperlib.synth.strength` reads attribute strengths from pixels (``strength_estimator(world)``). Deghosting
is the identity here: we found no cheap honest stand-in for EOGI's network, and an identity
cannot flatter the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..method.attributes import ATTRIBUTES, CLASS_INDEX
from ..method.pipeline import Components
from .baselines import E4ELikeEncoder, ReStyleLikeInverter, baseline_editors, interfacegan_directions
from .inverter import SynthInverter
from .scores import blend_errors, intended_region, localization
from .strength import StrengthEstimator, strength_estimator, strength_kept
from .world import LATENT_DIM, LEAKS, Rendered, SynthWorld

__all__ = ["SynthWorld", "SynthInverter", "E4ELikeEncoder", "ReStyleLikeInverter", "baseline_editors",
           "interfacegan_directions", "Observed", "observe", "pair_source", "components",
           "intended_region", "localization", "blend_errors", "StrengthEstimator", "strength_estimator",
           "strength_kept", "LATENT_DIM", "Rendered"]


@dataclass
class Observed:
    """Observed photos ``I`` (with out-of-domain details), their exact parsing and true latents."""

    image: torch.Tensor
    parsing: torch.Tensor
    latents: torch.Tensor
    details: torch.Tensor


def observe(world: SynthWorld, n: int, seed: int) -> Observed:
    """``n`` observed photos, reproducible from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    w = world.sample_latents(n, gen)
    details = world.sample_details(n, gen)
    with torch.no_grad():
        r = world.render(w, details)
    return Observed(r.image, r.parsing, w, details)


class SynthPairSource:
    """Training pairs ``([G(w), G(w + alpha n_k)], k)`` with a random attribute ``k`` per sample; with
    ``no_change`` > 0 that share of the pairs is ``([G(w), G(w)], NO_CHANGE)`` (target: no class;
    :data:`paperlib.method.train.NO_CHANGE`), so that no class is learnt as the answer when nothing
    changed (docs/synthface.md, "Where the classifier looks")."""

    def __init__(self, world: SynthWorld, alpha: float = 20.0, no_change: float = 0.0) -> None:
        if isinstance(no_change, bool) or not isinstance(no_change, (int, float)) or not 0 <= no_change < 1:
            raise ValueError(f"no_change: expected a share in [0, 1), got {no_change!r}")
        self.world, self.alpha, self.no_change = world, alpha, float(no_change)
        #: what sets the pairs beyond the training config (checkpoints resume only on the same; empty for the
        #: world's own side effects without no-change pairs, as before these options existed)
        self.settings = {**({"no_change": self.no_change} if self.no_change else {}),
                         **({"leaks": world.leaks} if world.leaks != LEAKS else {})}
        self.directions = torch.stack([world.direction(a) for a in ATTRIBUTES])
        self.classes = torch.tensor([CLASS_INDEX[a] for a in ATTRIBUTES])

    def sample_pairs(self, generator: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        from ..method.train import NO_CHANGE

        w = self.world.sample_latents(batch, generator)
        k = torch.randint(len(ATTRIBUTES), (batch,), generator=generator)
        move, labels = self.directions[k], self.classes[k]
        if self.no_change:
            none = torch.rand(batch, generator=generator) < self.no_change
            move = move * (~none)[:, None]
            labels = torch.where(none, torch.full_like(labels, NO_CHANGE), labels)
        with torch.no_grad():
            pair = torch.cat([self.world(w), self.world(w + self.alpha * move)], dim=1)
        return pair, labels


def pair_source(size: int = 128, seed: int = 0, alpha: float = 20.0, leaks: dict | None = None,
                no_change: float = 0.0) -> SynthPairSource:
    """The synthetic profile's training pairs (``seed`` is unused: sampling uses the caller's generator);
    ``leaks``: a variant world's side effects (:class:`SynthWorld`; default the world's); ``no_change``:
    the share of no-change pairs (:class:`SynthPairSource`)."""
    return SynthPairSource(SynthWorld(size, leaks), alpha, no_change)


def components(world: SynthWorld, classifier: torch.nn.Module, inverter: SynthInverter | None = None) -> Components:
    """The synthetic profile's plug-ins for :mod:`paperlib.method.pipeline`."""
    inverter = inverter or SynthInverter(world)

    def exact_parsing(w: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return world.render(w).parsing

    def generate(w: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return world(w)

    return Components(invert=inverter.invert, generate=generate, direction=world.direction,
                      classifier=classifier, class_index=lambda a: CLASS_INDEX[a], parse=None,
                      exact_parsing=exact_parsing, cam_size=world.size)
