"""StyleGAN2's custom ops in pure PyTorch (CPU and CUDA, nothing compiled).

A fused CUDA path may be added later as an optional extra; these functions stay the
reference and the default.
"""

from .fused_act import FusedLeakyReLU, fused_leaky_relu
from .upfirdn2d import make_kernel, upfirdn2d

__all__ = ["FusedLeakyReLU", "fused_leaky_relu", "make_kernel", "upfirdn2d"]
