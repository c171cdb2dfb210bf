"""The ``paper`` profile's dry runs: every network at its official configuration with random init.

Used only where random weights were asked for explicitly (``random_weights=True``,
``--random-weights``): :func:`paperlib.profiles.paper.networks` (the evaluation's setup, the
``edit`` command) and :func:`paperlib.profiles.paper_data.train_classifier`. Nothing falls back to
random weights when a file is missing: that raises the download commands instead.
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..method.attributes import ATTRIBUTES, INTERFACEGAN_ATTRIBUTES
from .paper_assets import BASELINE_ENCODERS, BASELINES


def random_networks(seed: int = 0, baselines: Sequence[str] = BASELINES) -> dict:
    """Every network of the profile at its official configuration with random init, built by
    :func:`paperlib.models.build` (nothing is loaded), seeded: ``psp``, ``classifier``,
    ``parser``, ``deghoster``, each baseline's encoder, EOGI-shaped ``directions`` (18, 512) and
    InterFaceGAN-shaped ``interfacegan`` (1, 512) directions, random unit vectors. For dry runs:
    shapes, devices, memory and time are the real ones; no image is a result."""
    from ..models import build

    torch.manual_seed(seed)
    nets = {"psp": build("psp-ffhq-encode"), "classifier": build("eogi-diffcam"),
            "parser": build("face-parsing-bisenet"), "deghoster": build("eogi-deghosting")}
    nets.update({b: build(BASELINE_ENCODERS[b]) for b in baselines})
    g = torch.Generator().manual_seed(seed)
    n_styles = nets["psp"].n_styles

    def unit(*shape):
        d = torch.randn(*shape, generator=g)
        return d / d.norm()

    nets["directions"] = {a: unit(n_styles, 512) for a in ATTRIBUTES}
    nets["interfacegan"] = {a: unit(1, 512) for a in INTERFACEGAN_ATTRIBUTES}
    return nets


__all__ = ["random_networks"]
