"""The method as a reader follows it, top to bottom: invert (eq 1-2) -> edit (eq 3) -> CAM (eq 4-9)
-> fuse (eq 10) -> blend (eq 11) -> deghost.

Each step is a function taking and returning tensors: :func:`invert`, :func:`reconstruct`,
:func:`edit`, :func:`differential_cams`, :func:`parse_edited` / :func:`source_parsing` (step 8's
labels), :func:`mask` (eq 10), :func:`blend_variant` (eq 11), :func:`deghost`. :func:`edit_variants`
is the one batched entry point that chains them (the evaluation, the figures, the photo edit);
:func:`prepare` is its per-image half, shared across attributes. The plugged-in components
(inverter, generator, directions, classifier, parser, deghoster) come from a profile: the
synthetic world (``paperlib.synth.components``) or the official networks (paper profile).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_alpha
from .attributes import check_attribute
from .cam import cam_variants
from .masks import blend, fuse_masks, segmentation_masks
from .names import AUTHORS_CODE  # the released scripts' mask path (torch-free, for the command line)
from .names import DEGHOST_IMAGES, check_deghost_images  # the deghosting budget (torch-free, for the command line)

#: The mask variants by name: (method, aug, eigen, segmentation). The first six are Figure 3's
#: ablation (Figure 2 shows the first and the sixth); the last is the authors' released code.
VARIANTS: dict[str, tuple[str, bool, Union[bool, str], Union[bool, str]]] = {
    "Diff-CAM": ("gradcam", False, False, False),
    "Grad-CAM++": ("gradcam++", False, False, False),
    "+TTA": ("gradcam++", True, False, False),
    "+Eigen": ("gradcam++", False, True, False),
    "+TTA+Eigen": ("gradcam++", True, True, False),
    "Diff-CAM++": ("gradcam++", True, True, True),
    AUTHORS_CODE: ("gradcam++", True, "authors", "authors"),
}
#: The six variants of Figure 3, in its column order.
FIGURE3_VARIANTS: tuple[str, ...] = ("Diff-CAM", "Grad-CAM++", "+TTA", "+Eigen", "+TTA+Eigen", "Diff-CAM++")

Variant = Union[str, tuple[str, bool, Union[bool, str], Union[bool, str]]]


def variant_config(variant: Variant) -> tuple[str, bool, Union[bool, str], Union[bool, str]]:
    """``(method, aug_smooth, eigen_smooth, segmentation)`` of a named variant or of such a tuple
    (any combination of the toggles, as the walkthrough's explorer offers). ``segmentation``:
    False (the map is the mask), True (eq 10) or ``"authors"`` (:mod:`paperlib.method.authors`)."""
    if isinstance(variant, tuple) and len(variant) == 4:
        return variant
    if variant not in VARIANTS:
        raise ValueError(f"variant: unknown mask variant {variant!r}; expected one of {', '.join(VARIANTS)} "
                         "or a (method, aug_smooth, eigen_smooth, segmentation) tuple")
    return VARIANTS[variant]


def cam_config(variant: Variant, attribute: str) -> tuple[str, bool, Union[bool, str]]:
    """``(method, aug_smooth, eigen_smooth)`` of ``variant`` for ``attribute``: the authors' code
    switches Eigen smoothing off for Old (:func:`paperlib.method.authors.authors_eigen`)."""
    method, aug, eigen, segmentation = variant_config(variant)
    if segmentation == "authors" and eigen == "authors":
        from .authors import authors_eigen

        eigen = authors_eigen(attribute)
    return method, aug, eigen


@dataclass
class Components:
    """What a profile plugs into the pipeline."""

    invert: Callable[[torch.Tensor], torch.Tensor]           # images in [-1, 1] -> latents
    generate: Callable[[torch.Tensor], torch.Tensor]         # latents -> images in [-1, 1]
    direction: Callable[[str], torch.Tensor]                 # attribute -> unit direction
    classifier: nn.Module                                    # DiffNet (eq 4-5)
    class_index: Callable[[str], int]                        # attribute -> classifier index
    parse: Optional[Callable[[torch.Tensor], torch.Tensor]]  # images in [-1, 1] -> labels
    deghost: Callable[[torch.Tensor], torch.Tensor] = lambda x: x
    #: worlds that know their exact parsing maps (SynthFace) give latents -> labels instead of ``parse``
    exact_parsing: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
    cam_size: int = 256                                      # resolution the classifier sees


# ------------------------------------------------------------------------------- the steps, in order
def invert(c: Components, source: torch.Tensor) -> torch.Tensor:
    """Eq 1: ``w = E(I)``."""
    with torch.no_grad():
        return c.invert(source)


def reconstruct(c: Components, w: torch.Tensor) -> torch.Tensor:
    """Eq 2: ``I' = G(w)``."""
    with torch.no_grad():
        return c.generate(w)


def edited_latents(c: Components, w: torch.Tensor, attribute: str, alpha: float = 20.0) -> torch.Tensor:
    """Eq 3's latent ``w + alpha n``."""
    check_attribute(attribute)
    return w + check_alpha(alpha) * c.direction(attribute).to(w)


def edit(c: Components, w: torch.Tensor, attribute: str, alpha: float = 20.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq 3: ``(w + alpha n, T = G(w + alpha n))``."""
    with torch.no_grad():
        w_edit = edited_latents(c, w, attribute, alpha)
        return w_edit, c.generate(w_edit)


def to_cam_size(c: Components, images: torch.Tensor) -> torch.Tensor:
    """Images (B, C, H, W) at the resolution the classifier sees (``cam_size``), area-resized when needed."""
    return F.interpolate(images, size=c.cam_size, mode="area") if images.shape[-1] != c.cam_size else images


def classifier_input(c: Components, reconstruction: torch.Tensor, edited: torch.Tensor) -> torch.Tensor:
    """The classifier's input ``[I', T]`` (B, 6, cam_size, cam_size), area-resized when needed."""
    return to_cam_size(c, torch.cat([reconstruction, edited], dim=1))


def cam_grid(c: Components, layer: str = "layer4") -> list[int]:
    """``[h, w]`` of the CAM layer ``layer``'s output (:data:`paperlib.method.diffnet.CAM_LAYERS`; the
    paper's target layer by default) for a ``cam_size`` input: the grid eq 6-9 work on before the map
    is resized (8 × 8 for the paper's ResNet101 at 256² and for SynthFace's ResNet18 with output
    stride 16 at 128²). One forward pass of a zero pair, no gradient."""
    from .diffnet import cam_layer

    grid: list[int] = []
    hook = cam_layer(c.classifier, layer).register_forward_hook(lambda m, i, out: grid.extend(out.shape[-2:]))
    try:
        param = next(c.classifier.parameters())
        with torch.no_grad():
            c.classifier(torch.zeros(1, 6, c.cam_size, c.cam_size, device=param.device, dtype=param.dtype))
    finally:
        hook.remove()
    return grid


def differential_cams(c: Components, reconstruction: torch.Tensor, edited: torch.Tensor, attribute: str,
                      variants: tuple[Variant, ...] = ("Diff-CAM++",), classifier: nn.Module | None = None
                      ) -> dict[Variant, torch.Tensor]:
    """Eq 4-9 for several mask variants: the CAM of the attribute's class on ``[I', T]``
    (at ``cam_size``), returned at the images' size, (B, H, W) each. Variants with the same
    TTA setting share one forward/backward pass. ``classifier``: the network to use instead of
    ``c.classifier`` (e.g. the :class:`paperlib.method.diffnet.SourceEncoded` of :func:`prepare`)."""
    configs = [cam_config(v, attribute) for v in variants]
    size = edited.shape[-2:]
    pair = classifier_input(c, reconstruction, edited)
    net = c.classifier if classifier is None else classifier
    maps = cam_variants(net, net.target_layer, pair, c.class_index(attribute), configs)
    return {v: F.interpolate(m[:, None], size=size, mode="nearest")[:, 0] for v, m in zip(variants, maps)}


def parse_edited(c: Components, w_edit: torch.Tensor, edited: torch.Tensor) -> torch.Tensor | None:
    """Step 8's ``S_modif`` labels: the parsing of ``T`` (exact from the latents in worlds that know
    it, else ``c.parse(T)``; None without a parser)."""
    with torch.no_grad():
        if c.exact_parsing is not None:
            return c.exact_parsing(w_edit)
        return c.parse(edited) if c.parse is not None else None


def mask(cam: torch.Tensor, attribute: str, variant: Variant, parsing_source: torch.Tensor | None,
         parsing_edited: torch.Tensor | None) -> torch.Tensor:
    """Eq 10 for variants with segmentation, the CAM itself otherwise (also for the authors' code,
    whose scripts comment eq 10 out; its segmentation acts in :func:`blend_variant`)."""
    segmentation = variant_config(variant)[3]
    if not segmentation:
        return cam
    if parsing_source is None or parsing_edited is None:
        raise ValueError(f"parsing_source, parsing_edited: variant {variant!r} segments, so it needs both parsing "
                         "maps; pass parsing_source= (SynthFace: the Observed.parsing of the photos) or give the "
                         "components a parser")
    if segmentation == "authors":
        return cam
    s_org, s_modif = segmentation_masks(parsing_source, parsing_edited, attribute)
    return fuse_masks(s_org, s_modif, cam)


def blended_on_cpu(variant: Variant) -> bool:
    """Whether ``variant``'s blend runs on the CPU (the authors' code's Poisson blending)."""
    return variant_config(variant)[3] == "authors"


