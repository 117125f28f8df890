"""Small exact statistics used by every report (no numpy at run time)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation, as ``numpy.percentile``'s default."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


def summary(values: Sequence[float], *, target: float | None = None) -> dict[str, float | int]:
    """median, mean, p90 (and the share ≤ target) of ``values``; zeros when there are none."""
    result: dict[str, float | int] = {"count": len(values)}
    if values:
        result.update(
            median=percentile(values, 50), mean=math.fsum(values) / len(values), p90=percentile(values, 90)
        )
    else:
        result.update(median=0.0, mean=0.0, p90=0.0)
    if target is not None:
        result["within_target"] = (
            (sum(1 for value in values if value <= target) / len(values)) if values else 0.0
        )
        result["target"] = target
    return result
