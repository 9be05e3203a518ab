"""Figures the benchmarks print: nearest-rank percentiles over raw samples."""
from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """The sample at rank q% (nearest rank): an observed value, never an interpolation between two."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
