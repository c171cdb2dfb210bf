"""e4e (encoder4editing): the progressive ``Encoder4Editing`` and its inversion wrapper.

The encoder has pSp's layers (IR-SE-50 + feature pyramid + one ``GradualStyleBlock`` per style,
``2 * log2(stylegan_size) - 2`` of them) but reads them differently: head 0 gives a base code
``w0`` repeated over all styles, and each head ``i >= 1`` gives an offset, ``w_i = w0 + delta_i``,
so codes stay close to W (the editability that e4e trades against distortion). Heads 1-2 read
the 16x16 map, 3-6 the 32x32 map and the rest the 64x64 map. During e4e's progressive training
only the first ``progressive_stage`` deltas are used; the released model is used with all of
them (``progressive_stage = n_styles``, the default).

``E4E`` adds the average latent (``start_from_latent_avg``, as the official FFHQ model was
trained) and decodes with StyleGAN2, as ``PSP``. ``E4E.from_checkpoint`` reads
``e4e_ffhq_encode.pt`` (``state_dict`` with ``encoder.*`` / ``decoder.*``, ``latent_avg``, ``opts``).
"""

from __future__ import annotations

import torch
from torch import nn

from .psp import PSP, FPNEncoderBase, n_styles_for


class Encoder4Editing(FPNEncoderBase):
    """e4e's encoder: ``w0`` from head 0 plus per-style deltas, ``(B, n_styles, style_dim)``.

    Its ``state_dict()`` equals the official ``Encoder4Editing(50, 'ir_se')`` for a 1024
    generator (``encoder.*`` in ``e4e_ffhq_encode.pt``).
    """

    def __init__(self, num_layers: int = 50, mode: str = "ir_se", stylegan_size: int = 1024,
                 in_channels: int = 3, style_dim: int = 512) -> None:
        super().__init__(num_layers, mode, n_styles_for(stylegan_size), in_channels, style_dim)
        self.stylegan_size = stylegan_size
        #: how many deltas are added (the official ``ProgressiveStage``; ``n_styles`` = inference)
        self.progressive_stage = self.n_styles

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.pyramid(x)
        w0 = self.styles[0](maps[0])
        active = min(self.progressive_stage + 1, self.n_styles)
        deltas = [torch.zeros_like(w0)]
        deltas += [self.styles[i](self.head_input(i, maps)) for i in range(1, active)]
        deltas += [torch.zeros_like(w0)] * (self.n_styles - len(deltas))
        return w0.unsqueeze(1) + torch.stack(deltas, dim=1)


class E4E(PSP):
    """e4e: ``Encoder4Editing`` + StyleGAN2 ``Generator`` + the average latent.

    Same interface as ``PSP``: ``invert(images) -> w`` (B, n_styles, 512) with
    ``w = E(x) + latent_avg``, ``forward(images) -> (reconstruction, w)``, and
    ``E4E.from_checkpoint(path, **kwargs)`` for the official ``e4e_ffhq_encode.pt``.
    """

    layout = "e4e"

    @classmethod
    def encoder_types(cls, kwargs: dict) -> tuple[str, ...]:
        return ("Encoder4Editing",)

    def __init__(self, size: int = 1024, encoder: nn.Module | None = None, decoder: nn.Module | None = None, *,
                 style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                 start_from_latent_avg: bool = True) -> None:
        if encoder is None:
            encoder = Encoder4Editing(stylegan_size=size, style_dim=style_dim)
        super().__init__(size, None, encoder, decoder, style_dim=style_dim, n_mlp=n_mlp,
                         channel_multiplier=channel_multiplier, start_from_latent_avg=start_from_latent_avg)


__all__ = ["E4E", "Encoder4Editing"]
