"""Class activation maps: Grad-CAM (EOGI's Diff-CAM), Grad-CAM++ (eq 6-8), HiResCAM, XGrad-CAM
and LayerCAM, with test-time augmentation and Eigen smoothing (eq 9).

Every method is a small :class:`BaseCAM` subclass whose ``weights(activations, grads)`` returns
either one weight per channel (N, K) (Grad-CAM, Grad-CAM++, XGrad-CAM) or one weight per channel
and position (N, K, h, w) (HiResCAM, LayerCAM); the rest of the engine is shared.

The vocabulary is pytorch-grad-cam's (``target_layer``, ``targets``, ``aug_smooth``,
``eigen_smooth``) and so are the semantics: ReLU of the map, per-image min-max normalisation
(``x - min`` over ``1e-7 + max``), bilinear upsampling to the input size, ReLU and min-max
again; with ``aug_smooth`` the six de-augmented maps are averaged. The tests check that the two
agree to 1e-5.

Where we differ, on purpose:

- **Speed.** The part of the network before the target layer runs without an autograd graph,
  and the backward pass runs only from the score to the target layer (no parameter
  gradients). The six TTA views go through one forward and one backward pass together.
- **Eigen smoothing's sign.** An SVD's singular vectors have an arbitrary sign, so the
  projection on the first component may come out inverted (pytorch-grad-cam keeps whatever
  LAPACK returns; a change as small as batching can flip it). We orient the component so that
  the projection correlates non-negatively with the centred plain CAM (the channel sum of the
  weighted activations). ``eigen_smooth="authors"`` is the Diff-CAM++ authors' variant:
  ``ReLU(minmax(PC1) (.) CAM)`` with the same orientation.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_tensor

Targets = Union[int, Sequence[int], torch.Tensor]

#: Test-time augmentation of pytorch-grad-cam: flip/no flip x these intensity factors.
TTA_FACTORS: tuple[float, ...] = (0.9, 1.0, 1.1)
#: Epsilon of the min-max normalisation (pytorch-grad-cam's ``scale_cam_image``).
NORM_EPS = 1e-7
#: Epsilon of the Grad-CAM++ alpha denominator (pytorch-grad-cam, the authors' code).
ALPHA_EPS = 1e-6


# --------------------------------------------------------------------------- equations
def gradcam_weights(grads: torch.Tensor) -> torch.Tensor:
    """Grad-CAM channel weights (EOGI's Diff-CAM): spatial mean of the gradients, (N, K)."""
    return grads.mean(dim=(2, 3))


def gradcam_plus_plus_alpha(grads: torch.Tensor, activations: torch.Tensor) -> torch.Tensor:
    """Eq 6: ``alpha = g^2 / (2 g^2 + sum_ab A_ab g^3)``, zero where ``g = 0``.

    ``g`` is the gradient of the class score ``S^c`` w.r.t. ``A``; with ``Y^c = exp(S^c)`` the
    2nd and 3rd derivatives are ``exp(S^c) g^2`` and ``exp(S^c) g^3`` and the common factor
    cancels. ``1e-6`` is added to the denominator, as pytorch-grad-cam and the authors do.
    """
    g2 = grads * grads
    g3 = g2 * grads
    sum_a = activations.sum(dim=(2, 3), keepdim=True)
    alpha = g2 / (2 * g2 + sum_a * g3 + ALPHA_EPS)
    return torch.where(grads != 0, alpha, torch.zeros_like(alpha))


def gradcam_plus_plus_weights(grads: torch.Tensor, activations: torch.Tensor) -> torch.Tensor:
    """Eq 7: ``w_k = sum_ij alpha_ij^k ReLU(g_ij^k)``, (N, K)."""
    return (gradcam_plus_plus_alpha(grads, activations) * grads.clamp(min=0)).sum(dim=(2, 3))


def xgradcam_weights(grads: torch.Tensor, activations: torch.Tensor) -> torch.Tensor:
    """XGrad-CAM channel weights: ``w_k = sum_ij (A_ij^k / (sum_ab A_ab^k + 1e-7)) g_ij^k``, (N, K)
    (the gradient averaged with the activations' own spatial distribution as weights)."""
    return (grads * activations).sum(dim=(2, 3)) / (activations.sum(dim=(2, 3)) + NORM_EPS)


def hirescam_weights(grads: torch.Tensor) -> torch.Tensor:
    """HiResCAM element-wise weights: the gradient itself, ``w_ij^k = g_ij^k``, (N, K, h, w), so the
    map is ``sum_k g^k (.) A^k`` (no spatial averaging of the gradient)."""
    return grads


def layercam_weights(grads: torch.Tensor) -> torch.Tensor:
    """LayerCAM element-wise weights: the positive part of the gradient, ``w_ij^k = ReLU(g_ij^k)``,
    (N, K, h, w)."""
    return grads.clamp(min=0)


def weighted_activations(weights: torch.Tensor, activations: torch.Tensor) -> torch.Tensor:
    """``w_k A^k`` for every channel k, (N, K, h, w): ``weights`` is (N, K) (one weight per
    channel, broadcast over positions) or (N, K, h, w) (one per channel and position)."""
    if weights.ndim == 2:
        return weights[:, :, None, None] * activations
    if weights.shape != activations.shape:
        raise ValueError(f"weights: expected (N, K) or the activations' shape {tuple(activations.shape)}, "
                         f"got {tuple(weights.shape)}")
    return weights * activations


def cam_map(weighted: torch.Tensor) -> torch.Tensor:
    """Eq 8 before its ReLU: ``sum_k w_k A^k``, (N, h, w). The ReLU comes in :func:`normalize_cam`."""
    return weighted.sum(dim=1)


def first_component_projection(weighted: torch.Tensor) -> torch.Tensor:
    """Eq 9: projection of the centred weighted activations on their first principal component.

    Each image's activations form a (h*w, K) matrix, centred over pixels; the projection on the
    first right singular vector is ``U[:, 0] * S[0]``. The component is oriented so that the
    projection correlates non-negatively with the centred plain CAM (module docstring).
    Returns (N, h, w).
    """
    n, k, h, w = weighted.shape
    x = weighted.reshape(n, k, h * w).transpose(1, 2)
    x = x.double() if x.device.type != "mps" else x.cpu().double()  # MPS has no float64
    x = x - x.mean(dim=1, keepdim=True)
    u, s, _ = torch.linalg.svd(x, full_matrices=False)
    projection = u[:, :, 0] * s[:, :1]
    plain = x.sum(dim=2)  # centred channel sum = centred plain CAM
    sign = torch.where((projection * plain).sum(dim=1, keepdim=True) < 0, -1.0, 1.0)
    return (sign * projection).to(weighted.device, weighted.dtype).reshape(n, h, w)


def authors_eigen_map(weighted: torch.Tensor) -> torch.Tensor:
    """The Diff-CAM++ authors' Eigen variant: ``ReLU(minmax(PC1) (.) CAM)``, (N, h, w)."""
    pc = minmax_normalize(first_component_projection(weighted))
    return (pc * cam_map(weighted)).clamp(min=0)


def minmax_normalize(cam: torch.Tensor) -> torch.Tensor:
    """Per-image ``(x - min) / (1e-7 + max(x - min))`` over the last two dims."""
    lo = cam.amin(dim=(-2, -1), keepdim=True)
    cam = cam - lo
    return cam / (NORM_EPS + cam.amax(dim=(-2, -1), keepdim=True))


def normalize_cam(cam: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """ReLU (eq 8), min-max, bilinear upsampling to ``size``, ReLU, min-max: (N, H, W) in [0, 1]."""
    cam = minmax_normalize(cam.clamp(min=0))
    cam = F.interpolate(cam[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    return minmax_normalize(cam.clamp(min=0))


def tta_views(inputs: torch.Tensor) -> torch.Tensor:
    """The 6 TTA views (no flip / flip x 0.9, 1.0, 1.1) stacked view-major: (6 B, C, H, W)."""
    views = [img * f for img in (inputs, inputs.flip(-1)) for f in TTA_FACTORS]
    return torch.cat(views)


def merge_tta_maps(maps: torch.Tensor, batch: int) -> torch.Tensor:
    """Undo :func:`tta_views` on maps (6 B, H, W): flip the flipped views back and average."""
    maps = maps.reshape(2, len(TTA_FACTORS), batch, *maps.shape[1:])
    maps = torch.stack([maps[0], maps[1].flip(-1)])
    return maps.mean(dim=(0, 1))


# --------------------------------------------------------------------------- engine
@contextmanager
def eval_mode(model: nn.Module):
    """``model`` in eval mode (batch-norm running statistics) inside the block, its own mode restored after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


class BaseCAM:
    """Hooks, scores, smoothing and scaling; subclasses only say how channel weights are computed.

    ``cam = GradCAMPlusPlus(model, model.target_layer); maps = cam(inputs, targets)``.
    """

    def __init__(self, model: nn.Module, target_layer: nn.Module) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(target_layer, nn.Module) or not any(m is target_layer for m in model.modules()):
            raise ValueError("target_layer: not a submodule of model; pass a layer of the model, e.g. model.target_layer")
        self.model = model
        self.target_layer = target_layer

    @staticmethod
    def weights(activations: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
        """Weights from the target layer's activations and gradients: (N, K) per channel or
        (N, K, h, w) per channel and position (:func:`weighted_activations`)."""
        raise NotImplementedError

    def __call__(self, inputs: torch.Tensor, targets: Targets, *, aug_smooth: bool = False,
                 eigen_smooth: Union[bool, str] = False) -> torch.Tensor:
        return cam_variants(self.model, self.target_layer, inputs, targets,
                            [(type(self), aug_smooth, eigen_smooth)])[0]


def _check_inputs(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    check_tensor("inputs", inputs, 4)
    expected = getattr(model, "in_channels", None)
    if expected is not None and inputs.shape[1] != expected:
        raise ValueError(f"inputs: expected {expected} channels, got {inputs.shape[1]} (shape {tuple(inputs.shape)})")
    param = next(model.parameters(), None)
    return inputs.to(param.device) if param is not None else inputs


def _check_targets(targets: Targets, batch: int) -> torch.Tensor:
    try:
        t = torch.as_tensor(targets)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"targets: expected an int or a sequence of ints, got {targets!r}") from None
    if t.numel() == 0:
        raise ValueError(f"targets: expected one class index per image ({batch}), got none")
    if t.is_floating_point() or t.dtype == torch.bool:
        raise ValueError(f"targets: expected integer class indices, got dtype {t.dtype}")
    if t.ndim == 0:
        t = t.repeat(batch)
    if t.ndim != 1 or len(t) != batch:
        raise ValueError(f"targets: expected one class index per image ({batch}), got shape {tuple(t.shape)}")
    if t.min() < 0:
        raise ValueError(f"targets: class indices must be >= 0, got {t.tolist()}")
    return t.long()


def activations_and_grads(model: nn.Module, target_layer: nn.Module, views: torch.Tensor,
                          targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward (no autograd graph before the target layer) and one backward from the summed
    class scores to the target layer's output; returns its activations and their gradients."""
    captured: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        torch.set_grad_enabled(True)  # restored when the no_grad block below exits
        act = output.detach().requires_grad_(True)
        captured.append(act)
        return act.clone()  # not the leaf itself: layers after it may work in place (ReLU(inplace=True))

    handle = target_layer.register_forward_hook(hook)
    try:
        with eval_mode(model), torch.no_grad():
            logits = model(views)
            if not captured:
                raise ValueError("target_layer: was not called during the model's forward pass")
            if len(captured) > 1:
                raise ValueError("target_layer: was called more than once in one forward pass; pick a layer used once")
            n_classes = logits.shape[1]
            targets = targets.to(logits.device)
            if targets.max() >= n_classes:
                raise ValueError(f"targets: class indices must lie in 0..{n_classes - 1}, got {sorted(set(targets.tolist()))}")
            score = logits.gather(1, targets[:, None]).sum()
            act = captured[0]
            grads = torch.autograd.grad(score, act, allow_unused=True)[0] if score.requires_grad else None
    finally:
        handle.remove()
    return act.detach(), torch.zeros_like(act) if grads is None else grads


class GradCAM(BaseCAM):
    """Grad-CAM: mean gradient per channel. On the DiffNet this is EOGI's Diff-CAM."""

    @staticmethod
    def weights(activations, grads):
        return gradcam_weights(grads)


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++ (eq 6-7): closed-form alphas from powers of the gradient."""

    @staticmethod
    def weights(activations, grads):
        return gradcam_plus_plus_weights(grads, activations)


class XGradCAM(BaseCAM):
    """XGrad-CAM: gradients averaged with the activations as weights (:func:`xgradcam_weights`)."""

    @staticmethod
    def weights(activations, grads):
        return xgradcam_weights(grads, activations)


class HiResCAM(BaseCAM):
    """HiResCAM: element-wise gradient times activation, summed over channels (:func:`hirescam_weights`)."""

    @staticmethod
    def weights(activations, grads):
        return hirescam_weights(grads)


class LayerCAM(BaseCAM):
    """LayerCAM: element-wise positive gradient times activation (:func:`layercam_weights`)."""

    @staticmethod
    def weights(activations, grads):
        return layercam_weights(grads)


METHODS: dict[str, type[BaseCAM]] = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "hirescam": HiResCAM,
                                     "xgradcam": XGradCAM, "layercam": LayerCAM}


Config = tuple[Union[str, type[BaseCAM]], bool, Union[bool, str]]


def check_configs(configs: Sequence[Config]) -> list[type[BaseCAM]]:
    """The :class:`BaseCAM` class of each ``(method, aug_smooth, eigen_smooth)``; one-line errors for
    an unknown method or eigen_smooth value."""
    classes = []
    for method, _, eigen_smooth in configs:
        if isinstance(method, str) and method not in METHODS:
            raise ValueError(f"method: unknown CAM method {method!r}; expected one of {', '.join(METHODS)}")
        if eigen_smooth not in (False, True, "authors"):
            raise ValueError(f"eigen_smooth: expected False, True or 'authors', got {eigen_smooth!r}")
        classes.append(METHODS[method] if isinstance(method, str) else method)
    return classes


def cam_passes(model: nn.Module, target_layer: nn.Module, inputs: torch.Tensor, targets: Targets,
               augs: Sequence[bool]) -> dict[bool, tuple[torch.Tensor, torch.Tensor]]:
    """One forward/backward pass per TTA setting in ``augs``: ``{aug: (activations, grads)}`` of
    the target layer (the 6 views stacked view-major when ``aug``)."""
    BaseCAM(model, target_layer)  # checks model and target_layer
    inputs = _check_inputs(model, inputs)
    targets = _check_targets(targets, len(inputs))
    passes = {}
    for aug in sorted({bool(a) for a in augs}):
        views = tta_views(inputs) if aug else inputs
        passes[aug] = activations_and_grads(model, target_layer, views, targets.repeat(len(views) // len(inputs)))
    return passes


def variant_map(cls: type[BaseCAM], aug: bool, eigen_smooth: Union[bool, str],
                activations: torch.Tensor, grads: torch.Tensor, batch: int, size: tuple[int, int]) -> torch.Tensor:
    """The map (batch, H, W) in [0, 1] of one method from one pass's activations and gradients:
    weights, weighted activations, the plain CAM or its Eigen version, scaling to ``size`` and,
    with ``aug``, the merge of the 6 de-augmented views."""
    weighted = weighted_activations(cls.weights(activations, grads), activations)
    if eigen_smooth == "authors":
        raw = authors_eigen_map(weighted)
    elif eigen_smooth:
        raw = first_component_projection(weighted)
    else:
        raw = cam_map(weighted)
    maps = normalize_cam(raw, size)
    return merge_tta_maps(maps, batch) if aug else maps


def cam_variants(model: nn.Module, target_layer: nn.Module, inputs: torch.Tensor, targets: Targets,
                 configs: Sequence[Config]) -> list[torch.Tensor]:
    """Maps for several ``(method, aug_smooth, eigen_smooth)`` configurations at once.

    Configurations with the same ``aug_smooth`` share one forward/backward pass, so the six
    variants of Figure 3 cost two passes.
    """
    classes = check_configs(configs)
    passes = cam_passes(model, target_layer, inputs, targets, [a for _, a, _ in configs])
    batch, size = len(inputs), tuple(inputs.shape[-2:])
    return [variant_map(cls, bool(aug), eigen, *passes[bool(aug)], batch, size)
            for cls, (_, aug, eigen) in zip(classes, configs)]


def compute_cam(model: nn.Module, target_layer: nn.Module, inputs: torch.Tensor, targets: Targets, *,
                method: str = "gradcam++", aug_smooth: bool = False,
                eigen_smooth: Union[bool, str] = False) -> torch.Tensor:
    """Class activation maps (B, H, W) in [0, 1] for ``targets`` (one class index per image).

    ``method`` is ``"gradcam"`` (EOGI's Diff-CAM), ``"gradcam++"`` (eq 6-8), ``"hirescam"``,
    ``"xgradcam"`` or ``"layercam"`` (:data:`METHODS`); ``aug_smooth``
    averages the 6 TTA views; ``eigen_smooth`` replaces the map by its first principal
    component (eq 9; ``True``) or by the authors' variant (``"authors"``).
    """
    return cam_variants(model, target_layer, inputs, targets, [(method, aug_smooth, eigen_smooth)])[0]
