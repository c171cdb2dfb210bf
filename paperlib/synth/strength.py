"""An attribute-strength estimator for SynthFace: the strength of each attribute read from pixels alone.

The world knows the true strength ``attribute_strength(w, a) = sigmoid((w_k - 10) / 4)`` of a face it
drew, but an edited output (a blend of a source photo and an edited reconstruction) has no latent.
:class:`StrengthEstimator` reads the 7 strengths from the image, so edited outputs can be judged by
"the attribute's strength in the output image".

- **Labelled renders** (:func:`labelled_renders`): latents whose 7 attribute coordinates are drawn
  uniformly from :data:`COORD_RANGE` (strengths from about 0.02 to 0.998), the other coordinates standard
  normal, drawn with random out-of-domain details (photos as observed, :func:`paperlib.synth.observe`).
- **Features** (:func:`features`): average-pooled pixels of the whole image on a
  :data:`FEATURE_GRID` grid (context: face shape, hair, background) and of the central face crop
  :data:`FACE_CROP` on the same grid (a finer grid of the face: the brows, eyes and mouth).
- **Model**: ridge regression (:func:`paperlib.synth.baselines.ridge`, unpenalised intercept,
  :data:`PENALTY`) from the features to the 7 strengths, clamped to [0, 1]. Being linear in pixels, the
  reading of a 50/50 pixel blend is the mean of the two readings (unless clamped).
- **Held-out error** (:attr:`StrengthEstimator.held_out`): MAE and R² per attribute on
  :data:`N_HELD_OUT` labelled renders from their own seed, never used in fitting.

Fitted at the world's size (renders at 64 px differ from 128 px ones in thin, aliased strokes, and a
fit at one size read the other badly: Smiling's R² fell below 0), with one CPU thread and fixed seeds
(deterministic), cached per process and under ``$PAPERLIB_FIT_CACHE`` (:func:`paperlib.synth.inverter.fitted`).
Images of another size are read through the same area pooling; accuracy is measured at the fit size.

Choice of model (exploration renders, seeds other than the ones below, 128 px, 1000 training faces,
held-out R² Beard / Bushy_Eyebrows / Eyeglasses / Mouth_Open / Narrow_Eyes / Old / Smiling):
16x16 pooled pixels alone 0.997 / 0.971 / 0.991 / 0.994 / 0.949 / 0.988 / 0.987; with the face crop
0.996 / 0.983 / 0.996 / 0.993 / 0.982 / 0.994 / 0.992 (chosen: the small attributes gain, fit < 1 s);
32x32 pooled pixels (2000 faces, 5 s to solve) 0.997 / 0.985 / 0.997 / 0.994 / 0.981 / 0.995 / 0.990, no
better. Predicting logit-strength (then a sigmoid) was worse (MAE 0.04-0.05 vs 0.02-0.04). Trained on
renders with details, it read renders without them (``G(w)``) as well (R² within 0.005).

The default fit (:data:`N_TRAIN` = 800 faces, 128 px; about 8 s of one core, mostly rendering) scored,
held out: R² 0.993 / 0.979 / 0.993 / 0.993 / 0.970 / 0.994 / 0.988, MAE 0.023 / 0.040 / 0.021 / 0.024 /
0.046 / 0.021 / 0.029. On 50 observed photos and their ideal edits ``render(w + 20 n_pure, details)`` the
mean reading rose from 0.075 / 0.074 / 0.085 / 0.105 to 0.923 / 0.920 / 0.906 / 0.889 for Beard /
Bushy_Eyebrows / Old / Smiling (true: about 0.08 to 0.92), rising on every face.
"""

from __future__ import annotations

import math

import torch

from ..method.attributes import ATTRIBUTES, check_attribute
from .baselines import pooled, ridge
from .inverter import check_images, fitted, single_threaded
from .world import ATTRIBUTE_COORD, SynthWorld, attribute_strength

#: Range of each attribute coordinate in the labelled renders (strength sigmoid((w_k - 10) / 4): 0.023-0.998).
COORD_RANGE = (-5.0, 35.0)
#: Features: pooled pixels on this grid, of the whole image and of the face crop (fractions of the side).
FEATURE_GRID, FACE_CROP = 16, (0.2, 0.8)
#: Ridge penalty relative to the mean Gram diagonal (chosen on exploration renders, not the held-out set).
PENALTY = 1e-4
#: Labelled renders: fitting and held-out set sizes and their seeds.
N_TRAIN, N_HELD_OUT, TRAIN_SEED, HELD_OUT_SEED = 800, 300, 4242, 4243
#: :func:`strength_kept` is NaN where the ideal edit reads less than this much stronger than the source.
MIN_GAIN = 0.1
_CHUNK = 100


def labelled_renders(world: SynthWorld, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, strengths)``: ``n`` photos drawn with random details, every attribute coordinate
    uniform in :data:`COORD_RANGE`, the rest standard normal; true strengths (n, 7) in ATTRIBUTES order."""
    gen = torch.Generator().manual_seed(seed)
    w = world.sample_latents(n, gen)
    lo, hi = COORD_RANGE
    w[:, [ATTRIBUTE_COORD[a] for a in ATTRIBUTES]] = lo + (hi - lo) * torch.rand(n, len(ATTRIBUTES), generator=gen)
    details = world.sample_details(n, gen)
    with torch.no_grad():
        images = world.render(w, details).image
    return images, torch.stack([attribute_strength(w, a) for a in ATTRIBUTES], dim=1)


def features(images: torch.Tensor) -> torch.Tensor:
    """The estimator's input (B, 6 * FEATURE_GRID²): pooled pixels of the image and of its face crop."""
    size = images.shape[-1]
    lo, hi = (round(f * size) for f in FACE_CROP)
    return torch.cat([pooled(images, FEATURE_GRID), pooled(images[..., lo:hi, lo:hi], FEATURE_GRID)], dim=1)


