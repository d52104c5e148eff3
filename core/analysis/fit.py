"""Does a model fit in the memory that is free?

Rule (DESIGN.md; llmfit ``fit.rs::score_fit``): **too-tight** if required > available;
**tight** if available < 1.2 × required; **fits** otherwise. ``available`` must be the *free*
VRAM/RAM (what other processes leave), not the total: estimates that ignore other processes are
a common complaint (lmstudio-bug-tracker#2295).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.errors import AnalysisError

FitLevel = Literal["fits", "tight", "too-tight"]
"""fits: ≥ 20 % headroom; tight: fits with less than 20 % headroom; too-tight: does not fit."""

HEADROOM = 1.2
"""Available memory must be at least this multiple of the requirement to count as "fits"."""


@dataclass(frozen=True, slots=True)
class Fit:
    """The verdict and the numbers behind it.

    Attributes:
        level: ``fits``, ``tight`` or ``too-tight``.
        required_bytes: Memory the model needs.
        available_bytes: Free memory on the device.
        device: The device's name.
    """

    level: FitLevel
    required_bytes: int
    available_bytes: int
    device: str = ""

    @property
    def headroom_bytes(self) -> int:
        """Free memory left after loading (negative when it does not fit)."""
        return self.available_bytes - self.required_bytes


def fit(required_bytes: int, available_bytes: int, device: str = "") -> Fit:
    """Classify ``required_bytes`` against ``available_bytes`` free.

    Compared in integers (``5 × available < 6 × required`` is "tight"), so the 1.2 boundary is
    exact: available = 1.2 × required fits.

    Args:
        required_bytes: Memory the model needs (weights + KV cache + overhead).
        available_bytes: Free memory on the device.
        device: Name shown with the verdict.

    Returns:
        The verdict.

    Raises:
        AnalysisError: For negative sizes.

    Example:
        >>> fit(100, 120).level, fit(100, 119).level, fit(101, 100).level
        ('fits', 'tight', 'too-tight')
    """
    if required_bytes < 0 or available_bytes < 0:
        raise AnalysisError(
            f"memory sizes must be ≥ 0 (required {required_bytes}, available {available_bytes})"
        )
    level: FitLevel
    if required_bytes > available_bytes:
        level = "too-tight"
    elif 5 * available_bytes < 6 * required_bytes:
        level = "tight"
    else:
        level = "fits"
    return Fit(level, required_bytes, available_bytes, device)