def blend_variant(edited: torch.Tensor, source: torch.Tensor, m: torch.Tensor, attribute: str, variant: Variant,
                  parsing_source: torch.Tensor | None = None, parsing_edited: torch.Tensor | None = None,
                  pool=None):
    """``F`` of one variant: eq 11 (:func:`paperlib.method.masks.blend`), or for the authors' code their
    mouth blend followed by Poisson blending (:func:`paperlib.method.authors.authors_blend`). ``pool``:
    worker threads for the Poisson blending (:mod:`paperlib.infra.workers`); then the authors' code
    returns a :class:`paperlib.method.authors.Pending` batch (:func:`paperlib.method.authors.resolved`)."""
    with torch.no_grad():
        if blended_on_cpu(variant):
            from .authors import authors_blend

            return authors_blend(edited, source, m, parsing_source, parsing_edited, attribute, pool)
        return blend(edited, source, m)


def deghost(c: Components, blended: torch.Tensor) -> torch.Tensor:
    """Step 10: the artifact-suppression network on ``F`` (the identity where a profile has none)."""
    with torch.no_grad():
        return c.deghost(blended)


def deghost_batched(c: Components, blended: dict, deghost_images: int = DEGHOST_IMAGES) -> dict:
    """Step 10 for many blends at once: ``blended`` maps ``(tag, variant)`` (any tag, e.g. the
    attribute) to ``F`` (B_k, 3, H, W), or to a :class:`paperlib.method.authors.Pending` batch still
    being Poisson-blended in worker threads. All the images, in ``blended``'s order with the variants
    blended on the CPU moved last (the network works on the others while the CPU finishes), go
    through the network in calls of ``deghost_images`` images (the last call may hold fewer); the
    calls do not depend on the workers. Returns key -> deghosted output, equal to :func:`deghost`
    per key within float32 noise (a convolution's result may depend on the batch it is computed in)."""
    from .authors import resolved

    check_deghost_images(deghost_images)
    keys = sorted(blended, key=lambda k: blended_on_cpu(k[1]))  # stable: the CPU's last, else as given
    sizes, done = [], []
    rest = None  # the images not yet sent through the network
    for i, k in enumerate(keys):
        images = resolved(blended[k])
        sizes.append(len(images))
        rest = images if rest is None else torch.cat([rest, images])
        while len(rest) >= deghost_images or (i == len(keys) - 1 and len(rest)):
            done.append(deghost(c, rest[:deghost_images]))
            rest = rest[deghost_images:]
    out = dict(zip(keys, torch.cat(done).split(sizes))) if done else {}
    return {k: out[k] for k in blended}


