"""The hub's labelled series: a child is looked up once per set of label values, and
clearing a series (the gauges rebuilt after a rebalance) exports nothing stale."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from streams.metrics import Series


def test_the_same_labels_give_the_same_child() -> None:
    series = Series(Gauge("g", "a gauge", ["channel"], registry=CollectorRegistry()))

    assert series.labels("siena") is series.labels("siena")
    assert series.labels("siena") is not series.labels("sirene")


def test_a_cleared_series_starts_again_from_nothing() -> None:
    registry = CollectorRegistry()
    series = Series(Gauge("g", "a gauge", ["channel"], registry=registry))
    series.labels("siena").inc(3)
    series.labels("sirene").inc()

    series.clear()
    series.labels("siena").inc()

    assert registry.get_sample_value("g", {"channel": "siena"}) == 1
    assert registry.get_sample_value("g", {"channel": "sirene"}) is None
