"""SynthFace analogues of the paper's baselines: an e4e-like encoder, a ReStyle-like iterative
inverter and InterFaceGAN-like directions for ``Old`` and ``Smiling``.

A baseline here is what it is in the paper profile (:func:`paperlib.profiles.paper.baseline_editor`):
``(images, attribute) -> G(invert(images) + factor * d_attribute)``, its own inversion moved along
its own InterFaceGAN-like direction and regenerated (a final image: no mask, no deghosting).

- :class:`E4ELikeEncoder`: a linear encoder from the same pooled pixels as the pSp-like
  :class:`paperlib.synth.SynthInverter`, fitted by ridge regression with an unpenalised
  intercept (the training sample's mean latent) and a strong penalty (:data:`E4E_PENALTY`):
  every code is pulled towards the mean latent, the linear counterpart of e4e's latent
  discriminator and delta regulariser keeping codes in the well-populated part of the latent
  space. It trades reconstruction for codes close to the typical face.
- :class:`ReStyleLikeInverter`: ReStyle's iteration. ``w_0`` is the mean latent (``G(w_0)`` the
  average face); each of :data:`RESTYLE_STEPS` steps predicts a residual ``dw`` from the pooled
  pixels of ``[I, G(w_t)]`` with one shared linear map, ``w_{t+1} = w_t + dw``. The map is
  fitted by ridge regression on the pairs the iteration itself visits: fit on step 0's pairs,
  run a step, refit on all pairs so far, ... (ReStyle trains one encoder on its own iterates).
- :func:`interfacegan_directions`: InterFaceGAN's recipe on the world's generator samples.
  A labelled sample in which the 7 attributes occur with CelebA-like prevalence and
  co-occurrence (:data:`PREVALENCE`, :data:`CO_OCCURRENCE`, assumed values, CelebA-like in
  sign and rough size: smiling faces often have an open mouth, old faces often glasses...),
  labelled by the rendered attribute strength (> 0.5); the unit normal of an L2-regularised
  logistic regression (C = 1, sklearn's default strength) on the latents. Because labelled
  attributes co-occur, the regularised normal leans towards the co-occurring attributes'
  coordinates: it is entangled as real InterFaceGAN normals are, by the data, not by design.
- :func:`matched_factor`: the edit factor moving the attribute's own coordinate exactly as far
  as the world's ``w + 20 n`` does, so the attribute's strength moves as much.

Everything is fitted on seeded samples at 64 px, with one CPU thread (:func:`single_threaded`:
the weights do not depend on the machine's core count, and the renderer's small tensors run
faster on one thread than on two contended ones), and cached per process.
"""

from __future__ import annotations

import functools
from typing import Callable

import torch
import torch.nn.functional as F

from ..method.attributes import ATTRIBUTES, INTERFACEGAN_ATTRIBUTES, check_attribute
from .inverter import check_images, fitted, single_threaded
from .world import ATTRIBUTE_COORD, LATENT_DIM, SynthWorld, attribute_strength

#: The fitting resolution (as the pSp-like inverter's) and the training sample.
FIT_SIZE = 64
N_TRAIN, TRAIN_SEED = 300, 2024
#: e4e-like: 16x16 pooled pixels (as the pSp-like inverter), ridge penalty relative to the mean
#: Gram diagonal (the pSp-like inverter's is 1e-3).
E4E_FEATURES, E4E_PENALTY = 16, 100.0
#: ReStyle-like: 5 steps, each from the 8x8 pooled pixels of [I, G(w_t)]; ridge penalty.
RESTYLE_STEPS, RESTYLE_FEATURES, RESTYLE_PENALTY = 5, 8, 0.1
#: InterFaceGAN-like: the labelled sample (size, seed), the logistic regression's C.
N_LABELLED, LABEL_SEED, LOGISTIC_C = 4000, 7, 1.0
#: Share of labelled faces showing each attribute (assumed, CelebA-like).
PREVALENCE: dict[str, float] = {"Bushy_Eyebrows": 0.14, "Beard": 0.17, "Eyeglasses": 0.065, "Mouth_Open": 0.48,
                                "Narrow_Eyes": 0.12, "Old": 0.22, "Smiling": 0.48}
