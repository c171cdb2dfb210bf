"""The mask path of the Diff-CAM++ authors' released scripts, as a method of its own.

Read from ch0n9waiu/face-attribute-editing-diffcampp at commit e40d748 (``gen_dataset.py``,
``model/DA.py``, ``model/blending.py``; METHOD.md, "How the released code diverges from the
paper"). Where the paper and the scripts differ, :data:`paperlib.method.pipeline.VARIANTS`'s
``Diff-CAM++`` follows the paper; the variant ``Diff-CAM++ (authors' code)`` follows the scripts:

- the CAM: Grad-CAM++ (``DA.py`` L554; the plain ``GradCAM`` bound at L555 cannot run with
  ``aug_smooth=True``: :mod:`paperlib.method.cam` says why) with TTA and the authors' Eigen variant,
  switched off for ``Old`` (``eigen_smooth = target_idx != 16``, ``gen_dataset.py`` L185);
- no eq 10: ``heat_map * mask`` is commented out (L192), so ``M`` is the raw map, nearest to
  the image size;
- the mouth path (L195, :func:`mouth_blend`): for Smiling and Old, ``F = T`` wherever either
  parsing (of I or of T) has a mouth or lip label; elsewhere, and for the other attributes, eq 11;
- Poisson blending (L196, :func:`poisson_blend`): OpenCV's ``seamlessClone`` of ``F`` into ``I``
  inside ``S_org (.) S_modif`` (the eq-10 component sets of :mod:`paperlib.method.masks`).

Two things differ from the scripts on purpose: ``T`` is parsed in RGB (the scripts hand BiSeNet
a BGR array, a bug that changes about 6 % of the labels), and the result goes to EOGI's
deghosting network (what the paper uses) instead of the authors' MAResUNet, whose weights are
not public on GitHub; in the scripts the Poisson result is MAResUNet's training target.
"""

from __future__ import annotations

import numpy as np
import torch

from ..checks import check_same_shape, check_tensor
from .attributes import check_attribute
from .masks import parsing_to_mask, segmentation_masks

#: Mouth and lip labels (CelebAMask-HQ: mouth, u_lip, l_lip) that the mouth path takes from T.
MOUTH_LABELS: frozenset[int] = frozenset({11, 12, 13})
#: Attributes whose blend takes the mouth from T (EOGI classes 15 and 16, ``gen_dataset.py`` L143).
MOUTH_ATTRIBUTES: tuple[str, ...] = ("Smiling", "Old")
#: Attributes for which the scripts switch Eigen smoothing off (class 16, ``gen_dataset.py`` L185).
NO_EIGEN_ATTRIBUTES: tuple[str, ...] = ("Old",)
#: ``blend_imgs_bgr`` returns ``I`` unchanged when the region's bounding box is this small (pixels).
MIN_EXTENT = 10


def authors_eigen(attribute: str) -> str | bool:
    """The Eigen setting the scripts use for ``attribute``: their variant, or off for Old."""
    check_attribute(attribute)
    return False if attribute in NO_EIGEN_ATTRIBUTES else "authors"


def mouth_mask(parsing_source: torch.Tensor, parsing_edited: torch.Tensor, attribute: str) -> torch.Tensor:
    """``m2`` of ``gen_dataset.py`` (L142-171): 0 where the parsing of ``I`` or of ``T`` has a mouth
    or lip label, 1 elsewhere, for Smiling and Old; all ones for the other attributes. (B, H, W)."""
    check_attribute(attribute)
    check_same_shape(parsing_source=parsing_source, parsing_edited=parsing_edited)
    keep = torch.ones(parsing_source.shape, device=parsing_source.device)
    if attribute not in MOUTH_ATTRIBUTES:
        return keep
    mouth = parsing_to_mask(parsing_source, MOUTH_LABELS).bool() | parsing_to_mask(parsing_edited, MOUTH_LABELS).bool()
    return keep.masked_fill(mouth, 0.0)


def mouth_blend(edited: torch.Tensor, source: torch.Tensor, cam: torch.Tensor, m2: torch.Tensor) -> torch.Tensor:
    """The scripts' blend (``gen_dataset.py`` L195): ``F = T (.) (M m2 + 1 - m2) + I (.) m2 (.) (1 - M)``.

    Where ``m2 = 1`` this is eq 11 (``T M + I (1 - M)``); where ``m2 = 0``, ``F = T``. ``edited``
    (T), ``source`` (I): (B, C, H, W); ``cam`` (M) and ``m2``: (B, H, W)."""
    check_tensor("edited", edited, 4)
    check_tensor("cam", cam, 3)
    check_same_shape(edited=edited, source=source)
    check_same_shape(cam=cam, m2=m2)
    m, keep = cam.unsqueeze(1), m2.unsqueeze(1)
    return edited * (m * keep + 1 - keep) + source * keep * (1 - m)


