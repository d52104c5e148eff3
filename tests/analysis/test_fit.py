"""Fit levels and their 1.2× boundary."""

from __future__ import annotations

import pytest

from core.analysis.fit import fit
from core.errors import AnalysisError


@pytest.mark.parametrize(
    ("required", "available", "level"),
    [
        (100, 200, "fits"),
        (100, 120, "fits"),  # exactly 1.2 × required
        (100, 119, "tight"),
        (100, 100, "tight"),  # exactly required
        (100, 99, "too-tight"),
        (0, 0, "fits"),
        (1, 0, "too-tight"),
        # Large numbers: the comparison is exact in integers.
        (10 * 1024**3, 12 * 1024**3, "fits"),
        (10 * 1024**3, 12 * 1024**3 - 1, "tight"),
        (5, 6, "fits"),
        (6, 7, "tight"),
    ],
)
def test_levels(required: int, available: int, level: str) -> None:
    f = fit(required, available, "GPU 0")
    assert f.level == level
    assert f.required_bytes == required
    assert f.available_bytes == available
    assert f.device == "GPU 0"
    assert f.headroom_bytes == available - required


def test_negative_sizes_raise() -> None:
    with pytest.raises(AnalysisError):
        fit(-1, 10)
    with pytest.raises(AnalysisError):
        fit(1, -10)