# ------------------------------------------------------------------------- the one batched entry point
@dataclass
class Prepared:
    """What one batch of photos shares across every attribute and mask variant: ``I``, ``w = E(I)``
    (eq 1), ``I' = G(w)`` (eq 2), the parsing of ``I`` (computed on first need, :func:`source_parsing`)
    and the classifier with ``E(I')`` encoded once (:class:`paperlib.method.diffnet.SourceEncoded`, all 6
    TTA views when a variant needs them)."""

    source: torch.Tensor
    latents: torch.Tensor
    reconstruction: torch.Tensor
    classifier: nn.Module
    parsing_source: Optional[torch.Tensor] = None


def uses_tta(variants) -> bool:
    """Whether any of ``variants`` averages the CAM over the 6 test-time-augmentation views."""
    return any(variant_config(v)[1] for v in variants)


def prepare(c: Components, source: torch.Tensor, *, parsing_source: torch.Tensor | None = None,
            tta: bool = True) -> Prepared:
    """The per-image half of the method: one inversion, one ``G(w)``, one encoding of ``I'``
    (its 6 TTA views when ``tta``). ``parsing_source``: known parsing maps of ``I`` (SynthFace);
    otherwise ``c.parse(I)`` runs once, when a segmenting variant first needs it."""
    from .diffnet import DiffNet, SourceEncoded

    w = invert(c, source)
    reconstruction = reconstruct(c, w)
    classifier = c.classifier
    if isinstance(classifier, DiffNet):
        classifier = SourceEncoded(classifier, classifier_input(c, reconstruction, reconstruction)[:, :3], tta=tta)
    return Prepared(source, w, reconstruction, classifier, parsing_source)


def source_parsing(c: Components, p: Prepared) -> torch.Tensor | None:
    """Step 8's ``S_org`` labels: the parsing of ``I``, computed once per prepared batch (None without
    a parser and without known maps)."""
    if p.parsing_source is None and c.parse is not None:
        with torch.no_grad():
            p.parsing_source = c.parse(p.source)
    return p.parsing_source