def to_bgr_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) BGR uint8 as ``blending.py`` ``tensor2bgr`` makes it:
    ``round((x * 0.5 + 0.5) * 255)`` cast to uint8 without clamping; values outside [0, 255]
    wrap modulo 256 (what numpy's cast does on x86-64), here explicitly."""
    rgb = np.round((image.detach().float().cpu().permute(1, 2, 0).numpy() * 0.5 + 0.5) * 255)
    return np.ascontiguousarray((rgb.astype(np.int64) % 256).astype(np.uint8)[:, :, ::-1])


class Pending:
    """A batch whose images are being Poisson-blended in worker threads
    (:func:`paperlib.infra.workers.submit`): :meth:`result` waits for them and returns the
    (B, 3, H, W) batch on ``device`` (a plain copy: pinned memory and non-blocking copies are left
    out until measured against the goldens on CUDA, issue 24)."""

    def __init__(self, futures: list, device: torch.device) -> None:
        self.futures, self.device = futures, device
        self._value: torch.Tensor | None = None

    def result(self) -> torch.Tensor:
        if self._value is None:
            self._value = torch.stack([f.result() for f in self.futures]).to(self.device)
        return self._value


def resolved(x: torch.Tensor | Pending) -> torch.Tensor:
    """``x`` itself, or the result of a :class:`Pending` batch (waited for)."""
    return x.result() if isinstance(x, Pending) else x


def _clone(fused: torch.Tensor, source: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """One image of :func:`poisson_blend` (CPU, releases the GIL in OpenCV): (3, H, W) in [-1, 1] on the CPU."""
    import cv2

    src, dst, mask = to_bgr_uint8(fused), to_bgr_uint8(source), (region.detach().cpu().numpy() != 0).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    if len(ys) and ys.max() - ys.min() > MIN_EXTENT and xs.max() - xs.min() > MIN_EXTENT:
        center = (int(xs.min() + xs.max()) // 2, int(ys.min() + ys.max()) // 2)
        dst = cv2.seamlessClone(src, dst, mask * 255, center, cv2.NORMAL_CLONE)
    return torch.from_numpy(dst[:, :, ::-1].copy()).permute(2, 0, 1).float().div(255).mul(2).sub(1)


def poisson_blend(fused: torch.Tensor, source: torch.Tensor, region: torch.Tensor, pool=None
                  ) -> torch.Tensor | Pending:
    """Poisson blending (``blending.py`` ``blend_imgs``, L54-63): per image,
    ``cv2.seamlessClone(F, I, 255 * region, center, cv2.NORMAL_CLONE)`` on 8-bit BGR images, the
    center being the middle of the region's bounding box; ``I`` itself where the region is empty
    or its bounding box spans at most :data:`MIN_EXTENT` pixels in either direction.

    ``fused`` (F), ``source`` (I): (B, 3, H, W) in [-1, 1]; ``region``: (B, H, W) 0/1
    (``S_org (.) S_modif``). Returns (B, 3, H, W) in [-1, 1] on ``fused``'s device, 8-bit values.
    ``pool``: a thread pool (:func:`paperlib.infra.workers.worker_pool`): each image is cloned in a
    worker (the copy to the CPU too) and a :class:`Pending` batch is returned at once; None: one
    image after the other, now. The result is the same either way."""
    try:
        import cv2  # noqa: F401 - fail here, in the caller's thread, with the install command
    except ImportError as err:
        raise ModuleNotFoundError("poisson_blend needs OpenCV: pip install opencv-python-headless") from err
    from ..infra.workers import submit

    check_tensor("fused", fused, 4)
    check_same_shape(fused=fused, source=source)
    check_tensor("region", region, 3)
    pending = Pending([submit(pool, _clone, f, i, r) for f, i, r in zip(fused, source, region)], fused.device)
    return pending if pool is not None else pending.result()


def authors_blend(edited: torch.Tensor, source: torch.Tensor, cam: torch.Tensor, parsing_source: torch.Tensor,
                  parsing_edited: torch.Tensor, attribute: str, pool=None) -> torch.Tensor | Pending:
    """The scripts' whole blend: :func:`mouth_blend` with the raw map, then :func:`poisson_blend`
    into ``I`` inside ``S_org (.) S_modif`` (in ``pool``'s worker threads when given: a :class:`Pending`)."""
    s_org, s_modif = segmentation_masks(parsing_source, parsing_edited, attribute)
    fused = mouth_blend(edited, source, cam, mouth_mask(parsing_source, parsing_edited, attribute))
    return poisson_blend(fused, source, s_org * s_modif, pool)


__all__ = ["MOUTH_LABELS", "MOUTH_ATTRIBUTES", "NO_EIGEN_ATTRIBUTES", "authors_eigen", "mouth_mask", "mouth_blend",
           "to_bgr_uint8", "Pending", "resolved", "poisson_blend", "authors_blend"]
