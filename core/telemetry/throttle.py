"""NVML clock-event (throttle) reasons decoded to plain words.

The bit values are NVML's ``nvmlClocksEventReason*`` constants (stable across driver versions);
they are copied here so decoding needs no NVML library (replayed traces, CI).

Example:
    >>> [r.label for r in decode(0x4)]
    ['power-limited']
    >>> is_throttled(0x1)
    False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ReasonKind = Literal["benign", "power", "thermal", "hardware", "other"]


@dataclass(frozen=True)
class ThrottleReason:
    """One bit of the clock-event mask.

    Attributes:
        bit: The mask bit.
        key: Stable machine name used in JSON (``"sw_power_cap"``).
        label: Plain-language label shown to people (``"power-limited"``).
        kind: ``benign`` bits (idle, application clocks) are not throttling.
    """

    bit: int
    key: str
    label: str
    kind: ReasonKind

    @property
    def throttling(self) -> bool:
        """True when this reason lowers clocks against the user's wishes."""
        return self.kind != "benign"


REASONS: tuple[ThrottleReason, ...] = (
    ThrottleReason(0x001, "gpu_idle", "idle", "benign"),
    ThrottleReason(0x002, "applications_clocks", "application clocks set", "benign"),
    ThrottleReason(0x004, "sw_power_cap", "power-limited", "power"),
    ThrottleReason(0x008, "hw_slowdown", "hardware slowdown", "hardware"),
    ThrottleReason(0x010, "sync_boost", "sync boost", "benign"),
    ThrottleReason(0x020, "sw_thermal_slowdown", "thermal slowdown", "thermal"),
    ThrottleReason(0x040, "hw_thermal_slowdown", "hardware thermal slowdown", "thermal"),
    ThrottleReason(0x080, "hw_power_brake_slowdown", "power brake", "power"),
    ThrottleReason(0x100, "display_clocks", "display clocks", "benign"),
    ThrottleReason(0x200, "board_limit", "board limit", "other"),
    ThrottleReason(0x400, "reliability", "reliability limit", "other"),
)

THROTTLE_MASK = sum(r.bit for r in REASONS if r.throttling)
"""Bits that count as throttling: power cap, thermal/HW slowdown, brake, board, reliability."""


def decode(mask: int) -> tuple[ThrottleReason, ...]:
    """Return the known reasons set in ``mask``, in bit order; unknown bits are ignored."""
    return tuple(r for r in REASONS if mask & r.bit)


def is_throttled(mask: int | None) -> bool:
    """True if any real throttle reason is set; ``None`` (unknown) is not throttled."""
    return mask is not None and bool(mask & THROTTLE_MASK)


def describe(mask: int | None) -> str:
    """One short phrase for a mask: ``"power-limited, thermal slowdown"``, ``"not throttled"``."""
    if mask is None:
        return "unknown"
    throttles = [r.label for r in decode(mask) if r.throttling]
    if throttles:
        return ", ".join(throttles)
    if mask & 0x1:
        return "idle"
    return "not throttled"
