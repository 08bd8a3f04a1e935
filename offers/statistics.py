"""The statistics experiments are judged with: a proportion's Wilson interval, the
two-proportion z-test, and the sample a difference needs. Pure Python (``math``),
normal approximations, two-sided tests at 5%."""

from __future__ import annotations

import math
from dataclasses import dataclass

# The standard normal's 97.5% quantile (a two-sided 95% interval, alpha 0.05) and
# its 80% quantile (power 80%).
Z_95 = 1.959963984540054
Z_POWER_80 = 0.8416212335729143


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95% by default); None for no trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # Rounding leaves a hair above 0 (or below 1) when the proportion is 0 (or 1).
    low = 0.0 if successes == 0 else max(centre - half, 0.0)
    high = 1.0 if successes == trials else min(centre + half, 1.0)
    return low, high


@dataclass(frozen=True)
class ZTest:
    difference: float  # p1 - p2
    z: float
    p_value: float


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> ZTest | None:
    """Two-sided z-test of p1 = p2 with the pooled standard error. None when a
    group is empty; p = 1 when neither varies (all or none in both)."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return ZTest(difference=p1 - p2, z=0.0, p_value=1.0)
    z = (p1 - p2) / se
    return ZTest(difference=p1 - p2, z=z, p_value=math.erfc(abs(z) / math.sqrt(2)))


def sample_size_per_arm(
    p1: float, p2: float, *, z_alpha: float = Z_95, z_power: float = Z_POWER_80
) -> int | None:
    """Customers needed in each of two equal arms for a two-sided test at 5% to
    find a true difference ``p1 - p2`` with 80% power (the normal approximation,
    without continuity correction):

        n = (z_a * sqrt(2 p(1 - p)) + z_b * sqrt(p1(1 - p1) + p2(1 - p2)))² / (p1 - p2)²

    with p the mean of p1 and p2. None when there is no difference to find."""
    if p1 == p2:
        return None
    mean = (p1 + p2) / 2
    root = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil(root * root / ((p1 - p2) ** 2))
