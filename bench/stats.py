"""Figures the benchmarks print: nearest-rank percentiles over raw samples."""
from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """The sample at rank q% (nearest rank): an observed value, never an interpolation between two."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# The app backend's key the benchmarks give the services they start (APP_API_KEY).
APP_API_KEY = "bench-app-backend-key"
APP_HEADERS = {"X-Api-Key": APP_API_KEY}
# The action server's key (BOT_API_KEY) for the benchmarks that queue citizens as the bot does.
BOT_API_KEY = "bench-action-server-key"
BOT_HEADERS = {"X-Bot-Key": BOT_API_KEY}
