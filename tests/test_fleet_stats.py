"""Tests for the fleet's statistics: the figures it reports, directly."""

from __future__ import annotations

from sagemaker_watch._drivers._fleet_stats import percentile


def test_percentile_is_nearest_rank():
    """The nearest-rank percentile of an ordered list, and 0 for none."""
    assert 0.0 == percentile([], 0.5)
    assert 2.0 == percentile([1.0, 2.0, 3.0], 0.5)
    assert 3.0 == percentile([1.0, 2.0, 3.0], 0.95)