#: Correlations of the attributes' presence in the labelled sample (Gaussian copula; assumed, CelebA-like in sign).
CO_OCCURRENCE: dict[tuple[str, str], float] = {("Smiling", "Mouth_Open"): 0.6, ("Smiling", "Narrow_Eyes"): 0.3,
                                               ("Old", "Eyeglasses"): 0.3, ("Old", "Beard"): 0.2,
                                               ("Old", "Smiling"): -0.1}
#: How far a present attribute's coordinate is pushed in the labelled sample (the world's alpha).
PRESENT_SHIFT = 20.0


# ----------------------------------------------------------------------------------- fitting
def pooled(images: torch.Tensor, size: int) -> torch.Tensor:
    """Average-pooled pixels (B, 3 * size * size) of images (B, 3, H, W)."""
    return F.adaptive_avg_pool2d(images.float().cpu(), size).flatten(1)


def ridge(x: torch.Tensor, y: torch.Tensor, penalty: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A, b)`` minimising ``|x A + b - y|^2 + penalty * mean(diag(xc^T xc)) * |A|^2`` (``xc``: centred
    ``x``): the intercept ``b`` is not penalised, so a strong penalty pulls predictions to ``mean(y)``."""
    x, y = x.double(), y.double()
    xm, ym = x.mean(0), y.mean(0)
    xc = x - xm
    gram = xc.T @ xc
    gram += penalty * gram.diagonal().mean() * torch.eye(len(gram), dtype=gram.dtype)
    a = torch.linalg.solve(gram, xc.T @ (y - ym))
    return a.float(), (ym - xm @ a).float()


@functools.lru_cache(maxsize=2)
def training_set(n: int = N_TRAIN, seed: int = TRAIN_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """``(w, G(w))``: ``n`` typical latents and their faces at :data:`FIT_SIZE` (seeded, cached)."""
    world = SynthWorld(FIT_SIZE)
    w = world.sample_latents(n, torch.Generator().manual_seed(seed))
    with torch.no_grad(), single_threaded():
        return w, world(w)


# ------------------------------------------------------------------------------------ e4e-like
@fitted(maxsize=2)
def _fit_e4e(n: int, seed: int, penalty: float) -> tuple[torch.Tensor, torch.Tensor]:
    w, images = training_set(n, seed)
    with single_threaded():
        return ridge(pooled(images, E4E_FEATURES), w, penalty)


class E4ELikeEncoder:
    """``invert(images) -> w``: the e4e analogue, a ridge encoder pulled towards the mean latent (module doc)."""

    name = "e4e-like"

    def __init__(self, n_train: int = N_TRAIN, seed: int = TRAIN_SEED, penalty: float = E4E_PENALTY) -> None:
        self.settings = {"n_train": n_train, "seed": seed, "penalty": penalty, "features": E4E_FEATURES}
        self.weights, self.bias = _fit_e4e(n_train, seed, penalty)

    def invert(self, images: torch.Tensor) -> torch.Tensor:
        """Latents (B, D) for images (B, 3, H, W) in [-1, 1]."""
        return pooled(check_images(images), E4E_FEATURES) @ self.weights + self.bias

    __call__ = invert


# -------------------------------------------------------------------------------- ReStyle-like
def _restyle_features(target: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """The map's input: pooled pixels of ``[I, G(w_t)]``."""
    return torch.cat([pooled(target, RESTYLE_FEATURES), pooled(current, RESTYLE_FEATURES)], dim=1)


