"""SynthFace: a seeded procedural face world with exact parsing maps and ground truth.

A latent ``w`` (``LATENT_DIM`` numbers, standard normal for a typical face) sets the face's
shape, pose jitter, colours, lighting and the strength of the 7 attributes. ``render(w)``
draws an RGB face in [-1, 1] and its exact 19-class CelebAMask-HQ parsing map. Attribute
directions are unit vectors: mostly the attribute's own coordinate, plus small **entangled
side effects** on other coordinates (background hue, face width, lighting...), as real
StyleGAN directions have. Strengths are ``sigmoid((w_k - 10) / 4)``: about 0.08 for a typical
face, about 0.9 after ``w + 20 n_k`` (the paper's alpha).

**Out-of-domain details** (background texture, earrings, hat logos, hair strands) exist only
in observed photos: ``render(w, details=...)`` draws them, the generator ``G(w) = render(w)``
cannot, so any inversion misses them, as GAN inversion misses real photos' details.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..method.attributes import ATTRIBUTES, check_attribute
from .render import col, ellipse, grid, hash_noise, hsv, paint, step

# latent coordinates -----------------------------------------------------------------------
(FACE_W, FACE_H, CX, CY, SKIN, HAIR_HUE, HAIR_VOL, BG_HUE, BG_LIGHT, EYE_SEP, EYE_W, NOSE,
 LIP, EAR, CLOTH, LIGHT, HAT) = range(17)
#: coordinate of each attribute's strength
ATTRIBUTE_COORD: dict[str, int] = {
    "Bushy_Eyebrows": 17, "Beard": 18, "Eyeglasses": 19, "Mouth_Open": 20,
    "Narrow_Eyes": 21, "Old": 22, "Smiling": 23,
}
LATENT_DIM = 24
#: entangled side effects of each direction: (coordinate, weight before normalisation). Each is
#: weaker than the attribute itself: over 64 faces, ``|G(w + 20 n) - G(w + 20 n_pure)|`` (what the
#: side effects change) is at most half of ``|G(w + 20 n_pure) - G(w)|`` (what the attribute
#: changes), mean absolute pixel change over the image (``scores.side_effect_ratio``, tested).
#: Before, side effects were up to 7.6x the attribute's own change (Smiling's wider face and
#: brighter background); a classifier could then tell the attributes apart by the side effects.
LEAKS: dict[str, tuple[tuple[int, float], ...]] = {
    "Beard": ((FACE_W, 0.0138), (BG_HUE, 0.0057)),
    "Bushy_Eyebrows": ((HAIR_HUE, 0.0023), (LIGHT, 0.0023)),
    "Eyeglasses": ((BG_LIGHT, -0.0024), (SKIN, 0.0015)),
    "Mouth_Open": ((FACE_H, 0.0021), (BG_HUE, -0.0007)),
    "Narrow_Eyes": ((LIGHT, -0.0024), (FACE_W, -0.0015)),
    "Old": ((SKIN, 0.032), (BG_HUE, 0.008), (FACE_W, 0.020)),
    "Smiling": ((FACE_W, 0.0015), (BG_LIGHT, 0.0015), (CY, -0.0012)),
}
N_DETAILS = 6  # texture freq, texture phase, earrings, earring hue, strands phase, logo


def check_leaks(leaks) -> dict[str, tuple[tuple[int, float], ...]]:
    """``leaks`` as :data:`LEAKS` holds them, after checking: attribute -> ((coordinate, weight), ...),
    each coordinate one of the 17 non-attribute ones."""
    if not isinstance(leaks, dict):
        raise ValueError(  # noqa: TRY004 (the project's one-line ValueError for every bad option)
            f"leaks: expected a dict attribute -> ((coordinate, weight), ...), got {type(leaks).__name__}")
    out = {}
    for a, pairs in leaks.items():
        check_attribute(a)
        out[a] = tuple((int(i), float(v)) for i, v in pairs)
        bad = [i for i, _ in out[a] if not 0 <= i < min(ATTRIBUTE_COORD.values())]
        if bad:
            raise ValueError(f"leaks: {a}'s side effects must move non-attribute coordinates (0-16), got {bad}")
    return out


@dataclass
class Rendered:
    """An image (B, 3, H, W) in [-1, 1] and its parsing (B, H, W), labels 0-18."""

    image: torch.Tensor
    parsing: torch.Tensor


def _p(w: torch.Tensor, i: int, lo: float, hi: float, temp: float = 2.0) -> torch.Tensor:
    return lo + (hi - lo) * torch.sigmoid(w[:, i] / temp)


def attribute_strength(w: torch.Tensor, attribute: str) -> torch.Tensor:
    """Strength in (0, 1) of ``attribute`` for latents ``w`` (B, D)."""
    return torch.sigmoid((w[:, ATTRIBUTE_COORD[attribute]] - 10.0) / 4.0)


class SynthWorld:
    """The generator ``G(w)``, the 7 directions and the observation model of SynthFace."""

    latent_dim = LATENT_DIM

    def __init__(self, size: int = 128, leaks: dict[str, tuple[tuple[int, float], ...]] | None = None) -> None:
        """``leaks``: the directions' side effects (default :data:`LEAKS`); a variant world for
        experiments, e.g. ``{**LEAKS, "Smiling": ()}`` (Smiling without side effects). Attributes
        it omits have none."""
        if not isinstance(size, int) or not 64 <= size <= 256:
            raise ValueError(f"size: expected an integer image size in 64-256, got {size!r}")
        self.size = size
        self.edge = 1.0 / size
        self.leaks = LEAKS if leaks is None else check_leaks(leaks)

    # -- latents and directions
    def sample_latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` typical latents (standard normal), (n, D)."""
        return torch.randn(n, LATENT_DIM, generator=generator)

    def direction(self, attribute: str) -> torch.Tensor:
        """Unit direction of ``attribute``: its own coordinate plus small entangled leaks, (D,)."""
        check_attribute(attribute)
        n = torch.zeros(LATENT_DIM)
        n[ATTRIBUTE_COORD[attribute]] = 1.0
        for i, v in self.leaks.get(attribute, ()):
            n[i] = v
        return n / n.norm()

    def pure_direction(self, attribute: str) -> torch.Tensor:
        """The part of :meth:`direction` on the attribute's own coordinate (no side effects)."""
        n = torch.zeros(LATENT_DIM)
        i = ATTRIBUTE_COORD[attribute]
        n[i] = self.direction(attribute)[i]
        return n

    def check_latents(self, w) -> torch.Tensor:
        if not isinstance(w, torch.Tensor) or w.ndim != 2 or w.shape[1] != LATENT_DIM:
            shape = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
            raise ValueError(f"w: expected a latent tensor of shape (B, {LATENT_DIM}), got {shape}")
        if not torch.isfinite(w).all():
            raise ValueError("w: contains NaN or infinite values")
        return w.float()

    def sample_details(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Out-of-domain detail parameters of ``n`` observed photos, (n, N_DETAILS) in [0, 1]."""
        return torch.rand(n, N_DETAILS, generator=generator)

    # -- the generator
    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        """``G(w)``: the image only, (B, 3, H, W) in [-1, 1]."""
        return self.render(w).image

    def render(self, w: torch.Tensor, details: torch.Tensor | None = None) -> Rendered:
        """Draw faces for latents ``w`` (B, D); with ``details`` also the out-of-domain details."""
        w = self.check_latents(w)
        b, e = len(w), self.edge
        x, y = grid(self.size, w.device)
        img = torch.zeros(b, 3, self.size, self.size, device=w.device)
        labels = torch.zeros(b, self.size, self.size, dtype=torch.long, device=w.device)
        s = {name: attribute_strength(w, name) for name in ATTRIBUTES}

        fw, fh = _p(w, FACE_W, 0.40, 0.56), _p(w, FACE_H, 0.52, 0.66)
        cx, cy = _p(w, CX, -0.07, 0.07), _p(w, CY, -0.04, 0.10)
        skin = torch.lerp(torch.tensor([0.95, 0.80, 0.68]), torch.tensor([0.55, 0.37, 0.27]),
                          _p(w, SKIN, 0, 1)[:, None])
        # black ... brown ... auburn ... blond, one coordinate
        hair = hsv(_p(w, HAIR_HUE, 0.02, 0.13, 1.0), _p(w, HAIR_HUE, 0.45, 0.7, 1.0), _p(w, HAIR_HUE, 0.08, 0.88, 1.0))
        hair = torch.lerp(hair, torch.full_like(hair, 0.78), s["Old"][:, None] ** 1.5)  # greying
        vol = _p(w, HAIR_VOL, 0, 1)

        # background, with a vertical gradient
        bg = hsv(torch.remainder(0.55 + 0.3 * w[:, BG_HUE], 1.0), torch.full((b,), 0.35), _p(w, BG_LIGHT, 0.45, 0.85))
        img = bg[:, :, None, None] * (1 - 0.12 * y[:, None])
        if details is not None:  # out-of-domain: background texture
            tex = torch.sin(x * (20 + 40 * col(details[:, 0])) + y * 13 + 6.3 * col(details[:, 1]))
            img = img + 0.07 * tex[:, None]
        # cloth, neck, hair (back), ears
        img, labels = paint(img, labels, ellipse(x, y, cx, torch.full_like(cx, 1.18), torch.full_like(cx, 0.8), torch.full_like(cx, 0.45), e),
                            hsv(_p(w, CLOTH, 0, 1), torch.full((b,), 0.5), torch.full((b,), 0.5)), 16)
        img, labels = paint(img, labels, ellipse(x, y, cx, cy + fh * 0.95, fw * 0.45, torch.full_like(cx, 0.35), e) * step(y - col(cy), e),
                            skin * 0.88, 14)
        back = ellipse(x, y, cx, cy - 0.1, fw * (1.12 + 0.2 * vol), fh * (1.0 + 0.15 * vol), e)
        back = back * step(col(cy + 0.15 + 0.45 * vol) - y, e)
        img, labels = paint(img, labels, back, hair, 17)
        ear_a, ear_b = _p(w, EAR, 0.05, 0.075), _p(w, EAR, 0.09, 0.12)
        for side, label in ((-1, 7), (1, 8)):
            img, labels = paint(img, labels, ellipse(x, y, cx + side * fw * 0.97, cy + 0.02, ear_a, ear_b, e), skin * 0.92, label)
        if details is not None:  # out-of-domain: earrings (a patterned ring under each ear)
            has = (details[:, 2] > 0.5).float()
            ring_color = hsv(details[:, 3], torch.full((b,), 0.8), torch.full((b,), 0.9))
            for side in (-1, 1):
                ex, ey = cx + side * fw * 0.99, cy + 0.02 + ear_b + 0.035
                ring = ellipse(x, y, ex, ey, torch.full_like(cx, 0.035), torch.full_like(cx, 0.035), e) * col(has)
                pattern = 0.75 + 0.25 * torch.sin(torch.atan2(y - col(ey), x - col(ex)) * 6)[:, None]
                img, labels = paint(img, labels, ring, ring_color[:, :, None, None] * pattern, 9)

        # face skin, with beard and wrinkles
        face = ellipse(x, y, cx, cy, fw, fh, e)
        img, labels = paint(img, labels, face, skin, 1)
        beard = face * step(y - col(cy + 0.2 * fh), 0.04) * col(s["Beard"])
        beard = beard * (0.7 + 0.3 * hash_noise(x, y, 1.0))
        img, labels = paint(img, labels, beard, hair * 0.55, None)
        forehead = face * step(col(cy - 0.3 * fh) - y, e) * step(torch.sin(y * 70) - 0.6, 0.05)
        fold = torch.abs(x - col(cx)) - 0.12 - 0.3 * (y - col(cy + 0.1 * fh))  # nasolabial folds
        cheeks = face * step(0.012 - fold.abs(), e)
        cheeks = cheeks * step(y - col(cy + 0.1 * fh), e) * step(col(cy + 0.5 * fh) - y, e)
        wrinkles = (forehead + cheeks).clamp(max=1) * col(s["Old"])
        img, labels = paint(img, labels, wrinkles, skin * 0.6, None)
        # hair fringe over the forehead
        fringe = face * step(col(cy - fh * (0.62 - 0.18 * vol)) + 0.04 * torch.sin(x * 9) - y, e)
        img, labels = paint(img, labels, fringe, hair, 17)
        if details is not None:  # out-of-domain: hair strands
            strands = step(torch.sin(x * 90 + 7 * torch.sin(y * 6) + 6.3 * col(details[:, 4])) - 0.7, 0.05)
            img = img + 0.12 * (strands * (labels == 17))[:, None] * (1 - 2 * (hair.mean(1) > 0.5).float())[:, None, None, None]

        # brows, eyes, nose
        sep, ew = _p(w, EYE_SEP, 0.17, 0.24), _p(w, EYE_W, 0.065, 0.09)
        eye_y = cy - 0.1 * fh
        for side, brow_label, eye_label in ((-1, 2, 4), (1, 3, 5)):
            ex = cx + side * sep
            brow = ellipse(x, y, ex, eye_y - 0.085 - 0.02 * s["Bushy_Eyebrows"], ew * 1.25, 0.012 + 0.035 * s["Bushy_Eyebrows"], e)
            img, labels = paint(img, labels, brow, hair * 0.6, brow_label)
            eh = ew * 0.55 * (1 - 0.75 * s["Narrow_Eyes"])
            img, labels = paint(img, labels, ellipse(x, y, ex, eye_y, ew, eh, e), torch.full((b, 3), 0.95), eye_label)
            iris = ellipse(x, y, ex, eye_y, ew * 0.4, ew * 0.4, e) * ellipse(x, y, ex, eye_y, ew, eh, e)
            img, labels = paint(img, labels, iris, torch.tensor([[0.25, 0.18, 0.12]]).expand(b, 3), None)
        nose_len = _p(w, NOSE, 0.09, 0.15)
        img, labels = paint(img, labels, ellipse(x, y, cx, cy + 0.12 * fh, torch.full_like(cx, 0.045), nose_len / 2, e), skin * 0.85, 10)

        # mouth: interior, upper lip, lower lip (smile bends and widens it, Mouth_Open opens it)
        my, mw = cy + 0.45 * fh, 0.15 + 0.05 * s["Smiling"]
        yc = y - col(my) + col(0.06 * s["Smiling"]) * ((x - col(cx)) / col(mw)) ** 2
        gap = 0.004 + 0.05 * s["Mouth_Open"] + 0.01 * s["Smiling"]
        lip = torch.lerp(torch.tensor([0.75, 0.35, 0.35]), torch.tensor([0.55, 0.2, 0.25]), _p(w, LIP, 0, 1)[:, None])
        zero = torch.zeros_like(cx)
        img, labels = paint(img, labels, ellipse(x, yc, cx, zero, mw * 0.9, gap, e), torch.tensor([[0.3, 0.05, 0.08]]).expand(b, 3), 11)
        img, labels = paint(img, labels, ellipse(x, yc, cx, -gap - 0.016, mw, torch.full_like(cx, 0.018), e), lip, 12)
        img, labels = paint(img, labels, ellipse(x, yc, cx, gap + 0.02, mw * 0.95, torch.full_like(cx, 0.022), e), lip * 0.92, 13)

        # glasses: two frames and a bridge
        frames = 0
        for side in (-1, 1):
            ex = cx + side * sep
            outer = ellipse(x, y, ex, eye_y, ew * 1.55, ew * 1.15, e)
            inner = ellipse(x, y, ex, eye_y, ew * 1.55 - 0.018, ew * 1.15 - 0.018, e)
            frames = frames + outer * (1 - inner)
        bridge = step(0.012 - (y - col(eye_y - 0.02)).abs(), e) * step(col(sep - ew * 1.5) - (x - col(cx)).abs(), e)
        frames = (frames + bridge).clamp(max=1) * col(s["Eyeglasses"])
        img, labels = paint(img, labels, frames, torch.tensor([[0.1, 0.1, 0.12]]).expand(b, 3), 6)

        # hat (rare), with an out-of-domain logo
        hat = ellipse(x, y, cx, cy - fh * 1.0, fw * 1.25, torch.full_like(cx, 0.38), e) * step(col(cy - fh * 0.62) - y, e)
        hat = hat * col(torch.sigmoid((w[:, HAT] - 1.0) * 3))  # about one face in six
        img, labels = paint(img, labels, hat, hsv(_p(w, CLOTH, 1, 0), torch.full((b,), 0.6), torch.full((b,), 0.6)), 18)
        if details is not None:
            logo = ellipse(x, y, cx + 0.2 * (col(details[:, 5]) - 0.5).squeeze(), cy - fh * 0.85, torch.full_like(cx, 0.05), torch.full_like(cx, 0.03), e)
            img = img + 0.3 * (logo * hat * (labels == 18))[:, None]

        # lighting, then to [-1, 1]
        img = img * (1 + col(_p(w, LIGHT, -0.15, 0.15)) * x)[:, None]
        return Rendered(image=(img.clamp(0, 1) * 2 - 1), parsing=labels)
