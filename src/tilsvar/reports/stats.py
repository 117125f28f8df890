"""Small exact statistics used by every report (no numpy at run time)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation, as ``numpy.percentile``'s default."""
    if not values:
        raise ValueError("percentile of no values")
    return _percentile_of_sorted(sorted(values), q)


def _percentile_of_sorted(ordered: Sequence[float], q: float) -> float:
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


def summary(values: Sequence[float], *, target: float | None = None) -> dict[str, float | int]:
    """median, mean, p90 (and the share ≤ target) of ``values``; zeros when there are none."""
    result: dict[str, float | int] = {"count": len(values)}
    ordered = sorted(values)
    if ordered:
        result.update(
            median=_percentile_of_sorted(ordered, 50),
            mean=math.fsum(ordered) / len(ordered),
            p90=_percentile_of_sorted(ordered, 90),
        )
    else:
        result.update(median=0.0, mean=0.0, p90=0.0)
    if target is not None:
        result["within_target"] = (bisect_right(ordered, target) / len(ordered)) if ordered else 0.0
        result["target"] = target
    return result
