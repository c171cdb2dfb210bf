"""pSp (pixel2style2pixel): the GradualStyleEncoder and the encoder + StyleGAN2 inversion wrapper.

``GradualStyleEncoder`` runs IR-SE-50 on a 256x256 face and builds a small feature pyramid
from the ends of stages 2, 3 and 4 (``latlayer1``/``latlayer2`` lift 256/128 channels to 512,
merged by bilinear upsampling). Styles 0-2 ("coarse") come from the 16x16 map, 3-6 ("middle")
from the 32x32 map and the rest ("fine") from the 64x64 map, one ``GradualStyleBlock`` each.

``PSP`` adds the average latent to the encoder output (the official ``start_from_latent_avg``,
on for the FFHQ encode model) to get ``w`` in W+ (eq 1 of the paper), and decodes it with the
StyleGAN2 generator. ``PSP.from_checkpoint`` reads the official ``psp_ffhq_encode.pt``: a dict
with ``state_dict`` (``encoder.*``, ``decoder.*``), ``latent_avg`` and ``opts``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_tensor
from ._checkpoint import CheckpointMismatch, extract_state_dict, load_strict, read_checkpoint
from .irse import ENCODER_SIZE, GradualStyleBlock, IRSEBackbone, upsample_add

#: Styles below ``COARSE_END`` read the 16x16 map, below ``MIDDLE_END`` the 32x32 map, the rest 64x64.
COARSE_END = 3
MIDDLE_END = 7


def head_spatial(index: int) -> int:
    """The feature-map size style head ``index`` of the FPN encoders was built for."""
    return 16 if index < COARSE_END else 32 if index < MIDDLE_END else 64


def n_styles_for(size: int) -> int:
    """Number of W+ vectors of a StyleGAN2 generator of output ``size`` (18 for 1024)."""
    if not isinstance(size, int) or size < 8 or size & (size - 1):
        raise ValueError(f"size: expected a power of two >= 8 (the generator's output size), got {size!r}")
    return 2 * int(math.log2(size)) - 2


class FPNEncoderBase(IRSEBackbone):
    """IR-SE backbone + the pSp/e4e feature pyramid: ``styles``, ``latlayer1``, ``latlayer2``."""

    coarse_ind = COARSE_END
    middle_ind = MIDDLE_END

    def __init__(self, num_layers: int = 50, mode: str = "ir_se", n_styles: int = 18, in_channels: int = 3,
                 style_dim: int = 512) -> None:
        super().__init__(num_layers, mode, in_channels, n_styles, style_dim)
        self.styles = nn.ModuleList([GradualStyleBlock(512, style_dim, head_spatial(i)) for i in range(n_styles)])
        self.latlayer1 = nn.Conv2d(256, 512, 1)
        self.latlayer2 = nn.Conv2d(128, 512, 1)

    def pyramid(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The coarse (16x16), middle (32x32) and fine (64x64) maps of a 256x256 input."""
        c1, c2, c3 = self.features(x)
        p2 = upsample_add(c3, self.latlayer1(c2))
        p1 = upsample_add(p2, self.latlayer2(c1))
        return c3, p2, p1

    def head_input(self, index: int, maps: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return maps[0] if index < COARSE_END else maps[1] if index < MIDDLE_END else maps[2]


class GradualStyleEncoder(FPNEncoderBase):
    """pSp's encoder: one style vector per head, ``(B, n_styles, style_dim)``.

    Its ``state_dict()`` equals the official ``GradualStyleEncoder(50, 'ir_se')`` (``encoder.*``
    in ``psp_ffhq_encode.pt``). Inputs are 256x256 faces in [-1, 1].
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.pyramid(x)
        return torch.stack([head(self.head_input(i, maps)) for i, head in enumerate(self.styles)], dim=1)


def _build_decoder(size: int, style_dim: int, n_mlp: int, channel_multiplier: int) -> nn.Module:
    from .stylegan2 import Generator  # imported lazily: the generator lives in its own module

    return Generator(size, style_dim=style_dim, n_mlp=n_mlp, channel_multiplier=channel_multiplier)


def _opts_dict(opts: Any) -> dict:
    if opts is None:
        return {}
    if isinstance(opts, Mapping):
        return dict(opts)
    return dict(vars(opts)) if hasattr(opts, "__dict__") else {}


def read_official(path: str | Path, layout: str) -> tuple[dict, dict, torch.Tensor | None, dict]:
    """Split an official pSp-family file into (encoder sd, decoder sd, latent_avg or None, opts).

    Keys of ``state_dict`` outside ``encoder.*`` / ``decoder.*`` are ignored, as the official
    loaders do; each part is then loaded strictly.
    """
    ckpt = read_checkpoint(path)
    if not isinstance(ckpt, Mapping) or not isinstance(ckpt.get("state_dict"), Mapping):
        found = list(ckpt)[:5] if isinstance(ckpt, Mapping) else type(ckpt).__name__
        raise CheckpointMismatch(
            f"{path}: expected the {layout} layout (a dict with 'state_dict', 'latent_avg', 'opts'), got {found}"
        )
    enc = extract_state_dict(ckpt, "encoder.", "state_dict")
    dec = extract_state_dict(ckpt, "decoder.", "state_dict")
    latent_avg = ckpt.get("latent_avg")
    if latent_avg is not None and not isinstance(latent_avg, torch.Tensor):
        raise CheckpointMismatch(f"{path}: latent_avg is a {type(latent_avg).__name__}, expected a tensor")
    return enc, dec, latent_avg, _opts_dict(ckpt.get("opts"))


def set_latent_avg(buffer: torch.Tensor, latent_avg: torch.Tensor, source: str) -> None:
    """Copy a file's ``latent_avg`` ((n_styles, d), (1, d) or (d,)) into ``buffer`` (n_styles, d)."""
    n, d = buffer.shape
    if tuple(latent_avg.shape) not in {(n, d), (1, d), (d,)}:
        raise CheckpointMismatch(
            f"{source}: latent_avg has shape {tuple(latent_avg.shape)}, expected ({n}, {d}) or ({d},)"
        )
    with torch.no_grad():
        buffer.copy_(latent_avg.reshape(-1, d).expand(n, d))


#: ``opts['encoder_type']`` of the official pSp-family files -> (what the file is, which loader reads it).
ENCODER_TYPES: dict[str, tuple[str, str]] = {
    "GradualStyleEncoder": ("a pSp checkpoint", 'PSP.from_checkpoint (paperlib.models.load("psp-ffhq-encode", path))'),
    "Encoder4Editing": ("an e4e checkpoint", 'E4E.from_checkpoint (paperlib.models.load("e4e-ffhq-encode", path))'),
    "BackboneEncoder": ("a ReStyle-pSp checkpoint", 'ReStyle.from_checkpoint(path, variant="psp") '
                        '(paperlib.models.load("restyle-psp-ffhq-encode", path))'),
    "ProgressiveBackboneEncoder": ("a ReStyle-e4e checkpoint", 'ReStyle.from_checkpoint(path, variant="e4e") '
                                   '(paperlib.models.load("restyle-e4e-ffhq-encode", path))'),
}


class InversionWrapper(nn.Module):
    """Shared plumbing of the pSp-family wrappers: ``encoder``, ``decoder``, buffer ``latent_avg``."""

    layout = "pSp"

    def _setup(self, size: int, n_styles: int | None, encoder: nn.Module, decoder: nn.Module | None,
               n_mlp: int, channel_multiplier: int) -> None:
        expected = n_styles_for(size) if n_styles is None else n_styles
        if getattr(encoder, "n_styles", expected) != expected:
            raise ValueError(f"encoder: gives {encoder.n_styles} styles, expected n_styles={expected}")
        style_dim = getattr(encoder, "style_dim", 512)
        if decoder is None:
            decoder = _build_decoder(size, style_dim, n_mlp, channel_multiplier)
        n_latent = getattr(decoder, "n_latent", expected)
        if n_latent != expected:
            raise ValueError(f"decoder: takes {n_latent} latents, expected n_styles={expected}")
        if getattr(decoder, "style_dim", style_dim) != style_dim:
            raise ValueError(f"decoder: style_dim is {decoder.style_dim}, the encoder gives {style_dim}")
        self.size = size
        self.n_styles = expected
        self.style_dim = style_dim
        self.encoder = encoder
        self.decoder = decoder
        self.register_buffer("latent_avg", torch.zeros(expected, style_dim))

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Check ``images`` (B, 3, H, W) in [-1, 1]; faces larger than 256 are average-pooled to 256x256."""
        check_tensor("images", images, 4)
        if images.shape[1] != 3:
            raise ValueError(f"images: expected 3 channels (RGB in [-1, 1]), got {images.shape[1]}")
        if images.shape[-1] > ENCODER_SIZE or images.shape[-2] > ENCODER_SIZE:
            images = F.adaptive_avg_pool2d(images, (ENCODER_SIZE, ENCODER_SIZE))
        return images

    def decode(self, w: torch.Tensor) -> torch.Tensor:
        """The generator's image for W+ codes ``w`` (B, n_styles, style_dim), fixed noise."""
        image, _ = self.decoder([w], input_is_latent=True, randomize_noise=False)
        return image

    @classmethod
    def options_from_file(cls, opts: dict, kwargs: dict) -> dict:
        """Constructor arguments implied by a file's ``opts`` (explicit ``kwargs`` win)."""
        return kwargs

    @classmethod
    def encoder_types(cls, kwargs: dict) -> tuple[str, ...]:
        """The ``opts['encoder_type']`` values this loader (with these constructor arguments) reads."""
        return ()

    @classmethod
    def check_opts(cls, path, opts: dict, kwargs: dict) -> None:
        """Refuse a file whose ``opts`` names another encoder type or output size than the network
        being built: pSp, e4e and ReStyle share key names, so such a file would load silently and
        give wrong codes. One line naming the file, what it is and which loader reads it."""
        kind = opts.get("encoder_type")
        accepted = cls.encoder_types(kwargs)
        if kind is not None and accepted and kind not in accepted:
            what, loader = ENCODER_TYPES.get(kind, (f"a {kind} checkpoint", "no paperlib loader"))
            raise CheckpointMismatch(f"{path}: is {what} (opts encoder_type {kind!r}), not {cls.describe(kwargs)}; "
                                     f"load it with {loader}")
        size = opts.get("output_size")
        expected = kwargs.get("size", 1024)
        if size is not None and int(size) != expected:
            raise CheckpointMismatch(f"{path}: is a checkpoint for {int(size)}x{int(size)} images (opts output_size), "
                                     f"not {expected}x{expected}; load it with {cls.__name__}.from_checkpoint(path, "
                                     f"size={int(size)})")

    @classmethod
    def describe(cls, kwargs: dict) -> str:
        """What this loader reads, in words (``a pSp checkpoint``)."""
        types = cls.encoder_types(kwargs)
        return ENCODER_TYPES[types[0]][0] if types else f"a {cls.layout} checkpoint"

    @classmethod
    def from_checkpoint(cls, path: str | Path, **kwargs) -> "InversionWrapper":
        """Load an official file (``state_dict`` with ``encoder.*`` / ``decoder.*``, ``latent_avg``,
        ``opts``) strictly, in eval mode; ``kwargs`` go to the constructor.
        """
        enc, dec, latent_avg, opts = read_official(path, cls.layout)
        cls.check_opts(path, opts, kwargs)
        model = cls(**cls.options_from_file(opts, dict(kwargs)))
        load_strict(model.encoder, enc, f"{path} (encoder.*)")
        load_strict(model.decoder, dec, f"{path} (decoder.*)")
        if latent_avg is not None:
            set_latent_avg(model.latent_avg, latent_avg, str(path))
        elif getattr(model, "start_from_latent_avg", True):
            raise CheckpointMismatch(f"{path}: missing latent_avg (the average W+ code the encoder starts from)")
        return model.eval()


class PSP(InversionWrapper):
    """pSp: ``GradualStyleEncoder`` + StyleGAN2 ``Generator`` + the average latent.

    ``invert(images)`` gives ``w = E(x) + latent_avg`` (B, n_styles, 512) for 256x256 faces in
    [-1, 1] (larger faces are average-pooled to 256 first); ``forward(images)`` also decodes it:
    ``(reconstruction, w)`` with the reconstruction at the generator's resolution, in [-1, 1].

    ``n_styles`` defaults to the generator's count for ``size`` (18 for 1024). ``encoder`` and
    ``decoder`` may be given ready-made; otherwise they are built at random (the decoder from
    ``paperlib.models.stylegan2`` with ``style_dim``, ``n_mlp``, ``channel_multiplier``).
    ``start_from_latent_avg=False`` (an official training option; the released FFHQ model uses
    True) skips the average latent. ``PSP.from_checkpoint(path, **kwargs)`` loads the official
    ``psp_ffhq_encode.pt`` strictly (``start_from_latent_avg`` defaults to the file's ``opts``).
    """

    def __init__(self, size: int = 1024, n_styles: int | None = None, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None, *, style_dim: int = 512, n_mlp: int = 8,
                 channel_multiplier: int = 2, start_from_latent_avg: bool = True) -> None:
        super().__init__()
        n = n_styles_for(size) if n_styles is None else n_styles
        if encoder is None:
            encoder = GradualStyleEncoder(n_styles=n, style_dim=style_dim)
        self._setup(size, n, encoder, decoder, n_mlp, channel_multiplier)
        self.start_from_latent_avg = bool(start_from_latent_avg)

    @classmethod
    def options_from_file(cls, opts: dict, kwargs: dict) -> dict:
        kwargs.setdefault("start_from_latent_avg", bool(opts.get("start_from_latent_avg", True)))
        return kwargs

    @classmethod
    def encoder_types(cls, kwargs: dict) -> tuple[str, ...]:
        return ("GradualStyleEncoder",)

    def invert(self, images: torch.Tensor) -> torch.Tensor:
        """Eq 1: the W+ code (B, n_styles, style_dim) of faces ``images`` (B, 3, H, W) in [-1, 1]."""
        codes = self.encoder(self.prepare(images))
        return codes + self.latent_avg if self.start_from_latent_avg else codes

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(reconstruction, w)``: the generator's image of ``invert(images)`` and the code itself."""
        w = self.invert(images)
        return self.decode(w), w


__all__ = ["GradualStyleEncoder", "InversionWrapper", "PSP", "n_styles_for", "read_official", "set_latent_avg"]
