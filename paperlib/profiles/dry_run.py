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


#: The pipeline's networks and their official configurations (``psp`` first: it is drawn first).
PIPELINE_NETWORKS: dict[str, str] = {"psp": "psp-ffhq-encode", "classifier": "eogi-diffcam",
                                     "parser": "face-parsing-bisenet", "deghoster": "eogi-deghosting"}


def random_networks(seed: int = 0, baselines: Sequence[str] = BASELINES,
                    pipeline: Sequence[str] = tuple(PIPELINE_NETWORKS)) -> dict:
    """Every network of the profile at its official configuration with random init, built by
    :func:`paperlib.models.build` (nothing is loaded), seeded: ``psp``, ``classifier``,
    ``parser``, ``deghoster`` (those of ``pipeline``: training needs only ``psp``), each baseline's
    encoder, EOGI-shaped ``directions`` (18, 512) and InterFaceGAN-shaped ``interfacegan`` (1, 512)
    directions, random unit vectors. A network's weights do not depend on which others are built
    after it (``psp`` is always drawn first). For dry runs: shapes, devices, memory and time are the
    real ones; no image is a result."""
    from ..models import build

    unknown = sorted(set(pipeline) - set(PIPELINE_NETWORKS))
    if unknown:
        raise ValueError(f"pipeline: unknown {', '.join(unknown)}; expected some of {', '.join(PIPELINE_NETWORKS)}")
    torch.manual_seed(seed)
    nets = {name: build(config) for name, config in PIPELINE_NETWORKS.items() if name in pipeline}
    nets.update({b: build(BASELINE_ENCODERS[b]) for b in baselines})
    g = torch.Generator().manual_seed(seed)
    n_styles = nets["psp"].n_styles

    def unit(*shape):
        d = torch.randn(*shape, generator=g)
        return d / d.norm()

    nets["directions"] = {a: unit(n_styles, 512) for a in ATTRIBUTES}
    nets["interfacegan"] = {a: unit(1, 512) for a in INTERFACEGAN_ATTRIBUTES}
    return nets


__all__ = ["PIPELINE_NETWORKS", "random_networks"]