def _labelled_features(world: SynthWorld, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`labelled_renders` as features, rendered in chunks (a few MB at a time)."""
    xs, ys = [], []
    for start in range(0, n, _CHUNK):  # one seed per chunk: the set does not depend on how many chunks there are
        images, strengths = labelled_renders(world, min(_CHUNK, n - start), seed * 1_000_003 + start)
        xs.append(features(images))
        ys.append(strengths)
    return torch.cat(xs), torch.cat(ys)


def _scores(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """(3, 7): MAE, R² and the number of faces, per attribute."""
    mae = (pred - true).abs().mean(0)
    r2 = 1 - ((pred - true) ** 2).sum(0) / ((true - true.mean(0)) ** 2).sum(0)
    return torch.stack([mae, r2, torch.full_like(mae, len(true))])


@fitted(maxsize=2)
def _fit(size: int, n_train: int, n_held_out: int, seed: int, held_out_seed: int,
         penalty: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(A, b, scores)``: the ridge map and its held-out :func:`_scores`."""
    world = SynthWorld(size)
    with single_threaded():
        a, b = ridge(*_labelled_features(world, n_train, seed), penalty)
        x, y = _labelled_features(world, n_held_out, held_out_seed)
        return a, b, _scores((x @ a + b).clamp(0, 1), y)


class StrengthEstimator:
    """``predict(images) -> (B, 7)`` strengths in [0, 1] (ATTRIBUTES order), read from pixels (module doc).

    ``held_out[attribute] = {"mae", "r2", "n"}``: its error on labelled renders never used in fitting."""

    def __init__(self, world: SynthWorld, n_train: int = N_TRAIN, n_held_out: int = N_HELD_OUT,
                 seed: int = TRAIN_SEED, held_out_seed: int = HELD_OUT_SEED, penalty: float = PENALTY) -> None:
        self.size = world.size
        self.weights, self.bias, scores = _fit(world.size, n_train, n_held_out, seed, held_out_seed, penalty)
        self.held_out = {a: {"mae": scores[0, k].item(), "r2": scores[1, k].item(), "n": int(scores[2, k])}
                         for k, a in enumerate(ATTRIBUTES)}
        self.settings = {"size": world.size, "n_train": n_train, "n_held_out": n_held_out, "seed": seed,
                         "held_out_seed": held_out_seed, "penalty": penalty, "features": FEATURE_GRID,
                         "face_crop": FACE_CROP, "coord_range": COORD_RANGE}

    def linear(self, images: torch.Tensor) -> torch.Tensor:
        """The linear reading (B, 7) before :meth:`predict` clamps it to [0, 1] (it may leave [0, 1] a little)."""
        images = check_images(images)
        if not torch.isfinite(images).all():
            raise ValueError("images: contains NaN or infinite values")
        return features(images) @ self.weights + self.bias

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Strengths (B, 7) in [0, 1] for images (B, 3, H, W) in [-1, 1] (best at the world's size)."""
        return self.linear(images).clamp(0, 1)

    __call__ = predict


def strength_estimator(world: SynthWorld) -> StrengthEstimator:
    """The estimator for ``world`` with the default settings (fitted once per process; ~8 s of CPU at 128 px)."""
    return StrengthEstimator(world)


def strength_kept(estimator: StrengthEstimator, output: torch.Tensor, source: torch.Tensor,
                  ideal: torch.Tensor, attribute: str) -> torch.Tensor:
    """How much of the ideal edit's strength gain the output shows, (B,):
    ``(s(output) - s(source)) / (s(ideal) - s(source))`` for ``attribute``'s estimated strength ``s``.

    0 for the source itself, 1 when the output reads as strong as the ideal edit (it may leave [0, 1]).
    ``s`` is the unclamped :meth:`StrengthEstimator.linear` reading: a clamp would read a source at -0.1
    and one at 0 alike, and a pixel blend ``t * ideal + (1 - t) * source`` reads exactly ``t``.
    NaN where the ideal edit reads less than :data:`MIN_GAIN` stronger than the source (about 2-3 times
    the estimator's held-out MAE): there the ratio would measure the estimator's noise, not the edit."""
    check_attribute(attribute)
    if not (output.shape == source.shape == ideal.shape):
        raise ValueError(f"output, source, ideal: expected one shape, got {tuple(output.shape)}, "
                         f"{tuple(source.shape)}, {tuple(ideal.shape)}")
    k = ATTRIBUTES.index(attribute)
    s_out, s_src, s_ideal = (estimator.linear(x)[:, k] for x in (output, source, ideal))
    gain = s_ideal - s_src
    return torch.where(gain >= MIN_GAIN, (s_out - s_src) / gain.clamp(min=MIN_GAIN), torch.full_like(gain, math.nan))


__all__ = [
    "COORD_RANGE",
    "FACE_CROP",
    "FEATURE_GRID",
    "MIN_GAIN",
    "N_HELD_OUT",
    "N_TRAIN",
    "PENALTY",
    "StrengthEstimator",
    "features",
    "labelled_renders",
    "strength_estimator",
    "strength_kept",
]
