"""The methods compared in Tables 1-3 (columns) and how each produces its output.

- ``pSp``: the edited reconstruction ``T = G(w + alpha n)`` itself (no mask, no blend);
- ``e4e`` / ``ReStyle``: invert with their own encoder, move along the InterFaceGAN direction
  (only ``Old`` and ``Smiling`` exist), output the edited reconstruction (paper profile only);
- ``EOGI``: the ``Diff-CAM`` mask (Grad-CAM on the differential features) + blend + deghosting;
- ``Diff-CAM++``: Grad-CAM++ + TTA + Eigen smoothing + face-parsing fusion + blend + deghosting;
- ``Diff-CAM++ (authors' code)``: the mask path of the authors' released scripts
  (:mod:`paperlib.method.authors`: Eigen off for Old, no eq 10, the mouth blend, Poisson blending) +
  deghosting; no published numbers (an extra column beside the paper's);
- the Figure-3 ablation variants ``Grad-CAM++``, ``+TTA``, ``+Eigen``, ``+TTA+Eigen`` (no
  published numbers; rendered below the paper's columns).
"""

from __future__ import annotations

from typing import Sequence

from ..checks import check_alpha, check_int, check_positive_int
from ..method.attributes import check_attribute
from ..method.names import AUTHORS_CODE
from .published import METHODS as PUBLISHED_METHODS

#: method -> mask variant of :data:`paperlib.method.pipeline.VARIANTS` (methods that blend and deghost).
MASK_METHODS: dict[str, str] = {
    "EOGI": "Diff-CAM", "Grad-CAM++": "Grad-CAM++", "+TTA": "+TTA", "+Eigen": "+Eigen",
    "+TTA+Eigen": "+TTA+Eigen", "Diff-CAM++": "Diff-CAM++", AUTHORS_CODE: AUTHORS_CODE,
}
#: mask variant -> the method that uses it (:data:`MASK_METHODS` inverted): the one place where
#: Diff-CAM (the mask) is named EOGI (the method, a column of the tables).
VARIANT_METHODS: dict[str, str] = {v: m for m, v in MASK_METHODS.items()}
#: Methods beside the paper's columns that are not Figure-3 ablation variants.
EXTRA: tuple[str, ...] = (AUTHORS_CODE,)
#: The Figure-3 ablation variants that are not columns of the paper's tables.
ABLATION: tuple[str, ...] = ("Grad-CAM++", "+TTA", "+Eigen", "+TTA+Eigen")
#: Methods that invert with their own encoder and edit with InterFaceGAN directions.
BASELINES: tuple[str, ...] = ("e4e", "ReStyle")
#: Every method, in the order of the tables (the paper's columns first).
ALL_METHODS: tuple[str, ...] = PUBLISHED_METHODS + EXTRA + ABLATION
#: method -> the folder name of its cached outputs.
SLUG: dict[str, str] = {"pSp": "psp", "e4e": "e4e", "ReStyle": "restyle", "EOGI": "eogi",
                        "Diff-CAM++": "diff-cam-pp", "Grad-CAM++": "grad-cam-pp", "+TTA": "tta", "+Eigen": "eigen",
                        "+TTA+Eigen": "tta-eigen", AUTHORS_CODE: "diff-cam-pp-authors"}


def method_name(name: str) -> str:
    """A method by its name or its slug (``diff-cam-pp-authors`` is easier to type in a shell
    than ``"Diff-CAM++ (authors' code)"``); unknown names are returned unchanged."""
    by_slug = {slug: m for m, slug in SLUG.items()}
    return by_slug.get(name, name)


def check_methods(methods: Sequence[str]) -> list[str]:
    """``methods`` (names or slugs) in table order, or a one-line ValueError naming the unknown ones."""
    methods = [method_name(m) for m in methods]
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown or not methods:
        raise ValueError(f"methods: unknown {', '.join(map(repr, unknown)) or 'empty list'}; expected some of "
                         f"{', '.join(ALL_METHODS)} (or their slugs {', '.join(SLUG[m] for m in ALL_METHODS)})")
    return [m for m in ALL_METHODS if m in methods]


#: Images whose outputs are kept as PNGs by default (for figures and inspection).
KEEP_IMAGES = 10


def check_arguments(attributes: Sequence[str], methods: Sequence[str], alpha: float = 20.0, batch: int = 8,
                    keep_images: int = KEEP_IMAGES) -> list[str]:
    """One-line errors for bad evaluation arguments (before any work, without torch: the command
    line calls it before importing the evaluation); returns the methods in table order."""
    if isinstance(attributes, str) or not attributes:
        raise ValueError(f"attributes: expected a list of attribute names, got {attributes!r}")
    for a in attributes:
        check_attribute(a)
    methods = check_methods(methods)
    check_positive_int("batch", batch)
    check_int("keep_images", keep_images, 0)
    check_alpha(alpha)
    return methods


__all__ = ["MASK_METHODS", "VARIANT_METHODS", "ABLATION", "EXTRA", "BASELINES", "ALL_METHODS", "SLUG", "method_name", "check_methods",
           "KEEP_IMAGES", "check_arguments"]
