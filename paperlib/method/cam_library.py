"""pytorch-grad-cam itself, called on a DiffNet: the CAM methods paperlib does not reimplement (the
leaderboard's library rows, :mod:`paperlib.evaluation.leaderboard`) and the oracle of the ones it does
(``tests/method/test_cam_oracle.py``, the leaderboard's per-row check).

The library is called as its README shows: ``Method(model, [target_layer])(inputs, targets)`` with
``ClassifierOutputTarget`` targets, on the plain :class:`paperlib.method.diffnet.DiffNet` (the library
runs its own batches of masked or ablated inputs, which :class:`~paperlib.method.diffnet.SourceEncoded`'s
cached ``E(I')`` would not match). Around each call: the network's train/eval mode is restored (the
library puts it in eval mode for good), only the target layer's parameters require grad (its
``loss.backward()`` then stops at the layer instead of computing every parameter's gradient, which it
never reads; the maps do not depend on these flags), its per-channel progress bars are silenced, and its
hooks are released. Shapley-CAM keeps every parameter's flag: its Hessian-vector product needs the graph
of the whole network. Random-CAM draws its weights from numpy's global generator: the call seeds it with
``seed`` and restores its state after.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .cam import eval_mode

#: The library's methods that paperlib reimplements (:data:`paperlib.method.cam.METHODS` -> class name).
REIMPLEMENTED: dict[str, str] = {"gradcam": "GradCAM", "gradcam++": "GradCAMPlusPlus", "hirescam": "HiResCAM",
                                 "xgradcam": "XGradCAM", "layercam": "LayerCAM"}
#: Every class name :func:`library_cam` accepts: the reimplemented ones and those only the library has.
#: Left out: FullGrad (it ignores the target layer and hooks every bias layer, including DiffNet's encoder,
#: which runs twice per pair, on ``I'`` and on ``T``: not a map of a feature layer) and RefineCAM (a product of
#: several layers' maps, not one layer's method).
CLASSES: tuple[str, ...] = (*REIMPLEMENTED.values(), "GradCAMElementWise", "EigenCAM", "EigenGradCAM", "KPCA_CAM",
                            "SegEigenCAM", "ShapleyCAM", "FinerCAM", "ScoreCAM", "AblationCAM", "RandomCAM")


@contextlib.contextmanager
def grads_from(model: nn.Module, layer: nn.Module):
    """Only ``layer``'s parameters require grad inside the block (every flag restored after), so the
    library's ``loss.backward()`` stops at the target layer (2.4x faster on resnet50; the activations and
    the gradient at the layer's output, all the library reads, do not depend on these flags)."""
    before = {p: p.requires_grad for p in model.parameters()}
    for p in model.parameters():
        p.requires_grad_(False)
    for p in layer.parameters():
        p.requires_grad_(True)
    try:
        yield
    finally:
        for p, flag in before.items():
            p.requires_grad_(flag)


@contextlib.contextmanager
def numpy_seed(seed: int):
    """numpy's global generator seeded with ``seed`` inside the block, its state restored after."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def check_class(name: str) -> str:
    """``name`` if it is one of :data:`CLASSES`, else a one-line ValueError."""
    if name not in CLASSES:
        raise ValueError(f"method: unknown pytorch-grad-cam method {name!r}; expected one of {', '.join(CLASSES)}")
    return name


def library_cam(model: nn.Module, target_layer: nn.Module, inputs: torch.Tensor, targets: Sequence[int] | int,
                name: str, *, aug_smooth: bool = False, eigen_smooth: bool = False, seed: int = 0,
                batch_size: int | None = None) -> torch.Tensor:
    """pytorch-grad-cam's ``name`` map (B, H, W) in [0, 1] of ``targets`` (one class index per image, or
    one for all) on ``inputs`` (B, C, H, W) at ``target_layer`` of ``model`` (module doc). Finer-CAM
    compares the target class with its three most similar classes (the library's default), which it
    picks itself from the logits (``target_idx``), so its target is one class for the batch; it has no
    ``aug_smooth``. ``batch_size``: Score-CAM's and Ablation-CAM's batches of masked inputs (the
    library's defaults, 16 and 32, when None). ``seed``: Random-CAM's draw."""
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cls = getattr(pytorch_grad_cam, check_class(name))
    kwargs = {"batch_size": batch_size} if name == "AblationCAM" and batch_size else {}
    cam = cls(model, [target_layer], **kwargs)
    if name == "ScoreCAM" and batch_size:
        cam.batch_size = batch_size
    per_image = [int(t) for t in targets] if isinstance(targets, Sequence) else [int(targets)] * len(inputs)
    base = getattr(cam, "base_cam", cam)
    try:
        flags = contextlib.nullcontext() if name == "ShapleyCAM" else grads_from(model, target_layer)
        with eval_mode(model), flags, numpy_seed(seed), contextlib.redirect_stderr(io.StringIO()):
            if name == "FinerCAM":
                if len(set(per_image)) != 1:
                    raise ValueError(f"targets: Finer-CAM takes one class for the batch, got {sorted(set(per_image))}")
                out = cam(inputs, targets=None, eigen_smooth=eigen_smooth, target_idx=per_image[0])
            else:
                out = cam(inputs, [ClassifierOutputTarget(t) for t in per_image], aug_smooth=aug_smooth,
                          eigen_smooth=eigen_smooth)
    finally:
        base.activations_and_grads.release()
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))


__all__ = ["CLASSES", "REIMPLEMENTED", "check_class", "grads_from", "library_cam", "numpy_seed"]
