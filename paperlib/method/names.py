"""Names of the method layer that need no torch: the command line offers them (``--arch``,
``--methods``) before it imports anything heavy. :mod:`paperlib.method.diffnet` and
:mod:`paperlib.method.pipeline` use them from here.
"""

from __future__ import annotations

#: Number of layer3 blocks of each architecture and how many of them go into the encoder.
#: ResNet101's split (10 of 23) is EOGI's; the others keep about the same fraction.
#: ``-os16`` (output stride 16): layer4's first block does not downsample, so the CAM grid of a
#: 128² input is 8×8, the grid the paper's 256² input gives ResNet101 (the synthetic profile).
ARCHS: dict[str, tuple[int, int]] = {
    "resnet18": (2, 1),
    "resnet18-os16": (2, 1),
    "resnet34": (6, 3),
    "resnet50": (6, 3),
    "resnet101": (23, 10),
}

#: The released scripts' mask path (:mod:`paperlib.method.authors`): their segmentation entry is ``"authors"``.
AUTHORS_CODE = "Diff-CAM++ (authors' code)"

#: Images per deghosting call by default (:func:`paperlib.method.pipeline.deghost_batched`): EOGI's network
#: at 1024² takes about 1.2-1.5 GB of activations per image in float32 (peak memory at batch 1 and 4 on an
#: H100, docs/benchmarks.md), so 16 stay within ~24 GB.
DEGHOST_IMAGES = 16


def check_deghost_images(deghost_images) -> int:
    """``deghost_images`` (images per deghosting call) must be an integer >= 1: a budget below one image
    holds nothing."""
    if isinstance(deghost_images, bool) or not isinstance(deghost_images, int) or deghost_images < 1:
        raise ValueError(f"deghost_images: the deghosting budget must hold at least one image, got {deghost_images!r}")
    return deghost_images


__all__ = ["ARCHS", "AUTHORS_CODE", "DEGHOST_IMAGES", "check_deghost_images"]
