"""Latency histograms (HDR, microseconds) and their percentiles in milliseconds."""

from __future__ import annotations

from typing import Final

from hdrh.histogram import HdrHistogram

LATENCY_LOWEST_US: Final = 1
LATENCY_HIGHEST_US: Final = 60_000_000
LATENCY_DIGITS: Final = 3


def new_histogram() -> HdrHistogram:
    """An HDR histogram of latencies in microseconds, 1 us .. 60 s, 3 significant digits."""
    return HdrHistogram(LATENCY_LOWEST_US, LATENCY_HIGHEST_US, LATENCY_DIGITS)


def percentile_ms(histogram: HdrHistogram, percentile: float) -> float:
    """A percentile of a microsecond histogram, in milliseconds (0 when empty)."""
    if histogram.get_total_count() == 0:
        return 0.0
    return float(histogram.get_value_at_percentile(percentile)) / 1000.0


def latency_summary_ms(histogram: HdrHistogram) -> dict[str, float]:
    """p50, p90, p99, p99.9 and max of a microsecond histogram, in milliseconds."""
    return {
        "p50": percentile_ms(histogram, 50),
        "p90": percentile_ms(histogram, 90),
        "p99": percentile_ms(histogram, 99),
        "p99_9": percentile_ms(histogram, 99.9),
        "max": float(histogram.get_max_value()) / 1000.0 if histogram.get_total_count() else 0.0,
    }