@dataclass
class BatchEdit:
    """Everything the method computes for one batch, attribute and set of mask variants."""

    source: torch.Tensor                # I
    latents: torch.Tensor               # w
    edited_latents: torch.Tensor        # w + alpha n
    reconstruction: torch.Tensor        # I'
    edited: torch.Tensor                # T
    cams: dict[str, torch.Tensor]       # variant -> CAM
    masks: dict[str, torch.Tensor]      # variant -> M (eq 10 where the variant segments)
    blended: dict[str, torch.Tensor]    # variant -> F (eq 11)
    outputs: dict[str, torch.Tensor]    # variant -> deghosted F


def edit_blends(c: Components, source: torch.Tensor | Prepared, attribute: str,
                variants: tuple[Variant, ...] = tuple(VARIANTS), *, alpha: float = 20.0,
                parsing_source: torch.Tensor | None = None, pool=None) -> BatchEdit:
    """:func:`edit_variants` up to the blends (eq 1-11), without deghosting: ``outputs`` is empty
    until :func:`finish_edits`. ``pool``: worker threads for the authors' code's Poisson blending
    (:mod:`paperlib.infra.workers`); its ``blended`` entry is then a
    :class:`paperlib.method.authors.Pending` batch until :func:`finish_edits`."""
    segmenting = any(variant_config(v)[3] for v in variants)  # also checks every variant
    if isinstance(source, Prepared):
        if parsing_source is not None:
            raise ValueError("parsing_source: give it to prepare(), not with a Prepared batch")
        p = source
    else:
        p = prepare(c, source, parsing_source=parsing_source, tta=uses_tta(variants))
    w_edit, edited = edit(c, p.latents, attribute, alpha)
    cams = differential_cams(c, p.reconstruction, edited, attribute, variants, classifier=p.classifier)
    parsing_source = parsing_edited = None
    if segmenting:
        parsing_source = source_parsing(c, p)
        parsing_edited = parse_edited(c, w_edit, edited)
    masks = {v: mask(cams[v], attribute, v, parsing_source, parsing_edited) for v in variants}
    blended = {v: blend_variant(edited, p.source, masks[v], attribute, v, parsing_source, parsing_edited, pool)
               for v in variants}
    return BatchEdit(p.source, p.latents, w_edit, p.reconstruction, edited, cams, masks, blended, {})


def finish_edits(c: Components, edits: dict, deghost_images: int = DEGHOST_IMAGES) -> dict:
    """Deghost the blends of several :func:`edit_blends` results (``tag -> BatchEdit``, e.g. the
    attributes of one chunk) in batched calls of at most ``deghost_images`` images
    (:func:`deghost_batched`); fills each one's ``outputs`` (and resolves its pending ``blended``).
    Returns ``edits``."""
    from .authors import resolved

    out = deghost_batched(c, {(t, v): f for t, e in edits.items() for v, f in e.blended.items()}, deghost_images)
    for t, e in edits.items():
        e.blended = {v: resolved(f) for v, f in e.blended.items()}
        e.outputs = {v: out[(t, v)] for v in e.blended}
    return edits


def edit_variants(c: Components, source: Union[torch.Tensor, Prepared], attribute: str,
                  variants: tuple[Variant, ...] = tuple(VARIANTS), *, alpha: float = 20.0,
                  parsing_source: torch.Tensor | None = None, deghost_images: int = DEGHOST_IMAGES,
                  pool=None) -> BatchEdit:
    """The method on a batch for one attribute and several mask variants: invert (eq 1-2, shared:
    :func:`prepare`), edit (eq 3), the CAM passes (eq 4-9, one per TTA setting), one parsing of
    ``T``, then per variant fuse (eq 10) and blend (eq 11), and the deghosting of every variant's
    blend in batched calls of at most ``deghost_images`` images (:func:`deghost_batched`).

    ``source``: the photos ``I`` (B, 3, H, W) in [-1, 1], or the :class:`Prepared` batch of
    :func:`prepare` when several attributes share one inversion (the evaluation's image-major
    order). ``parsing_source``: known parsing maps of ``I`` (SynthFace), with photos only.
    ``pool``: worker threads for the Poisson blending (:func:`edit_blends`)."""
    e = edit_blends(c, source, attribute, variants, alpha=alpha, parsing_source=parsing_source, pool=pool)
    return finish_edits(c, {attribute: e}, deghost_images)[attribute]


def reuse_inversion(invert: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """``invert`` remembering its last call: called again with the same, unmodified images tensor
    (a baseline's Old, then Smiling edit of one batch) it returns the same latents without inverting."""
    last: dict = {}

    def cached(images: torch.Tensor) -> torch.Tensor:
        if last.get("images") is not images or last.get("version") != images._version:
            last.update(images=images, version=images._version, w=invert(images))
        return last["w"]

    return cached
