"""Face-parsing masks and the two mask equations of the paper (eq 10, eq 11).

Labels are CelebAMask-HQ's 19 classes as predicted by face-parsing.PyTorch's BiSeNet.

Component sets. The paper's text is garbled where it lists the set for "other attributes"
(METHOD.md step 8). We follow the authors' released code, which resolves it and uses two
different sets: one for the parsing of the original image ``I`` (``S_org``) and one for the
parsing of the edited image ``T`` (``S_modif``):

- ``S_org``: Bushy_Eyebrows {1,2,3,10}; Beard {1,2,3,10,14}; Old {1,2,3,10,11,12,13,14};
  every other attribute {1,2,3,10,11,12,13}.
- ``S_modif``: Beard and Old {1-6, 10-14}; every other attribute {1-6, 10-13}.

The paper's own four printed sets are kept in :data:`PAPER_COMPONENTS` for reference.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch

from ..checks import check_same_shape, check_tensor, check_unit_range
from .attributes import ATTRIBUTES, check_attribute

#: CelebAMask-HQ label names in index order (face-parsing.PyTorch).
LABELS: tuple[str, ...] = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear",
    "ear_r", "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat",
)
LABEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(LABELS)}

_ORG_DEFAULT = frozenset({1, 2, 3, 10, 11, 12, 13})
#: Components allowed in the original image's parsing (S_org), per attribute.
ORG_COMPONENTS: dict[str, frozenset[int]] = {
    name: _ORG_DEFAULT for name in ATTRIBUTES
} | {
    "Bushy_Eyebrows": frozenset({1, 2, 3, 10}),
    "Beard": frozenset({1, 2, 3, 10, 14}),
    "Old": frozenset({1, 2, 3, 10, 11, 12, 13, 14}),
}

_FACE = frozenset({1, 2, 3, 4, 5, 6, 10, 11, 12, 13})
#: Components allowed in the edited image's parsing (S_modif), per attribute.
MODIF_COMPONENTS: dict[str, frozenset[int]] = {name: _FACE for name in ATTRIBUTES} | {
    "Beard": _FACE | {14},
    "Old": _FACE | {14},
}

#: The sets as the paper prints them (its "other attributes" passage is garbled: it gives
#: {1-6, 10-14}, then {1-6, 10-13}); kept for reference, not used by the pipeline.
PAPER_COMPONENTS: dict[str, frozenset[int]] = {
    "Bushy_Eyebrows": frozenset({1, 2, 3, 10}),
    "Beard": frozenset({1, 2, 3, 10, 14}),
    "Old": frozenset({1, 2, 3, 10, 11, 12, 13, 14}),
    "other": _FACE | {14},
}


def parsing_to_mask(parsing: torch.Tensor, components: Iterable[int]) -> torch.Tensor:
    """Binary mask (float 0/1, same shape) of the pixels whose label is in ``components``."""
    if not isinstance(parsing, torch.Tensor) or parsing.is_floating_point():
        raise ValueError("parsing: expected an integer tensor of labels 0-18")
    if parsing.numel() and (parsing.min() < 0 or parsing.max() >= len(LABELS)):
        raise ValueError(
            f"parsing: labels must lie in 0-{len(LABELS) - 1}, "
            f"got [{parsing.min().item()}, {parsing.max().item()}]"
        )
    allowed = torch.tensor(sorted(components), dtype=parsing.dtype, device=parsing.device)
    return torch.isin(parsing, allowed).float()


def segmentation_masks(
    parsing_org: torch.Tensor, parsing_modif: torch.Tensor, attribute: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(S_org, S_modif)``: binary masks of the allowed components for ``attribute`` (step 8)."""
    check_attribute(attribute)
    s_org = parsing_to_mask(parsing_org, ORG_COMPONENTS[attribute])
    s_modif = parsing_to_mask(parsing_modif, MODIF_COMPONENTS[attribute])
    return s_org, s_modif


def fuse_masks(s_org: torch.Tensor, s_modif: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
    """Eq 10: ``M = S_org (.) S_modif (.) CAM`` (Hadamard product), all of shape (B, H, W)."""
    for name, x in (("s_org", s_org), ("s_modif", s_modif), ("cam", cam)):
        check_tensor(name, x, 3)
        check_unit_range(name, x)
    check_same_shape(s_org=s_org, s_modif=s_modif, cam=cam)
    return s_org * s_modif * cam


def blend(edited: torch.Tensor, source: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq 11: ``F = T (.) M + I (.) (1 - M)``.

    ``edited`` (T) and ``source`` (I) are (B, C, H, W); ``mask`` (M) is (B, H, W) in [0, 1],
    broadcast over channels.
    """
    check_tensor("edited", edited, 4)
    check_tensor("source", source, 4)
    check_tensor("mask", mask, 3)
    check_unit_range("mask", mask)
    check_same_shape(edited=edited, source=source)
    b, _, h, w = edited.shape
    if tuple(mask.shape) != (b, h, w):
        raise ValueError(f"mask: expected shape {(b, h, w)} to match edited (B, H, W), got {tuple(mask.shape)}")
    m = mask.unsqueeze(1)
    return edited * m + source * (1 - m)


def threshold_mask(m: torch.Tensor, t: float) -> torch.Tensor:
    """Binary mask (float 0/1, same shape): 1 where ``m > t``. With ``t = 0.5`` its pixels are those
    the IoU of :func:`paperlib.synth.scores.localization` counts, so only the blend changes (hard edges)."""
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 1:
        raise ValueError(f"t: expected a threshold in [0, 1], got {t!r}")
    check_tensor("m", m, 3)
    return (m > t).to(m.dtype)


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """1-D Gaussian kernel of standard deviation ``sigma`` pixels, radius ``ceil(3 sigma)``, summing to 1."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).float()


def blur_matrix(n: int, sigma: float) -> torch.Tensor:
    """(n, n) matrix of the 1-D Gaussian blur along an axis of length ``n`` with the border
    replicated: row ``i`` holds the weights ``gaussian_kernel(sigma)[j]`` at ``clamp(i + j - r, 0, n - 1)``."""
    k = gaussian_kernel(sigma)
    r = (len(k) - 1) // 2
    rows = torch.arange(n)[:, None].expand(n, len(k))
    cols = (torch.arange(n)[:, None] + torch.arange(len(k))[None] - r).clamp(0, n - 1)
    return torch.zeros(n, n).index_put_((rows, cols), k.expand(n, len(k)), accumulate=True)


def blur_mask(m: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur (B, H, W) of standard deviation ``sigma`` pixels with the borders replicated:
    separable, the rows then the columns, each a product with :func:`blur_matrix`
    (``B_H m B_W^T``). Each output is a convex combination of inputs, so it is clamped to the
    input's range (float rounding only): a mask in [0, 1] stays in [0, 1]."""
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0 or sigma == float("inf"):
        raise ValueError(f"sigma: expected a positive number of pixels, got {sigma!r}")
    check_tensor("m", m, 3)
    h, w = m.shape[-2:]
    rows, cols = (blur_matrix(n, float(sigma)).to(m.device, m.dtype) for n in (h, w))
    return (rows @ m @ cols.T).clamp(m.min(), m.max())
