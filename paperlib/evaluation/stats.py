"""Standard errors of the numbers the project writes (the writers store them, ``reproduce --check``
(:mod:`paperlib.evaluation.regen_check`) turns them into tolerances)."""

from __future__ import annotations

import math
from statistics import NormalDist

#: Family-wise false-alarm rate of the check (Bonferroni over the compared floats).
FAMILY_ALPHA = 0.05


def standard_error(sd: float, n: int) -> float | None:
    """SE of a mean over ``n`` values from their population sd (ddof=0): ``sd / sqrt(n - 1)``."""
    return sd / math.sqrt(n - 1) if n >= 2 and sd is not None else None


def sd_standard_error(sd: float, n: int) -> float | None:
    """Large-sample SE of a population sd over ``n`` roughly normal values: ``sd / sqrt(2 (n - 1))``."""
    return sd / math.sqrt(2 * (n - 1)) if n >= 2 and sd is not None else None


def sample_sd(values) -> float | None:
    """The ddof=1 standard deviation of at least two numbers (None otherwise)."""
    values = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def proportion_se(p: float, n: int) -> float:
    """SE of a proportion ``p`` over ``n`` trials, with ``p`` shrunk to ``(x + 0.5) / (n + 1)`` so that
    an accuracy of exactly 0 or 1 still has a non-zero SE (Jeffreys-like)."""
    q = (p * n + 0.5) / (n + 1)
    return math.sqrt(q * (1 - q) / n)


def bonferroni_k(m: int, alpha: float = FAMILY_ALPHA) -> float:
    """Two-sided normal quantile for ``m`` comparisons at family-wise rate ``alpha``: ``z(1 - alpha / (2m))``."""
    return NormalDist().inv_cdf(1 - alpha / (2 * max(m, 1)))


__all__ = ["FAMILY_ALPHA", "standard_error", "sd_standard_error", "sample_sd", "proportion_se", "bonferroni_k"]
