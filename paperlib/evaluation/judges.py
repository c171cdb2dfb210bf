"""Edit kept: did the edit happen? Judges that score an output without the mask being judged.

MAE, LPIPS and FID of the output against the source reward a method that changes nothing. Each
judge here says how much of the edit survives in the output ``F`` of a method, per image: 0 for
the source ``I`` itself, 1 for an output that carries the whole reference edit.

- ``exact`` (SynthFace only, :func:`paperlib.synth.scores.exact_edit_kept`): the world renders the
  ideal result, the true face with only the attribute changed; the share of that ideal change
  kept inside the attribute's intended region (:func:`edit_kept` with ``D = ideal - I``).
- ``strength`` (SynthFace only, :func:`paperlib.synth.strength.strength_kept`): the attribute's
  strength read in ``F`` by an estimator fitted on labelled renders (held-out error in its module),
  its gain over ``I`` as a share of the ideal result's gain.
- ``projection`` (any profile, label-free, :func:`projection_edit_kept`): the share of the
  generator's own edit ``D = T - I'`` (pSp's, over the whole image) found in ``F - I``.
- ``classifier`` (any profile, :func:`classifier_edit_kept`): how edited the pair ``(I, F)`` looks
  to the differential classifier for the attribute, relative to the pair ``(I', T)``.

The paper profile has no ground truth; its judges are validated on SynthFace, where the exact
value is known (:mod:`paperlib.evaluation.judge_validation`). The reference edit is that of
``reference_alpha`` (the tables: the evaluation's own alpha; the strength sweep: alpha 20 for every
alpha, so that "kept" is an amount comparable across alphas).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import torch

from ..checks import check_tensor
from ..method.cam import eval_mode
from ..method.pipeline import to_cam_size

#: The judges by name, with one line each (the tables' footnotes).
JUDGES: dict[str, str] = {
    "exact": "SynthFace's exact share of the ideal change (the true face with only the attribute changed) "
             "kept inside the attribute's intended region",
    "strength": "SynthFace: the attribute's strength gain read in F by an estimator fitted on labelled renders "
                "of the world, over the ideal result's gain",
    "projection": "the share of the generator's edit T − I' (pSp's, whole image) found in F − I (label-free)",
    "classifier": "the differential classifier's logit for the attribute on (I, F) minus on (I, I), over the "
                  "same on (I', T) and (I', I')",
}
#: Below this squared norm (per pixel) or logit gap the reference edit is too small to be a share of: NaN.
EPS = 1e-8


def check_judge(name: str) -> str:
    """``name`` if it is a judge, else a one-line ValueError."""
    if name not in JUDGES:
        raise ValueError(f"judge: unknown judge {name!r}; expected one of {', '.join(JUDGES)}")
    return name


def edit_kept(output: torch.Tensor, source: torch.Tensor, change: torch.Tensor,
              region: torch.Tensor | None = None) -> torch.Tensor:
    """Per image, the share of the reference ``change`` ``D`` kept in ``output`` ``F`` against ``source`` ``I``:
    the least-squares coefficient of ``F - I`` on ``D`` inside ``region`` (all pixels when None),
    ``<F - I, D> / <D, D>`` (B,). 0 for ``F = I``, 1 for ``F = I + D``; above 1 when the output moves
    further along ``D``, negative when it moves against it; what ``F - I`` does orthogonally to ``D``
    (side effects, other changes) does not count. NaN where ``D`` is (numerically) zero.

    ``output``, ``source``, ``change``: (B, C, H, W) on one scale; ``region``: (B, H, W) bool or None.
    """
    check_tensor("output", output, 4)
    for name, t in (("source", source), ("change", change)):
        if not isinstance(t, torch.Tensor) or t.shape != output.shape:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{name}: expected the output's shape {tuple(output.shape)}, got {shape}")
    w = torch.ones_like(output[:, :1]) if region is None else region[:, None].to(output.dtype)
    if w.shape[0] != output.shape[0] or w.shape[2:] != output.shape[2:]:
        raise ValueError(f"region: expected shape {(output.shape[0], *output.shape[2:])}, got {tuple(region.shape)}")
    d = change.double() * w
    num = ((output.double() - source.double()) * d).flatten(1).sum(1)
    den = (d * d).flatten(1).sum(1)
    pixels = w.double().flatten(1).sum(1).clamp(min=1) * output.shape[1]
    return torch.where(den > EPS * pixels, num / den.clamp(min=1e-300), torch.full_like(den, math.nan)).float()


def projection_edit_kept(output: torch.Tensor, source: torch.Tensor, edited: torch.Tensor,
                         reconstruction: torch.Tensor) -> torch.Tensor:
    """The label-free judge: :func:`edit_kept` with ``D = T - I'``, the generator's edit of this face
    (the one a mask method transfers), over the whole image (B,)."""
    return edit_kept(output, source, edited - reconstruction)


@torch.no_grad()
def classifier_edit_kept(net, class_index: int, outputs: Mapping[str, torch.Tensor], source: torch.Tensor,
                         edited: torch.Tensor, reconstruction: torch.Tensor, resize=lambda x: x) -> dict[str, torch.Tensor]:
    """The classifier judge, per output (B,): ``(z(I, F) - z(I, I)) / (z(I', T) - z(I', I'))`` with ``z(x, y)``
    the logit of ``class_index`` that the differential classifier ``net`` (a
    :class:`paperlib.method.diffnet.DiffNet`, eq 4-5: ``classify(E(y) - E(x))``) gives the pair; 0 for
    ``F = I``, 1 when ``(I, F)`` looks as edited as ``(I', T)``. ``z(I, I) = z(I', I')`` is the logit of no
    difference. NaN where the classifier does not see the generator's edit (``z(I', T) - z(I', I')`` below
    :data:`EPS`). ``resize``: images to the classifier's input size. Each image is encoded once.
    It uses no mask, but it is the network the CAM methods draw their masks from: its validation on
    SynthFace (:mod:`paperlib.evaluation.judge_validation`) says how far to trust it."""
    with eval_mode(net):
        def encode(x):
            return net.shared(resize(x))

        def z(delta):
            return net.classify(delta)[:, class_index].double()

        e_source, e_recon = encode(source), encode(reconstruction)
        nothing = z(torch.zeros_like(e_source))
        den = z(encode(edited) - e_recon) - nothing
        nan = torch.full_like(den, math.nan)
        return {m: torch.where(den > EPS, (z(encode(f) - e_source) - nothing) / den.clamp(min=EPS), nan).float()
                for m, f in outputs.items()}


def judge_names(setup) -> list[str]:
    """The judges a setup can run: ``exact`` where the world knows the ideal edit, then the label-free ones."""
    world = ["exact"] if getattr(setup, "ideal_edit", None) is not None else []
    world += ["strength"] if world and getattr(setup, "strength_kept", None) is not None else []
    return world + ["projection", "classifier"]


def shown_judge(setup) -> str:
    """The judge of the tables' "edit kept" column: ``exact`` where the world knows it, else ``projection``."""
    return judge_names(setup)[0]


def judge_outputs(setup, indices: Sequence[int], prepared, edited: torch.Tensor, outputs: Mapping[str, torch.Tensor],
                  attribute: str, reference_alpha: float, judges: Sequence[str] | None = None) -> dict[str, dict[str, list]]:
    """Every judge of :func:`judge_names` (or only those of ``judges``) on every output ``F`` of one batch
    and attribute: ``{method: {"kept:<judge>": per-image values}}`` (None where a judge gives NaN).
    ``prepared``: the batch's :class:`paperlib.method.pipeline.Prepared` (``I``, ``I'``); ``edited``: ``T``
    at ``reference_alpha``; ``outputs``: method -> (B, 3, H, W) in [-1, 1] (quantised as saved)."""
    c = setup.components
    names = [j for j in judge_names(setup) if judges is None or j in judges]
    source, recon = prepared.source, prepared.reconstruction
    kept: dict[str, dict[str, torch.Tensor]] = {m: {} for m in outputs}
    if "projection" in names:
        for m, f in outputs.items():
            kept[m]["kept:projection"] = projection_edit_kept(f, source, edited, recon)
    if "exact" in names or "strength" in names:
        change, region = setup.ideal_edit(indices, attribute, reference_alpha)
        for m, f in outputs.items():
            if "exact" in names:
                kept[m]["kept:exact"] = edit_kept(f, source, change.to(f), region.to(f.device))
            if "strength" in names:
                kept[m]["kept:strength"] = setup.strength_kept(f, source, source + change.to(f), attribute)
    if "classifier" in names:
        for m, t in classifier_edit_kept(c.classifier, c.class_index(attribute), outputs, source, edited, recon,
                                         functools.partial(to_cam_size, c)).items():
            kept[m]["kept:classifier"] = t
    return {m: {k: [None if math.isnan(v) else v for v in t.tolist()] for k, t in vs.items()} for m, vs in kept.items()}


__all__ = [
    "EPS",
    "JUDGES",
    "check_judge",
    "classifier_edit_kept",
    "edit_kept",
    "judge_names",
    "judge_outputs",
    "projection_edit_kept",
    "shown_judge",
]