@fitted(maxsize=2)
def _fit_restyle(n: int, seed: int, penalty: float, steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(A, b, w_0)``: the shared residual map, refitted after each step on every pair visited so far."""
    w, images = training_set(n, seed)
    with single_threaded():
        return _fit_restyle_map(w, images, penalty, steps)


def _fit_restyle_map(w: torch.Tensor, images: torch.Tensor, penalty: float, steps: int):
    """The body of :func:`_fit_restyle` on the training latents ``w`` and their faces ``images``."""
    world, n = SynthWorld(FIT_SIZE), len(w)
    start = w.mean(0)
    wt = start.expand(n, LATENT_DIM).clone()
    with torch.no_grad():
        current = world(start[None]).expand(n, -1, -1, -1)
    xs, ys = [], []
    for step in range(steps):
        xs.append(_restyle_features(images, current))
        ys.append(w - wt)
        a, b = ridge(torch.cat(xs), torch.cat(ys), penalty)
        if step + 1 < steps:
            wt = wt + xs[-1] @ a + b
            with torch.no_grad():
                current = world(wt)
    return a, b, start


class ReStyleLikeInverter:
    """``invert(images) -> w``: the ReStyle analogue, :data:`RESTYLE_STEPS` residual steps from the
    average face, each ``dw = [pool(I), pool(G(w_t))] A + b`` (module doc)."""

    name = "ReStyle-like"

    def __init__(self, n_train: int = N_TRAIN, seed: int = TRAIN_SEED, penalty: float = RESTYLE_PENALTY,
                 steps: int = RESTYLE_STEPS) -> None:
        self.steps = steps
        self.settings = {"n_train": n_train, "seed": seed, "penalty": penalty, "steps": steps,
                         "features": RESTYLE_FEATURES}
        self.weights, self.bias, self.start = _fit_restyle(n_train, seed, penalty, steps)
        self.world = SynthWorld(FIT_SIZE)  # G(w_t) at the encoder's input resolution, as ReStyle resizes it

    def trajectory(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``[w_0, w_1, ..., w_steps]`` for images (B, 3, H, W) in [-1, 1]; ``w_0`` is the mean latent."""
        images = check_images(images)
        wt = self.start.expand(len(images), LATENT_DIM).clone()
        out = [wt]
        for _ in range(self.steps):
            with torch.no_grad():
                current = self.world(wt)
            wt = wt + _restyle_features(images, current) @ self.weights + self.bias
            out.append(wt)
        return out

    def invert(self, images: torch.Tensor) -> torch.Tensor:
        """The last latent of :meth:`trajectory`, (B, D)."""
        return self.trajectory(images)[-1]

    __call__ = invert


# ------------------------------------------------------------------------- InterFaceGAN-like
def labelled_latents(n: int = N_LABELLED, seed: int = LABEL_SEED,
                     co_occurrence: dict[tuple[str, str], float] = CO_OCCURRENCE) -> torch.Tensor:
    """``n`` latents of a labelled sample: typical faces whose attributes are present (own coordinate
    + :data:`PRESENT_SHIFT`) with :data:`PREVALENCE`, co-occurring by ``co_occurrence`` (a Gaussian
    copula's correlations; ``{}``: independent attributes)."""
    gen = torch.Generator().manual_seed(seed)
    w = SynthWorld(FIT_SIZE).sample_latents(n, gen)
    corr = torch.eye(len(ATTRIBUTES), dtype=torch.float64)
    for (a, b), r in co_occurrence.items():
        i, j = ATTRIBUTES.index(a), ATTRIBUTES.index(b)
        corr[i, j] = corr[j, i] = r
    z = torch.randn(n, len(ATTRIBUTES), generator=gen, dtype=torch.float64) @ torch.linalg.cholesky(corr).T
    normal = torch.distributions.Normal(0.0, 1.0)
    for k, a in enumerate(ATTRIBUTES):
        present = z[:, k] > normal.icdf(torch.tensor(1.0 - PREVALENCE[a], dtype=torch.float64))
        w[:, ATTRIBUTE_COORD[a]] += PRESENT_SHIFT * present.float()
    return w


def logistic_normal(x: torch.Tensor, y: torch.Tensor, c: float = LOGISTIC_C, iterations: int = 50) -> torch.Tensor:
    """Unit normal (D,) of an L2-regularised logistic regression (loss sum + ``|beta|^2 / (2c)``,
    unpenalised bias) of labels ``y`` in {0, 1} on ``x`` (N, D), fitted by Newton's method."""
    x1 = torch.cat([x.double(), torch.ones(len(x), 1, dtype=torch.float64)], dim=1)
    y = y.double()
    reg = torch.full((x1.shape[1],), 1.0 / c, dtype=torch.float64)
    reg[-1] = 0.0
    beta = torch.zeros(x1.shape[1], dtype=torch.float64)
    for _ in range(iterations):
        p = torch.sigmoid(x1 @ beta)
        grad = x1.T @ (p - y) + reg * beta
        hess = (x1 * (p * (1 - p))[:, None]).T @ x1 + torch.diag(reg)
        step = torch.linalg.solve(hess, grad)
        beta = beta - step
        if step.abs().max() < 1e-10:
            break
    normal = beta[:-1]
    return (normal / normal.norm()).float()


@fitted(maxsize=2)
def _directions(n: int, seed: int, c: float) -> tuple[tuple[str, torch.Tensor], ...]:
    w = labelled_latents(n, seed)
    with single_threaded():
        return tuple((a, logistic_normal(w, attribute_strength(w, a) > 0.5, c)) for a in INTERFACEGAN_ATTRIBUTES)


def interfacegan_directions(n: int = N_LABELLED, seed: int = LABEL_SEED, c: float = LOGISTIC_C) -> dict[str, torch.Tensor]:
    """Unit InterFaceGAN-like directions (D,) of ``Old`` and ``Smiling`` (module doc)."""
    return {a: d.clone() for a, d in _directions(n, seed, c)}


def matched_factor(world: SynthWorld, attribute: str, direction: torch.Tensor, alpha: float = 20.0) -> float:
    """The factor ``f`` with ``f * direction`` moving the attribute's own coordinate as far as
    ``alpha * world.direction(attribute)`` does (so the attribute's strength moves as much)."""
    check_attribute(attribute)
    i = ATTRIBUTE_COORD[attribute]
    if direction[i] <= 0:
        raise ValueError(f"direction: does not increase {attribute} (its coordinate weight is {float(direction[i]):.3g})")
    return float(alpha * world.direction(attribute)[i] / direction[i])


# ------------------------------------------------------------------------------------ editors
def baseline_editor(world: SynthWorld, invert: Callable[[torch.Tensor], torch.Tensor],
                    directions: dict[str, torch.Tensor], factors: dict[str, float]
                    ) -> Callable[[torch.Tensor, str], torch.Tensor]:
    """``(images, attribute) -> G(invert(images) + factors[a] * directions[a])`` at the world's size,
    in [-1, 1]. Called again with the same, unmodified images tensor it reuses the inversion."""
    from ..method.pipeline import reuse_inversion

    remembered = reuse_inversion(invert)

    @torch.no_grad()
    def edit(images: torch.Tensor, attribute: str) -> torch.Tensor:
        if attribute not in directions:
            raise ValueError(f"attribute: the baselines only have {', '.join(directions)}, got {attribute!r}")
        w = remembered(images)
        return world(w + factors[attribute] * directions[attribute].to(w)).clamp(-1, 1)

    return edit


def baseline_editors(world: SynthWorld, alpha: float = 20.0) -> tuple[dict[str, Callable], dict]:
    """``({"e4e": editor, "ReStyle": editor}, settings)``: the analogues' editors for ``world`` and the
    settings that determine them (for the cache manifest and the sidecars' provenance)."""
    from ..infra.provenance import tensor_sha256

    dirs = interfacegan_directions()
    factors = {a: matched_factor(world, a, d, alpha) for a, d in dirs.items()}
    e4e, restyle = E4ELikeEncoder(), ReStyleLikeInverter()
    editors = {"e4e": baseline_editor(world, e4e.invert, dirs, factors),
               "ReStyle": baseline_editor(world, restyle.invert, dirs, factors)}
    settings = {
        "e4e": {**e4e.settings, "weights": tensor_sha256(torch.cat([e4e.weights, e4e.bias[None]]))},
        "ReStyle": {**restyle.settings, "weights": tensor_sha256(torch.cat([restyle.weights, restyle.bias[None]]))},
        "interfacegan": {"n_labelled": N_LABELLED, "seed": LABEL_SEED, "C": LOGISTIC_C,
                         "factors": {a: round(f, 4) for a, f in factors.items()},
                         "directions": tensor_sha256(torch.stack([dirs[a] for a in dirs]))},
    }
    return editors, settings


__all__ = ["E4ELikeEncoder", "ReStyleLikeInverter", "interfacegan_directions", "labelled_latents",
           "logistic_normal", "matched_factor", "baseline_editor", "baseline_editors", "ridge", "pooled", "training_set",
           "single_threaded",
           "E4E_PENALTY", "RESTYLE_PENALTY", "RESTYLE_STEPS", "PREVALENCE", "CO_OCCURRENCE"]
