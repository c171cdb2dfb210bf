"""ReStyle: iterative refinement of a StyleGAN2 inversion with a residual encoder.

The encoders see 6 channels: the target face ``x`` and the current reconstruction ``y_t``
(both 256x256 in [-1, 1]) and read every style from the final 16x16 map of IR-SE-50 (no
feature pyramid). ``BackboneEncoder`` (ReStyle-pSp) gives one vector per style head;
``ProgressiveBackboneEncoder`` (ReStyle-e4e) gives head 0's vector repeated plus per-style deltas.

Inference (the official ``run_on_batch``): start from ``w_0 = latent_avg`` and its image
``y_0`` (decoded, average-pooled to 256x256); step ``t`` predicts a residual,
``w_{t+1} = w_t + E(cat[x, y_t])``, decodes ``y_{t+1} = G(w_{t+1})`` and pools it to 256x256 for
the next step. ``n_iters`` steps run ``n_iters`` encoder passes (5 by default, as the official
inference). ``ReStyle.from_checkpoint`` reads ``restyle_psp_ffhq_encode.pt`` /
``restyle_e4e_ffhq_encode.pt`` (``state_dict`` with ``encoder.*`` / ``decoder.*``, ``latent_avg``, ``opts``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .irse import GradualStyleBlock, IRSEBackbone
from .psp import InversionWrapper, n_styles_for

VARIANTS = ("psp", "e4e")


class BackboneEncoder(IRSEBackbone):
    """ReStyle-pSp's encoder: every style head reads the 16x16 map, ``(B, n_styles, style_dim)``.

    Its ``state_dict()`` equals the official ``BackboneEncoder(50, 'ir_se', 18)`` with 6 input
    channels (``encoder.*`` in ``restyle_psp_ffhq_encode.pt``).
    """

    def __init__(self, num_layers: int = 50, mode: str = "ir_se", n_styles: int = 18, in_channels: int = 6,
                 style_dim: int = 512) -> None:
        super().__init__(num_layers, mode, in_channels, n_styles, style_dim)
        self.styles = nn.ModuleList([GradualStyleBlock(512, style_dim, 16) for _ in range(n_styles)])

    def last_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.last_map(x)
        return torch.stack([head(feat) for head in self.styles], dim=1)


class ProgressiveBackboneEncoder(BackboneEncoder):
    """ReStyle-e4e's encoder: head 0's vector repeated, plus deltas from heads 1.. ``progressive_stage``.

    Its ``state_dict()`` equals the official ``ProgressiveBackboneEncoder(50, 'ir_se', 18)`` with
    6 input channels (``encoder.*`` in ``restyle_e4e_ffhq_encode.pt``).
    """

    def __init__(self, num_layers: int = 50, mode: str = "ir_se", n_styles: int = 18, in_channels: int = 6,
                 style_dim: int = 512) -> None:
        super().__init__(num_layers, mode, n_styles, in_channels, style_dim)
        #: how many deltas are added (the official ``ProgressiveStage``; ``n_styles`` = inference)
        self.progressive_stage = n_styles

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.last_map(x)
        w0 = self.styles[0](feat)
        active = min(self.progressive_stage + 1, self.n_styles)
        deltas = [torch.zeros_like(w0)] + [self.styles[i](feat) for i in range(1, active)]
        deltas += [torch.zeros_like(w0)] * (self.n_styles - len(deltas))
        return w0.unsqueeze(1) + torch.stack(deltas, dim=1)


class ReStyle(InversionWrapper):
    """ReStyle-pSp (``variant="psp"``) or ReStyle-e4e (``variant="e4e"``) over StyleGAN2.

    ``invert(images)`` gives the W+ code (B, n_styles, 512) after ``n_iters`` refinement steps
    from the average latent; ``forward(images)`` returns ``(reconstruction, w)``, the last step's
    image at the generator's resolution in [-1, 1]. Faces larger than 256 are average-pooled to
    256x256; each ``y_t`` is pooled to the size of the (pooled) input. ``encoder`` / ``decoder``
    may be given ready-made, else they are built at random (``style_dim``, ``n_mlp``,
    ``channel_multiplier`` configure them); ``n_styles`` defaults to the count for ``size``.
    """

    layout = "ReStyle"

    @classmethod
    def encoder_types(cls, kwargs: dict) -> tuple[str, ...]:
        return ("BackboneEncoder",) if kwargs.get("variant", "psp") == "psp" else ("ProgressiveBackboneEncoder",)

    def __init__(self, variant: str = "psp", size: int = 1024, n_iters: int = 5, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None, *, n_styles: int | None = None, style_dim: int = 512,
                 n_mlp: int = 8, channel_multiplier: int = 2) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
        self._check_iters(n_iters)
        n = n_styles_for(size) if n_styles is None else n_styles
        if encoder is None:
            cls = BackboneEncoder if variant == "psp" else ProgressiveBackboneEncoder
            encoder = cls(n_styles=n, style_dim=style_dim)
        if getattr(encoder, "in_channels", 6) != 6:
            raise ValueError(f"encoder: expected 6 input channels [x, y_t], got {encoder.in_channels}")
        self._setup(size, n, encoder, decoder, n_mlp, channel_multiplier)
        self.variant = variant
        self.n_iters = n_iters

    @staticmethod
    def _check_iters(n_iters) -> int:
        if isinstance(n_iters, bool) or not isinstance(n_iters, int) or n_iters < 1:
            raise ValueError(f"n_iters: expected a positive integer, got {n_iters!r}")
        return n_iters

    def average_image(self, size: tuple[int, int]) -> torch.Tensor:
        """``y_0``: the generator's image of ``latent_avg`` (1, 3, *size), average-pooled to ``size``."""
        return F.adaptive_avg_pool2d(self.decode(self.latent_avg.unsqueeze(0)), size)

    def refine(self, images: torch.Tensor, n_iters: int | None = None,
               decode_last: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Run the refinement; returns ``(w, last image or None)`` (see the class docstring)."""
        n_iters = self._check_iters(self.n_iters if n_iters is None else n_iters)
        x = self.prepare(images)
        size = tuple(x.shape[-2:])
        y = self.average_image(size).expand(x.shape[0], -1, -1, -1)
        w = self.latent_avg.unsqueeze(0).expand(x.shape[0], -1, -1)
        image = None
        for step in range(n_iters):
            w = w + self.encoder(torch.cat([x, y], dim=1))
            if decode_last or step < n_iters - 1:
                image = self.decode(w)
                y = F.adaptive_avg_pool2d(image, size)
        return w, (image if decode_last else None)

    def invert(self, images: torch.Tensor, n_iters: int | None = None) -> torch.Tensor:
        """The W+ code (B, n_styles, style_dim) after ``n_iters`` steps (default ``self.n_iters``)."""
        return self.refine(images, n_iters, decode_last=False)[0]

    def forward(self, images: torch.Tensor, n_iters: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(reconstruction, w)`` after ``n_iters`` steps (default ``self.n_iters``)."""
        w, image = self.refine(images, n_iters, decode_last=True)
        return image, w


__all__ = ["BackboneEncoder", "ProgressiveBackboneEncoder", "ReStyle", "VARIANTS"]
